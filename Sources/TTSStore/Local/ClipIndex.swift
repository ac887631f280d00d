import Foundation
import Synchronization
import TTSCore

/// The SQLite index of the local tier: request key → clip row (which blob, what was asked,
/// what the audio is, how often it was used).
///
/// One connection per instance, used behind one lock; a process may also open several
/// instances on one file, and several processes may share it (WAL, busy timeout, write
/// transactions that take the lock up front). A point look-up by key is a few microseconds, so
/// calling it inline from async code is fine; bulk writes should run off the cooperative pool.
///
/// Hits are buffered in memory and written in one transaction per 4,096, or by the first hit
/// recorded `hitFlushInterval` after the oldest pending one (no timer thread: an idle index
/// keeps its few hits until the next hit, `flush()`, `close()` or deinit), so serving a hit
/// costs no write; a batch is written in the background, on a connection of its own
/// (`HitBatchWriter`). Reads show the written counts. `writeTransactions` counts what was
/// written.
///
/// Hot look-ups (`clipInReadWindow`, which `LocalTier.located` uses) share one read transaction
/// for up to `readWindowLength` instead of each beginning and ending its own; the store
/// generation and a fresh look-up after any miss keep what they answer as current as a memory
/// tier's answer.
///
/// Sendable without `@unchecked`: the connection lives inside a `Mutex`.
///
/// ```swift
/// let index = try ClipIndex(url: layout.indexURL)
/// if let clip = try index.clip(for: key) { index.recordHit(key, at: Date()) }
/// ```
public final class ClipIndex: Sendable {
    /// Pending hits that trigger a flush. Every batch written resets the page cache of each
    /// other connection on the file (SQLite drops it when the WAL changed), so the look-ups
    /// after it read their pages again: with batches of 256, a run of local hits had a p99 of
    /// ~5× its p50's floor; with 4,096, ~2.3× (bench/NOTES.md, 2026-12-04). What a crash can
    /// lose is hit counts only (eviction order), never a clip.
    public static let hitFlushThreshold = 4096
    /// How long a recorded hit may wait for its write when hits keep coming (see above).
    public static let defaultHitFlushInterval = Duration.seconds(5)
    /// How long one read transaction serves `clipInReadWindow` look-ups (see there). Short enough
    /// that a checkpoint of another process is held back no longer than a blink; long enough that
    /// a run of hits (a script, a busy server) pays the transaction's begin and end once per
    /// several hundred look-ups rather than once each.
    public static let defaultReadWindowLength = Duration.milliseconds(25)
    /// The schema version this code creates and understands.
    public static var latestSchemaVersion: Int { ClipIndexSchema.latestVersion }

    public let url: URL
    /// Advanced by every removal of a row, in any process on this store (`<store>/generation`,
    /// shared memory): what tells a memory tier that a clip it remembers may be gone. A row
    /// that comes to name another blob needs no advance: that only happens once its old blob
    /// is gone (quarantined, removed), which the memory tier's `stat` sees.
    public let generation: StoreGeneration
    public let busyTimeoutMs: Int
    public let hitFlushInterval: Duration
    /// How long one read window lasts (`clipInReadWindow`).
    public let readWindowLength: Duration
    /// Whether a timer ends a window no look-up came to end (always, but in the test of the
    /// rule that ends an old window at the next look-up).
    let endsIdleWindows: Bool
    /// Write transactions committed through this index, in this process (all connections it
    /// had): what shows that a run of hits writes in batches, not per line.
    private let commits = CommitCounter()
    /// Guards the SQLite connection, its prepared statements and the buffered hits: SQLite
    /// runs in multi-thread mode, so the connection must never be used by two threads at once.
    private let connection: Mutex<Connection>
    /// Writes full batches of hits off the caller's thread.
    let hitWriter: HitBatchWriter
    /// Where `pendingRows` are written, beside the look-ups on `connection`.
    private let rowWriter: RowWriterConnection
    /// Where hits are counted besides `recordHit` (`addHitSource`); held weakly, since a
    /// source (the memory tier) holds this index.
    private let hitSources = Mutex<[WeakHitSource]>([])

    private struct WeakHitSource {
        weak var source: (any HitSource)?
    }
    /// Rows written just after their request was answered (`writeAfterAnswer`); settled
    /// before every other use of the connection.
    let pendingRows = PendingRows()

