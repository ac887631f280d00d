import Foundation

/// A requests-per-minute budget as a token bucket, in plain arithmetic so its behaviour can be
/// checked with made-up times.
///
/// Tokens refill continuously at `requestsPerMinute / 60` per second up to `capacity`. A
/// reservation takes one token even when none is left (the count goes negative), which queues
/// concurrent callers one refill interval apart instead of letting them race for the next token.
///
/// ```swift
/// var bucket = TokenBucket(requestsPerMinute: 60)   // capacity 1: one call per second
/// bucket.reserve(at: 0)    // 0 — go now
/// bucket.reserve(at: 0)    // 1 — wait one second
/// ```
public struct TokenBucket: Sendable, Equatable {
    public let capacity: Double
    public let refillPerSecond: Double
    public private(set) var tokens: Double
    private var lastRefill: Double?

    /// `capacity` 1 spaces calls evenly, which never exceeds a per-minute limit however the
    /// service aligns its minute; a larger capacity allows bursts.
    public init(requestsPerMinute: Int, capacity: Int = 1) {
        self.capacity = Double(max(1, capacity))
        self.refillPerSecond = Double(max(1, requestsPerMinute)) / 60
        self.tokens = self.capacity
    }

    /// Takes one token; returns how many seconds the caller must wait before using it.
    public mutating func reserve(at now: Double) -> Double {
        if let lastRefill, now > lastRefill {
            tokens = min(capacity, tokens + (now - lastRefill) * refillPerSecond)
        }
        lastRefill = max(now, lastRefill ?? now)
        tokens -= 1
        return tokens >= 0 ? 0 : -tokens / refillPerSecond
    }
}

/// Paces every call made through one engine: at most `maxInFlight` at once, and, when a
/// requests-per-minute budget is set, no faster than it. One pacer is shared by all copies of
/// an engine value, so a prewarm of many phrases paces itself instead of meeting 429s.
actor RequestPacer {
    private let maxInFlight: Int
    private var inFlight = 0
    private var waiters: [(id: Int, continuation: CheckedContinuation<Void, Error>)] = []
    private var nextWaiterID = 0
    private var bucket: TokenBucket?
    private let clock: any EngineClock

    init(requestsPerMinute: Int?, maxInFlight: Int, clock: any EngineClock) {
        self.maxInFlight = max(1, maxInFlight)
        self.bucket = requestsPerMinute.map { TokenBucket(requestsPerMinute: $0) }
        self.clock = clock
    }

    /// Waits for a free slot and then for the rate budget. Every successful `acquire` must be
    /// paired with one `release`. Throws `CancellationError` when the task is cancelled while waiting.
    func acquire() async throws {
        try await takeSlot()
        guard bucket != nil else { return }
        let wait = bucket!.reserve(at: clock.now())
        guard wait > 0 else { return }
        do {
            try await clock.sleep(seconds: wait)
        } catch {
            release()
            throw error
        }
    }

    func release() {
        if waiters.isEmpty {
            inFlight -= 1
        } else {
            waiters.removeFirst().continuation.resume()  // the slot passes straight on
        }
    }

    private func takeSlot() async throws {
        if inFlight < maxInFlight {
            inFlight += 1
            return
        }
        let id = nextWaiterID
        nextWaiterID += 1
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
                if Task.isCancelled {
                    continuation.resume(throwing: CancellationError())
                } else {
                    waiters.append((id, continuation))
                }
            }
        } onCancel: {
            Task { await self.cancelWaiter(id) }
        }
    }

    private func cancelWaiter(_ id: Int) {
        guard let index = waiters.firstIndex(where: { $0.id == id }) else { return }
        waiters.remove(at: index).continuation.resume(throwing: CancellationError())
    }
}
