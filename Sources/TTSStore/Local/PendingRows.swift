import Dispatch
import Synchronization
import TTSConcurrency
import TTSCore

/// Index rows written just after the request they belong to was answered (a Redis hit's row).
///
/// A Redis hit's blob is on this machine the moment it is named; its row (one SQLite write
/// transaction, 45–63 µs here, a tenth of the hit) is written right after the answer, by the
/// thread that stored the blob (`AfterAnswer`: the Redis connection's, which is awake anyway),
/// or, when the row was handed in elsewhere (a hit run on its caller's thread), by a timer on
/// a serial queue of its own, with the other rows handed in meanwhile, once such hand-ins
/// pause (`BatchTiming`). The rows written
/// together share one write transaction (`ClipIndex.RowWriting`), each in a savepoint, so a
/// row that fails is dropped alone, on a connection of their own (`RowWriterConnection`), so
/// the hits that come meanwhile do not wait for the commit in their look-up. `ClipIndex` keeps
/// the rows here and settles them (writes those still waiting, and waits for one being
/// written) before any other use of its connection, so every reader but the hot look-up sees
/// them in the index itself; the hot look-up asks `clip(for:)` here first. Other processes miss
/// locally for that moment and read Redis, which still holds the clip; an `rm` in another
/// process during that moment removes a row not yet written, and the row lands after it (with
/// its blob, so the store stays consistent).
///
/// A row that cannot be written (the disk full, the index busy past its timeout) is reported
/// to the writer's `failed` handler and dropped: its blob is left an orphan for `gc` (after
/// its grace period) and the next request reads Redis again.
final class PendingRows: Sendable {
    private struct Row: Sendable {
        let clip: Clip
        /// Order of hand-in: a later row of the same key replaces one not yet written.
        let turn: UInt64
        let write: @Sendable (ClipIndex.RowWriting) throws -> Void
        let failed: @Sendable (Error) -> Void
    }

    /// Writes the rows of one batch, their writes in one transaction: what each threw (nil:
    /// written), or a throw when none was written. Set by the index that owns these rows.
    typealias BatchWriter = @Sendable ([@Sendable (ClipIndex.RowWriting) throws -> Void]) throws -> [(any Error)?]
    private let batchWriter = Mutex<BatchWriter?>(nil)

    private struct Waiting {
        var rows: [RequestKey: Row] = [:]
        var turns: UInt64 = 0
        /// When the first row the timer will write was handed in: nil while no timer is set.
        var timerBatchBegan: ContinuousClock.Instant?
        /// When the last row for the timer was handed in.
        var lastHandedIn = ContinuousClock.Instant.now
    }

    /// When the timer writes the rows handed in off an answering thread (Redis hits run on
    /// their caller's thread, `InlineBlocking`, one at a time process-wide).
    ///
    /// A batch written while hits go on slows the hits it overlaps, on their own connection
    /// or not: written 5 ms after its first row, it landed on the last hits of a burst of
    /// sixteen and made their p99 1.2–1.8× the others' on two cores (bench/NOTES.md,
    /// 2026-12-06). So the rows wait for the hits to pause; a stream without a pause meets a
    /// batch once per `longest` (a hit takes 200 µs or more: a few hundred rows at most).
    struct BatchTiming: Sendable {
        /// No row handed in for this long: the hits have paused, the rows are written.
        var quiet: Duration
        /// The longest the first row of a batch waits, however the hits go on.
        var longest: Duration

        static let standard = BatchTiming(quiet: .milliseconds(5), longest: .milliseconds(50))

        /// When the batch begun at `began` is due, its last row handed in at `last`.
        func due(began: ContinuousClock.Instant, last: ContinuousClock.Instant) -> ContinuousClock.Instant {
            min(last + quiet, began + longest)
        }
    }

    private let timing: BatchTiming

    init(timing: BatchTiming = .standard) {
        self.timing = timing
    }

    /// Rows handed in and not yet written; a row leaves only once its write is over.
    private let waiting = Mutex(Waiting())
    /// The number of rows in `waiting`, read without the lock on every use of the index.
    private let waitingCount = Atomic<Int>(0)
    /// One writer at a time, so a settle returns only after a write another thread began.
    /// A semaphore rather than a lock: tests hold it from one thread and release it from another.
    private let gate = DispatchSemaphore(value: 1)
    /// Where the batch timer writes rows handed in by a thread that is not answering anyone.
    private let queue = DispatchQueue(label: "tts.index.pending-rows")

