import Foundation
import TTSCore

/// What the index knows about the whole local tier, for `stats` and the cache budget.
public struct ClipUsage: Sendable, Equatable {
    public var clips = 0
    /// Distinct blobs the rows point at, and their bytes, each counted once: the disk used.
    public var blobs = 0
    public var bytes = 0
    /// Bytes the clips would take without sharing identical audio (each row counted).
    public var logicalBytes = 0
    public var pinned = 0
    /// Local hits recorded in the index (flushed ones), and the audio they served, in ms:
    /// every hit is an engine call that did not happen.
    public var hits = 0
    public var hitAudioMs = 0
    public var oldest: Date?
    public var newest: Date?

    public init() {}

    /// What sharing identical audio saves on disk.
    public var bytesSavedByDedup: Int { logicalBytes - bytes }
}

/// Clips that share an engine, voice and language, for the breakdown in `stats`.
public struct ClipGroup: Sendable, Equatable {
    public var engine: String
    public var voice: String
    public var language: String
    public var clips: Int
    public var bytes: Int
    public var hits: Int
}

/// How the SQLite file itself is doing: `PRAGMA quick_check` and the write-ahead log.
public struct IndexCheckpoint: Sendable, Equatable {
    /// WAL frames before and after the checkpoint; `busy` when a reader kept some of them.
    public var walFrames: Int
    public var checkpointed: Int
    public var busy: Bool
}

/// Maintenance reads and writes of the clip index: pinning, usage figures, eviction order,
/// removal that tells whether a blob lost its last clip, and SQLite's own checks.
extension ClipIndex {
    // MARK: Pinning

    /// Marks a clip as protected from eviction (or not). Returns false when no clip has `key`.
    @discardableResult
    public func setPinned(_ key: RequestKey, _ pinned: Bool) throws -> Bool {
        try withDatabase { database, _ in
            try database.cachedStatement("UPDATE clips SET pinned = ?2 WHERE key = ?1")
                .run([.text(key.hex), .integer(pinned ? 1 : 0)])
            return database.changes > 0
        }
    }

    public func isPinned(_ key: RequestKey) throws -> Bool {
        try withDatabase { database, _ in
            try database.cachedStatement("SELECT pinned FROM clips WHERE key = ?1").firstRow([.text(key.hex)]) { $0.int(at: 0) != 0 } ?? false
        }
    }

    // MARK: Figures

    /// Totals over the whole index. Flushes buffered hits first so the figures are current.
    public func usage() throws -> ClipUsage {
        try flush()
        return try withDatabase { database, _ in
            var usage = ClipUsage()
            let rows = """
                SELECT count(*), coalesce(sum(bytes), 0), coalesce(sum(pinned != 0), 0), coalesce(sum(hits), 0),
                       coalesce(sum(hits * duration_ms), 0), min(created_at), max(created_at)
                FROM clips
                """
            try database.cachedStatement(rows).firstRow { row in
                usage.clips = row.int(at: 0)
                usage.logicalBytes = row.int(at: 1)
                usage.pinned = row.int(at: 2)
                usage.hits = row.int(at: 3)
                usage.hitAudioMs = row.int(at: 4)
                usage.oldest = row.isNull(at: 5) ? nil : Date(timeIntervalSince1970: row.double(at: 5))
                usage.newest = row.isNull(at: 6) ? nil : Date(timeIntervalSince1970: row.double(at: 6))
            }
            try database.cachedStatement(ClipIndex.distinctBlobBytesSQL).firstRow { row in
                usage.blobs = row.int(at: 0)
                usage.bytes = row.int(at: 1)
            }
            return usage
        }
    }

    /// Distinct blob bytes the rows point at: what the budget of `TTS_CACHE_MAX_BYTES` measures.
    public func storedBytes() throws -> Int {
        try withDatabase { database, _ in
            try database.cachedStatement(ClipIndex.distinctBlobBytesSQL).firstRow { $0.int(at: 1) } ?? 0
        }
    }

    private static let distinctBlobBytesSQL =
        "SELECT count(*), coalesce(sum(bytes), 0) FROM (SELECT blob, max(bytes) AS bytes FROM clips GROUP BY blob)"

    /// Clips, bytes and hits per engine, voice and language, largest groups first.
    public func breakdown() throws -> [ClipGroup] {
        try flush()
        return try withDatabase { database, _ in
            let sql = """
                SELECT engine, voice, language, count(*), sum(bytes), sum(hits) FROM clips
                GROUP BY engine, voice, language ORDER BY count(*) DESC, engine, voice, language
                """
            return try database.cachedStatement(sql).rows { row in
                ClipGroup(engine: row.text(at: 0), voice: row.text(at: 1), language: row.text(at: 2),
                          clips: row.int(at: 3), bytes: row.int(at: 4), hits: row.int(at: 5))
            }
        }
    }

