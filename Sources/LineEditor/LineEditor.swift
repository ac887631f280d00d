import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Reads lines from a terminal with editing, history, completion and hints — or, when input
/// is not a terminal or the terminal is dumb, reads plain lines with no escape codes, so
/// scripts and people share one program.
///
/// Raw mode is on only inside `readLine` and is restored on return (and by hooks on exit,
/// SIGINT and SIGTERM). One thread calls `readLine`; any thread may call `printAbove`.
///
///     let editor = LineEditor(prompt: "tts> ", historyFile: url)
///     editor.hints = { line in line == "say" ? " <text>" : nil }
///     while case .line(let line) = editor.readLine() { run(line) }
public final class LineEditor: @unchecked Sendable {
    public enum ReadResult: Equatable, Sendable {
        case line(String)
        /// Ctrl-C: the line was abandoned; the caller usually prompts again.
        case interrupted
        /// Ctrl-D on an empty line, or the input ended.
        case eof
        /// A line read without the editor (no raw mode) held bytes that are not UTF-8: why.
        case invalid(String)
    }

    /// Candidates for the whitespace-delimited word that ends at the cursor; the cursor is
    /// counted in `Character`s. See `EditState` for how one or several candidates apply.
    public typealias Completion = EditState.Completion
    /// Grey text shown after the line when the cursor is at its end, e.g. a command's arguments.
    public typealias Hints = @Sendable (_ line: String) -> String?

    public let history: History
    public let prompt: String
    /// Whether the terminal path is used (input is a terminal and TERM is not dumb or unset).
    public let isInteractive: Bool

    public var completion: Completion? {
        get { lock.withLock { _completion } }
        set { lock.withLock { _completion = newValue } }
    }
    public var hints: Hints? {
        get { lock.withLock { _hints } }
        set { lock.withLock { _hints = newValue } }
    }

    private let input: Int32
    private let output: Int32
    private let colour: Bool
    private let echoPromptWhenPlain: Bool

    /// Guards the output descriptor, what is on screen (`shown`), the width and the callbacks,
    /// so `printAbove` from another thread never interleaves with a redraw.
    private let lock = NSLock()
    private var shown: Shown?
    private var columns = 80
    private var _completion: Completion?
    private var _hints: Hints?

    // Owned by the thread in `readLine`. Bytes and lines already read are kept here between
    // calls, so typed-ahead keys and the rest of a multi-line paste are never lost.
    private var decoder = KeyDecoder()
    private var pendingKeys: [Key] = []
    private var queuedLines: [String] = []
    private var unfinishedLine = ""
    private var plainBytes: [UInt8] = []

    private struct Shown {
        var prompt: String
        var text: String
        var cursor: Int
        var hint: String?
    }

    /// - Parameters:
    ///   - historyExcludes: lines never kept in history (commands that carry a secret).
    ///   - input, output: descriptors of the terminal (tests pass a pseudo-terminal).
    ///   - term: the TERM value; nil, "" or "dumb" selects plain line reading.
    ///   - colour: false draws hints without the grey escape code.
    public init(prompt: String = "> ", historyFile: URL? = nil, historyLimit: Int = 1000,
                historyExcludes: @escaping @Sendable (String) -> Bool = { _ in false },
                input: Int32 = STDIN_FILENO, output: Int32 = STDOUT_FILENO,
                term: String? = ProcessInfo.processInfo.environment["TERM"], colour: Bool = true) {
        self.prompt = prompt
        self.input = input
        self.output = output
        self.colour = colour
        let terminal = Terminal.isTerminal(input)
        self.isInteractive = terminal && !["", "dumb"].contains(term ?? "")
        // A dumb terminal is still a person: show the prompt. A pipe gets none (sqlite3 does the same).
        self.echoPromptWhenPlain = terminal
        // redis-cli's rule: history only for people at a terminal.
        self.history = History(limit: historyLimit, file: isInteractive ? historyFile : nil,
                               excludes: historyExcludes)
    }

