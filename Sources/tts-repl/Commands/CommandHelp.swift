import Foundation
import TTSCore

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
