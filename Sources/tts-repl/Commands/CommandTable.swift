import TTSCore

/// One REPL command, declared in one place: its name, aliases, usage, help and how it runs.
/// `help`, parsing and (later) completion and hints all derive from this table.
struct Command: Sendable {
    enum Group: String, CaseIterable, Sendable {
        case speech = "Speech"
        case session = "Session"
        case cache = "Cache"
        case prewarm = "Pre-warm"
        case export = "Export"
        case operations = "Operations"
        case shell = "Shell"
    }

    /// What Tab completes after the command word.
    enum Completion: Sendable {
        case none
        case voices
        case languages
        case engines
        case paths
        case commands
    }

    enum Arguments: Sendable {
        /// Words split by the tokenizer (quotes and escapes honoured).
        case words
        /// The raw rest of the line (`say` keeps apostrophes and spacing as typed).
        case restOfLine
    }

    let name: String
    let aliases: [String]
    let group: Group
    let usage: String
    let summary: String
    let examples: [String]
    let arguments: Arguments
    /// `--name` options this command takes, for completion.
    let options: [String]
    let completion: Completion
    let run: @Sendable (inout Session, CommandContext, [String]) async throws -> Report

    /// Whether the command's task runs on the thread that reads the input, which waits for it
    /// anyway: a cached `say` then costs no hand-off to the thread pool and back. Commands
    /// that fan out concurrent work (prewarm and its queue, export, maintenance) stay on the
    /// pool, whose threads their child tasks share.
    var runsOnInputThread: Bool {
        switch group {
        case .speech, .session, .cache, .shell: true
        case .prewarm, .export, .operations: false
        }
    }

    init(_ name: String, aliases: [String] = [], group: Group, usage: String, summary: String,
         examples: [String] = [], arguments: Arguments = .words, options: [String] = [], completion: Completion = .none,
         run: @escaping @Sendable (inout Session, CommandContext, [String]) async throws -> Report) {
        self.name = name
        self.aliases = aliases
        self.group = group
        self.usage = usage
        self.summary = summary
        self.examples = examples
        self.arguments = arguments
        self.options = options
        self.completion = completion
        self.run = run
    }
}

struct CommandTable: Sendable {
    let commands: [Command]

    func command(named word: String) -> Command? {
        let lower = word.lowercased()
        return commands.first { $0.name == lower || $0.aliases.contains(lower) }
    }

    /// The nearest command name for a typo, by edit distance.
    func suggestion(for word: String) -> String? {
        let names = commands.flatMap { [$0.name] + $0.aliases }
        let scored = names.map { ($0, editDistance($0, word.lowercased())) }.min { $0.1 < $1.1 }
        guard let (name, distance) = scored, distance <= max(2, word.count / 2) else { return nil }
        return name
    }
}

func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previous = Array(0...b.count)
    for i in 1...a.count {
        var current = [i] + [Int](repeating: 0, count: b.count)
        for j in 1...b.count {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        previous = current
    }
    return previous[b.count]
}

/// Option parsing for command words: `--name value` and `--flag`, the rest positional.
struct Options {
    var values: [String: String] = [:]
    var flags: Set<String> = []
    var positional: [String] = []

    init(_ words: [String], valued: Set<String>, flags allowedFlags: Set<String> = [], command: String) throws {
        var i = 0
        while i < words.count {
            let word = words[i]
            if word.hasPrefix("--") && word.count > 2 {
                var name = String(word.dropFirst(2))
                var inline: String?
                if let eq = name.firstIndex(of: "=") {
                    inline = String(name[name.index(after: eq)...])
                    name = String(name[..<eq])
                }
                if valued.contains(name) {
                    if let inline {
                        values[name] = inline
                    } else {
                        guard i + 1 < words.count else {
                            throw TTSError.validation(name, "\(command): --\(name) needs a value")
                        }
                        i += 1
                        values[name] = words[i]
                    }
                } else if allowedFlags.contains(name) {
                    flags.insert(name)
                } else {
                    let known = (valued.union(allowedFlags)).sorted().map { "--" + $0 }.joined(separator: ", ")
                    throw TTSError.validation(name, "\(command): unknown option --\(name)" + (known.isEmpty ? "" : "; accepted: \(known)"))
                }
            } else {
                positional.append(word)
            }
            i += 1
        }
    }

    func int(_ name: String, default value: Int, range: ClosedRange<Int>) throws -> Int {
        guard let text = values[name] else { return value }
        guard let n = Int(text), range.contains(n) else {
            throw TTSError.validation(name, "--\(name) takes a whole number from \(range.lowerBound) to \(range.upperBound), not '\(text)'")
        }
        return n
    }
}
