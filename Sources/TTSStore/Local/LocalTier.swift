import Foundation
import TTSConcurrency
import TTSCore

/// What the local tier reports to whoever keeps the process's figures (`ServiceMetrics`).
public protocol LocalTierEvents: Sendable {
    func recordCorruptBlob()
    func recordEviction(clips: Int, bytes: Int)
}

/// The local tier: the SQLite index, the blob files, the flusher of blobs stored with deferred
/// durability, and the byte budget. The one owner of what is on this machine's disk.
///
/// A clip counts as present only when its row and its blob file both exist and the file has
/// the row's size (one `stat` per hit); a blob that fails that check, or a hash check on a
/// read, is moved to `<store>/quarantine/` and the look-up is a miss, so the caller fetches or
/// generates the clip again. Every write (a Redis hit, an engine's answer) is followed by the
/// budget check, which evicts least recently used, unpinned clips when the store is over it.
///
/// `index` and `blobs` are visible for the maintenance operations that work on the store as a
/// whole (verify, gc, health, stats, export); the data path goes through the methods here.
///
/// ```swift
/// let local = try LocalTier(layout: StoreLayout(root: storeURL), budget: CacheBudget(maxBytes: 1 << 30))
/// if let clip = try local.clip(for: key) { play(local.url(for: clip)) }
/// let stored = try await local.store(wav, for: key, request: resolved, audio: decoded)
/// ```
public final class LocalTier: Sendable {
    public let index: ClipIndex
    public let blobs: BlobStore
    /// The byte budget (`TTS_CACHE_MAX_BYTES`); `config reload` changes its `maxBytes`.
    public let budget: CacheBudget
    /// Flushes the blobs Redis hits store with deferred durability: `recover` at open, `close`
    /// flushes what is left.
    let blobSync: BlobSyncQueue
    let logger: Logger
    let events: LocalTierEvents?

    public init(index: ClipIndex, blobs: BlobStore, budget: CacheBudget = CacheBudget(), logger: Logger = .disabled,
                events: LocalTierEvents? = nil, blobSyncDelay: Duration = .milliseconds(200)) {
        self.index = index
        self.blobs = blobs
        self.budget = budget
        self.logger = logger
        self.events = events
        blobSync = BlobSyncQueue(blobs: blobs, index: index, delay: blobSyncDelay)
    }

    /// Opens (creating when needed) the index and blob folders under `layout`.
    public convenience init(layout: StoreLayout, budget: CacheBudget = CacheBudget(), logger: Logger = .disabled,
                            events: LocalTierEvents? = nil) throws {
        try self.init(index: ClipIndex(url: layout.indexURL), blobs: BlobStore(layout: layout), budget: budget,
                      logger: logger, events: events)
    }

    public var layout: StoreLayout { blobs.layout }

    // MARK: Look-up

    /// The clip stored under `key` when its row and an intact-looking blob (right size) are both
    /// here. A row whose blob vanished is a miss; a blob of the wrong size is quarantined and
    /// is a miss; the regeneration repairs both.
    public func clip(for key: RequestKey) throws -> Clip? {
        try located(for: key)?.clip
    }

    /// `clip(for:)` with the blob file it checked (path, inode, size from its one `stat`).
    ///
    /// The row is read in the index's read window (`ClipIndex.clipInReadWindow`); anything short
    /// of a whole hit in a window that began before this look-up is looked up again as of now,
    /// so a clip another process stored a moment ago is found, and a blob found missing is
    /// judged against the row as it is now.
    public func located(for key: RequestKey) throws -> (clip: Clip, file: BlobFile)? {
        // A Redis hit's row written after its answer: asked first, so a row that leaves the
        // pending set before this look-up is already committed for the fresh read below.
        if let pending = index.clipAfterAnswer(for: key) { return checkedFile(of: pending) }
        let windowed = try index.clipInReadWindow(for: key)
        if !windowed.fresh, let clip = windowed.clip, let file = blobs.file(of: clip.blob), file.size == clip.bytes {
            return (clip, file)
        }
        guard let clip = windowed.fresh ? windowed.clip : try index.freshClip(for: key) else { return nil }
        return checkedFile(of: clip)
    }

    /// The clip with its blob file when that file is there with the row's size; a missing one
    /// is logged, a damaged one quarantined, and both are a miss.
    private func checkedFile(of clip: Clip) -> (clip: Clip, file: BlobFile)? {
        guard let file = blobs.file(of: clip.blob) else {
            logger.warn("blob-missing", [("key", .string(clip.key.hex)), ("blob", .string(clip.blob.hex))])
            return nil
        }
        guard file.size == clip.bytes else {
            quarantineDamaged(clip, reason: "size \(file.size), expected \(clip.bytes)")
            return nil
        }
        return (clip, file)
    }

