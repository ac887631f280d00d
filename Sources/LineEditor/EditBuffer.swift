/// The line being edited and the cursor in it, counted in grapheme clusters (`Character`s),
/// so one step of the cursor never lands inside "e\u{301}" or an emoji.
///
///     var buffer = EditBuffer("helo", cursor: 3)
///     buffer.insert("l")        // "hello", cursor 4
public struct EditBuffer: Equatable, Sendable {
    public private(set) var text: String
    /// Characters before the cursor; `0...text.count`.
    public private(set) var cursor: Int

    public init(_ text: String = "", cursor: Int? = nil) {
        self.text = text
        self.cursor = min(max(cursor ?? text.count, 0), text.count)
    }

    public var isEmpty: Bool { text.isEmpty }
    public var isCursorAtEnd: Bool { cursor == text.count }
    var beforeCursor: String { String(text.prefix(cursor)) }
    var afterCursor: String { String(text.dropFirst(cursor)) }

    /// Inserts at the cursor. A combining mark joins the character before it, so the cursor
    /// is recounted from the new text rather than advanced by `s.count`.
    public mutating func insert(_ s: String) {
        let head = beforeCursor + s
        text = head + afterCursor
        cursor = head.count
    }

    /// Replaces the whole line, cursor at its end (history recall, completion).
    public mutating func replace(with s: String, cursor: Int? = nil) {
        self = EditBuffer(s, cursor: cursor)
    }

    public mutating func moveLeft() { cursor = max(cursor - 1, 0) }
    public mutating func moveRight() { cursor = min(cursor + 1, text.count) }
    public mutating func moveHome() { cursor = 0 }
    public mutating func moveEnd() { cursor = text.count }

    /// Back to the start of the previous word (letters and digits), as readline's Alt-b.
    public mutating func moveWordLeft() {
        let chars = Array(text)
        var i = cursor
        while i > 0 && !Self.isWordCharacter(chars[i - 1]) { i -= 1 }
        while i > 0 && Self.isWordCharacter(chars[i - 1]) { i -= 1 }
        cursor = i
    }

    /// Forward to the end of the next word, as readline's Alt-f.
    public mutating func moveWordRight() {
        let chars = Array(text)
        var i = cursor
        while i < chars.count && !Self.isWordCharacter(chars[i]) { i += 1 }
        while i < chars.count && Self.isWordCharacter(chars[i]) { i += 1 }
        cursor = i
    }

    public mutating func deleteBackward() {
        guard cursor > 0 else { return }
        remove(cursor - 1..<cursor)
    }

    public mutating func deleteForward() {
        guard cursor < text.count else { return }
        remove(cursor..<cursor + 1)
    }

    /// Ctrl-K.
    public mutating func deleteToEnd() { remove(cursor..<text.count) }
    /// Ctrl-U.
    public mutating func deleteToStart() { remove(0..<cursor) }

    /// Ctrl-W: the whitespace-delimited word before the cursor, and the spaces after it.
    public mutating func deleteWordBackward() {
        let chars = Array(text)
        var i = cursor
        while i > 0 && chars[i - 1].isWhitespace { i -= 1 }
        while i > 0 && !chars[i - 1].isWhitespace { i -= 1 }
        remove(i..<cursor)
    }

    /// Ctrl-T: swaps the two characters around the cursor and steps past them; at the end of
    /// the line, swaps the last two (readline's behaviour, so a typo just made is fixed).
    public mutating func transpose() {
        var chars = Array(text)
        guard chars.count >= 2, cursor > 0 else { return }
        let i = min(cursor, chars.count - 1)
        chars.swapAt(i - 1, i)
        text = String(chars)
        cursor = min(i + 1, text.count)
    }

    private mutating func remove(_ range: Range<Int>) {
        guard !range.isEmpty else { return }
        let chars = Array(text)
        let head = String(chars[..<range.lowerBound])
        text = head + String(chars[range.upperBound...])
        cursor = head.count
    }

    private static func isWordCharacter(_ c: Character) -> Bool { c.isLetter || c.isNumber }
}
