import TTSCore

/// One step of the clip index schema. Migrations run in order, each once, each in its own
/// write transaction that also bumps `PRAGMA user_version`, so a crash mid-migration leaves
/// the previous version intact.
struct ClipIndexMigration: Sendable {
    let name: String
    let sql: String
}

/// The schema of the clip index, and the code that brings a database file to it.
///
/// The version lives in the database (`PRAGMA user_version` = number of migrations applied);
/// `PRAGMA application_id` marks the file as a tts-repl index so another program's SQLite
/// file is refused instead of being altered.
enum ClipIndexSchema {
    /// "TTSR" in ASCII.
    static let applicationID = 0x5454_5352

    /// Append only: never edit or reorder a migration that has shipped.
    static let migrations: [ClipIndexMigration] = [
        ClipIndexMigration(name: "create clips", sql: """
            CREATE TABLE clips (
                key          TEXT PRIMARY KEY NOT NULL CHECK (length(key) = 64),
                blob         TEXT NOT NULL CHECK (length(blob) = 64),
                text         TEXT NOT NULL,
                voice        TEXT NOT NULL,
                language     TEXT NOT NULL,
                engine       TEXT NOT NULL,
                model        TEXT NOT NULL,
                style        TEXT NOT NULL DEFAULT '',
                bytes        INTEGER NOT NULL,
                duration_ms  INTEGER NOT NULL,
                sample_rate  INTEGER NOT NULL,
                created_at   REAL NOT NULL,     -- unix seconds
                last_used_at REAL NOT NULL,     -- unix seconds
                hits         INTEGER NOT NULL DEFAULT 0
            ) WITHOUT ROWID;
            CREATE INDEX clips_by_blob ON clips (blob);
            CREATE INDEX clips_by_created_at ON clips (created_at);
            PRAGMA application_id = \(applicationID);
            """),
        // Pinned clips are never evicted; eviction walks clips least recently used first.
        ClipIndexMigration(name: "pin clips, index last use", sql: """
            ALTER TABLE clips ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0;
            CREATE INDEX clips_by_last_used_at ON clips (last_used_at);
            """),
        // Blobs filled from Redis are named before their bytes are flushed; their rows say so
        // until the flush, and a store that opens with such rows rehashes those blobs.
        ClipIndexMigration(name: "mark rows whose blob is not yet durable", sql: """
            ALTER TABLE clips ADD COLUMN durable INTEGER NOT NULL DEFAULT 1;
            CREATE INDEX clips_not_durable ON clips (key) WHERE durable = 0;
            """),
        // The whole request: a dialogue clip's speakers are part of its key, so a damaged one
        // can be made again only when the row keeps them. Rows from before say none.
        ClipIndexMigration(name: "keep a dialogue clip's speakers", sql: """
            ALTER TABLE clips ADD COLUMN speakers TEXT NOT NULL DEFAULT '';
            """),
    ]

    static var latestVersion: Int { migrations.count }

    /// Checks that `database` is a tts-repl index this code can use (or an empty file), turns on
    /// WAL, and applies the migrations it lacks. Safe when several processes open a fresh file
    /// at once: the version is re-read inside each write transaction.
    static func prepare(_ database: SQLiteDatabase, file: String, busyTimeoutMs: Int) throws {
        // Identity first, before anything writes: a foreign file must stay untouched. This is
        // also the first read, where SQLite notices a file that is not a database at all.
        var version = try userVersion(database)
        let appID = try database.cachedStatement("PRAGMA application_id").firstRow { $0.int(at: 0) } ?? 0
        let objects = try database.cachedStatement("SELECT count(*) FROM sqlite_master").firstRow { $0.int(at: 0) } ?? 0
        let foreign = appID != 0 ? appID != applicationID : (version != 0 || objects != 0)
        if foreign {
            throw TTSError.store("index \(file) is a SQLite database of another program (application_id \(appID), schema version \(version), \(objects) schema objects), not a tts-repl index. Check the store path, or move the file aside so tts-repl can create its index there.")
        }
        if version > latestVersion { throw newerVersion(version, file: file) }

        // WAL lets readers in other processes go on while one process writes (a setting of
        // the file, kept in it).
        try database.execute("PRAGMA journal_mode = WAL")
        try configure(database)

        while version < latestVersion {
            version = try database.writeTransaction {
                let current = try userVersion(database)
                if current > latestVersion { throw newerVersion(current, file: file) }
                guard current < latestVersion else { return current }
                let migration = migrations[current]
                do {
                    try database.execute(migration.sql)
                    try database.execute("PRAGMA user_version = \(current + 1)")
                } catch let error as SQLiteError {
                    let cause = error.storeError(file: file, busyTimeoutMs: busyTimeoutMs)
                    throw TTSError.store("migration \(current + 1) '\(migration.name)' failed, the index stays at version \(current). \(cause.message)")
                }
                return current + 1
            }
        }
    }

    /// The settings each connection to an index needs of its own (SQLite keeps them per
    /// connection): NORMAL synchronous is durable across process crashes and loses at most the
    /// last commits on a power cut, which only costs a re-fetch (blobs are fsync'ed on their
    /// own, and a blob whose row was lost is rehashed before it is used again: see
    /// `BlobSyncQueue`); FULL would fsync the WAL at every commit.
    static func configure(_ database: SQLiteDatabase) throws {
        try database.execute("PRAGMA synchronous = NORMAL")
    }

    static func userVersion(_ database: SQLiteDatabase) throws -> Int {
        try database.cachedStatement("PRAGMA user_version").firstRow { $0.int(at: 0) } ?? 0
    }

    private static func newerVersion(_ version: Int, file: String) -> TTSError {
        TTSError.store("index \(file) has schema version \(version), but this tts-repl knows versions up to \(latestVersion): it was written by a newer tts-repl. Upgrade tts-repl to use this store (the file was not changed).")
    }
}