    /// The row stored under `key`, without checking its blob (for showing what is known).
    public func row(for key: RequestKey) throws -> Clip? {
        try index.clip(for: key)
    }

    /// Where the clip's WAV file is.
    public func url(for clip: Clip) -> URL {
        blobs.url(for: clip.blob)
    }

    /// Counts a hit (buffered; written at the next flush). `now`: the monotonic time the
    /// caller read for this hit, when it has one.
    public func recordHit(_ key: RequestKey, now: ContinuousClock.Instant = .now) {
        index.recordHit(key, at: Date(), now: now)
    }

    /// The clip's bytes, hash-checked. A damaged blob is quarantined and the error thrown.
    public func verifiedAudio(of clip: Clip) throws -> Data {
        do {
            return try blobs.read(clip.blob, verify: true)
        } catch let error as TTSError where blobs.contains(clip.blob) {
            quarantineDamaged(clip, reason: error.message)
            throw error
        }
    }

    func quarantineDamaged(_ clip: Clip, reason: String) {
        let moved = try? blobs.quarantine(clip.blob)
        events?.recordCorruptBlob()
        logger.warn("blob-corrupt", [("key", .string(clip.key.hex)), ("blob", .string(clip.blob.hex)),
                                     ("reason", .string(reason)), ("quarantined", .string(moved?.path ?? "-"))])
    }

    // MARK: Listing and pinning (the commands `ls`, `pin`, `unpin`)

    /// Clips matching `filter`, most recently used first.
    public func clips(matching filter: ClipFilter, limit: Int, offset: Int = 0) throws -> [Clip] {
        try index.list(filter, limit: limit, offset: offset)
    }

    /// How many clips match `filter`.
    public func count(matching filter: ClipFilter) throws -> Int {
        try index.count(filter)
    }

    /// The clip a command names by its full key or a unique prefix of at least 4 hex
    /// characters (as `ls` shows them); a validation error says what to give otherwise.
    public func storedClip(named word: String) throws -> Clip {
        switch try lookUp(named: word) {
        case .found(let clip): return clip
        case .notFound(let message), .unusable(let message): throw TTSError.validation("key", message)
        }
    }

    /// The clip a person or a URL names (`info 3fa4c2d1`, `GET /v1/clips/3fa4c2d1`), telling a
    /// name that matches nothing (HTTP 404) from one that cannot name a clip (400).
    public func lookUp(named word: String) throws -> ClipLookup {
        let prefix = word.lowercased()
        if let key = RequestKey(hex: prefix) {
            if let clip = try index.clip(for: key) { return .found(clip) }
            return .notFound("no clip has the key \(prefix)")
        }
        guard prefix.count >= 4, prefix.allSatisfy({ $0.isHexDigit }) else {
            return .unusable("'\(word)' is not a key: give the full key or at least its first 4 hex characters (see `ls`)")
        }
        let matches = try index.clips(withKeyPrefix: prefix, limit: 2)
        guard let first = matches.first else { return .notFound("no clip key starts with \(prefix)") }
        guard matches.count == 1 else { return .unusable("several clips start with \(prefix): give more characters") }
        return .found(first)
    }

    /// Pins or unpins a clip (eviction never removes a pinned clip). False when no such clip.
    public func setPinned(_ key: RequestKey, _ pinned: Bool) throws -> Bool {
        try index.setPinned(key, pinned)
    }

    /// Removes a clip (the `rm` command), and its blob when no other clip uses it. Nil when
    /// there is no such clip here.
    public func remove(_ key: RequestKey) throws -> LocalRemoval? {
        let pinned = try index.isPinned(key)
        guard let removal = try index.removeClip(key) else { return nil }
        var freedBytes: Int?
        if removal.blobIsUnreferenced {
            freedBytes = blobs.size(of: removal.clip.blob)
            try blobs.remove(removal.clip.blob)
        }
        return LocalRemoval(clip: removal.clip, wasPinned: pinned, freedBytes: freedBytes)
    }

    /// What `remove` would remove, without removing it (`rm --dry-run`).
    public func removalPreview(_ key: RequestKey) throws -> LocalRemoval? {
        guard let clip = try index.clip(for: key) else { return nil }
        return LocalRemoval(clip: clip, wasPinned: try index.isPinned(key), freedBytes: nil)
    }

    // MARK: Storing