    struct Connection {
        var database: SQLiteDatabase?
        /// The hot path's statement, also held in the database's cache (which finalizes it).
        var lookup: SQLiteStatement?
        var pendingHits: [RequestKey: PendingHit] = [:]
        var pendingHitCount = 0
        /// When the pending hits are due by time: set by the first hit after a batch went out.
        var flushDeadline = ContinuousClock.Instant.now
        /// The read transaction `clipInReadWindow` look-ups share, while one is open.
        var window: ReadWindow?
        /// Whether a timer that ends idle windows is set. One at a time: setting a Dispatch
        /// timer costs ~16 µs here, a third of a Redis hit's local miss when every window
        /// set its own (a write between look-ups ends each window, so a run of Redis hits
        /// opens one per hit). The timer, when it fires, sets itself again for a window
        /// opened after the one it was set for.
        var idleTimerSet = false

        /// Ends the read window, if one is open: before any other use of the connection (a write
        /// cannot begin inside it, and every other read should see the latest commits).
        mutating func endReadWindow() {
            guard window != nil else { return }
            window = nil
            database?.endReadTransaction()
        }

        /// Whether the caller is to set the idle-window timer: true when none is set (and from
        /// now on it counts as set).
        mutating func claimIdleTimer() -> Bool {
            defer { idleTimerSet = true }
            return !idleTimerSet
        }

        mutating func dropPendingHits(for key: RequestKey) {
            if let pending = pendingHits.removeValue(forKey: key) { pendingHitCount -= pending.count }
        }

        /// Adds hits counted elsewhere to the pending ones.
        mutating func add(_ hits: [RequestKey: PendingHit], count: Int) {
            for (key, hit) in hits {
                pendingHits[key, default: PendingHit(count: 0, lastUsed: hit.lastUsed)].add(hit)
            }
            pendingHitCount += count
        }

        /// The pending hits, handed over to be written.
        mutating func takePendingHits() -> (hits: [RequestKey: PendingHit], count: Int) {
            let taken = (pendingHits, pendingHitCount)
            // Room for a batch like this one: a run of hits refills the map without growing it
            // a dozen times per batch.
            pendingHits = Dictionary(minimumCapacity: min(taken.1, ClipIndex.hitFlushThreshold))
            pendingHitCount = 0
            return taken
        }
    }

    /// One read transaction kept open across hot look-ups: the store generation it began at and
    /// when it began.
    struct ReadWindow {
        var generation: UInt64
        var openedAt: ContinuousClock.Instant
    }

    struct PendingHit {
        var count: Int
        var lastUsed: Date

        mutating func count(at date: Date) {
            count += 1
            if date > lastUsed { lastUsed = date }
        }

        mutating func add(_ other: PendingHit) {
            count += other.count
            if other.lastUsed > lastUsed { lastUsed = other.lastUsed }
        }

        func merged(with other: PendingHit) -> PendingHit {
            PendingHit(count: count + other.count, lastUsed: max(lastUsed, other.lastUsed))
        }
    }

    static let columns = "key, blob, text, voice, language, engine, model, style, bytes, duration_ms, sample_rate, created_at, last_used_at, hits, speakers"
    private static let lookupSQL = "SELECT \(columns) FROM clips WHERE key = ?1"

    /// Opens the index, creating the file (and its folder) when missing; switches it to WAL,
    /// and applies pending schema migrations. Throws a `.store` error for a file that is not a
    /// tts-repl index, is damaged, or comes from a newer tts-repl.
    public convenience init(url: URL, busyTimeoutMs: Int = 5000, hitFlushInterval: Duration = ClipIndex.defaultHitFlushInterval,
                            readWindowLength: Duration = ClipIndex.defaultReadWindowLength) throws {
        try self.init(url: url, busyTimeoutMs: busyTimeoutMs, hitFlushInterval: hitFlushInterval,
                      readWindowLength: readWindowLength, endsIdleWindows: true)
    }

