import Synchronization

/// Callers of one key at once share one fetch: the first caller runs it on its own task, and
/// the others wait for its answer. Redis hits go through here instead of `SingleFlight`,
/// whose run is a task of its own (so one cancelled waiter cannot spoil it for the others):
/// for a fetch of a few hundred microseconds that task and the hand-back of its result were
/// two thread wake-ups more per hit, and a fetch cannot be spoiled by a cancelled caller
/// anyway (the Redis round trip and the store run to their end on the connection's thread).
///
/// A waiter that arrives as the fetch ends is answered nil (nothing shared); the caller then
/// looks again the usual way, and finds what the fetch stored.
final class JoinedFetches<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private typealias Waiter = CheckedContinuation<Value?, Error>
    private let inProgress = Mutex<[Key: [Waiter]]>([:])

    /// Fetches running now.
    var count: Int { inProgress.withLock { $0.count } }

    /// Callers waiting for the fetch of `key` (for tests).
    func waiting(for key: Key) -> Int { inProgress.withLock { $0[key]?.count ?? 0 } }

    func run(_ key: Key, _ fetch: () async throws -> Value?) async throws -> Value? {
        let leads = inProgress.withLock { fetches -> Bool in
            guard fetches[key] == nil else { return false }
            fetches[key] = []
            return true
        }
        guard leads else {
            return try await withCheckedThrowingContinuation { (waiter: Waiter) in
                let joined = inProgress.withLock { fetches -> Bool in
                    guard fetches[key] != nil else { return false }
                    fetches[key]!.append(waiter)
                    return true
                }
                if !joined { waiter.resume(returning: nil) }
            }
        }
        let result = await Result { try await fetch() }
        let waiters = inProgress.withLock { $0.removeValue(forKey: key) ?? [] }
        for waiter in waiters { waiter.resume(with: result) }
        return try result.get()
    }
}