    /// Stores a Redis hit; called on the Redis connection's thread, right after the look-up:
    /// hashing and the file write block, and one hop between threads is all a hit pays. The
    /// index row is written just after, while the caller has its answer
    /// (`ClipIndex.writeAfterAnswer`, `writeRow(ofSharedHit:)`).
    /// Finish with `finish(_:)` back in async code.
    public func store(_ hit: RedisHit) throws -> SharedFill {
        var clip = hit.clip
        clip.hits = 0
        if let audio = hit.audio {
            // The store hashes the bytes and names them only when they are the blob the
            // metadata says, before they reach the disk: Redis still holds them. A WAV that
            // does not parse is refused by its header, which accepts what `WAVAudio.decode`
            // does without decoding or copying the samples.
            guard WAVHeader(audio) != nil else { return .mismatch(clip) }
            guard try blobs.put(audio, ifHashIs: clip.blob, durability: .deferred) else { return .mismatch(clip) }
            index.writeAfterAnswer(clip, write: { [self, clip] rows in try writeRow(ofSharedHit: clip, through: rows) },
                                   failed: rowDropped(clip.key))
            return .stored(clip)
        }
        // Metadata only: usable when this machine has the blob intact (rehashed and
        // flushed, since the row about to name it says it is on the disk). The row after the
        // answer too: no write transaction (which may wait out a busy index) on a thread that
        // may be its caller's (`InlineBlocking`).
        guard try blobs.adopt(clip.blob) else { return .absent }
        index.writeAfterAnswer(clip, write: { [clip] rows in
            try rows.upsert(clip, blobIsDurable: true)
        }, failed: rowDropped(clip.key))
        return .stored(clip)
    }

    /// What a row written after its answer does when it cannot be written: say so (its blob
    /// stays, an orphan for `gc`; the next request reads Redis again).
    private func rowDropped(_ key: RequestKey) -> @Sendable (Error) -> Void {
        { [logger] error in
            logger.warn("index-row", [("key", .string(key.hex)), ("outcome", "dropped"),
                                      ("error", .string(String(describing: error)))])
        }
    }

    /// The row of a Redis hit whose blob was named before its bytes reached the disk, written
    /// just after the answer. It records that the blob is not durable yet, and `blobSync`
    /// flushes it later; unless a durable row names this blob already (its file was lost or
    /// damaged): that row counts on the name meaning bytes on the disk, so the bytes are
    /// flushed now, before this row joins it. (Checked here rather than before the write, off
    /// the hit's path: for the moment between the naming and this flush, a crash could leave
    /// that earlier row naming bytes not on the disk, in a store that had already lost them.)
    /// A blob named durably is flushed inside the batch's write transaction: rare (its file was
    /// lost), and the row must not commit before the bytes are on the disk.
    private func writeRow(ofSharedHit clip: Clip, through rows: ClipIndex.RowWriting) throws {
        let namedDurably: Bool
        do {
            namedDurably = try rows.hasDurableClip(forBlob: clip.blob)
            if namedDurably { _ = try blobs.flushToDisk(clip.blob) }
            try rows.upsert(clip, blobIsDurable: namedDurably)
        } catch {
            // The row is dropped, the blob is not: it still gets its flush (a durable row may
            // name it), and `gc` finds it an orphan if nothing else does.
            blobSync.add(clip.key, blob: clip.blob)
            throw error
        }
        if !namedDurably { blobSync.add(clip.key, blob: clip.blob) }
    }

    /// The second half of storing a Redis hit: keeps the budget. Returns the stored clip, or
    /// nil when the hit was not usable.
    public func finish(_ fill: SharedFill) async -> Clip? {
        guard case let .stored(clip) = fill else { return nil }
        await enforceBudget(afterWriting: clip)
        return clip
    }

    /// Stores an engine's answer (already validated): the blob written, fsynced and named, then
    /// the row, off the cooperative pool; then the budget is kept.
    public func store(_ wav: Data, for key: RequestKey, request: AudioRequest, audio: WAVAudio) async throws -> Clip {
        try await admitWrite(bytes: wav.count, for: request)
        let blobs = self.blobs, index = self.index
        let clip = try await Blocking.run {
            let blob = try blobs.put(wav)
            let clip = Clip(key: key, blob: blob, request: request, bytes: wav.count,
                            durationMs: audio.durationMs, sampleRate: audio.format.sampleRate)
            try index.upsert(clip)
            return clip
        }
        await enforceBudget(afterWriting: clip)
        return clip
    }

    // MARK: Budget