    init(url: URL, busyTimeoutMs: Int, hitFlushInterval: Duration, readWindowLength: Duration, endsIdleWindows: Bool) throws {
        self.url = url
        self.busyTimeoutMs = busyTimeoutMs
        self.hitFlushInterval = hitFlushInterval
        self.readWindowLength = readWindowLength
        self.endsIdleWindows = endsIdleWindows
        try? FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        generation = StoreGeneration(url: url.deletingLastPathComponent().appendingPathComponent("generation"))
        let (database, lookup) = try ClipIndex.open(url, busyTimeoutMs: busyTimeoutMs)
        database.countCommits(into: commits)
        connection = Mutex(Connection(database: database, lookup: lookup))
        hitWriter = HitBatchWriter(url: url, busyTimeoutMs: busyTimeoutMs, commits: commits)
        rowWriter = RowWriterConnection(url: url, busyTimeoutMs: busyTimeoutMs, commits: commits)
        pendingRows.writeBatches { [weak self] rows in
            guard let self else { throw TTSError(.store, "the index was closed before its rows were written") }
            return try self.writeRows(rows)
        }
    }

    /// Opens the file, brings its schema up to date and prepares the look-up.
    static func open(_ url: URL, busyTimeoutMs: Int) throws -> (SQLiteDatabase, SQLiteStatement) {
        let file = url.path
        do {
            let database = try SQLiteDatabase(path: file, busyTimeoutMs: busyTimeoutMs)
            try ClipIndexSchema.prepare(database, file: file, busyTimeoutMs: busyTimeoutMs)
            try database.defineTextFunction(ClipFilter.foldFunctionName, ClipFilter.fold)
            return (database, try database.cachedStatement(ClipIndex.lookupSQL))
        } catch let error as SQLiteError {
            throw error.storeError(file: file, busyTimeoutMs: busyTimeoutMs)
        }
    }

    /// A connection that only writes (`HitBatchWriter`, `RowWriterConnection`), its commits
    /// counted with the index's. The index's own connection has already checked the file and
    /// brought its schema up to date (`open`, again in `reopen`), and a writer needs neither
    /// the look-up nor the filter's fold function: only the per-connection settings. (A
    /// one-shot whose one index write is a Redis hit's row opens it at exit.)
    static func openWriter(_ url: URL, busyTimeoutMs: Int, commits: CommitCounter) throws -> SQLiteDatabase {
        let database = try SQLiteDatabase(path: url.path, busyTimeoutMs: busyTimeoutMs)
        try ClipIndexSchema.configure(database)
        database.countCommits(into: commits)
        return database
    }

    /// Swaps the connection for one on the file now at `url` (after `rebuild` put a new file
    /// there); buffered hits for the old file are dropped.
    func reopen() throws {
        hitWriter.reset()
        rowWriter.reset()
        try connection.withLock { state in
            state.endReadWindow()
            state.database?.close()
            let (database, lookup) = try ClipIndex.open(url, busyTimeoutMs: busyTimeoutMs)
            database.countCommits(into: commits)
            state = Connection(database: database, lookup: lookup)
        }
    }

    deinit { close() }

    /// `PRAGMA user_version` of the file: how many migrations it has.
    public var schemaVersion: Int {
        get throws {
            try withDatabase { database, _ in try ClipIndexSchema.userVersion(database) }
        }
    }

    // MARK: Reading

    /// `clip(for:)` on the hot path: the look-up runs in a read transaction shared with the
    /// look-ups of the last `readWindowLength` (a read window), which saves each of them the
    /// begin and end of its own transaction (SQLite's WAL read lock: two `fcntl`, and the WAL
    /// index check): about 40 % of a point look-up here.
    ///
    /// What a window may answer is what the memory tier may: a row another process removed
    /// advances the store generation, and a generation that moved ends the window before the
    /// look-up. A row added since the window began is not seen, so `fresh` says whether the
    /// answer came from a snapshot taken for this very look-up; a caller that finds nothing (or
    /// a row whose blob is gone) in an older one asks `clip(for:)`, which ends the window first.
    /// The window ends at the next other use of the connection, when it is `readWindowLength`
    /// old at a look-up, or, when no look-up comes, by a timer after that long: an idle process
    /// never holds a snapshot.
    ///
    /// A store whose generation file could not be mapped shares no generation with other
    /// processes, so there every look-up is `clip(for:)`.
    public func clipInReadWindow(for key: RequestKey) throws -> (clip: Clip?, fresh: Bool) {
        guard generation.isShared else { return (try clip(for: key), true) }
        let (clip, opened, setsTimer) = try withDatabase(keepingReadWindow: true) { database, state -> (Clip?, Bool, Bool) in
            // Read under the lock: a look-up that waited for it judges the window as of now.
            let now = ContinuousClock.now
            let generationNow = generation.current
            if let window = state.window, window.generation != generationNow || now >= window.openedAt + readWindowLength {
                state.endReadWindow()
            }
            var opened = false
            do {
                if state.window == nil {
                    try database.beginReadTransaction()
                    state.window = ReadWindow(generation: generationNow, openedAt: now)
                    opened = true
                }
                return (try lookUp(key, state), opened, opened && endsIdleWindows && state.claimIdleTimer())
            } catch {
                state.endReadWindow()
                throw error
            }
        }
        if setsTimer { setIdleTimer(after: readWindowLength) }
        return (clip, opened)
    }

