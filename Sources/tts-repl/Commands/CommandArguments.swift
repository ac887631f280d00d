import Foundation
import TTSCore

/// What Tab completes for a command's argument or an option's value.
enum ValueCompletion: Sendable, Equatable {
    case none
    /// The current engine's voices.
    case voices
    /// Common BCP-47 tags.
    case languages
    /// The registered engines.
    case engines
    /// Files and folders.
    case paths
    /// The command table's names.
    case commands
    /// Fixed words: a choice's values, or suggested numbers such as the sample rates.
    case words([String])
}

/// One `--name` option of a command, declared once. Parsing, the usage line, `help COMMAND`,
/// `help --json` and Tab completion all read this declaration, so they cannot disagree (the
/// way swift-argument-parser derives them from one `@Option`).
///
/// ```swift
/// .integer("limit", "N", 1...100_000, default: 20, help: "how many clips to list")
/// .choice("manifest", ["csv", "json", "jsonl", "none"], default: "csv", help: "the manifest's format")
/// .flag("dry-run", help: "show what would happen; change nothing")
/// ```
struct CommandOption: Sendable {
    enum Value: Sendable {
        case flag
        /// Any text; `placeholder` names it in the usage line.
        case text(placeholder: String, completion: ValueCompletion)
        /// A whole number within `range`; `suggestions` are offered by Tab.
        case integer(placeholder: String, range: ClosedRange<Int>, default: Int?, suggestions: [Int])
        /// Seconds: `10`, `2.5`, or with a unit `90s`, `5m`, `1h`, `2d`.
        case duration(placeholder: String, range: ClosedRange<Double>, default: Double?)
        /// Bytes: `4194304`, `512KiB`, `4MiB`, `1GiB`.
        case byteSize(placeholder: String)
        /// An ISO 8601 date or time (`2025-01-31`, `2025-01-31T08:00:00Z`); UTC without a zone.
        case date(placeholder: String)
        /// One of `values` (any case); `aliases` are other spellings of one of them.
        case choice(values: [String], aliases: [(String, String)], default: String?)
    }

    /// Without the leading dashes: `dry-run`.
    let name: String
    let value: Value
    /// One line for `help COMMAND`, lower case, no final stop.
    let help: String

    static func flag(_ name: String, help: String) -> CommandOption {
        CommandOption(name: name, value: .flag, help: help)
    }

    static func text(_ name: String, _ placeholder: String, completion: ValueCompletion = .none, help: String) -> CommandOption {
        CommandOption(name: name, value: .text(placeholder: placeholder, completion: completion), help: help)
    }

    static func integer(_ name: String, _ placeholder: String, _ range: ClosedRange<Int>, default value: Int? = nil,
                        suggestions: [Int] = [], help: String) -> CommandOption {
        CommandOption(name: name, value: .integer(placeholder: placeholder, range: range, default: value, suggestions: suggestions), help: help)
    }

    static func duration(_ name: String, _ range: ClosedRange<Double>, placeholder: String = "S", default value: Double? = nil,
                         help: String) -> CommandOption {
        CommandOption(name: name, value: .duration(placeholder: placeholder, range: range, default: value), help: help)
    }

    static func byteSize(_ name: String, _ placeholder: String = "SIZE", help: String) -> CommandOption {
        CommandOption(name: name, value: .byteSize(placeholder: placeholder), help: help)
    }

    static func date(_ name: String, _ placeholder: String = "DATE", help: String) -> CommandOption {
        CommandOption(name: name, value: .date(placeholder: placeholder), help: help)
    }

    static func choice(_ name: String, _ values: [String], aliases: [(String, String)] = [], default value: String? = nil,
                       help: String) -> CommandOption {
        CommandOption(name: name, value: .choice(values: values, aliases: aliases, default: value), help: help)
    }

    var isFlag: Bool {
        if case .flag = value { return true }
        return false
    }

    /// `--limit N`, `--dry-run`, `--manifest csv|json|jsonl|none`.
    var synopsis: String {
        switch value {
        case .flag: "--\(name)"
        case .text(let placeholder, _), .integer(let placeholder, _, _, _), .duration(let placeholder, _, _),
             .byteSize(let placeholder), .date(let placeholder):
            "--\(name) \(placeholder)"
        case .choice(let values, _, _): "--\(name) \(values.joined(separator: "|"))"
        }
    }

