import CSQLite
import Foundation
import TTSCore
import XCTest
@testable import TTSStore

final class SQLiteTests: XCTestCase {
    private func makeDatabase() throws -> SQLiteDatabase {
        try SQLiteDatabase(path: try makeTemporaryFolder(self).appendingPathComponent("t.sqlite").path, busyTimeoutMs: 1000)
    }

    func testLockedIndexGivesABusyErrorWithCodeSQLAndHint() throws {
        let url = try makeTemporaryFolder(self).appendingPathComponent("index.sqlite")
        let index = try ClipIndex(url: url, busyTimeoutMs: 20)
        let other = try SQLiteDatabase(path: url.path, busyTimeoutMs: 1000)  // like another process
        try other.execute("BEGIN IMMEDIATE")
        assertThrowsTTSError(.store, containing: ["SQLITE_BUSY", "database is locked", "while running `BEGIN IMMEDIATE`",
                                                  "busy timeout (20 ms)", url.path]) {
            try index.upsert(sampleClip())
        }
        try other.execute("ROLLBACK")
        XCTAssertNoThrow(try index.upsert(sampleClip()), "works again once the other writer is done")
    }

    func testSQLiteKeepsNoCountOfItsMemory() throws {
        // The count takes a global mutex on every allocation, contended by the hit writer's
        // thread; it is turned off before the first connection opens.
        let database = try makeDatabase()
        try database.execute("CREATE TABLE t (x TEXT); INSERT INTO t VALUES (hex(randomblob(5000)))")
        XCTAssertEqual(try database.prepare("SELECT length(x) FROM t").firstRow { $0.int(at: 0) }, 10_000)
        XCTAssertEqual(sqlite3_memory_used(), 0, "SQLITE_CONFIG_MEMSTATUS is off")
    }

    func testSyntaxErrorCarriesCodeMessageAndSQL() throws {
        let database = try makeDatabase()
        do {
            _ = try database.prepare("SELEC 1")
            XCTFail("expected a syntax error")
        } catch let error as SQLiteError {
            XCTAssertEqual(error.codeName, "SQLITE_ERROR")
            XCTAssertTrue(error.message.contains("syntax error"), error.message)
            XCTAssertEqual(error.sql, "SELEC 1")
            let storeError = error.storeError(file: "/x/index.sqlite", busyTimeoutMs: 5)
            XCTAssertEqual(storeError.kind, .store)
            XCTAssertTrue(storeError.message.contains("SELEC 1"), storeError.message)
        }
    }

    func testBoundTextRoundTripsEmptyAndEmbeddedNul() throws {
        let database = try makeDatabase()
        try database.execute("CREATE TABLE t (v)")
        let insert = try database.prepare("INSERT INTO t VALUES (?1)")
        for value in ["", "a\u{0}b", "日本語 ✓"] { try insert.run([.text(value)]) }
        let read = try database.prepare("SELECT v, typeof(v) FROM t ORDER BY rowid").rows { ($0.text(at: 0), $0.text(at: 1)) }
        XCTAssertEqual(read.map(\.0), ["", "a\u{0}b", "日本語 ✓"])
        XCTAssertEqual(read.map(\.1), ["text", "text", "text"], "an empty string is text, not NULL")
    }

    func testFailedTransactionRollsBack() throws {
        let database = try makeDatabase()
        try database.execute("CREATE TABLE t (v INTEGER NOT NULL)")
        XCTAssertThrowsError(try database.writeTransaction {
            try database.cachedStatement("INSERT INTO t VALUES (?1)").run([.integer(1)])
            try database.cachedStatement("INSERT INTO t VALUES (?1)").run([.null])
        })
        XCTAssertEqual(try database.prepare("SELECT count(*) FROM t").firstRow { $0.int(at: 0) }, 0)
    }

    func testUsingAClosedConnectionThrowsInsteadOfCrashing() throws {
        let database = try makeDatabase()
        database.close()
        XCTAssertThrowsError(try database.execute("SELECT 1"))
        XCTAssertThrowsError(try database.prepare("SELECT 1"))
    }
}
