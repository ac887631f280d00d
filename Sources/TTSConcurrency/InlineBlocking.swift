import Foundation
import Synchronization

/// The one bounded exception to "nothing that blocks runs on the cooperative pool": a short
/// blocking call whose two thread hand-offs would cost a large part of it may run on the
/// caller's own thread, one caller at a time in the whole process.
///
/// Why: a Redis hit (one GETEX, a hash and a file write: 250–450 µs here) paid 65–90 µs for
/// the hop to its connection's thread and back, waking a thread each way. Run where the caller
/// is, it pays none. Why one at a time: the pool has a thread per core, so with at least two
/// cores one always stays free for everything else, even while a stalled server holds the
/// inline call for its command timeout. Other callers meanwhile take the usual hop; so does
/// everyone on a one-core machine.
///
/// ```swift
/// if let reply = try InlineBlocking.run({ try connection.command(arguments) }) { return reply }
/// return try await pool.command(arguments)   // the slot was taken: hop as usual
/// ```
public enum InlineBlocking {
    private static let busy = Atomic<Bool>(false)
    /// Whether this machine has a cooperative thread to spare.
    public static let isAvailable = ProcessInfo.processInfo.activeProcessorCount >= 2

    /// Runs `body` on this thread when no other inline call is running; nil (and `body` not
    /// run) otherwise.
    public static func run<T>(_ body: () throws -> T) rethrows -> T? {
        guard isAvailable, busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else { return nil }
        defer { busy.store(false, ordering: .releasing) }
        return try body()
    }

    /// Whether an inline call is running now (for tests).
    public static var isBusy: Bool { busy.load(ordering: .relaxed) }
}