    /// The facts `help` adds after the option's own line: its range, accepted forms, default.
    var details: String? {
        switch value {
        case .flag, .text: return nil
        case .integer(_, let range, let value, _):
            return (range.upperBound == Int.max ? "\(range.lowerBound) or more" : "\(range.lowerBound)–\(range.upperBound)")
                + (value.map { ", default \($0)" } ?? "")
        case .duration(_, let range, let value):
            return "\(seconds(range.lowerBound))–\(seconds(range.upperBound)), as 10, 2.5, 90s, 5m or 1h"
                + (value.map { "; default \(seconds($0))" } ?? "")
        case .byteSize: return "e.g. 4194304, 512KiB, 500MiB, 2GiB"
        case .date: return "e.g. 2025-01-31, or 2025-01-31T08:00:00Z; UTC when no zone is given"
        case .choice(_, let aliases, let value):
            let parts = (aliases.isEmpty ? [] : [aliases.map { "\($0.0) = \($0.1)" }.joined(separator: ", ")])
                + (value.map { ["default \($0)"] } ?? [])
            return parts.isEmpty ? nil : parts.joined(separator: "; ")
        }
    }

    /// What Tab offers after `--name `.
    var valueCompletion: ValueCompletion {
        switch value {
        case .flag, .duration, .byteSize, .date: .none
        case .text(_, let completion): completion
        case .integer(_, _, _, let suggestions): suggestions.isEmpty ? .none : .words(suggestions.map(String.init))
        case .choice(let values, _, _): .words(values)
        }
    }

    /// The value `text` given to this option, checked for its type and range.
    func parse(_ text: String, command: String) throws -> ParsedValue {
        let prefix = "\(command): --\(name)"
        switch value {
        case .flag:
            throw refusing(value: text, command: command)
        case .text:
            return .text(text)
        case .integer(_, let range, _, _):
            guard let number = Int(text), range.contains(number) else {
                throw TTSError.validation(name, "\(prefix) takes \(describe(range)), not '\(text)'")
            }
            return .integer(number)
        case .duration(_, let range, _):
            guard let seconds = CommandOption.seconds(in: text), range.contains(seconds) else {
                throw TTSError.validation(name, "\(prefix) takes a number of seconds from \(seconds(range.lowerBound)) to \(seconds(range.upperBound)) "
                                          + "(10, 2.5, or with a unit: 90s, 5m, 1h), not '\(text)'")
            }
            return .seconds(seconds)
        case .byteSize:
            do {
                return .integer(try Configuration.parseByteSize(text, name: "--\(name)"))
            } catch let error as TTSError {
                throw TTSError.validation(name, "\(command): \(error.message)")
            }
        case .date:
            guard let date = CommandOption.date(in: text) else {
                throw TTSError.validation(name, "\(prefix) '\(text)' is not an ISO 8601 date: use 2025-01-31 or 2025-01-31T08:00:00Z")
            }
            return .date(date)
        case .choice(let values, let aliases, _):
            let lower = text.lowercased()
            if let value = values.first(where: { $0.lowercased() == lower }) { return .text(value) }
            if let alias = aliases.first(where: { $0.0.lowercased() == lower }) { return .text(alias.1) }
            let also = aliases.isEmpty ? "" : " (" + aliases.map { "\($0.0) = \($0.1)" }.joined(separator: ", ") + ")"
            throw TTSError.validation(name, "\(prefix) takes \(values.joined(separator: ", "))\(also), not '\(text)'")
        }
    }

    /// `--dry-run=yes`: a flag is there or not.
    func refusing(value: String, command: String) -> TTSError {
        TTSError.validation(name, "\(command): --\(name) is a flag and takes no value: give --\(name) alone, not --\(name)=\(value)")
    }

    /// `a whole number from 1 to 64`, `a whole number, 0 or more`.
    private func describe(_ range: ClosedRange<Int>) -> String {
        range.upperBound == Int.max ? "a whole number, \(range.lowerBound) or more"
            : "a whole number from \(range.lowerBound) to \(range.upperBound)"
    }