    /// Where the rows are written: set once, by the index, when it opens.
    func writeBatches(_ writer: @escaping BatchWriter) {
        batchWriter.withLock { $0 = writer }
    }

    /// Runs `write` for `clip` soon; until it has run, `clip(for:)` answers the clip. `write`
    /// must not settle the rows itself (it runs while they are being settled).
    func add(_ clip: Clip, write: @escaping @Sendable (ClipIndex.RowWriting) throws -> Void,
             failed: @escaping @Sendable (Error) -> Void) {
        let row = waiting.withLock { waiting in
            waiting.turns += 1
            let row = Row(clip: clip, turn: waiting.turns, write: write, failed: failed)
            if waiting.rows.updateValue(row, forKey: clip.key) == nil { waitingCount.add(1, ordering: .relaxed) }
            return row
        }
        if AfterAnswer.later({ [self] in self.write([row]) }) { return }
        let now = ContinuousClock.now
        let setsTimer = waiting.withLock { waiting in
            waiting.lastHandedIn = now
            guard waiting.timerBatchBegan == nil else { return false }
            waiting.timerBatchBegan = now
            return true
        }
        if setsTimer { setTimer(after: timing.quiet) }
    }

    /// The timer's wake-up: writes the rows once they are due, or sleeps until they are (a
    /// row was handed in since it was set). During a stream of hits it wakes once per `quiet`
    /// (~16 µs a wake-up here) instead of writing a batch each time.
    private func setTimer(after delay: Duration) {
        queue.asyncAfter(deadline: .now() + delay.dispatchInterval) { [self] in
            let now = ContinuousClock.now
            let sleep: Duration? = waiting.withLock { waiting in
                if let began = waiting.timerBatchBegan {
                    let due = timing.due(began: began, last: waiting.lastHandedIn)
                    if due > now { return due - now }
                }
                // Rows handed in from now on set a timer of their own.
                waiting.timerBatchBegan = nil
                return nil
            }
            if let sleep { setTimer(after: sleep) } else { settle() }
        }
    }

    /// The clip whose row is about to be written, if any.
    func clip(for key: RequestKey) -> Clip? {
        guard waitingCount.load(ordering: .relaxed) > 0 else { return nil }
        return waiting.withLock { $0.rows[key]?.clip }
    }

    /// Rows not written yet.
    var count: Int { waitingCount.load(ordering: .relaxed) }

    /// Returns once every row handed in before the call is written (or dropped): writes those
    /// still waiting, in one go, after a write in progress. A no-op when nothing waits.
    func settle() {
        guard waitingCount.load(ordering: .relaxed) > 0 else { return }
        write(nil)
    }

    /// Writes `rows` (nil: every row waiting once the gate is ours, so rows handed in while a
    /// settle waited for the gate join its batch), those still waiting (another writer may
    /// have written them), in the order they were handed in, in one transaction; each leaves
    /// `waiting` once committed.
    ///
    /// The rows hold their index (`ClipIndex.writeAfterAnswer`) and are kept until the gate is
    /// released: an index whose last other owner let go meanwhile is freed after the batch,
    /// and its `close()` settles without waiting for a gate its own thread holds.
    private func write(_ rows: [Row]?) {
        gate.wait()
        let candidates = rows ?? waiting.withLock { Array($0.rows.values) }
        let live = candidates.sorted(by: { $0.turn < $1.turn }).filter { row in
            waiting.withLock { $0.rows[row.clip.key]?.turn == row.turn }
        }
        withExtendedLifetime((candidates, live)) {
            defer { gate.signal() }
            guard !live.isEmpty else { return }
            var outcomes: [(any Error)?]
            do {
                guard let writer = batchWriter.withLock({ $0 }) else {
                    throw TTSError(.internal, "rows were handed in before their index was open; this is a bug in tts-repl, please report it.")
                }
                outcomes = try writer(live.map(\.write))
            } catch {
                outcomes = Array(repeating: error, count: live.count)
            }
            for (row, outcome) in zip(live, outcomes) {
                if let outcome { row.failed(outcome) }
                waiting.withLock { waiting in
                    guard waiting.rows[row.clip.key]?.turn == row.turn else { return }
                    waiting.rows[row.clip.key] = nil
                    waitingCount.subtract(1, ordering: .relaxed)
                }
            }
        }
    }

    /// For tests: rows wait (and so does every settle) until `resumeWrites`, so the moment
    /// between a hit's answer and its row can be looked at.
    func holdWrites() { gate.wait() }
    func resumeWrites() { gate.signal() }
}
