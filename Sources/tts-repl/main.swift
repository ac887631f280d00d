import Foundation
import Glibc
import TTSCore
import TTSService

/// Exit statuses: the sqlite3 shell's convention, plus 2 for usage and configuration.
enum ExitStatus {
    static let ok: Int32 = 0
    static let commandFailed: Int32 = 1
    static let usage: Int32 = 2
}

let version = "0.1.0"

func runMain() -> Int32 {
    // Errors before the arguments parse still answer in JSON when `--json` was asked for.
    let earlyOutput = Output(json: CommandLine.arguments.dropFirst().contains("--json"))
    // Swift's CommandLine.arguments repairs bytes that are not UTF-8; the raw argv is checked
    // first so `say caf\xE9` is refused rather than spoken (and keyed) as `caf\u{FFFD}`.
    for index in 1..<Int(CommandLine.argc) {
        guard let pointer = CommandLine.unsafeArgv[index] else { continue }
        let bytes = Array(UnsafeBufferPointer(start: UnsafeRawPointer(pointer).assumingMemoryBound(to: UInt8.self), count: strlen(pointer)))
        if let offset = UTF8Check.firstInvalidByte(in: bytes) {
            earlyOutput.error(TTSError.validation("argument", UTF8Check.problem(in: "argument \(index)", bytes: bytes, at: offset)))
            return ExitStatus.usage
        }
    }
    let invocation: Invocation
    do {
        invocation = try Invocation.parse(Array(CommandLine.arguments.dropFirst()))
    } catch let error as TTSError {
        earlyOutput.error(error)
        return ExitStatus.usage
    } catch {
        return ExitStatus.usage
    }
    let output = Output(json: invocation.json)
    if invocation.showHelp {
        output.write(Invocation.usage + "\n", to: .standardOutput)
        return ExitStatus.ok
    }
    if invocation.showVersion {
        output.write("tts-repl \(version)\n", to: .standardOutput)
        return ExitStatus.ok
    }

    let runtime: Runtime
    let dotEnvURL = URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(".env")
    let flags = invocation.settingFlags
    // Every load (the first, and `config reload`) hands its secrets to the one redactor
    // before anything can print or log them.
    let loadConfiguration: @Sendable () throws -> Configuration = {
        let configuration = try Configuration.load(flags: flags, environment: ProcessInfo.processInfo.environment,
                                                   dotEnv: try DotEnv.load(dotEnvURL))
        Redactor.process.add(secrets: configuration.secrets)
        return configuration
    }
    if let url = flags[Setting.redisURL.name], Configuration.redisPassword(in: url) != nil {
        output.notice("warning: a password given with --redis shows in `ps` and in shell history; set REDIS_URL in the environment or in .env instead")
    }
    var loadedConfiguration: Configuration?
    do {
        let configuration = try loadConfiguration()
        loadedConfiguration = configuration
        runtime = try Runtime(configuration: configuration) { [output] notice in output.notice(notice) }
        runtime.live.setLoader(loadConfiguration)
    } catch let error as TTSError {
        // `health` reports a store that cannot be opened as its failure, with what to do.
        if invocation.commandWords.first?.lowercased() == "health", let configuration = loadedConfiguration {
            output.emit(healthReport(HealthReport.storeUnusable(error, store: configuration.storeURL)))
            return ExitStatus.commandFailed
        }
        output.error(error)
        return ExitStatus.usage
    } catch {
        output.error(TTSError(.config, "\(error)"))
        return ExitStatus.usage
    }
    defer { runtime.close() }
    // Runs before the close above: after a SIGTERM the shutdown thread closes and exits.
    defer { Shutdown.parkIfTerminating() }
    if let problem = runtime.logger.openError { output.notice("warning: \(problem); continuing without a log") }

    let shell = Shell(runtime: runtime, output: output)
    Shutdown.install(runner: shell.runner, runtime: runtime)
    if !invocation.commandWords.isEmpty {
        guard let outcome = shell.runArguments(invocation.commandWords) else {
            let word = invocation.commandWords[0]
            let hint = shell.table.suggestion(for: word).map { " Did you mean `\($0)`?" } ?? ""
            output.error(TTSError.validation("command", "unknown command '\(word)'.\(hint) See `tts-repl help`."))
            return ExitStatus.usage
        }
        guard outcome == .failed else { return ExitStatus.ok }
        return shell.lastErrorKind == .config ? ExitStatus.usage : ExitStatus.commandFailed
    }
    if isatty(0) == 1 && !invocation.json {
        shell.runner.isInteractive = true
        output.flushEveryLine()
        let history = runtime.configuration.storeURL.appendingPathComponent("history")
        return InteractiveSession(shell: shell, output: output, historyFile: history).run()
    }
    return runScript(shell, bail: invocation.bail)
}

/// Commands from a pipe or file, one per line; errors carry line numbers, like the sqlite3 shell.
func runScript(_ shell: Shell, bail: Bool) -> Int32 {
    var failed = false
    var lineNumber = 0
    var input = ScriptInput(beforeRead: { [output = shell.output] in output.flush() })
    while let line = input.next() {
        lineNumber += 1
        let outcome: Shell.Outcome
        switch line {
        case .text(let text):
            outcome = shell.execute(line: text, lineNumber: lineNumber)
        case .invalid(let problem):
            shell.output.error(TTSError.validation("line", problem), line: lineNumber)
            outcome = .failed
        }
        switch outcome {
        case .succeeded: continue
        case .quit: return failed ? ExitStatus.commandFailed : ExitStatus.ok
        case .failed:
            failed = true
            if bail { return ExitStatus.commandFailed }
        }
    }
    return failed ? ExitStatus.commandFailed : ExitStatus.ok
}

let status = runMain()
StandardOutputBuffer.shared.flush()
exit(status)
