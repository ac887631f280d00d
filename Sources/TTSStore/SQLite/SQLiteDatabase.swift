import CShims
import CSQLite
import Synchronization

/// One SQLite connection. The `sqlite3 *` handle never leaves the SQLite folder.
///
/// Not thread-safe by itself, on purpose: the connection is opened in SQLite's multi-thread
/// mode (`SQLITE_OPEN_NOMUTEX`), so its owner (`ClipIndex`) must serialize every use behind one
/// lock. That lock is cheaper than SQLite's own per-call mutex and also covers the owner's
/// state (cached statements, buffered hits).
///
/// ```swift
/// let db = try SQLiteDatabase(path: "/tmp/x.sqlite", busyTimeoutMs: 5000)
/// try db.execute("CREATE TABLE t(x)")
/// ```
final class SQLiteDatabase {
    let path: String
    /// `sqlite3 *`; used by `SQLiteStatement` (same folder) to prepare and to read errors.
    private(set) var handle: OpaquePointer?
    /// Process-wide settings, applied once before the first connection opens: no count of
    /// SQLite's own memory, which takes a global mutex on every allocation and free, contended
    /// between a script's look-ups and the hit writer's thread, for a figure nothing reads
    /// (10,000 cached `say` lines: 0.88× the wall time without it).
    private static let configured: Void = { _ = tts_sqlite_turn_off_memory_status() }()

    /// Statements prepared once with `SQLITE_PREPARE_PERSISTENT` and reused, keyed by SQL.
    private var statementCache: [String: SQLiteStatement] = [:]
    /// Held while the commit hook may name it (until `close`).
    private var commitCounter: CommitCounter?