    /// Before a write of `bytes`: refuses it when the hard limit leaves no room once every
    /// unpinned clip is evicted, i.e. when pinned clips plus it exceed the limit. (Unpinned
    /// clips never block a write: eviction makes room after it.)
    func admitWrite(bytes: Int, for request: AudioRequest) async throws {
        guard let hard = budget.hardMaxBytes else { return }
        let index = self.index
        let pinned = try await Blocking.run { try index.pinnedBytes() }
        guard pinned + bytes > hard else { return }
        throw TTSError.store("'\(excerpt(request.text))' was not stored: pinned clips take \(pinned) bytes, and with this clip's \(bytes) the local tier would exceed TTS_CACHE_HARD_MAX_BYTES (\(hard)). Unpin clips (`unpin KEY`), remove some (`rm`), or raise the limit.")
    }

    /// After a write: evicts when the running estimate says the budget is exceeded. Never
    /// fails the request that wrote; a failed eviction is logged and tried again later. The
    /// scan and deletions run off the cooperative pool; the request waits for them, so the
    /// store is within budget when it returns.
    func enforceBudget(afterWriting clip: Clip) async {
        guard let target = budget.noteWrite(bytes: clip.bytes) else { return }
        let started = ContinuousClock.now
        let evictor = Evictor(index: index, blobs: blobs)
        do {
            let report = try await Blocking.run { try evictor.evict(toMaxBytes: target, dryRun: false, sparing: [clip.key]) }
            budget.settle(usedBytes: report.bytesAfter)
            events?.recordEviction(clips: report.evicted.count, bytes: report.freedBytes)
            if !report.evicted.isEmpty || report.stillOverBudget {
                logger.info("evict", [("operation", "evict"), ("trigger", "budget"), ("clips", .int(report.evicted.count)),
                                      ("freed_bytes", .int(report.freedBytes)), ("bytes", .int(report.bytesAfter)),
                                      ("target_bytes", .int(target)),
                                      ("ms", .double(started.duration(to: .now).milliseconds)),
                                      ("outcome", .string(report.stillOverBudget ? "pinned-over-budget" : "ok"))])
            }
        } catch {
            budget.settle(usedBytes: nil)
            logger.warn("evict", [("operation", "evict"), ("trigger", "budget"), ("outcome", "error"),
                                  ("error", .string(String(describing: error)))])
        }
    }

    /// The `evict` command: brings the tier down to `maxBytes` now (or says what it would do).
    public func evict(toMaxBytes maxBytes: Int, dryRun: Bool) async throws -> EvictionReport {
        let evictor = Evictor(index: index, blobs: blobs)
        let report = try await Blocking.run { try evictor.evict(toMaxBytes: maxBytes, dryRun: dryRun) }
        if !dryRun { events?.recordEviction(clips: report.evicted.count, bytes: report.freedBytes) }
        return report
    }

    // MARK: Open and close

    /// At open: rehashes the blobs a crash left named but maybe never flushed, before any is
    /// served.
    public func recover() throws -> BlobSyncQueue.Recovery {
        try blobSync.recover()
    }

    /// Blobs stored but not yet flushed (for tests and `stats`).
    public var pendingFlushCount: Int { blobSync.pendingCount }

    /// Flushes blobs not yet on the disk and buffered hit counts. Returns the blobs flushed.
    @discardableResult
    public func flush() throws -> Int {
        let flushed = try blobSync.flush()
        try index.flush()
        return flushed
    }

    /// Flushes (a failure leaves rows unmarked, and the next start rehashes their blobs), then
    /// closes the index.
    public func close() {
        _ = try? blobSync.flush()
        try? index.flush()
        index.close()
    }
}

/// What removing one clip did (or, previewed, would do) to the local tier.
public struct LocalRemoval: Sendable {
    public let clip: Clip
    public let wasPinned: Bool
    /// The bytes of its blob, deleted because no other clip used it; nil when the blob stays
    /// (or was already gone, or in a preview).
    public let freedBytes: Int?
}

/// What a Redis hit turned into locally.
public enum SharedFill: Sendable {
    /// Stored; indexed, or about to be (a row written after the answer).
    case stored(Clip)
    /// The shared audio is not a WAV file or not the blob the metadata names.
    case mismatch(Clip)
    /// Metadata only, and this machine lacks the blob: a miss.
    case absent
}

/// What a clip name (a full key or a unique prefix) found.
public enum ClipLookup: Sendable {
    case found(Clip)
    /// Well formed, but no clip has it (`message` says so).
    case notFound(String)
    /// Not a key or prefix, or a prefix several clips share (`message` says what to give).
    case unusable(String)
}
