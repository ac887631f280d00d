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
    let invocation: Invocation
    do {
        invocation = try Invocation.parse(Array(CommandLine.arguments.dropFirst()))
    } catch let error as TTSError {
        Output(json: false).error(error)
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
    let loadConfiguration: @Sendable () throws -> Configuration = {
        try Configuration.load(flags: flags, environment: ProcessInfo.processInfo.environment, dotEnv: try DotEnv.load(dotEnvURL))
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
        let history = runtime.configuration.storeURL.appendingPathComponent("history")
        return InteractiveSession(shell: shell, output: output, historyFile: history).run()
    }
    return runScript(shell, bail: invocation.bail)
}

/// Commands from a pipe or file, one per line; errors carry line numbers, like the sqlite3 shell.
func runScript(_ shell: Shell, bail: Bool) -> Int32 {
    var failed = false
    var lineNumber = 0
    while let line = readLine(strippingNewline: true) {
        lineNumber += 1
        switch shell.execute(line: line, lineNumber: lineNumber) {
        case .succeeded: continue
        case .quit: return failed ? ExitStatus.commandFailed : ExitStatus.ok
        case .failed:
            failed = true
            if bail { return ExitStatus.commandFailed }
        }
    }
    return failed ? ExitStatus.commandFailed : ExitStatus.ok
}

exit(runMain())