    /// `86400` → `24h`, `2.5` → `2.5s`: a range's ends as people write them.
    private func seconds(_ value: Double) -> String {
        for (unit, size) in [("d", 86_400.0), ("h", 3600.0), ("m", 60.0)] where value >= size && value.truncatingRemainder(dividingBy: size) == 0 {
            return "\(Int(value / size))\(unit)"
        }
        return value == value.rounded() ? "\(Int(value))s" : "\(value)s"
    }

    /// `2.5` → 2.5, `90s` → 90, `5m` → 300, `1h`, `2d`; nil for anything else.
    static func seconds(in text: String) -> Double? {
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
        let lower = text.lowercased()
        var number = Substring(lower)
        var factor = 1.0
        if let last = lower.last, let unit = units[last] {
            factor = unit
            number = lower.dropLast()
        }
        guard let value = Double(number), value.isFinite, value >= 0 else { return nil }
        return value * factor
    }

    /// `2025-01-31`, `2025-01-31T08:00:00Z`, `2025-01-31T08:00:00+01:00`, with or without
    /// fractional seconds; a date or a time without a zone is UTC.
    static func date(in text: String) -> Date? {
        let attempts: [(ISO8601DateFormatter.Options, String)] = [
            ([.withInternetDateTime, .withFractionalSeconds], text), ([.withInternetDateTime], text),
            ([.withInternetDateTime], text + "Z"), ([.withInternetDateTime, .withFractionalSeconds], text + "Z"),
            ([.withFullDate], text),
        ]
        for (formatOptions, candidate) in attempts {
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = formatOptions
            formatter.timeZone = TimeZone(identifier: "UTC")
            if let date = formatter.date(from: candidate) { return date }
        }
        return nil
    }
}

/// An option's value once parsed: already of its declared type and within its range.
enum ParsedValue: Sendable, Equatable {
    case text(String)
    case integer(Int)
    case seconds(Double)
    case date(Date)
}

/// One word a command takes that is not an option: `DIR`, `[KEY]`, `KEY…`.
struct CommandArgument: Sendable {
    /// As the usage line shows it: `DIR`, `KEY | KEY-PREFIX`, `NAME | default`.
    let placeholder: String
    let isOptional: Bool
    /// The last argument may take any number of words (`rm KEY…`).
    let repeats: Bool
    let completion: ValueCompletion
    let help: String

    static func required(_ placeholder: String, completion: ValueCompletion = .none, help: String) -> CommandArgument {
        CommandArgument(placeholder: placeholder, isOptional: false, repeats: false, completion: completion, help: help)
    }

    static func optional(_ placeholder: String, completion: ValueCompletion = .none, help: String) -> CommandArgument {
        CommandArgument(placeholder: placeholder, isOptional: true, repeats: false, completion: completion, help: help)
    }

    static func repeated(_ placeholder: String, completion: ValueCompletion = .none, help: String) -> CommandArgument {
        CommandArgument(placeholder: placeholder, isOptional: true, repeats: true, completion: completion, help: help)
    }

    /// `DIR`, `[KEY]`, `[KEY…]`.
    var synopsis: String {
        let word = placeholder + (repeats ? "…" : "")
        return isOptional ? "[\(word)]" : word
    }
}

/// A command's words, parsed against its declaration. A run function reads options only
/// through these accessors, each of which stops the program when asked for an option the
/// command does not declare: what a command accepts is what it declares, and so what `help`
/// shows and Tab offers.
struct ParsedArguments: Sendable {
    let command: String
    private let options: [CommandOption]
    private var values: [String: ParsedValue] = [:]
    private var flags: Set<String> = []
    /// The words that are not options, in order (for text commands such as `say`: the text).
    var positional: [String] = []

    init(command: String, options: [CommandOption]) {
        self.command = command
        self.options = options
    }

    mutating func set(_ option: CommandOption, _ value: ParsedValue?) {
        if let value { values[option.name] = value } else { flags.insert(option.name) }
    }

    /// Whether `--name` was given (a flag, or an option with its value).
    func given(_ name: String) -> Bool {
        _ = declared(name)
        return values[name] != nil || flags.contains(name)
    }

    func flag(_ name: String) -> Bool {
        precondition(declared(name).isFlag, "\(command): --\(name) is not a flag")
        return flags.contains(name)
    }