    /// Ends the read window now (`clipInReadWindow`), if one is open: the next look-up sees every
    /// commit made before this call.
    public func endReadWindow() {
        connection.withLock { $0.endReadWindow() }
    }

    /// Whether a read window is open now (for tests: an idle index holds none for long).
    var hasOpenReadWindow: Bool { connection.withLock { $0.window != nil } }

    /// The timer that ends an idle window: the open window once it is `readWindowLength` old;
    /// a younger one (opened since the timer was set) gets the timer again, for when it will be.
    private func setIdleTimer(after delay: Duration) {
        DispatchQueue.global().asyncAfter(deadline: .now() + delay.dispatchInterval) { [weak self] in
            guard let self else { return }
            let again = connection.withLock { state -> Duration? in
                let left = state.window.map { $0.openedAt + readWindowLength - ContinuousClock.now }
                guard let left, left > .zero else {
                    state.endReadWindow()
                    state.idleTimerSet = false
                    return nil
                }
                return left
            }
            if let again { setIdleTimer(after: again) }
        }
    }

    /// The clip stored under `key`, or nil, as of the latest commit. One prepared statement,
    /// reused.
    public func clip(for key: RequestKey) throws -> Clip? {
        try withDatabase { _, state in try lookUp(key, state) }
    }

    /// `clip(for:)` as of now for a caller that asked `clipAfterAnswer(for:)` just before:
    /// the rows still waiting are not written first (a row that left them before that question
    /// is committed), so a run of Redis hits does not write the previous hit's row on the
    /// next one's path.
    func freshClip(for key: RequestKey) throws -> Clip? {
        try withDatabase(settlingPendingRows: false) { _, state in try lookUp(key, state) }
    }

    /// The hot path's statement, run once for `key`: in or out of a read window.
    private func lookUp(_ key: RequestKey, _ state: Connection) throws -> Clip? {
        guard let lookup = state.lookup else { throw closedError() }
        defer { lookup.reset() }
        try lookup.bind(key.hex, at: 1)
        return try lookup.step() ? try decodeClip(lookup, key: key) : nil
    }

    /// Every clip whose audio is `blob` (identical audio from several requests), newest first.
    public func clips(forBlob blob: BlobHash) throws -> [Clip] {
        try withDatabase { database, _ in
            try database.cachedStatement("SELECT \(ClipIndex.columns) FROM clips WHERE blob = ?1 ORDER BY created_at DESC, key")
                .rows([.text(blob.hex)], decodeClip)
        }
    }

    /// Clips whose key starts with `prefix` (lowercase hex), in key order: lets people name a clip
    /// by the first characters of its key. A range scan on the primary key, not a LIKE.
    public func clips(withKeyPrefix prefix: String, limit: Int) throws -> [Clip] {
        try withDatabase { database, _ in
            try database.cachedStatement("SELECT \(ClipIndex.columns) FROM clips WHERE key >= ?1 AND key < ?2 ORDER BY key LIMIT ?3")
                .rows([.text(prefix), .text(prefix + "g"), .integer(limit)], decodeClip)
        }
    }