    // MARK: Walking the index

    /// Every clip, in key order (verify walks them all).
    public func allClips() throws -> [Clip] {
        try withDatabase { database, _ in
            try database.cachedStatement("SELECT \(ClipIndex.columns) FROM clips ORDER BY key").rows([], decodeClip)
        }
    }

    /// Up to `count` clips chosen at random (`verify --sample N`).
    public func sampleClips(_ count: Int) throws -> [Clip] {
        try withDatabase { database, _ in
            try database.cachedStatement("SELECT \(ClipIndex.columns) FROM clips ORDER BY random() LIMIT ?1")
                .rows([.integer(max(0, count))], decodeClip)
        }
    }

    /// Every blob some row points at.
    public func referencedBlobs() throws -> Set<BlobHash> {
        try withDatabase { database, _ in
            Set(try database.cachedStatement("SELECT DISTINCT blob FROM clips").rows { BlobHash(hex: $0.text(at: 0)) }.compactMap { $0 })
        }
    }

    public func isReferenced(_ blob: BlobHash) throws -> Bool {
        try withDatabase { database, _ in
            try database.cachedStatement("SELECT 1 FROM clips WHERE blob = ?1 LIMIT 1").firstRow([.text(blob.hex)]) { _ in true } ?? false
        }
    }

    /// Unpinned clips, least recently used first: the eviction order. Buffered hits are flushed
    /// first, so a clip used a moment ago counts as used.
    public func evictionCandidates(limit: Int, offset: Int = 0) throws -> [Clip] {
        try flush()
        return try withDatabase { database, _ in
            try database.cachedStatement("SELECT \(ClipIndex.columns) FROM clips WHERE pinned = 0 ORDER BY last_used_at, key LIMIT ?1 OFFSET ?2")
                .rows([.integer(limit), .integer(max(0, offset))], decodeClip)
        }
    }

    // MARK: Removing

    /// Deletes the row of `key` and, in the same transaction, tells whether its blob is now
    /// referenced by no clip (the caller may then delete the file). Returns nil when no row had
    /// the key. Buffered hits for the key are dropped.
    public func removeClip(_ key: RequestKey) throws -> (clip: Clip, blobIsUnreferenced: Bool)? {
        defer { generation.advance() }
        dropSourcedHits(for: key)
        return try withDatabase { database, state in
            try database.writeTransaction {
                guard let clip = try database.cachedStatement("SELECT \(ClipIndex.columns) FROM clips WHERE key = ?1")
                    .firstRow([.text(key.hex)], decodeClip) else { return nil }
                try database.cachedStatement("DELETE FROM clips WHERE key = ?1").run([.text(key.hex)])
                let stillUsed = try database.cachedStatement("SELECT 1 FROM clips WHERE blob = ?1 LIMIT 1")
                    .firstRow([.text(clip.blob.hex)]) { _ in true } ?? false
                state.dropPendingHits(for: key)
                hitWriter.drop(key)
                return (clip, !stillUsed)
            }
        }
    }

    /// Bytes of the blobs pinned clips use, each blob once (a full scan: for the hard limit,
    /// checked before engine writes only).
    public func pinnedBytes() throws -> Int {
        try withDatabase { database, _ in
            try database.cachedStatement("SELECT coalesce(sum(bytes), 0) FROM (SELECT blob, max(bytes) AS bytes FROM clips WHERE pinned = 1 GROUP BY blob)")
                .firstRow { $0.int(at: 0) } ?? 0
        }
    }

    // MARK: SQLite

    /// `PRAGMA quick_check`: an empty list when the file is sound, else SQLite's findings.
    public func quickCheck() throws -> [String] {
        try withDatabase { database, _ in
            let findings = try database.prepare("PRAGMA quick_check").rows { $0.text(at: 0) }
            return findings == ["ok"] ? [] : findings
        }
    }

    /// Lets SQLite refresh its planner statistics (`PRAGMA optimize`), folds the write-ahead log
    /// into the database and truncates it, and with `vacuum` rebuilds the file to return free
    /// pages to the disk (slow on a large index; it needs as much free space as the file).
    public func optimize(vacuum: Bool) throws -> IndexCheckpoint {
        try flush()
        return try withDatabase { database, _ in
            try database.execute("PRAGMA optimize")
            if vacuum { try database.execute("VACUUM") }
            return try database.prepare("PRAGMA wal_checkpoint(TRUNCATE)").firstRow { row in
                IndexCheckpoint(walFrames: row.int(at: 1), checkpointed: row.int(at: 2), busy: row.int(at: 0) != 0)
            } ?? IndexCheckpoint(walFrames: 0, checkpointed: 0, busy: false)
        }
    }
}
