import Glibc
import TTSCore

/// The lines of a script on stdin, as bytes: `readLine` would repair bytes that are not UTF-8
/// into U+FFFD, so two different lines could run as one text. Each line is checked here and
/// refused with its line number and byte offset instead. Reads what the pipe holds, so a
/// program that writes one line and waits for its answer is served at once.
struct ScriptInput {
    enum Line {
        case text(String)
        /// Not UTF-8: the message names the byte offset.
        case invalid(String)
    }

    private let fd: Int32
    private var buffer: [UInt8] = []
    private var start = 0
    private var ended = false
    /// Runs before each read of the input, which may wait: stdout's buffered answers go out
    /// first, so a program that writes a command and waits for its answer is not left waiting.
    private let beforeRead: () -> Void

    init(fd: Int32 = 0, beforeRead: @escaping () -> Void = {}) {
        self.fd = fd
        self.beforeRead = beforeRead
    }

    /// The next line without its LF (or CR LF); nil at the end of input.
    mutating func next() -> Line? {
        guard let bytes = nextBytes() else { return nil }
        if let offset = UTF8Check.firstInvalidByte(in: bytes) {
            return .invalid(UTF8Check.problem(in: "the line", bytes: bytes, at: offset))
        }
        return .text(String(decoding: bytes, as: UTF8.self))
    }

    private mutating func nextBytes() -> [UInt8]? {
        while true {
            if let newline = buffer[start...].firstIndex(of: 0x0A) {
                var end = newline
                if end > start && buffer[end - 1] == 0x0D { end -= 1 }
                let line = Array(buffer[start..<end])
                start = newline + 1
                if start > 1 << 16 { buffer.removeFirst(start); start = 0 }
                return line
            }
            if ended {
                guard start < buffer.count else { return nil }
                defer { start = buffer.count }
                return Array(buffer[start...])
            }
            beforeRead()
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { ended = true } else { buffer.append(contentsOf: chunk[..<count]) }
        }
    }
}
