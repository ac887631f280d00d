import CSQLite
import Foundation
import Glibc

/// The floor of a local hit: one point SELECT by key with a statement prepared once, plus one
/// `stat()` of the blob it names, in raw sqlite3 and libc calls on the same store. No Swift
/// strings on the hot path: keys are bound from byte arrays and the blob path is assembled in
/// a fixed buffer.
///
/// The SELECT is the one the index runs (every column of the row); only the blob column is
/// read back, since that is all the `stat()` needs.
final class SQLiteFloor {
    private var database: OpaquePointer?
    private var statement: OpaquePointer?
    /// `<root>/blobs/ab/cd/<64 hex>.wav\0`, rewritten in place for each look-up.
    private let path: UnsafeMutablePointer<CChar>
    private let prefixLength: Int

    static let sql = "SELECT key, blob, text, voice, language, engine, model, style, bytes, duration_ms, sample_rate, created_at, last_used_at, hits FROM clips WHERE key = ?1"

    init(indexPath: String, storeRoot: String) throws {
        guard sqlite3_open_v2(indexPath, &database, SQLITE_OPEN_READONLY, nil) == SQLITE_OK,
              sqlite3_prepare_v3(database, SQLiteFloor.sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil) == SQLITE_OK else {
            let message = database.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close(database)
            throw HarnessError("SQLite floor: cannot open \(indexPath): \(message)")
        }
        let prefix = Array((storeRoot + "/blobs/").utf8)
        prefixLength = prefix.count
        path = .allocate(capacity: prefix.count + 6 + 64 + 5)
        prefix.withUnsafeBytes { raw in
            UnsafeMutableRawPointer(path).copyMemory(from: raw.baseAddress!, byteCount: prefix.count)
        }
    }

    deinit {
        sqlite3_finalize(statement)
        sqlite3_close(database)
        path.deallocate()
    }

    /// One look-up; true when the row exists and its blob is a regular file.
    func lookUp(_ key: [UInt8]) -> Bool {
        defer { sqlite3_reset(statement) }
        let bound = key.withUnsafeBufferPointer { buffer in
            // SQLITE_STATIC (nil): the bytes outlive the step, which happens inside this closure.
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) {
                sqlite3_bind_text(statement, 1, $0, Int32(buffer.count), nil) == SQLITE_OK
                    && sqlite3_step(statement) == SQLITE_ROW
            }
        }
        guard bound, let blob = sqlite3_column_text(statement, 1), sqlite3_column_bytes(statement, 1) == 64 else {
            return false
        }
        var cursor = path + prefixLength
        blob.withMemoryRebound(to: CChar.self, capacity: 64) { hex in
            cursor[0] = hex[0]; cursor[1] = hex[1]; cursor[2] = 47  // '/'
            cursor[3] = hex[2]; cursor[4] = hex[3]; cursor[5] = 47
            cursor += 6
            cursor.update(from: hex, count: 64)
        }
        cursor += 64
        cursor[0] = 46; cursor[1] = 119; cursor[2] = 97; cursor[3] = 118; cursor[4] = 0  // ".wav\0"
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
    }
}
