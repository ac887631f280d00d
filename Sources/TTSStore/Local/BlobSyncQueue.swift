import Dispatch
import Foundation
import Synchronization
import TTSCore

/// Flushes blobs stored with `BlobDurability.deferred` shortly after they were named, then marks
/// their rows durable; and, when a store opens, deals with the rows a crash left unmarked.
///
/// Why defer at all: a Redis hit should cost a small multiple of one GET, and one fsync costs
/// more than the GET on most disks. Deferring is safe because nothing is trusted that a power
/// cut could have spoiled: until the flush the bytes are still in Redis and the row says
/// `durable = 0`; a store opened with such rows rehashes their blobs (`recover`) before serving
/// them, and `BlobStore` rehashes any blob file it finds already present when it stores one.
///
/// ```swift
/// let sync = BlobSyncQueue(blobs: blobs, index: index)
/// _ = try sync.recover()                          // at open
/// if try blobs.put(audio, ifHashIs: clip.blob, durability: .deferred) {
///     try index.upsert(clip, blobIsDurable: false)
///     sync.add(clip.key, blob: clip.blob)          // flushed within `delay`
/// }
/// try sync.flush()                                 // at exit
/// ```
public final class BlobSyncQueue: Sendable {
    public let blobs: BlobStore
    public let index: ClipIndex
    /// How long a named blob waits for its flush: hits within the window share one pass, and
    /// the fsyncs stay off the path of the hits that follow each other closely.
    public let delay: Duration
    private let queue = DispatchQueue(label: "tts.blob-sync", qos: .utility)
    private let state = Mutex(State())

    private struct State {
        var pending: [(key: RequestKey, blob: BlobHash)] = []
        var flushScheduled = false
    }

    /// What `recover` found: rows whose blob was intact (now flushed and marked durable), and
    /// clips whose blob was damaged or missing (row removed, damaged file quarantined).
    public struct Recovery: Sendable, Equatable {
        public var kept = 0
        public var dropped: [RequestKey] = []
    }

    public init(blobs: BlobStore, index: ClipIndex, delay: Duration = .milliseconds(200)) {
        self.blobs = blobs
        self.index = index
        self.delay = delay
    }

    /// Blobs named but not yet flushed by this queue.
    /// (Rows still waiting to be written after their answers are written first: a Redis hit's
    /// blob joins this queue with its row.)
    public var pendingCount: Int {
        index.pendingRows.settle()
        return state.withLock { $0.pending.count }
    }

    /// Takes a row just written with `blobIsDurable: false`; its blob is flushed within `delay`.
    public func add(_ key: RequestKey, blob: BlobHash) {
        let schedule = state.withLock { state -> Bool in
            state.pending.append((key, blob))
            defer { state.flushScheduled = true }
            return !state.flushScheduled
        }
        guard schedule else { return }
        // A failed background flush leaves the rows unmarked: the next open rehashes them.
        queue.asyncAfter(deadline: .now() + delay.dispatchInterval) { [self] in _ = try? flushPending() }
    }

    /// Flushes every pending blob now and marks its rows durable; returns how many rows were
    /// marked. Waits for a flush the timer has under way, so that after it returns (at exit,
    /// before the index closes) nothing added earlier is still being flushed.
    @discardableResult
    public func flush() throws -> Int {
        // A Redis hit's blob joins this queue with its row, written after the answer: rows first.
        index.pendingRows.settle()
        return try queue.sync { try flushPending() }
    }

    /// One pass, on `queue`. The files stay open from their fsync until the rows are marked,
    /// and the marking checks, inside its transaction, that each name still means the file
    /// that was flushed: a blob removed and stored again by another process in between is
    /// left for that process to flush and mark.
    private func flushPending() throws -> Int {
        let batch = state.withLock { state in
            defer {
                state.pending.removeAll()
                state.flushScheduled = false
            }
            return state.pending
        }
        var marked = 0
        var failure: Error?
        let blobsInBatch = Array(Set(batch.map(\.blob)))
        // At most this many files open at once.
        for start in stride(from: 0, to: blobsInBatch.count, by: 200) {
            var held: [BlobHash: HeldBlobFile] = [:]
            for blob in blobsInBatch[start..<min(start + 200, blobsInBatch.count)] {
                do {
                    if let file = try blobs.flushAndHold(blob) { held[blob] = file }
                } catch {
                    failure = failure ?? error
                }
            }
            let rows = batch.filter { held[$0.blob] != nil }
            marked += try index.markDurable(rows) { blob in held[blob]?.identity == blobs.fileIdentity(of: blob) }
        }
        if let failure { throw failure }
        return marked
    }

    /// At open: every row still marked "not durable" (its process crashed or was killed before
    /// the flush, or the machine lost power). An intact blob is flushed and its row marked; a
    /// missing or damaged one loses its row, so the clip is fetched or generated again, and a
    /// damaged file is moved to quarantine. Rows of another running process are intact and are
    /// simply marked early.
    ///
    /// Only listing the rows can throw: one blob that cannot be read, flushed or moved aside
    /// loses its row (the clip is made again) rather than keeping the program from starting,
    /// and rows that cannot be updated now are simply looked at again next time.
    public func recover() throws -> Recovery {
        var recovery = Recovery()
        var intact: [(key: RequestKey, blob: BlobHash)] = []
        for clip in try index.clipsWithBlobNotDurable() {
            // Read, hashed and flushed through one descriptor; unreadable counts as damaged.
            if (try? blobs.adopt(clip.blob)) == true {
                intact.append((clip.key, clip.blob))
                recovery.kept += 1
                continue
            }
            if blobs.contains(clip.blob) { _ = try? blobs.quarantine(clip.blob) }
            guard (try? index.remove(clip.key)) != nil else { continue }
            recovery.dropped.append(clip.key)
        }
        try? index.markDurable(intact)
        return recovery
    }
}
