import CShims
import CSQLite

/// A value bound to a statement parameter. Values are always bound, never spliced into SQL.
enum SQLiteValue: Sendable, Equatable {
    case text(String)
    case integer(Int)
    case real(Double)
    case null
}

/// One prepared statement (`sqlite3_stmt *`), bound, stepped and read by column index.
///
/// Used from one thread at a time, under the lock of whoever owns its `SQLiteDatabase`.
/// Every use ends with `reset()` (the helpers do it): a statement left mid-result keeps a read
/// snapshot open, so this connection would not see other processes' writes and WAL
/// checkpoints could not complete.
final class SQLiteStatement {
    let sql: String
    private let database: SQLiteDatabase
    private var handle: OpaquePointer?

    init(database: SQLiteDatabase, sql: String, persistent: Bool) throws {
        self.database = database
        self.sql = sql
        let db = try database.openHandle(sql)
        var statement: OpaquePointer?
        let flags = persistent ? UInt32(SQLITE_PREPARE_PERSISTENT) : 0
        let code = sqlite3_prepare_v3(db, sql, -1, flags, &statement, nil)
        guard code == SQLITE_OK, let statement else {
            sqlite3_finalize(statement)
            throw database.error(code: code == SQLITE_OK ? SQLITE_MISUSE : code, sql: sql)
        }
        handle = statement
    }

    deinit { finalize() }

    func finalize() {
        if let handle {
            sqlite3_finalize(handle)
            self.handle = nil
        }
    }

    // MARK: Binding (parameters are 1-based, as in SQLite)

    func bind(_ value: String, at index: Int32) throws {
        let statement = try openHandle()
        var text = value  // withUTF8 may make the string contiguous, hence the copy
        let code = text.withUTF8 { utf8 -> Int32 in
            guard let base = utf8.baseAddress, utf8.count > 0 else {
                // A NULL pointer would bind SQL NULL; an empty string is still text.
                return sqlite3_bind_text(statement, index, "", 0, tts_sqlite_transient())
            }
            return base.withMemoryRebound(to: CChar.self, capacity: utf8.count) {
                sqlite3_bind_text(statement, index, $0, Int32(utf8.count), tts_sqlite_transient())
            }
        }
        try check(code)
    }

    func bind(_ value: Int, at index: Int32) throws {
        try check(sqlite3_bind_int64(try openHandle(), index, Int64(value)))
    }

    func bind(_ value: Double, at index: Int32) throws {
        try check(sqlite3_bind_double(try openHandle(), index, value))
    }

    func bindNull(at index: Int32) throws {
        try check(sqlite3_bind_null(try openHandle(), index))
    }

    func bind(_ values: [SQLiteValue]) throws {
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            switch value {
            case .text(let text): try bind(text, at: index)
            case .integer(let number): try bind(number, at: index)
            case .real(let number): try bind(number, at: index)
            case .null: try bindNull(at: index)
            }
        }
    }

    // MARK: Stepping

    /// Advances to the next row: true when a row is ready to read, false when done.
    func step() throws -> Bool {
        let code = sqlite3_step(try openHandle())
        switch code {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw database.error(code: code, sql: sql)
        }
    }

    /// Ends the current use: rewinds and clears the bindings, so the statement holds no
    /// snapshot and no stale values. Errors of the last step were already thrown by `step()`.
    func reset() {
        guard let handle else { return }
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    /// Binds, runs to completion and resets: for statements that return no rows we need.
    func run(_ values: [SQLiteValue] = []) throws {
        defer { reset() }
        try bind(values)
        while try step() {}
    }

    /// Binds, collects one value per row with `decode`, and resets.
    func rows<T>(_ values: [SQLiteValue] = [], _ decode: (SQLiteStatement) throws -> T) throws -> [T] {
        defer { reset() }
        try bind(values)
        var result: [T] = []
        while try step() { result.append(try decode(self)) }
        return result
    }

    /// The first row decoded with `decode`, or nil when there is none; resets.
    func firstRow<T>(_ values: [SQLiteValue] = [], _ decode: (SQLiteStatement) throws -> T) throws -> T? {
        defer { reset() }
        try bind(values)
        return try step() ? try decode(self) : nil
    }

    // MARK: Columns of the current row (0-based, as in SQLite)

    func text(at column: Int32) -> String {
        guard let handle, let bytes = sqlite3_column_text(handle, column) else { return "" }
        let count = Int(sqlite3_column_bytes(handle, column))
        return String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self)
    }

    /// Whether the column is NULL or the empty string, without making a String of it.
    func isEmptyText(at column: Int32) -> Bool {
        guard let handle else { return true }
        return sqlite3_column_bytes(handle, column) == 0
    }

    func int(at column: Int32) -> Int {
        guard let handle else { return 0 }
        return Int(sqlite3_column_int64(handle, column))
    }

    func double(at column: Int32) -> Double {
        guard let handle else { return 0 }
        return sqlite3_column_double(handle, column)
    }

    func isNull(at column: Int32) -> Bool {
        guard let handle else { return true }
        return sqlite3_column_type(handle, column) == SQLITE_NULL
    }

    // MARK: Helpers

    private func openHandle() throws -> OpaquePointer {
        guard let handle else {
            throw SQLiteError(extendedCode: SQLITE_MISUSE, message: "the statement was finalized", sql: sql)
        }
        return handle
    }

    private func check(_ code: Int32) throws {
        if code != SQLITE_OK { throw database.error(code: code, sql: sql) }
    }
}
