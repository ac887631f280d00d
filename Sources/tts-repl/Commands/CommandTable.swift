import TTSCore

/// One REPL command, declared in one place: its name, aliases, arguments and options, help
/// and how it runs. Parsing, the usage line, `help`, Tab completion and hints all derive from
/// this declaration (CommandOption, ParsedArguments, CommandHelp, CommandCompletion), so no
/// second list can drift from it.
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

    enum Input: Sendable, Equatable {
        /// Words split by the tokenizer (quotes and escapes honoured); options anywhere.
        case words
        /// Leading options, then the raw rest of the line as the text (`say` keeps apostrophes
        /// and spacing as typed).
        case text
    }

    let name: String
    let aliases: [String]
    let group: Group
    let summary: String
    let examples: [String]
    let input: Input
    /// The words that are not options, in order.
    let arguments: [CommandArgument]
    /// The `--name` options, in the order `help` and the usage line show them.
    let options: [CommandOption]
    let run: @Sendable (inout Session, CommandContext, ParsedArguments) async throws -> Report
    /// What the command can answer without running as a task (a cached `say`), or nil to run
    /// it: the task and its hops cost more than the hit itself on a script's line.
    let answerAtOnce: (@Sendable (inout Session, CommandContext, ParsedArguments) throws -> Report?)?

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

    init(_ name: String, aliases: [String] = [], group: Group, summary: String, input: Input = .words,
         arguments: [CommandArgument] = [], options: [CommandOption] = [], examples: [String] = [],
         answerAtOnce: (@Sendable (inout Session, CommandContext, ParsedArguments) throws -> Report?)? = nil,
         run: @escaping @Sendable (inout Session, CommandContext, ParsedArguments) async throws -> Report) {
        self.name = name
        self.aliases = aliases
        self.group = group
        self.summary = summary
        self.input = input
        self.arguments = arguments
        self.options = options
        self.examples = examples
        self.run = run
        self.answerAtOnce = answerAtOnce
    }

    /// `export DIR [--voice V] … [--json]`: options before a text command's text, after the
    /// other commands' arguments.
    var usage: String { synopsis(options.map { "[\($0.synopsis)]" }) }

    /// `export DIR [options]`: the usage with the options folded, for the list of commands.
    var shortUsage: String { synopsis(options.isEmpty ? [] : ["[options]"]) }

    private func synopsis(_ options: [String]) -> String {
        let arguments = self.arguments.map(\.synopsis)
        return ([name] + (input == .text ? options + arguments : arguments + options)).joined(separator: " ")
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