    /// A text or choice option's value (a choice's in its declared spelling), else its default.
    func text(_ name: String) -> String? {
        switch (declared(name).value, values[name]) {
        case (.text, .text(let text)?), (.choice, .text(let text)?): return text
        case (.text, nil): return nil
        case (.choice(_, _, let value), nil): return value
        default: preconditionFailure("\(command): --\(name) is not a text option")
        }
    }

    /// A whole-number or size option's value, else its default.
    func int(_ name: String) -> Int? {
        switch (declared(name).value, values[name]) {
        case (.integer, .integer(let n)?), (.byteSize, .integer(let n)?): return n
        case (.integer(_, _, let value, _), nil): return value
        case (.byteSize, nil): return nil
        default: preconditionFailure("\(command): --\(name) is not a number option")
        }
    }

    /// An integer option that declares a default: its value, or that default.
    func intOrDefault(_ name: String) -> Int {
        guard let value = int(name) else { preconditionFailure("\(command): --\(name) declares no default") }
        return value
    }

    /// A duration that declares a default: its value in seconds, or that default.
    func secondsOrDefault(_ name: String) -> Double {
        guard let value = seconds(name) else { preconditionFailure("\(command): --\(name) declares no default") }
        return value
    }

    /// A duration's value in seconds, else its default.
    func seconds(_ name: String) -> Double? {
        switch (declared(name).value, values[name]) {
        case (.duration, .seconds(let s)?): return s
        case (.duration(_, _, let value), nil): return value
        default: preconditionFailure("\(command): --\(name) is not a duration")
        }
    }

    func date(_ name: String) -> Date? {
        switch (declared(name).value, values[name]) {
        case (.date, .date(let date)?): return date
        case (.date, nil): return nil
        default: preconditionFailure("\(command): --\(name) is not a date")
        }
    }

    /// A choice as the enum whose raw values it declares.
    func choice<T: RawRepresentable>(_ name: String, as type: T.Type = T.self) -> T? where T.RawValue == String {
        guard let text = text(name) else { return nil }
        guard let value = T(rawValue: text) else { preconditionFailure("\(command): --\(name)'s value \(text) is not a \(T.self)") }
        return value
    }

    private func declared(_ name: String) -> CommandOption {
        guard let option = options.first(where: { $0.name == name }) else {
            preconditionFailure("\(command) reads --\(name), which it does not declare")
        }
        return option
    }
}

// MARK: - Parsing

extension Command {
    /// The arguments of one run: for `.words` commands the tokenized words, for `.text`
    /// commands the raw rest of the line (leading options, then the text).
    func parse(_ arguments: [String]) throws -> ParsedArguments {
        switch input {
        case .words: try parse(words: arguments)
        case .text: try parse(line: arguments.first ?? "")
        }
    }

    /// `--name value`, `--name=value` and `--flag` anywhere among the words; `--` ends the
    /// options. A word that is a declared option is never taken as the value before it, so
    /// `ls --match --limit 5` says --match needs a value.
    func parse(words: [String]) throws -> ParsedArguments {
        var parsed = ParsedArguments(command: name, options: options)
        var i = 0
        var optionsEnded = false
        while i < words.count {
            let word = words[i]
            i += 1
            if !optionsEnded && word == "--" {
                optionsEnded = true
                continue
            }
            guard !optionsEnded, let (option, inline) = try option(in: word) else {
                parsed.positional.append(word)
                continue
            }
            if option.isFlag {
                if let inline { throw option.refusing(value: inline, command: name) }
                parsed.set(option, nil)
                continue
            }
            let text: String
            if let inline {
                text = inline
            } else {
                guard i < words.count, words[i] != "--", !isDeclaredOption(words[i]) else {
                    throw TTSError.validation(option.name, "\(name): --\(option.name) needs a value: \(option.synopsis)")
                }
                text = words[i]
                i += 1
            }
            parsed.set(option, try option.parse(text, command: name))
        }
        try checkCount(parsed.positional)
        return parsed
    }

