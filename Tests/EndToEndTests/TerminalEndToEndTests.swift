import Foundation
import Glibc
import XCTest

/// The interactive prompt driven through a pseudo-terminal: keys in, screen out.
final class TerminalEndToEndTests: XCTestCase {
    private let left = "\u{1B}[D", up = "\u{1B}[A", ctrlR = "\u{12}", ctrlD = "\u{04}", ctrlC = "\u{03}"

    private func session(_ repl: ReplProcess) throws -> TerminalSession {
        var environment = repl.environment
        environment["TERM"] = "xterm"
        environment["NO_COLOR"] = "1"
        return try TerminalSession(arguments: [], environment: environment, directory: repl.workingDirectory)
    }

    func testEditingKeysFixATypoBeforeEnter() throws {
        let repl = try ReplProcess()
        let terminal = try session(repl)
        terminal.waitFor("tts[espeak]>")
        terminal.type("say Hello wrld" + left + left + left + "o\r")
        terminal.waitFor("engine")
        terminal.waitForPrompt()
        terminal.type(ctrlD)
        XCTAssertEqual(terminal.waitForExit(), 0)
        let ls = try repl.run(["--json", "ls"])
        XCTAssertEqual(ls.jsonLines.first?["text"] as? String, "Hello world")
    }

    /// Issue 15, item 5: at the prompt, a byte that is not UTF-8 is refused with the reason;
    /// it never becomes U+FFFD, so `caf\xe9` and `caf\xe8` cannot share a key.
    func testABadByteAtThePromptIsRefusedNotReplaced() throws {
        let repl = try ReplProcess()
        let terminal = try session(repl)
        terminal.waitFor("tts[espeak]>")
        terminal.type(bytes: Array("say caf".utf8) + [0xE9])
        terminal.waitFor("not UTF-8")
        terminal.type("e\r")  // the line was kept without the byte: "say cafe"
        terminal.waitFor("engine")
        terminal.waitForPrompt()
        terminal.type(ctrlD)
        XCTAssertEqual(terminal.waitForExit(), 0)
        let ls = try repl.run(["--json", "ls"])
        XCTAssertEqual(ls.jsonLines.compactMap { $0["text"] as? String }, ["cafe"])
    }

    func testHistoryCarriesAcrossSessionsAndCtrlRFindsIt() throws {
        let repl = try ReplProcess()
        let first = try session(repl)
        first.waitFor("tts[espeak]>")
        first.type("say from the first session\r")
        first.waitFor("engine")
        first.type("quit\r")
        XCTAssertEqual(first.waitForExit(), 0)

        let second = try session(repl)
        second.waitFor("tts[espeak]>")
        second.type(up + up + "\r")  // quit, then the say before it
        second.waitFor("local")
        second.waitForPrompt()
        second.type(ctrlR + "first")
        second.waitFor("say from the first session")
        second.type("\r")
        second.waitFor("memory")  // the same say again in this session: its memory tier
        second.waitForPrompt()
        second.type(ctrlD)
        XCTAssertEqual(second.waitForExit(), 0)
        let history = repl.store.appendingPathComponent("history")
        let mode = try FileManager.default.attributesOfItem(atPath: history.path)[.posixPermissions] as? Int
        XCTAssertEqual(mode, 0o600)
    }

    func testTabCompletesCommandsAndHintsShowUsage() throws {
        let repl = try ReplProcess()
        let terminal = try session(repl)
        terminal.waitFor("tts[espeak]>")
        terminal.type("hel\t")
        terminal.waitFor("help [COMMAND]", timeout: 5)  // completed to "help " and hinted
        terminal.type("\r")
        terminal.waitFor("Session:")
        terminal.type("voice en-gb-sc\t\r")
        terminal.waitFor("voice: en-gb-scotland")
        terminal.waitForPrompt()
        terminal.type(ctrlD)
        XCTAssertEqual(terminal.waitForExit(), 0)
    }

    func testTabCompletesFilePathsAndOptionsForPrewarm() throws {
        let repl = try ReplProcess()
        let list = repl.workingDirectory.appendingPathComponent("menu-list.txt")
        try "Welcome\nGoodbye\n".write(to: list, atomically: true, encoding: .utf8)
        let terminal = try session(repl)
        terminal.waitFor("tts[espeak]>")
        terminal.type("prewarm \(repl.workingDirectory.path)/menu-l\t")
        terminal.waitFor("menu-list.txt", timeout: 5)
        terminal.type(" --dry\t\r")
        terminal.waitFor("dry run")
        terminal.waitForPrompt()
        terminal.type(ctrlD)
        XCTAssertEqual(terminal.waitForExit(), 0)
    }

    func testSecretsStayOutOfHistory() throws {
        let repl = try ReplProcess()
        let terminal = try session(repl)
        terminal.waitFor("tts[espeak]>")
        terminal.type("say my password is hunter2\r")
        terminal.waitFor("engine")
        terminal.type("say nothing hidden\r")
        terminal.waitFor("engine")
        terminal.waitForPrompt()
        terminal.type(ctrlD)
        XCTAssertEqual(terminal.waitForExit(), 0)
        let history = try String(contentsOf: repl.store.appendingPathComponent("history"), encoding: .utf8)
        XCTAssertTrue(history.contains("say nothing hidden"))
        XCTAssertFalse(history.contains("hunter2"))
    }

    func testCtrlCAtThePromptClearsTheLineAndTerminalIsRestored() throws {
        let repl = try ReplProcess()
        let terminal = try session(repl)
        let before = terminal.settings()
        terminal.waitFor("tts[espeak]>")
        terminal.type("say never sent" + ctrlC)
        terminal.waitFor("tts[espeak]>")
        terminal.type("say sent\r")
        terminal.waitFor("engine")
        terminal.waitForPrompt()
        terminal.type(ctrlD)
        XCTAssertEqual(terminal.waitForExit(), 0)
        XCTAssertTrue(sameSettings(before, terminal.settings()), "terminal settings changed")
        let ls = try repl.run(["--json", "ls"])
        XCTAssertEqual(ls.jsonLines.compactMap { $0["text"] as? String }, ["sent"])
    }

    func testSigtermAtThePromptRestoresTheTerminal() throws {
        let repl = try ReplProcess()
        let terminal = try session(repl)
        let before = terminal.settings()
        terminal.waitFor("tts[espeak]>")
        terminal.type("say half typed")
        usleep(200_000)
        kill(terminal.pid, SIGTERM)
        XCTAssertNotNil(terminal.waitForExit())
        XCTAssertTrue(sameSettings(before, terminal.settings()), "terminal left in raw mode")
    }
}