    /// A page of the clips matching `filter`, newest first (`created_at` descending, then key).
    /// `limit` is the page size (a negative limit means no limit), `offset` the rows to skip.
    public func list(_ filter: ClipFilter, limit: Int, offset: Int) throws -> [Clip] {
        let (condition, values) = filter.whereClause
        let sql = "SELECT \(ClipIndex.columns) FROM clips\(condition) ORDER BY created_at DESC, key LIMIT ?\(values.count + 1) OFFSET ?\(values.count + 2)"
        return try withDatabase { database, _ in
            try database.cachedStatement(sql)
                .rows(values + [.integer(limit < 0 ? -1 : limit), .integer(max(0, offset))], decodeClip)
        }
    }

    /// Every clip matching `filter`, in no promised order (today the table's, key order): for
    /// callers that order the clips themselves, such as export. Without an ORDER BY, SQLite
    /// scans the table instead of walking the `created_at` index with a lookup per row and then
    /// sorting (spilling to a temp file) every run of clips made in the same second.
    public func clips(matching filter: ClipFilter) throws -> [Clip] {
        let (condition, values) = filter.whereClause
        return try withDatabase { database, _ in
            try database.cachedStatement("SELECT \(ClipIndex.columns) FROM clips\(condition)").rows(values, decodeClip)
        }
    }

    /// How many clips match `filter`.
    public func count(_ filter: ClipFilter) throws -> Int {
        let (condition, values) = filter.whereClause
        return try withDatabase { database, _ in
            try database.cachedStatement("SELECT count(*) FROM clips\(condition)").firstRow(values) { $0.int(at: 0) } ?? 0
        }
    }

    // MARK: Writing

    /// Inserts `clip`, or replaces every field of the row with the same key (hits included).
    /// `blobIsDurable: false` records that the blob's bytes may not be on the disk yet
    /// (`BlobDurability.deferred`); `markDurable` clears it after the flush.
    public func upsert(_ clip: Clip, blobIsDurable: Bool = true) throws {
        try upsert([clip], blobIsDurable: blobIsDurable)
    }

    /// `clip`'s row, written by `write` just after the answer that needed it, while the caller
    /// goes on (`PendingRows`). Until written, `clipAfterAnswer(for:)` finds the clip; every
    /// other use of the index waits for the write first. `write` reaches the index only through
    /// the `RowWriting` it is given (any other use would wait for the very rows being written).
    /// `failed` hears of a row that was dropped.
    func writeAfterAnswer(_ clip: Clip, write: @escaping @Sendable (RowWriting) throws -> Void,
                          failed: @escaping @Sendable (Error) -> Void) {
        // The row holds the index until it is written: one freed meanwhile would drop it.
        pendingRows.add(clip, write: { [self] rows in try withExtendedLifetime(self) { try write(rows) } }, failed: failed)
    }

    /// What a row written after its answer may do with the index. The rows of one batch share
    /// one write transaction (`RowWriterConnection`): at one transaction a row (45–63 µs each
    /// here), a batch of a stream of hits took most of a millisecond.
    struct RowWriting {
        fileprivate let database: SQLiteDatabase

        /// `hasDurableClip(forBlob:)`, in the batch's transaction.
        func hasDurableClip(forBlob blob: BlobHash) throws -> Bool {
            try ClipIndex.hasDurableClip(forBlob: blob, in: database)
        }

        /// `upsert`, in the batch's transaction.
        func upsert(_ clip: Clip, blobIsDurable: Bool) throws {
            try ClipIndex.upsert([clip], blobIsDurable: blobIsDurable, in: database)
        }
    }

    /// Runs `rows` (each a row's write) in one write transaction; each row's writes in a
    /// savepoint of its own when there are several, so one that throws is rolled back alone.
    /// Returns what each row threw (nil: written); throws when the transaction as a whole
    /// failed, and then no row was written.
    private func writeRows(_ rows: [@Sendable (RowWriting) throws -> Void]) throws -> [(any Error)?] {
        try rowWriter.write { database in
            let writing = RowWriting(database: database)
            return try database.writeTransaction {
                guard rows.count > 1 else {
                    try rows.first?(writing)
                    return [nil]
                }
                return try rows.map { write in
                    do {
                        try database.savepoint { try write(writing) }
                        return nil
                    } catch {
                        // SQLite ended the whole transaction (a full disk, an I/O error): the
                        // rows before were undone, and the next would run outside it.
                        guard database.isInTransaction else { throw error }
                        return error
                    }
                }
            }
        }
    }

