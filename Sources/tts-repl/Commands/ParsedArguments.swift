import Foundation
import TTSCore

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

    /// A choice that declares a default: its value, or that default.
    func choiceOrDefault<T: RawRepresentable>(_ name: String, as type: T.Type = T.self) -> T where T.RawValue == String {
        guard let value = choice(name, as: type) else { preconditionFailure("\(command): --\(name) declares no default") }
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
    func option(in word: String) throws -> (CommandOption, String?)? {
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
