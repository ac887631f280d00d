/// Splits a command line into words: whitespace separates, `"…"` and `'…'` group, a backslash
/// escapes the next character (inside double quotes too). Single quotes are literal.
enum Tokenizer {
    struct Unterminated: Error {
        let quote: Character
    }

    static func split(_ line: String) throws -> [String] {
        var words: [String] = []
        var current = ""
        var inWord = false
        var quote: Character?
        var escaping = false
        for c in line {
            if escaping {
                current.append(c)
                escaping = false
                inWord = true
                continue
            }
            if let q = quote {
                if c == q {
                    quote = nil
                } else if c == "\\" && q == "\"" {
                    escaping = true
                } else {
                    current.append(c)
                }
                continue
            }
            switch c {
            case "\"", "'":
                quote = c
                inWord = true
            case "\\":
                escaping = true
            case _ where c.isWhitespace:
                if inWord { words.append(current) }
                current = ""
                inWord = false
            default:
                current.append(c)
                inWord = true
            }
        }
        if let quote { throw Unterminated(quote: quote) }
        if escaping { current.append("\\") }
        if inWord { words.append(current) }
        return words
    }

    /// The command word and the raw remainder of the line, for commands such as `say` that take
    /// the rest of the line as text (so `say don't panic` keeps its apostrophe).
    static func headAndRest(_ line: String) -> (String, String) {
        asciiHeadAndRest(line) ?? unicodeHeadAndRest(line)
    }

    /// The definition: whitespace as `Character` knows it (U+3000, no-break space…).
    static func unicodeHeadAndRest(_ line: String) -> (String, String) {
        let trimmed = line.drop { $0.isWhitespace }
        guard let space = trimmed.firstIndex(where: { $0.isWhitespace }) else { return (String(trimmed), "") }
        return (String(trimmed[..<space]), String(trimmed[space...].drop { $0.isWhitespace }))
    }

    /// `headAndRest` on the line's bytes when every byte it has to look at is ASCII: the
    /// common case, and a script of cached `say` lines spent more time asking Unicode whether
    /// each character was whitespace than looking clips up. Nil when a non-ASCII byte sits where
    /// the answer could depend on it (inside the command word, or where whitespace could go on:
    /// U+3000 is whitespace too, and a combining mark joins the space before it); the caller
    /// then takes the Unicode path.
    static func asciiHeadAndRest(_ line: String) -> (String, String)? {
        let bytes = line.utf8
        func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || (byte >= 0x09 && byte <= 0x0D) }
        var index = bytes.startIndex
        while index != bytes.endIndex, isSpace(bytes[index]) { index = bytes.index(after: index) }
        let headStart = index
        while index != bytes.endIndex, !isSpace(bytes[index]) {
            if bytes[index] >= 0x80 { return nil }
            index = bytes.index(after: index)
        }
        let headEnd = index
        while index != bytes.endIndex, isSpace(bytes[index]) { index = bytes.index(after: index) }
        if index != bytes.endIndex, bytes[index] >= 0x80 { return nil }
        return (String(line[headStart..<headEnd]), String(line[index...]))
    }
}
