import Dispatch

/// Runs blocking work (a blob's fsync'ed write, a walk over every blob, VACUUM) on a Dispatch
/// thread rather than on Swift's cooperative pool, which has two threads here and must not
/// block for long.
public func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(with: Result { try body() }) }
    }
}
