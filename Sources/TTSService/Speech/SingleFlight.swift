import TTSCore

/// At most one run of the work per key at a time, in this process: callers that ask for a key
/// already in flight wait for that run's result instead of starting their own. This is what
/// makes ten concurrent `say Hello` cost one engine call.
///
/// A waiter that is cancelled stops waiting at once (Ctrl-C returns to the prompt); the shared
/// run is cancelled only when no waiter is left, so one impatient caller never spoils the
/// result for the others.
actor SingleFlight<Key: Hashable & Sendable, Value: Sendable> {
    private typealias Waiter = CheckedContinuation<Value, Error>

    private struct Flight {
        var task: Task<Void, Never>
        var waiters: [Int: Waiter]
    }

    private var flights: [Key: Flight] = [:]
    private var nextWaiterID = 0

    /// Runs not finished yet, waited on or not (shutdown drains them).
    var count: Int { flights.count }

    func run(_ key: Key, _ work: @escaping @Sendable () async throws -> Value) async throws -> Value {
        nextWaiterID += 1
        let id = nextWaiterID
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (waiter: Waiter) in
                if Task.isCancelled {
                    waiter.resume(throwing: TTSError(.cancelled, "cancelled"))
                    return
                }
                if flights[key] != nil {
                    flights[key]!.waiters[id] = waiter
                    return
                }
                let task = Task {
                    let result = await Result { try await work() }
                    self.complete(key, with: result)
                }
                flights[key] = Flight(task: task, waiters: [id: waiter])
            }
        } onCancel: {
            Task { await self.cancelWaiter(id, of: key) }
        }
    }

    private func complete(_ key: Key, with result: Result<Value, Error>) {
        guard let flight = flights.removeValue(forKey: key) else { return }
        for waiter in flight.waiters.values { waiter.resume(with: result) }
    }

    private func cancelWaiter(_ id: Int, of key: Key) {
        guard let waiter = flights[key]?.waiters.removeValue(forKey: id) else { return }
        waiter.resume(throwing: TTSError(.cancelled, "cancelled"))
        if flights[key]?.waiters.isEmpty == true { flights[key]?.task.cancel() }
    }
}

extension Result where Failure == Error {
    init(catching body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}
