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
            guard let bytes = Configuration.byteSize(text) else {
                throw TTSError.validation(name, "\(prefix) takes a size such as 4194304, 512KiB, 4MiB or 1GiB, not '\(text)'")
            }
            return .integer(bytes)
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