    /// A clip whose row `writeAfterAnswer` has not written yet (the hot look-up's second place
    /// to look).
    public func clipAfterAnswer(for key: RequestKey) -> Clip? {
        pendingRows.clip(for: key)
    }

    /// Inserts or replaces all `clips` in one transaction: all or none are stored.
    public func upsert(_ clips: [Clip], blobIsDurable: Bool = true) throws {
        guard !clips.isEmpty else { return }
        try withDatabase { database, _ in
            try database.writeTransaction { try ClipIndex.upsert(clips, blobIsDurable: blobIsDurable, in: database) }
        }
    }

    /// Inserts or replaces `clips` through `database`, inside the caller's write transaction.
    private static func upsert(_ clips: [Clip], blobIsDurable: Bool, in database: SQLiteDatabase) throws {
        let statement = try database.cachedStatement(
            // An upsert rather than INSERT OR REPLACE: replacing would delete the row and reset
            // columns the clip does not carry (`pinned`).
            """
            INSERT INTO clips (\(ClipIndex.columns), durable) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)
            ON CONFLICT (key) DO UPDATE SET blob = excluded.blob, text = excluded.text, voice = excluded.voice,
                language = excluded.language, engine = excluded.engine, model = excluded.model,
                style = excluded.style, bytes = excluded.bytes, duration_ms = excluded.duration_ms,
                sample_rate = excluded.sample_rate, created_at = excluded.created_at,
                last_used_at = excluded.last_used_at, hits = excluded.hits, speakers = excluded.speakers,
                durable = excluded.durable
            """)
        for clip in clips {
            try statement.run([
                .text(clip.key.hex), .text(clip.blob.hex), .text(clip.text), .text(clip.voice),
                .text(clip.language), .text(clip.engine), .text(clip.model), .text(clip.style),
                .integer(clip.bytes), .integer(clip.durationMs), .integer(clip.sampleRate),
                .real(clip.createdAt.timeIntervalSince1970), .real(clip.lastUsedAt.timeIntervalSince1970),
                .integer(clip.hits), .text(SpeakerVoice.storedText(clip.speakers)), .integer(blobIsDurable ? 1 : 0),
            ])
        }
    }

    /// Rows whose blob was stored with deferred durability and not yet marked durable: after a
    /// crash, the blobs to rehash before they are trusted.
    public func clipsWithBlobNotDurable() throws -> [Clip] {
        try withDatabase { database, _ in
            try database.cachedStatement("SELECT \(ClipIndex.columns) FROM clips WHERE durable = 0").rows([], decodeClip)
        }
    }

    /// Records that the blobs of these rows are on the disk. A row that now names another
    /// blob (replaced meanwhile) is left alone, and so is every row whose blob fails
    /// `stillFlushed`, which runs inside the write transaction: no other process can write a
    /// row between that check and the commit.
    /// Returns how many rows it marked.
    @discardableResult
    public func markDurable(_ clips: [(key: RequestKey, blob: BlobHash)],
                            where stillFlushed: (BlobHash) -> Bool = { _ in true }) throws -> Int {
        guard !clips.isEmpty else { return 0 }
        return try withDatabase { database, _ in
            let statement = try database.cachedStatement("UPDATE clips SET durable = 1 WHERE key = ?1 AND blob = ?2 AND durable = 0")
            return try database.writeTransaction {
                var marked = 0
                for clip in clips where stillFlushed(clip.blob) {
                    try statement.run([.text(clip.key.hex), .text(clip.blob.hex)])
                    marked += database.changes
                }
                return marked
            }
        }
    }

    /// Whether a row marked durable names `blob`: such a row counts on the blob's file being
    /// on the disk, so a new copy of that blob must be flushed before it gets the name.
    public func hasDurableClip(forBlob blob: BlobHash) throws -> Bool {
        try withDatabase { database, _ in try ClipIndex.hasDurableClip(forBlob: blob, in: database) }
    }

    private static func hasDurableClip(forBlob blob: BlobHash, in database: SQLiteDatabase) throws -> Bool {
        try database.cachedStatement("SELECT 1 FROM clips WHERE blob = ?1 AND durable = 1 LIMIT 1")
            .firstRow([.text(blob.hex)]) { _ in true } ?? false
    }

