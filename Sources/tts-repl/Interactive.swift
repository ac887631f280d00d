import Foundation
import Glibc
import Synchronization
import LineEditor
import TTSConcurrency
import TTSCore
import TTSEngines
import TTSService

/// The interactive prompt: the line editor, fed by the command table for completion and hints,
/// with history kept in the store (mode 0600, never a line that carries a secret).
struct InteractiveSession {
    let shell: Shell
    let output: Output
    let historyFile: URL

    func run() -> Int32 {
        let useColour = ProcessInfo.processInfo.environment["NO_COLOR"] == nil
        let editor = LineEditor(historyFile: historyFile, historyExcludes: isSecretBearing, colour: useColour)
        let completer = Completer(table: shell.table, engines: shell.context.service.engines)
        let shell = self.shell
        editor.completion = { line, cursor in completer.complete(line, cursor: cursor, engine: shell.session.engine) }
        editor.hints = { line in completer.hint(for: line) }
        output.noticeSink = { text in editor.printAbove(text) }
        defer { output.noticeSink = nil }

        if editor.isInteractive {
            output.write("tts-repl \(version) — `help` lists commands, Tab completes, Ctrl-D leaves.\n", to: .standardOutput)
        }
        var failed = false
        var reportedHistoryError = false
        while true {
            let prompt = useColour && editor.isInteractive ? "\u{1B}[36m\(shell.session.prompt)\u{1B}[0m" : shell.session.prompt
            switch editor.readLine(prompt: prompt) {
            case .eof:
                return failed ? ExitStatus.commandFailed : ExitStatus.ok
            case .interrupted:
                continue  // Ctrl-C at the prompt clears the line
            case .invalid(let reason):
                output.error(TTSError.validation("line", reason + "; nothing was run"))
                failed = true
            case .line(let line):
                if let problem = editor.history.lastError, !reportedHistoryError {
                    reportedHistoryError = true
                    output.notice("warning: history is not saved: \(problem)")
                }
                switch shell.execute(line: line) {
                case .succeeded: continue
                case .failed: failed = true
                case .quit: return failed ? ExitStatus.commandFailed : ExitStatus.ok
                }
            }
        }
    }
}

/// Lines that could carry a secret stay out of history, as redis-cli keeps AUTH out.
func isSecretBearing(_ line: String) -> Bool {
    let lower = line.lowercased()
    if ["api_key", "apikey", "password", "passwd", "secret", "token", "requirepass", "auth "].contains(where: lower.contains) {
        return true
    }
    if line.range(of: #"AIza[0-9A-Za-z_\-]{20,}"#, options: .regularExpression) != nil { return true }
    // A URL with credentials: scheme://user:pass@host
    return line.range(of: #"://[^/\s@]*:[^/\s@]*@"#, options: .regularExpression) != nil
}

/// Completion and hints, derived from the command table.
final class Completer: Sendable {
    let table: CommandTable
    let engines: EngineRegistry
    /// Guards the voices by engine, fetched once: completion runs on the reading thread and
    /// must be quick.
    private let voiceCache = Mutex<[String: [String]]>([:])

    /// Common BCP-47 tags (the Gemini launch list and a few more); any well-formed tag is accepted.
    static let languages = ["ar-EG", "bn-BD", "de-DE", "en-GB", "en-IN", "en-US", "es-ES", "es-US", "fr-FR", "hi-IN",
                            "id-ID", "it-IT", "ja-JP", "ko-KR", "mr-IN", "nl-NL", "pl-PL", "pt-BR", "ro-RO", "ru-RU",
                            "ta-IN", "te-IN", "th-TH", "tr-TR", "uk-UA", "vi-VN", "zh-CN", "auto"]

    init(table: CommandTable, engines: EngineRegistry) {
        self.table = table
        self.engines = engines
    }

    /// Candidates for the word that ends at `cursor`: command names first, then what the
    /// command's declaration says goes there (an option, an option's value, an argument).
    func complete(_ line: String, cursor: Int, engine: String) -> [String] {
        let before = String(line.prefix(cursor))
        let words = before.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        let endsWithSpace = before.last == " "
        let current = endsWithSpace ? "" : (words.last ?? "")
        if words.count <= 1 && !endsWithSpace {
            let names = table.commands.map(\.name).filter { $0.hasPrefix(current.lowercased()) }.sorted()
            return names.count == 1 ? [names[0] + " "] : names
        }
        guard let command = table.command(named: words[0]) else { return [] }
        let previous = Array(words.dropFirst().dropLast(endsWithSpace ? 0 : 1))
        switch command.completionSlot(previous: previous, current: current) {
        case .nothing:
            return []
        case .optionNames(let names):
            return names.filter { $0.hasPrefix(current) }
        case .value(let completion, let prefix):
            return candidates(completion, matching: String(current.dropFirst(prefix.count)), engine: engine).map { prefix + $0 }
        }
    }

    private func candidates(_ completion: ValueCompletion, matching typed: String, engine: String) -> [String] {
        let all: [String]
        switch completion {
        case .none: return []
        case .paths: return paths(matching: typed)
        case .voices: all = (voices(of: engine) + ["default"]).sorted()
        case .languages: all = Completer.languages.sorted()
        case .engines: all = engines.names.sorted()
        case .commands: all = table.commands.map(\.name).sorted()
        case .words(let words): all = words
        }
        let lower = typed.lowercased()
        return all.filter { $0.lowercased().hasPrefix(lower) }
    }

    /// The grey text after what was typed: the rest of the command's usage.
    func hint(for line: String) -> String? {
        let words = line.split(separator: " ", omittingEmptySubsequences: true)
        guard words.count == 1, let command = table.command(named: String(words[0])) else { return nil }
        let usage = command.usage.split(separator: " ", maxSplits: 1).dropFirst().first.map(String.init) ?? ""
        guard !usage.isEmpty else { return nil }
        return line.hasSuffix(" ") ? usage : " " + usage
    }

    private func voices(of engine: String) -> [String] {
        if let cached = voiceCache.withLock({ $0[engine] }) { return cached }
        guard let speech = try? engines.engine(named: engine) else { return [] }
        guard let names = Blocking.wait(upTo: .seconds(2), { (try? await speech.voices().map(\.name)) ?? [] }) else { return [] }
        voiceCache.withLock { $0[engine] = names }
        return names
    }

    private func paths(matching word: String) -> [String] {
        let expanded = word.hasPrefix("~/") ? NSHomeDirectory() + word.dropFirst(1) : word
        let directory = expanded.contains("/") ? String(expanded[...expanded.lastIndex(of: "/")!]) : ""
        let stem = expanded.contains("/") ? String(expanded[expanded.index(after: expanded.lastIndex(of: "/")!)...]) : expanded
        let shownDirectory = word.contains("/") ? String(word[...word.lastIndex(of: "/")!]) : ""
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory.isEmpty ? "." : directory)) ?? []
        return entries.filter { $0.hasPrefix(stem) && (stem.hasPrefix(".") || !$0.hasPrefix(".")) }.sorted().map { name in
            var isDirectory: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: directory + name, isDirectory: &isDirectory)
            return shownDirectory + name + (isDirectory.boolValue ? "/" : "")
        }
    }
}