    /// Leading options, then the text as typed (`say --encoding mp3 Don't  panic`); `--`
    /// ends the options, so `say -- --verbose is a word` speaks it. A command that declares no
    /// options takes the whole line as text.
    func parse(line: String) throws -> ParsedArguments {
        var parsed = ParsedArguments(command: name, options: options)
        var rest = line
        while !options.isEmpty {
            let (word, afterWord) = Tokenizer.headAndRest(rest)
            if word == "--" {
                rest = afterWord
                break
            }
            guard let (option, inline) = try option(in: word) else { break }
            rest = afterWord
            if option.isFlag {
                if let inline { throw option.refusing(value: inline, command: name) }
                parsed.set(option, nil)
                continue
            }
            var text = inline ?? ""
            if inline == nil {
                let (value, afterValue) = Tokenizer.headAndRest(afterWord)
                guard !value.isEmpty, !afterValue.isEmpty else {
                    throw TTSError.validation(option.name, "\(name) --\(option.name) needs a value and then the text: `\(name) \(option.synopsis) TEXT`")
                }
                text = value
                rest = afterValue
            }
            parsed.set(option, try option.parse(text, command: name))
        }
        parsed.positional = [rest]
        return parsed
    }

    /// The option `word` names (`--name` or `--name=value`), nil when `word` is no option;
    /// an unknown `--name` is refused with the nearest declared one.
    private func option(in word: String) throws -> (CommandOption, String?)? {
        guard word.hasPrefix("--"), word.count > 2 else { return nil }
        var name = String(word.dropFirst(2))
        var inline: String?
        if let eq = name.firstIndex(of: "=") {
            inline = String(name[name.index(after: eq)...])
            name = String(name[..<eq])
        }
        guard let option = options.first(where: { $0.name == name }) else {
            throw unknownOption(name)
        }
        return (option, inline)
    }

    private func isDeclaredOption(_ word: String) -> Bool {
        ((try? option(in: word)) ?? nil) != nil
    }

    private func unknownOption(_ given: String) -> TTSError {
        guard !options.isEmpty else {
            return TTSError.validation(given, "\(name): unknown option --\(given); \(name) takes no options")
        }
        let names = options.map(\.name)
        // A unique prefix (`--dry` for `--dry-run`) is the likeliest meaning; else the nearest by edit distance.
        let prefixed = names.filter { $0.hasPrefix(given.lowercased()) }
        let nearest = prefixed.count == 1 ? prefixed[0]
            : names.map { ($0, editDistance($0, given.lowercased())) }.filter { $0.1 <= max(2, given.count / 3) }.min { $0.1 < $1.1 }?.0
        let hint = nearest.map { " Did you mean --\($0)?" } ?? ""
        return TTSError.validation(given, "\(name): unknown option --\(given).\(hint) Accepted: \(names.map { "--" + $0 }.joined(separator: ", "))")
    }

    /// Refuses words the declaration has no place for, and a missing required argument.
    private func checkCount(_ positional: [String]) throws {
        if let missing = arguments.required.dropFirst(positional.count).first {
            let example = examples.first.map { ", e.g. `\($0)`" } ?? ""
            throw TTSError.validation(missing.placeholder.lowercased(), "\(name) needs \(missing.placeholder) (\(missing.help))\(example)")
        }
        guard arguments.last?.repeats != true, positional.count > arguments.count else { return }
        let extra = positional[arguments.count]
        let search = options.contains { $0.name == "match" } ? "; to search text use --match \"\(extra)\"" : ""
        let takes = arguments.isEmpty ? (options.isEmpty ? "no arguments" : "options only")
            : "\(arguments.count == 1 ? "one argument" : "\(arguments.count) arguments") (\(arguments.map(\.placeholder).joined(separator: " ")))"
        throw TTSError.validation(name, "\(name) takes \(takes), not \(arguments.isEmpty ? "" : "also ")'\(extra)'\(search); see `help \(name)`")
    }
}

private extension Array where Element == CommandArgument {
    var required: [CommandArgument] { filter { !$0.isOptional } }
}

// MARK: - Help

extension Command {
    /// What `help COMMAND` prints: usage, summary, aliases, arguments, options, examples.
    var helpText: String {
        var lines = ["usage: \(usage)", "", summary]
        if !aliases.isEmpty { lines.append("aliases: \(aliases.joined(separator: ", "))") }
        lines += argumentsHelp
        if !examples.isEmpty { lines += ["", "examples:"] + examples.map { "  \($0)" } }
        return lines.joined(separator: "\n")
    }

