/// What the terminal side must do after the editing core handled a key.
public enum EditAction: Equatable, Sendable {
    /// The state may have changed: redraw the line.
    case redraw
    /// Enter: the line is done.
    case accept(String)
    /// A bracketed paste held line breaks: `first` is done now, `queued` are whole lines for
    /// the next reads, `unfinished` (text after the last break, maybe empty) starts the line
    /// after them. Nothing pasted is lost.
    case acceptPaste(first: String, queued: [String], unfinished: String)
    /// Ctrl-C: the line is abandoned.
    case interrupt
    /// Ctrl-D on an empty line.
    case endOfFile
    /// Ctrl-L.
    case clearScreen
    /// Nothing to do for this key (no completion, no older match…): ring the bell.
    case bell
    /// Second Tab with several candidates: show them under the line, then redraw.
    case listCandidates([String])
    /// Input refused (bytes that are not UTF-8): ring the bell, say why above the line, which
    /// is left as it was.
    case refuse(String)
}

/// The editing core: a state machine from `Key`s to a new line, cursor and mode. It does no
/// I/O, so every key binding is tested with plain values.
///
///     var state = EditState(history: ["say hello"])
///     state.handle(.up)         // buffer is "say hello"
///     state.handle(.enter)      // .accept("say hello")
public struct EditState: Sendable {
    public typealias Completion = @Sendable (_ line: String, _ cursor: Int) -> [String]

    /// Ctrl-R reverse incremental search in progress.
    public struct Search: Equatable, Sendable {
        public var query = ""
        /// Index into the history of the entry shown, nil when nothing matches yet.
        public var match: Int?
        public var failed = false
        /// The line as it was before Ctrl-R, put back by Esc or Ctrl-G.
        var original: EditBuffer
    }

    public var buffer: EditBuffer
    public private(set) var search: Search?
    /// Oldest first, then the line being edited. Recalled lines may be edited in place here;
    /// the `History` itself is never changed by editing (as in linenoise).
    private var lines: [String]
    private var historyIndex: Int
    private var tabPressed = false
    private let completion: Completion?

    public init(history: [String] = [], text: String = "", completion: Completion? = nil) {
        self.buffer = EditBuffer(text)
        self.lines = history + [text]
        self.historyIndex = history.count
        self.completion = completion
    }

    /// The prompt to draw: the caller's, or the search prompt while Ctrl-R is active.
    public func prompt(normal: String) -> String {
        guard let search else { return normal }
        return "(\(search.failed ? "failed " : "")reverse-i-search)`\(search.query)': "
    }

    @discardableResult
    public mutating func handle(_ key: Key) -> EditAction {
        if search != nil, let action = handleSearch(key) { return action }
        let wasTab = tabPressed
        tabPressed = false
        switch key {
        case .character(let c): buffer.insert(String(c))
        case .paste(let text): return paste(text)
        case .invalidUTF8(let byte, let offset):
            let place = offset > 0 ? " at byte \(offset) of the paste" : ""
            return .refuse("byte 0x\(String(byte, radix: 16, uppercase: true))\(place) is not UTF-8 and was not taken; set the terminal to UTF-8")
        case .enter: return .accept(buffer.text)
        case .tab: return complete(secondTab: wasTab)
        case .left, .control("b"): buffer.moveLeft()
        case .right, .control("f"): buffer.moveRight()
        case .home, .control("a"): buffer.moveHome()
        case .end, .control("e"): buffer.moveEnd()
        case .wordLeft: buffer.moveWordLeft()
        case .wordRight: buffer.moveWordRight()
        case .backspace: buffer.deleteBackward()
        case .delete: buffer.deleteForward()
        case .control("d"):
            if buffer.isEmpty { return .endOfFile }
            buffer.deleteForward()
        case .control("c"): return .interrupt
        case .control("k"): buffer.deleteToEnd()
        case .control("u"): buffer.deleteToStart()
        case .control("w"): buffer.deleteWordBackward()
        case .control("t"): buffer.transpose()
        case .control("l"): return .clearScreen
        case .up, .control("p"): return recall(historyIndex - 1)
        case .down, .control("n"): return recall(historyIndex + 1)
        case .control("r"):
            search = Search(original: buffer)
        default: break
        }
        return .redraw
    }

