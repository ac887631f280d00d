import Foundation
import XCTest
@testable import TTSStore

/// An index with overwritten pages: `verify` used to call it clean (a table scan got through)
/// or fail with SQLITE_CORRUPT; now it reports SQLite's integrity check, and `--repair`
/// rebuilds the index from the readable rows, keeping the damaged file aside.
final class IndexIntegrityEndToEndTests: XCTestCase {
    /// Overwrites the first leaf page of each named b-tree (found through SQLite's dbstat).
    private func overwriteLeafPages(of trees: [String], in index: URL) throws {
        var pages: [Int] = []
        var pageSize = 4096
        do {
            let database = try SQLiteDatabase(path: index.path, busyTimeoutMs: 1000)
            defer { database.close() }
            pageSize = try database.prepare("PRAGMA page_size").firstRow { $0.int(at: 0) } ?? 4096
            for tree in trees {
                let page = try database.prepare("SELECT min(pageno) FROM dbstat WHERE name = '\(tree)' AND pagetype = 'leaf'")
                    .firstRow { $0.int(at: 0) }
                pages.append(try XCTUnwrap(page, "no leaf page of \(tree)"))
            }
        }
        let handle = try FileHandle(forWritingTo: index)
        defer { try? handle.close() }
        for page in pages {
            try handle.seek(toOffset: UInt64((page - 1) * pageSize))
            try handle.write(contentsOf: Data(repeating: 0x55, count: pageSize))
        }
    }

    func testVerifyReportsACorruptIndexAndRepairRebuildsItFromTheReadableRows() throws {
        let repl = try ReplProcess()
        let script = (1...60).map { "say phrase number \($0) of the integrity test, with a few more words" }.joined(separator: "\n")
        XCTAssertEqual(try repl.run([], stdin: script + "\n", timeout: 120).status, 0)
        let index = repl.store.appendingPathComponent("index.sqlite")
        try overwriteLeafPages(of: ["clips_by_blob", "clips"], in: index)

        let found = try repl.run(["verify"])
        XCTAssertEqual(found.status, 1, found.stdout + found.stderr)
        XCTAssertTrue(found.stdout.contains("integrity check failed"), found.stdout + found.stderr)
        XCTAssertFalse(found.stdout.contains("\nclean"), found.stdout)

        let repaired = try repl.run(["--json", "verify", "--repair"])
        XCTAssertEqual(repaired.status, 0, repaired.stdout + repaired.stderr)
        let report = try XCTUnwrap(repaired.jsonLines.first, repaired.stdout + repaired.stderr)
        XCTAssertFalse((report["index_problems"] as? [String] ?? []).isEmpty)
        let kept = try XCTUnwrap(report["damaged_index"] as? String)
        XCTAssertTrue(FileManager.default.fileExists(atPath: kept), "the damaged file is kept aside")
        let salvaged = report["salvaged_rows"] as? Int ?? 0
        XCTAssertGreaterThan(salvaged, 0)
        XCTAssertLessThan(salvaged, 60, "the overwritten table page's rows are lost")

        let after = try repl.run(["verify"])
        XCTAssertEqual(after.status, 0, after.stdout + after.stderr)
        XCTAssertTrue(after.stdout.contains("integrity check ok"), after.stdout)
        let ls = try repl.run(["--json", "ls", "--limit", "1000"])
        XCTAssertEqual(ls.status, 0, ls.stderr)
        XCTAssertEqual(ls.jsonLines.count, salvaged)
        XCTAssertEqual(try repl.run(["say", "phrase number 1 of the integrity test, with a few more words"]).status, 0)
    }
}