    /// `help --json`: the same declaration as data.
    var helpJSON: JSONValue {
        .object([("command", .string(name)), ("usage", .string(usage)), ("group", .string(group.rawValue)),
                 ("summary", .string(summary)), ("aliases", .array(aliases.map { .string($0) })),
                 ("arguments", .array(arguments.map { argument in
                     .object([("name", .string(argument.placeholder)), ("optional", .bool(argument.isOptional)),
                              ("repeats", .bool(argument.repeats)), ("help", .string(argument.help))])
                 })),
                 ("options", .array(options.map { option in
                     .object([("name", .string("--" + option.name)), ("synopsis", .string(option.synopsis)),
                              ("flag", .bool(option.isFlag)), ("help", .string(option.help)),
                              ("details", option.details.map { .string($0) } ?? .null)])
                 })),
                 ("examples", .array(examples.map { .string($0) }))])
    }

    /// The `arguments:` and `options:` sections of `help COMMAND`: one line each, the
    /// synopsis in a column, then the help and what the declaration says of range and default.
    var argumentsHelp: [String] {
        func row(_ synopsis: String, _ text: String) -> String {
            let column = 28
            return synopsis.count < column ? "  " + synopsis.padding(toLength: column, withPad: " ", startingAt: 0) + text
                : "  \(synopsis)\n  \(String(repeating: " ", count: column))\(text)"
        }
        var lines: [String] = []
        if !arguments.isEmpty {
            lines += ["", "arguments:"] + arguments.map { row($0.placeholder, $0.help) }
        }
        if !options.isEmpty {
            lines += ["", "options:"] + options.map { option in
                row(option.synopsis, option.help + (option.details.map { " (\($0))" } ?? ""))
            }
        }
        return lines
    }
}

// MARK: - Completion

/// What Tab may put in place of the word being typed, from the command's declaration.
enum CompletionSlot: Sendable, Equatable {
    case nothing
    /// `--name` of the options not given yet.
    case optionNames([String])
    /// An option's value or an argument; `prefix` (`--encoding=`) stays in front of each candidate.
    case value(ValueCompletion, prefix: String)
}

extension Command {
    /// The slot of `current`, the word being typed, after `previous` (the words between the
    /// command word and it).
    func completionSlot(previous: [String], current: String) -> CompletionSlot {
        var given: Set<String> = []
        var pendingValue: CommandOption?
        var positionalCount = 0
        var optionsEnded = false
        for word in previous {
            if pendingValue != nil {
                pendingValue = nil
                continue
            }
            if !optionsEnded && word == "--" {
                optionsEnded = true
            } else if !optionsEnded, let (option, inline) = (try? option(in: word)) ?? nil {
                given.insert(option.name)
                if !option.isFlag && inline == nil { pendingValue = option }
            } else if input == .text && !options.isEmpty && positionalCount == 0 && !optionsEnded && word.hasPrefix("--") {
                return .nothing  // an unknown option: no guess
            } else {
                positionalCount += 1
            }
        }
        // A text command's text has begun: it is free text from there on.
        if input == .text && (positionalCount > 0 || optionsEnded) { return .nothing }
        if let option = pendingValue { return .value(option.valueCompletion, prefix: "") }
        let unused = options.filter { !given.contains($0.name) }.map { "--" + $0.name }
        if !optionsEnded && current.hasPrefix("-") {
            guard let eq = current.firstIndex(of: "="), current.hasPrefix("--") else { return .optionNames(unused) }
            let name = String(current[current.index(current.startIndex, offsetBy: 2)..<eq])
            guard let option = options.first(where: { $0.name == name }), !option.isFlag else { return .nothing }
            return .value(option.valueCompletion, prefix: String(current[...eq]))
        }
        let slot = positionalCount < arguments.count ? arguments[positionalCount] : arguments.last.flatMap { $0.repeats ? $0 : nil }
        if let slot, slot.completion != .none { return .value(slot.completion, prefix: "") }
        return current.isEmpty && !unused.isEmpty && !optionsEnded ? .optionNames(unused) : .nothing
    }
}
