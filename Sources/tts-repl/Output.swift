import Foundation
import Glibc
import TTSCore

/// Where command results go: aligned human text, or one JSON object per line with `--json`.
/// Commands produce `Report`s; only this type knows the difference.
///
/// Stdout is buffered (`StandardOutputBuffer`): a script's answers leave in 64 KB writes
/// instead of one write per line. It is written out per line when stdout is a terminal or the
/// session is interactive, before anything goes to stderr (so the two keep their order), before
/// the script reader waits for input (so a program that writes a line and waits for its answer,
/// a co-process, gets it), and at exit.
final class Output: @unchecked Sendable {
    let json: Bool

    init(json: Bool) {
        self.json = json
    }

    /// Writes stdout out after every line from now on (the interactive session).
    func flushEveryLine() { StandardOutputBuffer.shared.flushesEveryLine = true }

    /// Writes out what stdout holds: before waiting for input, and before exit.
    func flush() { StandardOutputBuffer.shared.flush() }

    func emit(_ report: Report) {
        if json {
            for object in report.json {
                var line = object.serializedUTF8()
                line.append(UInt8(ascii: "\n"))
                write(bytes: line, to: .standardOutput)
            }
        } else if !report.human.isEmpty {
            write(report.human.hasSuffix("\n") ? report.human : report.human + "\n", to: .standardOutput)
        }
    }

    func error(_ error: TTSError, line: Int? = nil) {
        if json {
            var fields: [(String, JSONValue)] = [("kind", .string(error.kind.rawValue)), ("message", .string(error.message))]
            if let field = error.field { fields.append(("field", .string(field))) }
            if let line { fields.append(("line", .int(line))) }
            write(JSONValue.object([("error", .object(fields))]).serialized() + "\n", to: .standardOutput)
        } else {
            let location = line.map { "line \($0): " } ?? ""
            write("error: \(location)\(error.message)\n", to: .standardError)
        }
    }

    /// A notice for people (degraded mode, hints); never mixed into JSON output on stdout.
    func notice(_ text: String) {
        if let sink = noticeSink { sink(text) } else { write(text + "\n", to: .standardError) }
    }

    /// Guards `_noticeSink`, set by the interactive loop and read from any task.
    private let sinkLock = NSLock()
    private var _noticeSink: (@Sendable (String) -> Void)?

    /// Whether progress can redraw one line in place (stderr is a terminal).
    let progressIsLive = isatty(2) == 1

    /// Set while the interactive line editor shows a prompt: notices are printed above it.
    var noticeSink: (@Sendable (String) -> Void)? {
        get { sinkLock.withLock { _noticeSink } }
        set { sinkLock.withLock { _noticeSink = newValue } }
    }

    /// Progress of long work (prewarm, export), on stderr so stdout stays clean for scripts.
    /// On a terminal the line is redrawn in place; `done` ends it with a newline. Elsewhere each
    /// call prints one line: callers print every few seconds, not every item.
    func progress(_ text: String, done: Bool = false) {
        if progressIsLive {
            write("\r\u{1B}[K" + text + (done ? "\n" : ""), to: .standardError)
        } else {
            write(text + "\n", to: .standardError)
        }
    }

    enum Stream: Int32 {
        case standardOutput = 1
        case standardError = 2
    }

    func write(_ text: String, to stream: Stream) {
        write(bytes: Array(text.utf8), to: stream)
    }

    /// Every byte printed passes here, redacted of configured secrets (`Redactor`).
    func write(bytes: [UInt8], to stream: Stream) {
        let bytes = Redactor.process.redact(utf8: bytes)
        switch stream {
        case .standardOutput: StandardOutputBuffer.shared.append(bytes)
        case .standardError: StandardOutputBuffer.shared.flush(thenWrite: bytes, to: stream.rawValue)
        }
    }
}

/// The process's stdout bytes not yet written, shared by every `Output` (one stream, one
/// order). Flushed per line when stdout is a terminal or `flushesEveryLine` is set, else when
/// 64 KB are held or someone calls `flush`.
final class StandardOutputBuffer: @unchecked Sendable {
    static let shared = StandardOutputBuffer(fd: 1)

    private let fd: Int32
    /// Guards `pending` and `everyLine`, and every write to fd 1 and 2, so progress from tasks
    /// never interleaves a line.
    private let lock = NSLock()
    private var pending: [UInt8] = []
    private var everyLine: Bool
    private static let capacity = 1 << 16

    init(fd: Int32) {
        self.fd = fd
        everyLine = isatty(fd) == 1
        pending.reserveCapacity(StandardOutputBuffer.capacity)
    }

    var flushesEveryLine: Bool {
        get { lock.withLock { everyLine } }
        set { lock.withLock { everyLine = newValue }; flush() }
    }

    func append(_ bytes: [UInt8]) {
        lock.lock()
        defer { lock.unlock() }
        pending.append(contentsOf: bytes)
        if everyLine || pending.count >= StandardOutputBuffer.capacity { writePending() }
    }

    func flush() {
        lock.withLock { writePending() }
    }

    /// Writes what stdout holds, then `bytes` to `other` (stderr), under one lock.
    func flush(thenWrite bytes: [UInt8], to other: Int32) {
        lock.lock()
        defer { lock.unlock() }
        writePending()
        writeAll(bytes, to: other)
    }

    private func writePending() {
        guard !pending.isEmpty else { return }
        writeAll(pending, to: fd)
        pending.removeAll(keepingCapacity: true)
    }
}

/// write(2) until every byte is out; a closed pipe ends the attempt quietly.
func writeAll(_ bytes: [UInt8], to fd: Int32) {
    bytes.withUnsafeBytes { buffer in
        var offset = 0
        while offset < buffer.count {
            let n = Glibc.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            offset += n
        }
    }
}

/// What a command says: text for people and the same facts as JSON objects.
struct Report {
    var human: String
    var json: [JSONValue]
    /// The command ran and has something to say, but did not do all it was asked, or what it
    /// found is a failure (a prewarm with failed lines, `health` unhealthy, `verify` found
    /// damage): the report is printed and the command counts as failed (exit 1).
    var failed: Bool

    init(human: String, json: [JSONValue], failed: Bool = false) {
        self.human = human
        self.json = json
        self.failed = failed
    }

    init(human: String, json: JSONValue, failed: Bool = false) {
        self.init(human: human, json: [json], failed: failed)
    }

    static let empty = Report(human: "", json: [])
}

/// Lays out rows in aligned columns.
func table(_ header: [String], _ rows: [[String]]) -> String {
    let all = [header] + rows
    var widths = [Int](repeating: 0, count: header.count)
    for row in all {
        for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) }
    }
    return all.map { row in
        row.enumerated().map { i, cell in
            i == row.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0)
        }.joined(separator: "  ")
    }.joined(separator: "\n")
}
