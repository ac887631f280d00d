import FakeGeminiServer
import Foundation
import TTSCore
import XCTest
@testable import TTSEngines

/// The requests-per-minute budget and the in-flight limit, with the injected clock.
final class GeminiPacingTests: XCTestCase {
    func testTokenBucketSpacesCallsOneRefillIntervalApart() {
        var bucket = TokenBucket(requestsPerMinute: 30)  // one token every 2 s
        XCTAssertEqual(bucket.reserve(at: 0), 0)
        XCTAssertEqual(bucket.reserve(at: 0), 2)
        XCTAssertEqual(bucket.reserve(at: 0), 4, "queued callers get successive slots")
        XCTAssertEqual(bucket.reserve(at: 10), 0, "by t=10 the queue has drained and a token refilled")
        XCTAssertEqual(bucket.reserve(at: 11), 1)
    }

    func testTokenBucketRefillStopsAtCapacity() {
        var bucket = TokenBucket(requestsPerMinute: 60, capacity: 3)
        XCTAssertEqual(bucket.reserve(at: 0), 0)
        XCTAssertEqual(bucket.reserve(at: 1_000), 0)
        XCTAssertEqual(bucket.tokens, 2, "an hour idle still leaves only `capacity` tokens")
        XCTAssertEqual(bucket.reserve(at: 1_000), 0)
        XCTAssertEqual(bucket.reserve(at: 1_000), 0)
        XCTAssertEqual(bucket.reserve(at: 1_000), 1)
    }

    func testPacerWaitsForTheRateBudget() async throws {
        let clock = ManualClock()
        let pacer = RequestPacer(requestsPerMinute: 60, maxInFlight: 4, clock: clock)
        for _ in 0..<3 {
            try await pacer.acquire()
            await pacer.release()
        }
        XCTAssertEqual(clock.recordedSleeps, [1, 1])
    }

    func testPacerWithoutBudgetNeverWaits() async throws {
        let clock = ManualClock()
        let pacer = RequestPacer(requestsPerMinute: nil, maxInFlight: 4, clock: clock)
        for _ in 0..<10 {
            try await pacer.acquire()
            await pacer.release()
        }
        XCTAssertEqual(clock.recordedSleeps, [])
    }

    func testInFlightLimitHoldsTheNextCallerUntilARelease() async throws {
        let pacer = RequestPacer(requestsPerMinute: nil, maxInFlight: 2, clock: ManualClock())
        try await pacer.acquire()
        try await pacer.acquire()
        let admitted = Flag()
        let third = Task {
            try await pacer.acquire()
            admitted.set()
        }
        for _ in 0..<100 { await Task.yield() }
        XCTAssertFalse(admitted.isSet, "a third caller got in while two were in flight")
        await pacer.release()
        try await third.value
        XCTAssertTrue(admitted.isSet)
    }

    func testCancelledWaiterLeavesTheQueue() async throws {
        let pacer = RequestPacer(requestsPerMinute: nil, maxInFlight: 1, clock: ManualClock())
        try await pacer.acquire()
        let waiter = Task { try await pacer.acquire() }
        for _ in 0..<100 { await Task.yield() }
        waiter.cancel()
        do {
            try await waiter.value
            XCTFail("a cancelled waiter got a slot")
        } catch is CancellationError {}
        await pacer.release()
        try await pacer.acquire()  // the slot is free again, not handed to the cancelled waiter
    }

    /// The engine's in-flight limit is what reaches the server: all of it, and no more.
    func testEngineKeepsItsConcurrencyInFlightAndNoMore() async throws {
        for limit in [3, 8] {
            let server = try startFakeGemini(.init(latencyMs: 500))
            var configuration = GeminiConfiguration(baseURL: server.baseURL, apiKeys: [primaryKey])
            configuration.concurrency = limit
            let engine = GeminiEngine(configuration: configuration)
            var requests: [AudioRequest] = []
            for index in 0..<8 { requests.append(try await resolvedRequest(engine, text: "Call number \(index)")) }
            try await withThrowingTaskGroup(of: Int.self) { group in
                for request in requests {
                    group.addTask { try await engine.synthesize(request).count }
                }
                for try await bytes in group { XCTAssertGreaterThan(bytes, 44) }
            }
            XCTAssertEqual(server.counters().peakConcurrentRequests, limit, "concurrency \(limit)")
        }
    }

    func testEngineCallsShareOneBudget() async throws {
        let server = try startFakeGemini()
        let clock = ManualClock()
        var configuration = GeminiConfiguration(baseURL: server.baseURL, apiKeys: [primaryKey])
        configuration.rpm = 20
        let engine = GeminiEngine(configuration: configuration, clock: clock)
        for text in ["one", "two", "three"] {
            _ = try await engine.synthesize(try await resolvedRequest(engine, text: text))
        }
        XCTAssertEqual(clock.recordedSleeps, [3, 3], "20 per minute is one call every 3 s")
    }
}

/// A thread-safe boolean for observing another task.
private final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}
