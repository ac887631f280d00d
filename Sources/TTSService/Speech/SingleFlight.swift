import Synchronization
import TTSCore

/// At most one run of the work per key at a time, in this process: callers that ask for a key
/// already in flight wait for that run's result instead of starting their own. This is what
/// makes ten concurrent `say Hello` cost one engine call.
///
/// A waiter that is cancelled stops waiting at once (Ctrl-C returns to the prompt); the shared
/// run is cancelled only when no waiter is left, so one impatient caller never spoils the
/// result for the others. That is why the run is a task of its own, not the first caller's.
///
/// The flights live behind one `Mutex`, not in an actor: every miss in both tiers passes
/// through here, and an actor cost two more thread wake-ups per miss (into the actor, and back
/// into it to hand out the result). Redis hits do not come here: they share a fetch through
/// `JoinedFetches`, without a task of their own.
final class SingleFlight<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private typealias Waiter = CheckedContinuation<Value, Error>

    private struct Flight {
        /// The waiter whose call started the run.
        var starter: Int
        var task: Task<Void, Never>?
        var waiters: [Int: Waiter]
    }

    private struct Flights {
        var byKey: [Key: Flight] = [:]
        var nextWaiterID = 0
    }

    /// Guards the flights and their waiters.
    private let flights = Mutex(Flights())

    /// Runs not finished yet, waited on or not (shutdown drains them).
    var count: Int { flights.withLock { $0.byKey.count } }

    func run(_ key: Key, _ work: @escaping @Sendable () async throws -> Value) async throws -> Value {
        let id = flights.withLock { flights -> Int in
            flights.nextWaiterID += 1
            return flights.nextWaiterID
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (waiter: Waiter) in
                let starts = flights.withLock { flights -> Bool in
                    // Checked under the lock that `cancelWaiter` takes: a cancellation either
                    // is seen here or finds the waiter registered.
                    if Task.isCancelled {
                        waiter.resume(throwing: TTSError(.cancelled, "cancelled"))
                        return false
                    }
                    if flights.byKey[key] != nil {
                        flights.byKey[key]!.waiters[id] = waiter
                        return false
                    }
                    flights.byKey[key] = Flight(starter: id, task: nil, waiters: [id: waiter])
                    return true
                }
                guard starts else { return }
                let task = Task {
                    let result = await Result { try await work() }
                    self.complete(key, with: result)
                }
                let abandoned = flights.withLock { flights -> Bool in
                    // Finished already (and maybe another run of the key started since).
                    guard flights.byKey[key]?.starter == id else { return false }
                    flights.byKey[key]!.task = task
                    return flights.byKey[key]!.waiters.isEmpty
                }
                if abandoned { task.cancel() }
            }
        } onCancel: {
            cancelWaiter(id, of: key)
        }
    }

    private func complete(_ key: Key, with result: Result<Value, Error>) {
        let waiters = flights.withLock { $0.byKey.removeValue(forKey: key)?.waiters.values.map { $0 } ?? [] }
        for waiter in waiters { waiter.resume(with: result) }
    }

    private func cancelWaiter(_ id: Int, of key: Key) {
        let (waiter, task) = flights.withLock { flights -> (Waiter?, Task<Void, Never>?) in
            guard let waiter = flights.byKey[key]?.waiters.removeValue(forKey: id) else { return (nil, nil) }
            return (waiter, flights.byKey[key]?.waiters.isEmpty == true ? flights.byKey[key]?.task : nil)
        }
        waiter?.resume(throwing: TTSError(.cancelled, "cancelled"))
        task?.cancel()
    }
}

extension Result where Failure == Error {
    init(catching body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}