    /// Deletes the clip row (not its blob, which other clips may share). Returns whether a row
    /// was there. Buffered hits for the key are dropped.
    @discardableResult
    public func remove(_ key: RequestKey) throws -> Bool {
        dropSourcedHits(for: key)
        return try withDatabase { database, state in
            state.dropPendingHits(for: key)
            hitWriter.drop(key)
            try database.cachedStatement("DELETE FROM clips WHERE key = ?1").run([.text(key.hex)])
            let removed = database.changes > 0
            if removed { generation.advance() }
            return removed
        }
    }

    /// Counts a use of the clip at `date`, in memory. Written in a batch: in the background
    /// once `hitFlushThreshold` hits are pending or the oldest has waited `hitFlushInterval`,
    /// or by `flush()`, `close()` and deinit. Never throws: a failed batch write keeps the hits
    /// for the next one. `now`: the caller's reading of the monotonic clock, when it has one
    /// from this moment (a hit's start), for the time-based flush.
    public func recordHit(_ key: RequestKey, at date: Date = Date(), now: ContinuousClock.Instant = .now) {
        let due = connection.withLock { state -> (hits: [RequestKey: PendingHit], count: Int)? in
            if state.pendingHitCount == 0 { state.flushDeadline = now + hitFlushInterval }
            // One hash of the key, in place.
            state.pendingHits[key, default: PendingHit(count: 0, lastUsed: date)].count(at: date)
            state.pendingHitCount += 1
            guard state.pendingHitCount >= ClipIndex.hitFlushThreshold || now >= state.flushDeadline else { return nil }
            return state.takePendingHits()
        }
        if let due { hitWriter.submit(due.hits, count: due.count) }
    }

    /// A batch of hits counted elsewhere (`HitSource`), due by the same rules as this index's
    /// own (`hitFlushThreshold` of them, or the oldest `hitFlushInterval` old): written in the
    /// background with this index's pending hits, as one batch.
    func writeHits(_ hits: [RequestKey: PendingHit], count: Int) {
        guard count > 0 else { return }
        let due = connection.withLock { state in
            state.add(hits, count: count)
            return state.takePendingHits()
        }
        hitWriter.submit(due.hits, count: due.count)
    }

    /// Adds a place that counts hits of its own (the memory tier); its hits are taken before
    /// every flush and at close, and counted in `pendingHitCount`.
    func addHitSource(_ source: any HitSource) {
        hitSources.withLock { sources in
            sources.removeAll { $0.source == nil }
            sources.append(WeakHitSource(source: source))
        }
    }

    /// Every hit source's held hits, taken.
    private func takeSourcedHits() -> [(hits: [RequestKey: PendingHit], count: Int)] {
        liveHitSources().map { $0.takeHeldHits() }
    }

    /// Forgets what every hit source holds for `key` (its row is being removed).
    func dropSourcedHits(for key: RequestKey) {
        for source in liveHitSources() { source.dropHeldHits(for: key) }
    }

    private func liveHitSources() -> [any HitSource] {
        hitSources.withLock { $0.compactMap(\.source) }
    }

    /// Write transactions this index committed (hit flushes, upserts, removals, migrations…),
    /// counted by SQLite's commit hook, so none is missed and no read is counted.
    public var writeTransactions: Int { commits.value }

    /// Hits recorded but not yet written (buffered, queued or being written).
    public var pendingHitCount: Int {
        connection.withLock { $0.pendingHitCount } + hitWriter.pendingCount
            + liveHitSources().reduce(0) { $0 + $1.heldHitCount }
    }