    public func readLine() -> ReadResult { readLine(prompt: prompt) }

    /// Reads one line. Interactive reads leave the cursor at the start of a new line and add
    /// the line to history.
    public func readLine(prompt: String) -> ReadResult {
        guard isInteractive else { return readPlain(prompt: echoPromptWhenPlain ? prompt : nil) }
        if !queuedLines.isEmpty {
            // The rest of a multi-line paste: shown as if typed, so the transcript reads right.
            let line = queuedLines.removeFirst()
            lock.withLock { writeLocked(prompt + line + "\r\n") }
            history.add(line)
            return .line(line)
        }
        guard let original = Terminal.enterRawMode(input) else {
            return readPlain(prompt: prompt)
        }
        lock.withLock {
            columns = Terminal.columns(output)
            writeLocked("\u{1b}[?2004h")  // bracketed paste: a pasted block arrives as one key
        }
        defer {
            lock.withLock { writeLocked("\u{1b}[?2004l") }
            Terminal.leaveRawMode(input, original)
        }
        let result = edit(prompt: prompt)
        if case .line(let line) = result { history.add(line) }
        return result
    }

    /// Prints `text` on its own line(s) above the prompt being edited, then redraws the prompt
    /// and the line; with no prompt active, just prints. Safe from any thread.
    public func printAbove(_ text: String) {
        lock.withLock {
            if shown != nil {
                let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
                writeLocked("\r\u{1b}[0K" + lines.joined(separator: "\r\n") + "\r\n")
                drawLocked()
            } else {
                writeLocked(text + "\n")
            }
        }
    }

    // MARK: editing loop

    private func edit(prompt: String) -> ReadResult {
        var state = EditState(history: history.lines, text: unfinishedLine, completion: completion)
        unfinishedLine = ""
        show(state, prompt: prompt)
        while true {
            guard let key = nextKey() else {
                finish(state, prompt: prompt)
                return .eof
            }
            switch state.handle(key) {
            case .redraw:
                show(state, prompt: prompt)
            case .bell:
                lock.withLock { writeLocked("\u{7}") }
                show(state, prompt: prompt)
            case .accept(let line):
                finish(state, prompt: prompt)
                return .line(line)
            case .acceptPaste(let first, let queued, let unfinished):
                finish(state, prompt: prompt)
                queuedLines += queued
                unfinishedLine = unfinished
                return .line(first)
            case .interrupt:
                finish(state, prompt: prompt, mark: "^C")
                return .interrupted
            case .endOfFile:
                finish(state, prompt: prompt)
                return .eof
            case .clearScreen:
                lock.withLock { writeLocked("\u{1b}[H\u{1b}[2J") }
                show(state, prompt: prompt)
            case .listCandidates(let candidates):
                lock.withLock { writeLocked("\r\n" + layout(candidates) + "\r\n") }
                show(state, prompt: prompt)
            case .refuse(let reason):
                lock.withLock { writeLocked("\u{7}\r\u{1b}[0K" + reason + "\r\n") }
                show(state, prompt: prompt)
            }
        }
    }

    private func show(_ state: EditState, prompt: String) {
        let hints = self.hints
        let hint = state.search == nil && state.buffer.isCursorAtEnd ? hints?(state.buffer.text) : nil
        lock.withLock {
            shown = Shown(prompt: state.prompt(normal: prompt), text: state.buffer.text,
                          cursor: state.buffer.cursor, hint: hint)
            drawLocked()
        }
    }

    /// Final redraw without hint, cursor at the end, then a new line: the transcript keeps
    /// the line as entered.
    private func finish(_ state: EditState, prompt: String, mark: String = "") {
        lock.withLock {
            shown = Shown(prompt: prompt, text: state.buffer.text, cursor: state.buffer.text.count, hint: nil)
            drawLocked()
            shown = nil
            writeLocked(mark + "\r\n")
        }
    }

