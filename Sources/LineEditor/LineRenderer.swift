/// Builds the exact bytes that redraw the line, in single-line mode like linenoise: return
/// to column 0, prompt, the visible slice of the text, the hint, clear to end of line, and
/// put the cursor back. A line wider than the terminal scrolls horizontally so the cursor
/// always stays on screen.
///
///     LineRenderer.render(prompt: "> ", text: "hi", cursor: 2, hint: " <text>", columns: 80)
///     // "\r> hi\u{1b}[90m <text>\u{1b}[0m\u{1b}[0K\r\u{1b}[4C"
public enum LineRenderer {
    public static func render(prompt: String, text: String, cursor: Int, hint: String? = nil,
                              columns: Int, colour: Bool = true) -> String {
        let promptWidth = DisplayWidth.of(prompt)
        let chars = Array(text)
        let widths = chars.map(DisplayWidth.of)
        let cursor = min(max(cursor, 0), chars.count)

        // Drop characters from the left until the cursor fits before the last column…
        var start = 0
        var cursorColumn = promptWidth + widths[..<cursor].reduce(0, +)
        while start < cursor && cursorColumn >= columns {
            cursorColumn -= widths[start]
            start += 1
        }
        // …then show as much as fits to its right.
        var end = start
        var used = promptWidth
        while end < chars.count && used + widths[end] <= columns {
            used += widths[end]
            end += 1
        }

        var out = "\r" + prompt + String(chars[start..<end])
        if let hint, !hint.isEmpty, cursor == chars.count, end == chars.count {
            var shown = ""
            for c in hint where !c.isNewline {
                let w = DisplayWidth.of(c)
                if used + w > columns { break }
                used += w
                shown.append(c)
            }
            if !shown.isEmpty { out += colour ? "\u{1b}[90m" + shown + "\u{1b}[0m" : shown }
        }
        out += "\u{1b}[0K\r"
        if cursorColumn > 0 { out += "\u{1b}[\(cursorColumn)C" }
        return out
    }
}
