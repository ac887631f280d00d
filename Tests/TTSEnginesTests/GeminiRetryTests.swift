import FakeGeminiServer
import Foundation
import TTSCore
import XCTest
@testable import TTSEngines

/// Retry counts and backoff bounds (with the injected clock), and moving between API keys.
final class GeminiRetryTests: XCTestCase {
    func testBackoffCeilingDoublesFromTheBaseUpToTheCap() {
        let policy = RetryPolicy(baseDelay: .milliseconds(1000), maxBackoff: .seconds(30))
        XCTAssertEqual((1...7).map { policy.backoffCeiling(beforeRetry: $0) }, [1, 2, 4, 8, 16, 30, 30])
        for retry in 1...7 {
            for _ in 0..<50 {
                let delay = policy.backoffDelay(beforeRetry: retry)
                XCTAssertGreaterThanOrEqual(delay, 0)
                XCTAssertLessThanOrEqual(delay, policy.backoffCeiling(beforeRetry: retry))
            }
        }
    }

    func testEveryRetryWaitsWithinItsFullJitterBound() async throws {
        let server = try startFakeGemini()
        server.inject(FaultSpec(.status(503), count: nil))
        let clock = ManualClock()
        let policy = RetryPolicy(attempts: 6, baseDelay: .milliseconds(500), maxBackoff: .seconds(3))
        let engine = makeEngine(server, retry: policy, clock: clock)
        let error = await synthesisError(engine, try await resolvedRequest(engine))
        XCTAssertEqual(error?.kind, .api)
        XCTAssertEqual(server.counters().requests, 6)
        let sleeps = clock.recordedSleeps
        XCTAssertEqual(sleeps.count, 5)
        for (index, sleep) in sleeps.enumerated() {
            XCTAssertGreaterThanOrEqual(sleep, 0)
            XCTAssertLessThanOrEqual(sleep, [0.5, 1, 2, 3, 3][index], "retry \(index + 1)")
        }
    }

    func testOneAttemptMeansNoRetry() async throws {
        let server = try startFakeGemini()
        server.inject(FaultSpec(.status(500), count: nil))
        let clock = ManualClock()
        let engine = makeEngine(server, retry: RetryPolicy(attempts: 1), clock: clock)
        let error = await synthesisError(engine, try await resolvedRequest(engine))
        XCTAssertTrue(error?.message.contains("not retried: one attempt is configured") ?? false, error?.message ?? "")
        XCTAssertEqual(server.counters().requests, 1)
        XCTAssertEqual(clock.recordedSleeps, [])
    }

    func testInvalidKeyIsBenchedAndTheRequestMovesToTheNextKey() async throws {
        let server = try startFakeGemini(.init(invalidKeys: [primaryKey]))
        let engine = makeEngine(server, keys: [primaryKey, secondKey])
        _ = try await engine.synthesize(try await resolvedRequest(engine))
        _ = try await engine.synthesize(try await resolvedRequest(engine, text: "Second phrase"))
        let suffixes = server.recordedRequests().map { $0.headers["x-goog-api-key"] }
        XCTAssertEqual(suffixes, ["…" + primaryKey.suffix(4), "…" + secondKey.suffix(4), "…" + secondKey.suffix(4)],
                       "the benched key is not tried again")
    }

    func testPerDayQuotaBenchesTheKeyUntilTheBenchTimePasses() async throws {
        let server = try startFakeGemini()
        server.inject(FaultSpec(.shape("per-day-429")))
        let clock = ManualClock()
        let engine = makeEngine(server, keys: [primaryKey, secondKey], retry: RetryPolicy(dailyQuotaBench: .seconds(600)), clock: clock)
        _ = try await engine.synthesize(try await resolvedRequest(engine))
        _ = try await engine.synthesize(try await resolvedRequest(engine, text: "Later"))
        clock.advance(by: 601)
        _ = try await engine.synthesize(try await resolvedRequest(engine, text: "Much later"))
        let suffixes = server.recordedRequests().map { String($0.headers["x-goog-api-key"]?.suffix(4) ?? "") }
        XCTAssertEqual(suffixes, [primaryKey, secondKey, secondKey, primaryKey].map { String($0.suffix(4)) })
        XCTAssertEqual(clock.recordedSleeps, [], "moving to another key does not wait")
    }

    func testAllKeysOutOfDailyQuotaIsAQuotaErrorNamingRedactedKeys() async throws {
        let server = try startFakeGemini()
        server.inject(FaultSpec(.shape("per-day-429"), count: nil))
        let engine = makeEngine(server, keys: [primaryKey, secondKey])
        let error = await synthesisError(engine, try await resolvedRequest(engine))
        XCTAssertEqual(error?.kind, .quota)
        XCTAssertTrue(error?.message.contains("all 2 API keys are unusable") ?? false, error?.message ?? "")
        XCTAssertTrue(error?.message.contains(redactedKey(secondKey)) ?? false)
        XCTAssertEqual(server.counters().requests, 2)
    }

    func testInvalidAndExhaustedKeysTogetherAreAnAuthError() async throws {
        let server = try startFakeGemini(.init(invalidKeys: [secondKey]))
        server.inject(FaultSpec(.shape("per-day-429")))
        let engine = makeEngine(server, keys: [primaryKey, secondKey])
        let error = await synthesisError(engine, try await resolvedRequest(engine))
        XCTAssertEqual(error?.kind, .auth)
        XCTAssertTrue(error?.message.contains("API key not valid") ?? false, error?.message ?? "")
    }
}
