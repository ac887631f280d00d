import Dispatch
import Synchronization
import TTSCore

/// Index rows written just after the request they belong to was answered (a Redis hit's row).
///
/// A Redis hit's blob is on this machine the moment it is named; its row (one SQLite write
/// transaction, 45–63 µs here, a tenth of the hit) is written right after, on a serial queue
/// of its own, while the caller already has its answer. `ClipIndex` keeps the rows here and
/// settles them (waits for their writes) before any other use of its connection, so every
/// reader but the hot look-up sees them in the index itself; the hot look-up asks `clip(for:)`
/// here first. Other processes miss locally for that moment and read Redis, which still holds
/// the clip; an `rm` in another process during that moment removes a row not yet written,
/// and the row lands after it (with its blob, so the store stays consistent).
///
/// A row that cannot be written (the disk full, the index busy past its timeout) is reported
/// to the writer's `failed` handler and dropped: its blob is left an orphan for `gc` (after
/// its grace period) and the next request reads Redis again.
final class PendingRows: Sendable {
    private let rows = Mutex<[RequestKey: Clip]>([:])
    /// The number of rows in `rows`, read without the lock on every use of the index.
    private let waiting = Atomic<Int>(0)
    private let queue = DispatchQueue(label: "tts.index.pending-rows")
    private static let onQueue = DispatchSpecificKey<Bool>()

    init() {
        queue.setSpecific(key: PendingRows.onQueue, value: true)
    }

    /// Runs `write` for `clip` soon; until it has run, `clip(for:)` answers the clip.
    func add(_ clip: Clip, write: @escaping @Sendable () throws -> Void, failed: @escaping @Sendable (Error) -> Void) {
        rows.withLock { rows in
            if rows.updateValue(clip, forKey: clip.key) == nil { waiting.add(1, ordering: .relaxed) }
        }
        queue.async { [self] in
            do { try write() } catch { failed(error) }
            // Only this write's entry: a later one of the key has its own turn on the queue.
            rows.withLock { rows in
                if rows[clip.key] == clip {
                    rows[clip.key] = nil
                    waiting.subtract(1, ordering: .relaxed)
                }
            }
        }
    }

    /// The clip whose row is about to be written, if any.
    func clip(for key: RequestKey) -> Clip? {
        guard waiting.load(ordering: .relaxed) > 0 else { return nil }
        return rows.withLock { $0[key] }
    }

    /// Rows not written yet.
    var count: Int { waiting.load(ordering: .relaxed) }

    /// Returns once every row handed in before the call is written (or dropped). A no-op on
    /// the queue itself (its writes use the index too) and when nothing waits.
    func settle() {
        guard waiting.load(ordering: .relaxed) > 0, DispatchQueue.getSpecific(key: PendingRows.onQueue) == nil else { return }
        queue.sync {}
    }

    /// For tests: rows handed in from now on wait until `resumeWrites`, so the moment between
    /// a hit's answer and its row can be looked at.
    func holdWrites() { queue.suspend() }
    func resumeWrites() { queue.resume() }
}
