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
        // 1,000 hits make three batches of 256 (a slow machine may add one by time); one
        // write per line would be 1,000.
        XCTAssertLessThanOrEqual(commits, 5)
        XCTAssertGreaterThanOrEqual(commits, 3, "the hits were written in batches of \(256)")

        // The rest of the batch is written at exit: every hit is in the index afterwards.
        let metrics = try repl.run(["--json", "metrics"])
        XCTAssertEqual(metrics.status, 0, metrics.stderr)
        let hits = metrics.jsonLines.first { $0["series"] as? String == "tts_store_hits" }?["value"] as? Double
        XCTAssertEqual(hits, 1000, metrics.stdout)
    }
}
