import XCTest
import Foundation
import Glibc
@testable import LineEditor

/// A pseudo-terminal: the editor gets the slave side, the test types into and reads from the
/// master side, as a terminal emulator would.
private final class PseudoTerminal {
    let master: Int32
    let slave: Int32
    private(set) var output = ""

    init(columns: UInt16 = 80) throws {
        var master: Int32 = -1, slave: Int32 = -1
        var size = winsize(ws_row: 24, ws_col: columns, ws_xpixel: 0, ws_ypixel: 0)
        guard openpty(&master, &slave, nil, nil, &size) == 0 else {
            throw XCTSkip("openpty failed: \(String(cString: strerror(errno)))")
        }
        self.master = master
        self.slave = slave
    }

    deinit {
        close(master)
        close(slave)
    }

    func type(_ text: String) {
        let bytes = Array(text.utf8)
        XCTAssertEqual(bytes.withUnsafeBytes { write(master, $0.baseAddress, $0.count) }, bytes.count)
    }

    func resize(columns: UInt16) {
        var size = winsize(ws_row: 24, ws_col: columns, ws_xpixel: 0, ws_ypixel: 0)
        XCTAssertEqual(ioctl(master, UInt(TIOCSWINSZ), &size), 0)
    }

    /// Reads what the editor drew until `done` holds for everything read so far, for at most
    /// five seconds; returns whether it held.
    @discardableResult
    func readOutput(until done: (String) -> Bool) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 4096)
        for _ in 0..<500 {
            if done(output) { return true }
            var fd = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
            if poll(&fd, 1, 10) > 0 {
                let count = read(master, &buffer, buffer.count)
                if count > 0 { output += String(decoding: buffer[..<count], as: UTF8.self) }
            }
        }
        return done(output)
    }

    func settings() -> [UInt8] {
        var t = termios()
        XCTAssertEqual(tcgetattr(slave, &t), 0)
        return withUnsafeBytes(of: &t) { Array($0) }
    }

    var isRaw: Bool {
        var t = termios()
        tcgetattr(slave, &t)
        return t.c_lflag & tcflag_t(ICANON | ECHO | ISIG) == 0 && t.c_oflag & tcflag_t(OPOST) == 0
    }

    /// Waits (bounded) until the editor has put the terminal in raw mode.
    func waitForRawMode() -> Bool {
        for _ in 0..<500 {
            if isRaw { return true }
            usleep(10_000)
        }
        return false
    }
}

/// `readLine` on its own thread, as the REPL's main loop runs it; `result()` waits at most 5 s.
private final class BackgroundRead: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var value: LineEditor.ReadResult?

    init(_ editor: LineEditor, prompt: String = "> ") {
        Thread { [self] in
            let result = editor.readLine(prompt: prompt)
            lock.withLock { value = result }
            done.signal()
        }.start()
    }

    func result() -> LineEditor.ReadResult? {
        guard done.wait(timeout: .now() + 5) == .success else { return nil }
        return lock.withLock { value }
    }
}

final class PseudoTerminalTests: XCTestCase {
    private func editor(_ pty: PseudoTerminal, history: URL? = nil) -> LineEditor {
        LineEditor(prompt: "> ", historyFile: history, input: pty.slave, output: pty.slave, term: "xterm")
    }

    func testTypedLineIsReturnedAndDrawnWithHint() throws {
        let pty = try PseudoTerminal()
        let editor = editor(pty)
        editor.hints = { $0 == "say" ? " <text>" : nil }
        XCTAssertTrue(editor.isInteractive)
        let read = BackgroundRead(editor)
        XCTAssertTrue(pty.waitForRawMode())
        pty.type("say")
        XCTAssertTrue(pty.readOutput { $0.contains("\u{1b}[90m <text>\u{1b}[0m") }, pty.output)
        pty.type(" hi\r")
        XCTAssertEqual(read.result(), .line("say hi"))
        XCTAssertTrue(pty.readOutput { $0.hasSuffix("\u{1b}[?2004l") }, pty.output)
        XCTAssertTrue(pty.output.hasPrefix("\u{1b}[?2004h\r> "), "bracketed paste on, then the prompt: \(pty.output)")
        XCTAssertTrue(pty.output.contains("\r> say hi\u{1b}[0K\r\u{1b}[8C\r\n"), "final line drawn without hint")
    }

