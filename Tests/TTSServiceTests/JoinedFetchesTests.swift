import Synchronization
import XCTest
@testable import TTSService

/// Redis hits of one key at once share one fetch, run by the first caller.
final class JoinedFetchesTests: XCTestCase {
    /// What the fetches share with the test: how often one ran, and the leader's hold.
    private final class Probe: Sendable {
        let runs = Atomic<Int>(0)
        let release = Mutex<CheckedContinuation<Void, Never>?>(nil)
    }

    func testCallersOfOneKeyAtOnceShareOneFetch() async throws {
        let fetches = JoinedFetches<String, Int>()
        let probe = Probe()
        let started = AsyncStream<Void>.makeStream()
        let leader = Task { [started] in
            try await fetches.run("k") {
                probe.runs.add(1, ordering: .relaxed)
                started.continuation.yield()
                await withCheckedContinuation { continuation in probe.release.withLock { $0 = continuation } }
                return 42
            }
        }
        for await _ in started.stream { break }
        let followers = (0..<5).map { _ in Task { try await fetches.run("k") { probe.runs.add(1, ordering: .relaxed); return 7 } } }
        // Bounded wait until every follower is registered behind the leader's fetch.
        for _ in 0..<200 where fetches.waiting(for: "k") < 5 { try await Task.sleep(for: .milliseconds(5)) }
        XCTAssertEqual(fetches.waiting(for: "k"), 5)
        for _ in 0..<200 where probe.release.withLock({ $0 == nil }) { try await Task.sleep(for: .milliseconds(5)) }
        probe.release.withLock { $0?.resume(); $0 = nil }
        let leaderValue = try await leader.value
        XCTAssertEqual(leaderValue, 42)
        for follower in followers {
            let value = try await follower.value
            XCTAssertEqual(value, 42)
        }
        XCTAssertEqual(probe.runs.load(ordering: .relaxed), 1)
        XCTAssertEqual(fetches.count, 0)
    }

    func testAFailedFetchFailsItsCallerAndTheNextCallFetchesAgain() async throws {
        struct Boom: Error {}
        let fetches = JoinedFetches<String, Int>()
        do {
            _ = try await fetches.run("k") { throw Boom() }
            XCTFail("the fetch's error is the caller's")
        } catch is Boom {}
        let again = try await fetches.run("k") { 5 }
        XCTAssertEqual(again, 5)
        let missed = try await fetches.run("other") { nil }
        XCTAssertNil(missed)
        XCTAssertEqual(fetches.count, 0)
    }
}