    // MARK: history

    private mutating func recall(_ index: Int) -> EditAction {
        guard lines.indices.contains(index) else { return .bell }
        lines[historyIndex] = buffer.text
        historyIndex = index
        buffer.replace(with: lines[index])
        return .redraw
    }

    // MARK: reverse search

    /// Keys that mean something inside the search; nil when the key ends the search and
    /// should then be handled as usual on the match (as bash does with arrows and Ctrl-A/E).
    private mutating func handleSearch(_ key: Key) -> EditAction? {
        guard var current = search else { return nil }
        switch key {
        case .character(let c):
            current.query.append(c)
            search = current
            return find(from: current.match ?? historyCount - 1)
        case .backspace:
            guard !current.query.isEmpty else { return .redraw }
            current.query.removeLast()
            search = current
            return find(from: historyCount - 1)
        case .control("r"):
            return find(from: (current.match ?? historyCount) - 1)
        case .escape, .control("g"):
            buffer = current.original
            search = nil
            return .redraw
        case .enter:
            search = nil
            return .accept(buffer.text)
        case .control("c"):
            search = nil
            return .interrupt
        default:
            search = nil
            return nil
        }
    }

    private var historyCount: Int { lines.count - 1 }

    /// Newest match at or before `start` that contains the query; the cursor goes to it.
    private mutating func find(from start: Int) -> EditAction {
        guard var current = search else { return .redraw }
        var i = min(start, historyCount - 1)
        while i >= 0 {
            if current.query.isEmpty { break }
            if let offset = Self.offset(of: current.query, in: lines[i]) {
                current.match = i
                current.failed = false
                search = current
                buffer.replace(with: lines[i], cursor: offset)
                return .redraw
            }
            i -= 1
        }
        current.failed = !current.query.isEmpty
        search = current
        return current.failed ? .bell : .redraw
    }

    /// Characters before the first occurrence of `needle` in `line`.
    static func offset(of needle: String, in line: String) -> Int? {
        let hay = Array(line), pattern = Array(needle)
        guard pattern.count <= hay.count else { return nil }
        return (0...hay.count - pattern.count).first { hay[$0..<$0 + pattern.count].elementsEqual(pattern) }
    }

    // MARK: completion

    /// Completes the whitespace-delimited word ending at the cursor. The callback gets the
    /// whole line and the cursor (in `Character`s) and returns replacements for that word:
    /// one is applied as is (return "say " to get a trailing space), several extend the word
    /// to their common prefix, and a Tab that cannot extend it lists them.
    private mutating func complete(secondTab: Bool) -> EditAction {
        guard let completion else { return .bell }
        let candidates = completion(buffer.text, buffer.cursor)
        guard !candidates.isEmpty else { return .bell }
        let before = Array(buffer.beforeCursor)
        var start = before.count
        while start > 0 && !before[start - 1].isWhitespace { start -= 1 }
        let word = String(before[start...])
        let replacement = candidates.count == 1 ? candidates[0] : Self.commonPrefix(candidates)
        if replacement != word && replacement.hasPrefix(word) || candidates.count == 1 {
            buffer = EditBuffer(String(before[..<start]) + replacement + buffer.afterCursor,
                                cursor: (String(before[..<start]) + replacement).count)
            tabPressed = candidates.count > 1
            return .redraw
        }
        tabPressed = true
        return secondTab ? .listCandidates(candidates) : .bell
    }

    static func commonPrefix(_ strings: [String]) -> String {
        guard var prefix = strings.first.map(Array.init) else { return "" }
        for s in strings.dropFirst() {
            let chars = Array(s)
            var n = 0
            while n < min(prefix.count, chars.count) && prefix[n] == chars[n] { n += 1 }
            prefix.removeLast(prefix.count - n)
        }
        return String(prefix)
    }

    // MARK: paste

    private mutating func paste(_ text: String) -> EditAction {
        var parts = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        buffer.insert(parts.removeFirst())
        guard !parts.isEmpty else { return .redraw }
        let unfinished = parts.removeLast()
        return .acceptPaste(first: buffer.text, queued: parts, unfinished: unfinished)
    }
}