    /// Writes buffered hits now, in one transaction: `hits += n`, `last_used_at` = the later of
    /// the stored and the recorded time; waits for a batch being written in the background.
    /// Hits for keys that were removed meanwhile are dropped.
    public func flush() throws {
        // Through this connection, under its lock, while the writer has none of its own (a
        // one-shot's one hit: opening a second connection would cost more than the write);
        // otherwise on the writer's, with this lock released, so look-ups do not wait for a
        // batch in flight.
        let sourced = takeSourcedHits()
        let pending = try withDatabase { database, state -> (hits: [RequestKey: PendingHit], count: Int)? in
            for batch in sourced { state.add(batch.hits, count: batch.count) }
            let pending = state.takePendingHits()
            guard hitWriter.hasOwnConnection else {
                try hitWriter.flush(adding: pending.hits, count: pending.count, orThrough: database)
                return nil
            }
            return pending
        }
        guard let pending else { return }
        do {
            try hitWriter.flush(adding: pending.hits, count: pending.count)
        } catch let error as SQLiteError {
            throw error.storeError(file: url.path, busyTimeoutMs: busyTimeoutMs)
        }
    }

    /// Flushes buffered hits (best effort) and closes the connections. Later calls throw.
    public func close() {
        pendingRows.settle()
        let sourced = takeSourcedHits()
        connection.withLock { state in
            state.endReadWindow()
            for batch in sourced { state.add(batch.hits, count: batch.count) }
            let pending = state.takePendingHits()
            hitWriter.close(adding: pending.hits, count: pending.count, orThrough: state.database)
            rowWriter.close()
            state.database?.close()
            state.database = nil
            state.lookup = nil
        }
    }

    // MARK: Helpers

    /// Runs `body` under the connection lock, turning SQLite failures into `.store` errors that
    /// name this index file. Ends the read window first, but for the windowed look-up itself.
    func withDatabase<T: Sendable>(keepingReadWindow: Bool = false, settlingPendingRows: Bool = true,
                                   _ body: (SQLiteDatabase, inout Connection) throws -> T) throws -> T {
        // Every reader and writer but the hot look-up (which asks the pending rows itself)
        // and the pending rows' own writes sees the rows written after their answers.
        if !keepingReadWindow && settlingPendingRows { pendingRows.settle() }
        return try connection.withLock { state in
            guard let database = state.database else { throw closedError() }
            if !keepingReadWindow { state.endReadWindow() }
            do {
                return try body(database, &state)
            } catch let error as SQLiteError {
                throw error.storeError(file: url.path, busyTimeoutMs: busyTimeoutMs)
            }
        }
    }

    private func closedError() -> TTSError {
        TTSError(.internal, "index \(url.path) was used after close(); this is a bug in tts-repl, please report it.")
    }

    func decodeClip(_ row: SQLiteStatement) throws -> Clip {
        try decodeClip(row, key: nil)
    }

    /// - Parameter known: the key the row was selected by (the hit path): its column is not
    ///   read back and parsed again.
    func decodeClip(_ row: SQLiteStatement, key known: RequestKey?) throws -> Clip {
        let keyText = known == nil ? row.text(at: 0) : ""
        let blobText = row.text(at: 1)
        guard let key = known ?? RequestKey(hex: keyText), let blob = BlobHash(hex: blobText) else {
            throw TTSError.store("index \(url.path) has a row with a malformed key '\(keyText)' or blob '\(blobText)': the file was edited by hand or is damaged. Remove that row, or move the file aside to start a fresh index.")
        }
        return Clip(key: key, blob: blob, text: row.text(at: 2), voice: row.text(at: 3),
                    language: row.text(at: 4), engine: row.text(at: 5), model: row.text(at: 6),
                    style: row.text(at: 7), bytes: row.int(at: 8), durationMs: row.int(at: 9),
                    sampleRate: row.int(at: 10),
                    createdAt: Date(timeIntervalSince1970: row.double(at: 11)),
                    lastUsedAt: Date(timeIntervalSince1970: row.double(at: 12)),
                    hits: row.int(at: 13), speakers: row.isEmptyText(at: 14) ? [] : SpeakerVoice.list(storedText: row.text(at: 14)))
    }
}

/// A place that counts hits itself and hands them to a `ClipIndex` in batches (the memory
/// tier, which counts a hit in the entry it answered from, under the lock it holds anyway).
protocol HitSource: AnyObject, Sendable {
    /// The hits counted and not yet handed over, taken (the source holds none afterwards).
    func takeHeldHits() -> (hits: [RequestKey: ClipIndex.PendingHit], count: Int)
    /// How many hits it holds.
    var heldHitCount: Int { get }
    /// Forgets the hits held for `key` (its row is being removed).
    func dropHeldHits(for key: RequestKey)
}
