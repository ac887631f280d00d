import Foundation

/// Reads a `.env` file: `KEY=VALUE` lines, `#` comments, an optional `export ` prefix, values
/// in single quotes (taken literally) or double quotes (with \n, \t, \" and \\ escapes), and a
/// `#` comment after a value (after ` #` when unquoted, after the closing quote when quoted).
public enum DotEnv {
    public static func parse(_ text: String, file: String = ".env") throws -> [String: String] {
        var values: [String: String] = [:]
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.hasSuffix("\r") { line.removeLast() }
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("export ") { line = String(line.dropFirst(7)).trimmingCharacters(in: .whitespaces) }
            guard let eq = line.firstIndex(of: "=") else {
                throw TTSError.config("\(file):\(index + 1): expected KEY=VALUE, found '\(line.prefix(40))'")
            }
            let key = line[..<eq].trimmingCharacters(in: .whitespaces)
            guard !key.isEmpty, key.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else {
                throw TTSError.config("\(file):\(index + 1): '\(key)' is not a valid variable name")
            }
            var value = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            if let quote = value.first, quote == "'" || quote == "\"", let (inside, rest) = quoted(value) {
                // A comment may follow the closing quote: `KEY="a # b"  # note`.
                let after = rest.trimmingCharacters(in: .whitespaces)
                guard after.isEmpty || after.hasPrefix("#") else {
                    throw TTSError.config("\(file):\(index + 1): unexpected '\(after.prefix(20))' after the quoted value of \(key); put a comment after ' #'")
                }
                value = quote == "'" ? inside : unescape(inside)
            } else if let hash = value.range(of: " #") {
                value = value[..<hash.lowerBound].trimmingCharacters(in: .whitespaces)
            }
            values[key] = value
        }
        return values
    }

    public static func load(_ url: URL) throws -> [String: String] {
        guard FileManager.default.fileExists(atPath: url.path) else { return [:] }
        guard let data = FileManager.default.contents(atPath: url.path), let text = String(data: data, encoding: .utf8) else {
            throw TTSError.config("\(url.path) could not be read as UTF-8 text")
        }
        return try parse(text, file: url.lastPathComponent)
    }

    /// Splits `'…' rest` or `"…" rest` at the closing quote (in double quotes a backslash
    /// escapes the next character); nil when the quote is never closed.
    private static func quoted(_ value: String) -> (inside: String, rest: String)? {
        let quote = value.first!
        var escaping = false
        var index = value.index(after: value.startIndex)
        while index < value.endIndex {
            let c = value[index]
            if escaping {
                escaping = false
            } else if c == "\\" && quote == "\"" {
                escaping = true
            } else if c == quote {
                return (String(value[value.index(after: value.startIndex)..<index]), String(value[value.index(after: index)...]))
            }
            index = value.index(after: index)
        }
        return nil
    }

    private static func unescape(_ s: String) -> String {
        var out = ""
        var escaping = false
        for c in s {
            if escaping {
                switch c {
                case "n": out.append("\n")
                case "t": out.append("\t")
                default: out.append(c)
                }
                escaping = false
            } else if c == "\\" {
                escaping = true
            } else {
                out.append(c)
            }
        }
        return out
    }
}
