import CSQLite
import TTSCore

/// A failed SQLite call: the result code, SQLite's own message and the SQL that was running.
///
/// Internal on purpose: the SQLite layer throws this, and `ClipIndex` turns it into a
/// `TTSError(.store, …)` that names the index file, the code and a hint for that code (see
/// `storeError(file:busyTimeoutMs:)`).
struct SQLiteError: Error, Sendable, CustomStringConvertible {
    /// The extended result code (`SQLITE_IOERR_SHORT_READ`, …); `primaryCode` is its low byte.
    var extendedCode: Int32
    /// SQLite's message for the connection (`sqlite3_errmsg`), or `sqlite3_errstr` of the code.
    var message: String
    /// The statement that failed; empty for opening and closing.
    var sql: String

    var primaryCode: Int32 { extendedCode & 0xff }

    /// `SQLITE_BUSY`, `SQLITE_NOTADB`, …, the name a person can search for.
    var codeName: String { SQLiteError.names[primaryCode] ?? "SQLITE_\(primaryCode)" }

    var description: String {
        var text = "\(codeName) (\(primaryCode)"
        if extendedCode != primaryCode { text += ", extended \(extendedCode)" }
        text += "): \(message)"
        if !sql.isEmpty { text += " — while running `\(SQLiteError.abbreviated(sql))`" }
        return text
    }

    /// What a person can do about this code, phrased for the tts-repl index.
    func hint(busyTimeoutMs: Int) -> String {
        switch primaryCode {
        case SQLITE_BUSY:
            return "database is locked: another process holds it longer than the busy timeout (\(busyTimeoutMs) ms). Retry, or stop the other tts-repl process that is writing to this store."
        case SQLITE_LOCKED:
            return "a table is locked by another statement on the same connection; this is a bug in tts-repl, please report it."
        case SQLITE_READONLY, SQLITE_PERM:
            return "the index cannot be written: check the permissions of the file and of its folder (SQLite creates -wal and -shm files beside it)."
        case SQLITE_FULL:
            return "the disk is full: free some space, or remove old clips with `gc`."
        case SQLITE_IOERR:
            return "the disk reported an I/O error: check free space and the health of the disk."
        case SQLITE_CANTOPEN:
            return "the file cannot be opened: check that its folder exists and is writable."
        case SQLITE_CORRUPT:
            return "the index file is corrupt: move it aside and start tts-repl again to create a fresh index (the audio blobs are kept)."
        case SQLITE_NOTADB:
            return "the file is not a SQLite database: check the store path; if it is the tts-repl index, move it aside and start tts-repl again to create a fresh one."
        case SQLITE_NOMEM:
            return "SQLite ran out of memory."
        case SQLITE_CONSTRAINT, SQLITE_MISUSE, SQLITE_RANGE, SQLITE_ERROR:
            return "this is probably a bug in tts-repl; please report it with this message."
        default:
            return "see https://sqlite.org/rescode.html for this result code."
        }
    }

    /// The one error family of tts-repl, naming the file and carrying code, message, SQL and hint.
    func storeError(file: String, busyTimeoutMs: Int) -> TTSError {
        TTSError(.store, "index \(file): SQLite \(self). Hint: \(hint(busyTimeoutMs: busyTimeoutMs))")
    }

    static func abbreviated(_ sql: String) -> String {
        let oneLine = sql.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
        return oneLine.count <= 200 ? oneLine : String(oneLine.prefix(200)) + "…"
    }

    private static let names: [Int32: String] = [
        SQLITE_ERROR: "SQLITE_ERROR", SQLITE_INTERNAL: "SQLITE_INTERNAL", SQLITE_PERM: "SQLITE_PERM",
        SQLITE_ABORT: "SQLITE_ABORT", SQLITE_BUSY: "SQLITE_BUSY", SQLITE_LOCKED: "SQLITE_LOCKED",
        SQLITE_NOMEM: "SQLITE_NOMEM", SQLITE_READONLY: "SQLITE_READONLY", SQLITE_INTERRUPT: "SQLITE_INTERRUPT",
        SQLITE_IOERR: "SQLITE_IOERR", SQLITE_CORRUPT: "SQLITE_CORRUPT", SQLITE_NOTFOUND: "SQLITE_NOTFOUND",
        SQLITE_FULL: "SQLITE_FULL", SQLITE_CANTOPEN: "SQLITE_CANTOPEN", SQLITE_PROTOCOL: "SQLITE_PROTOCOL",
        SQLITE_SCHEMA: "SQLITE_SCHEMA", SQLITE_TOOBIG: "SQLITE_TOOBIG", SQLITE_CONSTRAINT: "SQLITE_CONSTRAINT",
        SQLITE_MISMATCH: "SQLITE_MISMATCH", SQLITE_MISUSE: "SQLITE_MISUSE", SQLITE_NOLFS: "SQLITE_NOLFS",
        SQLITE_AUTH: "SQLITE_AUTH", SQLITE_FORMAT: "SQLITE_FORMAT", SQLITE_RANGE: "SQLITE_RANGE",
        SQLITE_NOTADB: "SQLITE_NOTADB",
    ]
}
