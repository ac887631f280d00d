import Dispatch
import Synchronization
import TTSCore

/// Index rows of Redis hits, written after the hit is answered.
///
/// A Redis hit's blob is on this machine the moment it is named; its row (one SQLite write
/// transaction, 45–60 µs here, a tenth of the hit) is written right after, on a serial queue
/// of its own, while the caller already has its answer. Until then this process finds the clip
/// here (`LocalTier.located` asks on an index miss); other processes miss locally for that
/// moment and read Redis, which still holds the clip. What needs every row in the index
/// first (removal, eviction, the flush at close, which marks rows durable) calls `settle()`.
///
/// A row that cannot be written (the disk full, the index busy past its timeout) is logged
/// and dropped: its blob is left an orphan for `gc` (after its grace period) and the next
/// request reads Redis again.
final class PendingRows: Sendable {
    private let rows = Mutex<[RequestKey: Clip]>([:])
    private let queue = DispatchQueue(label: "tts.local.pending-rows")
    private let index: ClipIndex
    private let logger: Logger

    init(index: ClipIndex, logger: Logger) {
        self.index = index
        self.logger = logger
    }

    /// Writes `clip`'s row soon; until then `clip(for:)` answers it.
    func write(_ clip: Clip, blobIsDurable: Bool) {
        rows.withLock { $0[clip.key] = clip }
        queue.async { [self] in
            do {
                try index.upsert(clip, blobIsDurable: blobIsDurable)
            } catch {
                logger.warn("index-row", [("key", .string(clip.key.hex)), ("outcome", "dropped"),
                                          ("error", .string(String(describing: error)))])
            }
            // Only this write's entry: a later write of the key has its own turn on the queue.
            rows.withLock { rows in
                if rows[clip.key] == clip { rows[clip.key] = nil }
            }
        }
    }

    /// The clip whose row is about to be written, if any.
    func clip(for key: RequestKey) -> Clip? {
        rows.withLock { $0.isEmpty ? nil : $0[key] }
    }

    /// Rows not written yet.
    var count: Int { rows.withLock { $0.count } }

    /// Returns once every row handed in before the call is written (or dropped).
    func settle() {
        queue.sync {}
    }

    /// For tests: rows handed in from now on wait until `resumeWrites`, so the moment between
    /// a hit's answer and its row can be looked at.
    func holdWrites() { queue.suspend() }
    func resumeWrites() { queue.resume() }
}