    private func drawLocked() {
        guard let shown else { return }
        writeLocked(LineRenderer.render(prompt: shown.prompt, text: shown.text, cursor: shown.cursor,
                                        hint: shown.hint, columns: columns, colour: colour))
    }

    private func layout(_ candidates: [String]) -> String {
        let width = (candidates.map(DisplayWidth.of).max() ?? 0) + 2
        let perRow = max(1, columns / width)
        var rows: [String] = []
        for start in stride(from: 0, to: candidates.count, by: perRow) {
            let row = candidates[start..<min(start + perRow, candidates.count)]
            rows.append(row.map { $0 + String(repeating: " ", count: width - DisplayWidth.of($0)) }
                .joined().trimmingSuffixSpaces())
        }
        return rows.joined(separator: "\r\n")
    }

    // MARK: input

    /// The next key, reading more bytes when none are pending; nil when the input ended.
    /// A lone ESC becomes `.escape` after 50 ms of quiet (the time a terminal needs to
    /// send the rest of a sequence). SIGWINCH wakes the poll to redraw at the new width.
    private func nextKey() -> Key? {
        while pendingKeys.isEmpty {
            var fds = [pollfd(fd: input, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: Terminal.resizeSignals, events: Int16(POLLIN), revents: 0)]
            let ready = poll(&fds, nfds_t(fds.count), decoder.isWaitingForMore ? 50 : -1)
            if ready < 0 {
                if errno == EINTR { continue }
                return nil
            }
            if ready == 0 {
                pendingKeys += decoder.flush()
                continue
            }
            if fds[1].revents != 0 {
                Terminal.drainResizeSignals()
                lock.withLock {
                    columns = Terminal.columns(output)
                    drawLocked()
                }
            }
            if fds[0].revents != 0 {
                guard let bytes = readBytes() else { return nil }
                pendingKeys += decoder.feed(bytes)
            }
        }
        return pendingKeys.removeFirst()
    }

    /// Some bytes from the input, or nil at end of input or on error.
    private func readBytes() -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = read(input, &buffer, buffer.count)
            if count > 0 { return Array(buffer[..<count]) }
            if count < 0 && (errno == EINTR || errno == EAGAIN) { continue }
            return nil
        }
    }

    /// A line as read, or why it is refused: never U+FFFD in place of a byte.
    private static func plainLine(_ bytes: [UInt8]) -> ReadResult {
        if let offset = KeyDecoder.firstInvalidByte(bytes) {
            return .invalid("byte 0x\(String(bytes[offset], radix: 16, uppercase: true)) at offset \(offset) of the line is not UTF-8")
        }
        return .line(String(decoding: bytes, as: UTF8.self))
    }

    /// Cooked or piped input: no escape codes, the kernel (or nobody) echoes.
    private func readPlain(prompt: String?) -> ReadResult {
        if let prompt { lock.withLock { writeLocked(prompt) } }
        while true {
            if let newline = plainBytes.firstIndex(of: UInt8(ascii: "\n")) {
                var line = Array(plainBytes[..<newline])
                plainBytes.removeFirst(newline + 1)
                if line.last == UInt8(ascii: "\r") { line.removeLast() }
                return Self.plainLine(line)
            }
            guard let bytes = readBytes() else {
                guard !plainBytes.isEmpty else { return .eof }
                defer { plainBytes.removeAll() }
                return Self.plainLine(plainBytes)
            }
            plainBytes += bytes
        }
    }

    // MARK: output

    private func writeLocked(_ text: String) {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { write(output, $0.baseAddress, $0.count) }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { return }
            bytes = bytes.dropFirst(written)
        }
    }
}

private extension String {
    func trimmingSuffixSpaces() -> String {
        var s = self
        while s.last == " " { s.removeLast() }
        return s
    }
}