    /// Opens (creating when missing) the file read-write, with extended result codes and the
    /// given busy timeout. SQLite opens lazily: a file that is not a database is only noticed by
    /// the first statement that reads it, so callers should read something right away.
    init(path: String, busyTimeoutMs: Int) throws {
        _ = SQLiteDatabase.configured
        self.path = path
        var db: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE
        let code = sqlite3_open_v2(path, &db, flags, nil)
        guard code == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(code))
            let extended = db.map { sqlite3_extended_errcode($0) } ?? code
            sqlite3_close_v2(db)
            throw SQLiteError(extendedCode: extended, message: message, sql: "")
        }
        handle = db
        sqlite3_extended_result_codes(db, 1)
        sqlite3_busy_timeout(db, Int32(clamping: busyTimeoutMs))
    }

    deinit { close() }

    /// Rows changed by the last INSERT, UPDATE or DELETE on this connection.
    var changes: Int { handle.map { Int(sqlite3_changes($0)) } ?? 0 }

    /// Runs one or more SQL statements that return no rows we need (schema, PRAGMA setters,
    /// BEGIN/COMMIT). Values are never spliced into `sql`: use a statement and bind them.
    func execute(_ sql: String) throws {
        let db = try openHandle(sql)
        var errorMessage: UnsafeMutablePointer<CChar>?
        let code = sqlite3_exec(db, sql, nil, nil, &errorMessage)
        defer { sqlite3_free(errorMessage) }
        if code != SQLITE_OK {
            let message = errorMessage.map { String(cString: $0) } ?? String(cString: sqlite3_errmsg(db))
            throw SQLiteError(extendedCode: sqlite3_extended_errcode(db), message: message, sql: sql)
        }
    }

    /// A new statement owned by the caller (finalized when released).
    func prepare(_ sql: String) throws -> SQLiteStatement {
        try SQLiteStatement(database: self, sql: sql, persistent: false)
    }

    /// The statement for `sql`, prepared on first use and reused afterwards: re-preparing costs
    /// more than a point look-up itself (about 7 µs against 4 µs here).
    func cachedStatement(_ sql: String) throws -> SQLiteStatement {
        if let statement = statementCache[sql] { return statement }
        let statement = try SQLiteStatement(database: self, sql: sql, persistent: true)
        statementCache[sql] = statement
        return statement
    }

    /// Runs `body` in a write transaction, committing when it returns and rolling back when it
    /// throws.
    ///
    /// `BEGIN IMMEDIATE` takes the write lock up front, waiting up to the busy timeout. A
    /// deferred transaction that reads and then writes could instead fail at once with
    /// `SQLITE_BUSY` when another connection wrote in between, which the busy handler cannot fix.
    func writeTransaction<T>(_ body: () throws -> T) throws -> T {
        try cachedStatement("BEGIN IMMEDIATE").run()
        do {
            let result = try body()
            try cachedStatement("COMMIT").run()
            return result
        } catch {
            if isInTransaction { _ = sqlite3_exec(handle, "ROLLBACK", nil, nil, nil) }
            throw error
        }
    }

    /// Whether a transaction is open (SQLite ends one by itself on some errors: a full disk,
    /// an I/O error, out of memory).
    var isInTransaction: Bool {
        guard let db = handle else { return false }
        return sqlite3_get_autocommit(db) == 0
    }

    /// Runs `body` inside a savepoint of the write transaction in progress: what it wrote is
    /// rolled back alone when it throws (and the error rethrown), and the transaction goes on.
    func savepoint<T>(_ body: () throws -> T) throws -> T {
        try cachedStatement("SAVEPOINT part").run()
        do {
            let result = try body()
            try cachedStatement("RELEASE part").run()
            return result
        } catch {
            if isInTransaction {
                _ = sqlite3_exec(handle, "ROLLBACK TO part", nil, nil, nil)
                _ = sqlite3_exec(handle, "RELEASE part", nil, nil, nil)
            }
            throw error
        }
    }

    /// Opens a read transaction that lasts until `endReadTransaction()`: the statements run in
    /// between share one snapshot and one WAL read lock, taken at the first of them, instead of
    /// each taking and dropping its own (two `fcntl` and a check of the WAL index per statement).
    /// While it lasts, this connection sees no other connection's commits, and the WAL cannot be
    /// checkpointed past it: keep it short (see `ClipIndex`'s read window).
    func beginReadTransaction() throws {
        try cachedStatement("BEGIN DEFERRED").run()
    }

    /// Ends the read transaction begun by `beginReadTransaction()`, if one is open. A read-only
    /// transaction has nothing to commit: this only drops the snapshot and its lock.
    func endReadTransaction() {
        guard isInTransaction else { return }
        if (try? cachedStatement("COMMIT").run()) == nil { _ = sqlite3_exec(handle, "ROLLBACK", nil, nil, nil) }
    }

    /// Counts every write transaction this connection commits into `counter`, explicit or
    /// autocommit: SQLite's commit hook, which runs for write transactions only (a read never
    /// calls it), so the count is what the file was written, not what was asked.
    func countCommits(into counter: CommitCounter) {
        guard let db = handle else { return }
        commitCounter = counter
        sqlite3_commit_hook(db, { context in
            if let context { Unmanaged<CommitCounter>.fromOpaque(context).takeUnretainedValue().increment() }
            return 0  // 0: let the commit go ahead
        }, Unmanaged.passUnretained(counter).toOpaque())
    }

    /// Registers a deterministic one-argument SQL function from text to text, e.g. a Unicode
    /// lowercase that SQLite's ASCII-only `lower()` cannot do. NULL in gives NULL out.
    func defineTextFunction(_ name: String, _ transform: @escaping @Sendable (String) -> String) throws {
        let db = try openHandle("")
        let box = Unmanaged.passRetained(TextFunctionBox(transform)).toOpaque()
        let code = sqlite3_create_function_v2(
            db, name, 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, box,
            { context, argc, argv in
                guard let context, argc == 1, let argument = argv?[0],
                      let text = sqlite3_value_text(argument) else {
                    sqlite3_result_null(context)
                    return
                }
                let count = Int(sqlite3_value_bytes(argument))
                let input = String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self)
                let box = Unmanaged<TextFunctionBox>.fromOpaque(sqlite3_user_data(context)).takeUnretainedValue()
                var output = box.transform(input)
                output.withUTF8 { utf8 in
                    sqlite3_result_text(context, UnsafeRawPointer(utf8.baseAddress!).assumingMemoryBound(to: CChar.self),
                                        Int32(utf8.count), tts_sqlite_transient())
                }
            },
            nil, nil,
            { box in box.map { Unmanaged<TextFunctionBox>.fromOpaque($0).release() } })
        if code != SQLITE_OK {
            throw error(code: code, sql: "")
        }
    }

    /// Finalizes every cached statement and closes the connection. Idempotent.
    ///
    /// `sqlite3_close_v2` rather than `sqlite3_close`: a statement still held elsewhere turns the
    /// connection into a zombie that closes when that statement is finalized, instead of failing.
    func close() {
        for statement in statementCache.values { statement.finalize() }
        statementCache.removeAll()
        if let db = handle {
            sqlite3_commit_hook(db, nil, nil)
            sqlite3_close_v2(db)
            handle = nil
        }
        commitCounter = nil
    }

    /// The handle, or a MISUSE error when the connection was closed.
    func openHandle(_ sql: String) throws -> OpaquePointer {
        guard let handle else {
            throw SQLiteError(extendedCode: SQLITE_MISUSE, message: "the connection is closed", sql: sql)
        }
        return handle
    }

    /// The error for `code`, with the connection's message when it has one.
    func error(code: Int32, sql: String) -> SQLiteError {
        guard let db = handle else {
            return SQLiteError(extendedCode: code, message: String(cString: sqlite3_errstr(code)), sql: sql)
        }
        let extended = sqlite3_extended_errcode(db)
        // The connection's last error may belong to an earlier call when `code` came from a call
        // that does not set it; prefer the generic text then.
        let message = (extended & 0xff) == (code & 0xff)
            ? String(cString: sqlite3_errmsg(db)) : String(cString: sqlite3_errstr(code))
        return SQLiteError(extendedCode: (extended & 0xff) == (code & 0xff) ? extended : code, message: message, sql: sql)
    }
}

/// Holds a Swift closure for a C callback, passed through SQLite's user-data pointer.
private final class TextFunctionBox {
    let transform: @Sendable (String) -> String
    init(_ transform: @escaping @Sendable (String) -> String) { self.transform = transform }
}

/// Committed write transactions of one or more connections (the index keeps one across
/// `reopen`): how a test or `metrics` sees that the read path writes nothing.
final class CommitCounter: Sendable {
    private let count = Atomic<Int>(0)

    func increment() { count.add(1, ordering: .relaxed) }

    var value: Int { count.load(ordering: .relaxed) }
}
