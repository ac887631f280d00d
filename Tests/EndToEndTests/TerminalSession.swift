import Foundation
import Glibc
import XCTest

/// tts-repl on a pseudo-terminal, as a person at a terminal runs it: the child gets its own
/// session with the pty as controlling terminal (so Ctrl-C in cooked mode is a real SIGINT),
/// the test types bytes and reads what the program draws.
final class TerminalSession {
    let master: Int32
    let slave: Int32
    let pid: pid_t
    private(set) var screen = ""
    /// How far `waitFor` has matched: each wait looks only at output after the previous match.
    private var consumed = 0

    init(arguments: [String], environment: [String: String], directory: URL) throws {
        var masterFD: Int32 = -1, slaveFD: Int32 = -1
        var size = winsize(ws_row: 30, ws_col: 120, ws_xpixel: 0, ws_ypixel: 0)
        guard openpty(&masterFD, &slaveFD, nil, nil, &size) == 0 else { throw POSIXError(.init(rawValue: errno)!) }
        master = masterFD
        slave = slaveFD
        let slavePath = String(cString: ttyname(slaveFD))

        // Opening the tty after setsid makes it the controlling terminal.
        pid = try spawnRepl(arguments, environment: environment, newSession: true) { actions in
            posix_spawn_file_actions_addopen(&actions, 0, slavePath, O_RDWR, 0)
            posix_spawn_file_actions_adddup2(&actions, 0, 1)
            posix_spawn_file_actions_adddup2(&actions, 0, 2)
        }
        let flags = fcntl(master, F_GETFL)
        _ = fcntl(master, F_SETFL, flags | O_NONBLOCK)
    }

    deinit {
        if waitNoHang() == nil {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
        close(master)
        close(slave)
    }

    func type(_ text: String) {
        type(bytes: Array(text.utf8))
    }

    /// Raw bytes, for input that is not UTF-8.
    func type(bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { write(master, $0.baseAddress, $0.count) }
    }

    /// Reads what the program drew until `text` appears on the screen (bounded).
    @discardableResult
    func waitFor(_ text: String, timeout: TimeInterval = 15, file: StaticString = #filePath, line: UInt = #line) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            drain()
            let unread = screen.utf8.dropFirst(consumed)
            if let range = String(unread)?.range(of: text) {
                consumed += String(unread)!.utf8.distance(from: String(unread)!.startIndex, to: range.upperBound)
                return true
            }
            usleep(10_000)
        }
        XCTFail("did not see \(text.debugDescription) within \(timeout) s; screen tail:\n\(screen.suffix(1500))", file: file, line: line)
        return false
    }

    func drain() {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(master, &buffer, buffer.count)
            if n <= 0 { break }
            screen += String(decoding: buffer[0..<n], as: UTF8.self)
        }
    }

    /// The exit status once the child has exited, or nil while it runs.
    func waitNoHang() -> Int32? {
        var status: Int32 = 0
        let result = waitpid(pid, &status, WNOHANG)
        guard result == pid else { return nil }
        return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }

    /// Waits (bounded) for the child to exit.
    /// Waits for the next prompt. The line editor draws it after switching the terminal to raw
    /// mode; a control key (Ctrl-D, Ctrl-R) typed before that, while a command runs in cooked
    /// mode, is taken by the terminal's line discipline and never reaches the REPL.
    func waitForPrompt(file: StaticString = #filePath, line: UInt = #line) {
        waitFor("]> ", file: file, line: line)
    }

    func waitForExit(timeout: TimeInterval = 15) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            drain()
            if let status = waitNoHang() { return status }
            usleep(10_000)
        }
        return nil
    }

    /// The terminal's settings, to compare before and after a session.
    func settings() -> termios {
        var t = termios()
        tcgetattr(slave, &t)
        return t
    }
}

func sameSettings(_ a: termios, _ b: termios) -> Bool {
    var a = a, b = b
    return withUnsafeBytes(of: &a) { x in withUnsafeBytes(of: &b) { y in x.elementsEqual(y) } }
}