    func testRawModeOnlyWhileReadingAndSettingsRestoredExactly() throws {
        let pty = try PseudoTerminal()
        let before = pty.settings()
        XCTAssertFalse(pty.isRaw)
        let read = BackgroundRead(editor(pty))
        XCTAssertTrue(pty.waitForRawMode())
        pty.type("x\r")
        XCTAssertEqual(read.result(), .line("x"))
        XCTAssertEqual(pty.settings(), before)
    }

    func testCtrlCInterruptsAndRestoresSettingsExactly() throws {
        let pty = try PseudoTerminal()
        let before = pty.settings()
        let read = BackgroundRead(editor(pty))
        XCTAssertTrue(pty.waitForRawMode())
        pty.type("abc\u{3}")
        XCTAssertEqual(read.result(), .interrupted)
        XCTAssertEqual(pty.settings(), before)
        XCTAssertTrue(pty.readOutput { $0.contains("> abc\u{1b}[0K\r\u{1b}[5C^C\r\n") }, pty.output)
    }

    func testCtrlDOnEmptyLineIsEndOfFile() throws {
        let pty = try PseudoTerminal()
        let read = BackgroundRead(editor(pty))
        XCTAssertTrue(pty.waitForRawMode())
        pty.type("\u{4}")
        XCTAssertEqual(read.result(), .eof)
    }

    func testMultiLinePasteLosesNothing() throws {
        let pty = try PseudoTerminal()
        let editor = editor(pty)
        let first = BackgroundRead(editor)
        XCTAssertTrue(pty.waitForRawMode())
        pty.type("\u{1b}[200~say one\rsay two\r\nsay thr\u{1b}[201~ee\r")
        XCTAssertEqual(first.result(), .line("say one"))
        XCTAssertEqual(editor.readLine(prompt: "> "), .line("say two"), "queued line, no typing needed")
        XCTAssertEqual(BackgroundRead(editor).result(), .line("say three"), "unfinished fragment plus what was typed after")
        XCTAssertEqual(editor.history.lines, ["say one", "say two", "say three"])
    }

    func testTypedAheadLinesAreNotLost() throws {
        let pty = try PseudoTerminal()
        let editor = editor(pty)
        let first = BackgroundRead(editor)
        XCTAssertTrue(pty.waitForRawMode())
        pty.type("one\rtwo\r")
        XCTAssertEqual(first.result(), .line("one"))
        XCTAssertEqual(BackgroundRead(editor).result(), .line("two"))
    }

    func testPrintAboveKeepsThePromptAndLine() throws {
        let pty = try PseudoTerminal()
        let editor = editor(pty)
        let read = BackgroundRead(editor)
        XCTAssertTrue(pty.waitForRawMode())
        pty.type("par")
        XCTAssertTrue(pty.readOutput { $0.contains("> par") })
        DispatchQueue.global().sync { editor.printAbove("progress 50%") }
        XCTAssertTrue(pty.readOutput { $0.contains("\r\u{1b}[0Kprogress 50%\r\n\r> par\u{1b}[0K") }, pty.output)
        pty.type("t\r")
        XCTAssertEqual(read.result(), .line("part"))
    }

    func testPrintAboveWithoutPromptJustPrints() throws {
        let pty = try PseudoTerminal()
        editor(pty).printAbove("done")
        XCTAssertTrue(pty.readOutput { $0 == "done\r\n" }, pty.output)  // the tty's own \n → \r\n
    }

    func testHistoryRecallAndFileAcrossEditors() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pty-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("history")
        let pty = try PseudoTerminal()
        let first = editor(pty, history: file)
        var read = BackgroundRead(first)
        XCTAssertTrue(pty.waitForRawMode())
        pty.type("say first\r")
        XCTAssertEqual(read.result(), .line("say first"))

