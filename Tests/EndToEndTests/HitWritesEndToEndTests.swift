import Foundation
import XCTest

/// Issue 14: a run of cached lines writes nothing per line; hits reach the index in batches.
final class HitWritesEndToEndTests: XCTestCase {
    func testThousandCachedSayLinesCommitOnlyAFewWriteTransactions() throws {
        let repl = try ReplProcess()
        let script = (0..<1000).map { "say Phrase number \($0) of the batch.\n" }.joined()
        let first = try repl.run(["--json"], stdin: script, timeout: 600)
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertEqual(first.jsonLines.filter { $0["tier"] as? String == "engine" }.count, 1000)

        // A second process: every line is a first look-up here, answered by the local tier.
        let second = try repl.run(["--json"], stdin: script + "metrics\n", timeout: 300)
        XCTAssertEqual(second.status, 0, second.stderr)
        let lines = second.jsonLines
        XCTAssertEqual(lines.filter { $0["tier"] as? String == "local" }.count, 1000, second.stderr)
        let series = lines.first { $0["series"] as? String == "tts_index_write_transactions_total" }
        let commits = try XCTUnwrap(series?["value"] as? Double, "metrics lacks tts_index_write_transactions_total")
        // 1,000 hits fill no batch (4,096 make one), so none is written while the lines run
        // unless a slow machine takes longer than the flush interval (one, by time); one
        // write per line would be 1,000.
        XCTAssertLessThanOrEqual(commits, 2, "hits are written in batches, not per line")

        // The rest of the batch is written at exit: every hit is in the index afterwards.
        let metrics = try repl.run(["--json", "metrics"])
        XCTAssertEqual(metrics.status, 0, metrics.stderr)
        let hits = metrics.jsonLines.first { $0["series"] as? String == "tts_store_hits" }?["value"] as? Double
        XCTAssertEqual(hits, 1000, metrics.stdout)
    }
}

/// Issue 14: stdout is buffered when it is not a terminal, yet a program that writes one
/// command and waits for its answer (tts-repl as a co-process) gets each answer at once.
final class BufferedOutputEndToEndTests: XCTestCase {
    func testAnswersReachACoProcessBeforeItsNextLine() throws {
        let repl = try ReplProcess()
        let process = try repl.launch(["--json"])
        let out = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        process.standardInput = input
        try process.run()
        defer { if process.isRunning { process.terminate() }; process.waitUntilExit() }
        let reader = LineReader(out.fileHandleForReading)
        for (round, tier) in ["engine", "memory"].enumerated() {
            // Stdin stays open: the answer must come while tts-repl waits for more input.
            input.fileHandleForWriting.write(Data("say Answer me at once\n".utf8))
            let line = try XCTUnwrap(reader.nextLine(within: 60), "no answer to line \(round + 1) while stdin was open")
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            XCTAssertEqual(object?["tier"] as? String, tier, line)
        }
        try input.fileHandleForWriting.close()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
    }

    func testAScriptGetsEveryAnswerInOrderAtExit() throws {
        let repl = try ReplProcess()
        let script = (0..<30).map { "say Line \($0)\n" }.joined() + "bogus-command\n" + "say Line 0\n"
        let result = try repl.run([], stdin: script)
        XCTAssertEqual(result.status, 1)
        let lines = result.stdout.split(separator: "\n")
        XCTAssertEqual(lines.count, 31, result.stdout)
        XCTAssertTrue(lines.first?.hasPrefix("engine ") == true, result.stdout)
        XCTAssertTrue(lines.last?.hasPrefix("memory ") == true, result.stdout)
        XCTAssertTrue(result.stderr.contains("line 31: unknown command"), result.stderr)
    }
}

/// Reads lines from a pipe on a background thread; `nextLine(within:)` waits a bounded time.
private final class LineReader: @unchecked Sendable {
    private var buffer = Data()
    /// Guards `buffer` between the reading thread and the test.
    private let lock = NSLock()
    private let arrived = DispatchSemaphore(value: 0)

    init(_ handle: FileHandle) {
        Thread.detachNewThread { [self] in
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                lock.withLock { buffer.append(chunk) }
                arrived.signal()
            }
            arrived.signal()
        }
    }

    func nextLine(within seconds: Double) -> String? {
        let deadline = DispatchTime.now() + seconds
        while true {
            let line: String? = lock.withLock {
                guard let newline = buffer.firstIndex(of: 0x0A) else { return nil }
                let text = String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self)
                buffer.removeSubrange(buffer.startIndex...newline)
                return text
            }
            if let line { return line }
            if arrived.wait(timeout: deadline) == .timedOut { return nil }
        }
    }
}
