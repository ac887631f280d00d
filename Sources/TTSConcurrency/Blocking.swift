import Dispatch
import Foundation
import Synchronization

/// The concurrency model of tts-repl, and the two ways across its one boundary.
///
/// **The model.** Swift's cooperative pool has as many threads as the machine has cores (two
/// here). Nothing that blocks runs on it: SQLite, hiredis, curl, fsync, espeak-ng and directory
/// walks run on dedicated threads, and async code waits for them with a continuation.
///
/// - Blocking work that a task waits for goes through `Blocking.run` (threads of
///   `Blocking.threads`, started on demand). Components that own a C handle keep their own
///   dedicated threads for it instead: a Redis connection its serial queue, espeak-ng its one
///   serial queue (it is not re-entrant), curl a `BlockingThreads` of its own.
/// - One bounded exception: a short blocking call whose two hand-offs would cost a large part
///   of it (a Redis hit) may run on its caller's thread, one caller at a time process-wide
///   and only with a core to spare (`InlineBlocking`).
/// - Work a blocking call leaves for after its answer runs on that call's thread, right after
///   the caller was resumed (`AfterAnswer`): no other thread is woken for it.
/// - Plain threads that must wait for async work (a signal handler's thread, the input thread,
///   start-up and close) use `Blocking.wait`, the one sync-to-async bridge, always with a bound.
/// - Shared mutable state lives behind one `Mutex` (e.g. `SingleFlight`'s) whose
///   comment names what it guards. `NSCondition` remains where a thread must sleep until
///   another wakes it (`BlockingThreads`).
/// - Signals go through `SignalRouter`: one C handler per signal, installed once; commands push
///   a handler while they run and pop it when they end, so the one below comes back.
///
/// ```swift
/// let rows = try await Blocking.run { try index.list(filter, limit: 20, offset: 0) }   // from async code
/// let drained = Blocking.wait(upTo: .seconds(10)) { await service.drain(timeout: .seconds(10)) }  // from a plain thread
/// ```
public enum Blocking {
    /// Where `run` sends its work. Why not `DispatchQueue.global()`: on Linux its pool is sized
    /// to the cores and grows about once a second when its threads block, so a few fsync'ed
    /// writes could hold up every other caller; these threads start at once, up to the limit.
    public static let threads = BlockingThreads(name: "tts.blocking", maxThreads: 16)

    /// Runs blocking `body` on a dedicated thread and waits for it without holding a thread of
    /// the cooperative pool.
    public static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            threads.run { AfterAnswer.answering({ Result { try body() } }, then: { continuation.resume(with: $0) }) }
        }
    }

    /// Runs async `body` from a plain thread and blocks that thread until it returns, at most
    /// `timeout` (nil: no bound). Returns nil when the time ran out; the work carries on.
    ///
    /// Never call it from async code: it would block a thread of the cooperative pool.
    public static func wait<T: Sendable>(upTo timeout: Duration?, _ body: @escaping @Sendable () async -> T) -> T? {
        let outcome = Outcome<T>()
        let done = DispatchSemaphore(value: 0)
        Task.detached {
            let result = await body()
            outcome.value.withLock { $0 = result }
            done.signal()
        }
        if let timeout {
            let nanoseconds = max(0, Int(timeout.components.seconds) * 1_000_000_000 + Int(timeout.components.attoseconds / 1_000_000_000))
            guard done.wait(timeout: .now() + .nanoseconds(nanoseconds)) == .success else { return nil }
        } else {
            done.wait()
        }
        return outcome.value.withLock { $0 }
    }

    private final class Outcome<T: Sendable>: Sendable {
        /// Guards the result, written by the task before it signals and read after the wait.
        let value = Mutex<T?>(nil)
    }
}