        let second = editor(pty, history: file)
        read = BackgroundRead(second)
        XCTAssertTrue(pty.waitForRawMode())
        pty.type("\u{1b}[A\r")
        XCTAssertEqual(read.result(), .line("say first"))
    }

    func testNarrowTerminalScrollsTheLine() throws {
        let pty = try PseudoTerminal(columns: 10)
        let read = BackgroundRead(editor(pty))
        XCTAssertTrue(pty.waitForRawMode())
        pty.type("abcdefghijklmnopqrst")
        XCTAssertTrue(pty.readOutput { $0.contains("\r> nopqrst\u{1b}[0K\r\u{1b}[9C") }, pty.output)
        pty.type("\r")
        XCTAssertEqual(read.result(), .line("abcdefghijklmnopqrst"))
    }

    func testWindowResizeRedrawsAtNewWidth() throws {
        let pty = try PseudoTerminal(columns: 80)
        let read = BackgroundRead(editor(pty))
        XCTAssertTrue(pty.waitForRawMode())
        pty.type("abcdefghijklmnopqrst")
        XCTAssertTrue(pty.readOutput { $0.contains("> abcdefghijklmnopqrst\u{1b}[0K") })
        pty.resize(columns: 10)
        kill(getpid(), SIGWINCH)  // the pty is not our controlling terminal, so signal ourselves
        XCTAssertTrue(pty.readOutput { $0.contains("\r> nopqrst\u{1b}[0K\r\u{1b}[9C") }, pty.output)
        pty.type("\r")
        XCTAssertEqual(read.result(), .line("abcdefghijklmnopqrst"))
    }

    func testCompletionListIsPrintedOnSecondTab() throws {
        let pty = try PseudoTerminal()
        let editor = editor(pty)
        editor.completion = { _, _ in ["set ", "settings "] }
        let read = BackgroundRead(editor)
        XCTAssertTrue(pty.waitForRawMode())
        pty.type("s\t\t")
        XCTAssertTrue(pty.readOutput { $0.contains("\r\nset        settings\r\n\r> set") }, pty.output)
        pty.type("\u{3}")
        XCTAssertEqual(read.result(), .interrupted)
    }

    func testLoneEscapeAbortsSearch() throws {
        let pty = try PseudoTerminal()
        let editor = editor(pty)
        editor.history.add("say hello")
        let read = BackgroundRead(editor)
        XCTAssertTrue(pty.waitForRawMode())
        pty.type("draft\u{12}hel")
        XCTAssertTrue(pty.readOutput { $0.contains("(reverse-i-search)`hel': say hello") }, pty.output)
        pty.type("\u{1b}")  // alone: becomes Escape after the input goes quiet
        XCTAssertTrue(pty.readOutput { $0.hasSuffix("\r> draft\u{1b}[0K\r\u{1b}[7C") }, pty.output)
        pty.type("\r")
        XCTAssertEqual(read.result(), .line("draft"))
    }

    func testDumbTerminalReadsWithoutEscapeCodes() throws {
        let pty = try PseudoTerminal()
        let editor = LineEditor(prompt: "> ", input: pty.slave, output: pty.slave, term: "dumb")
        XCTAssertFalse(editor.isInteractive)
        pty.type("hi there\n")
        XCTAssertEqual(editor.readLine(), .line("hi there"))
        // The kernel echoes the typing (sent before the read) and the prompt, in either order.
        XCTAssertTrue(pty.readOutput { $0.contains("hi there") && $0.contains("> ") }, pty.output)
        XCTAssertFalse(pty.output.contains("\u{1b}"), pty.output)
    }

    func testPipeInputReadsPlainLinesWithoutPrompt() throws {
        var input: [Int32] = [-1, -1], output: [Int32] = [-1, -1]
        XCTAssertEqual(pipe(&input), 0)
        XCTAssertEqual(pipe(&output), 0)
        defer { close(input[0]); close(output[0]); close(output[1]) }
        let editor = LineEditor(prompt: "> ", input: input[0], output: output[1], term: "xterm")
        XCTAssertFalse(editor.isInteractive)
        let text = Array("say one\r\nsay two\nlast".utf8)
        _ = text.withUnsafeBytes { write(input[1], $0.baseAddress, $0.count) }
        close(input[1])
        XCTAssertEqual(editor.readLine(), .line("say one"))
        XCTAssertEqual(editor.readLine(), .line("say two"))
        XCTAssertEqual(editor.readLine(), .line("last"))
        XCTAssertEqual(editor.readLine(), .eof)
        XCTAssertEqual(editor.history.lines, [], "no history for scripts")
        var byte: UInt8 = 0
        _ = fcntl(output[0], F_SETFL, O_NONBLOCK)
        XCTAssertEqual(read(output[0], &byte, 1), -1, "nothing written to a pipe: no prompt, no escape codes")
    }
}
