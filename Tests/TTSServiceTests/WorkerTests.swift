import Foundation
import XCTest
import TestSupport
import TTSCore
import TTSStore
@testable import TTSService

/// Queue workers in process: each fixture stands for a machine (its own store) sharing one Redis.
final class WorkerTests: XCTestCase {
    private var ownServer: RedisTestServer?
    private var prefix = ""
    private var url: RedisURL!

    override func setUpWithError() throws {
        prefix = "wtest-\(UUID().uuidString.prefix(8)):"
        if let text = ProcessInfo.processInfo.environment["TTS_TEST_REDIS_URL"], !text.isEmpty {
            url = try RedisURL(parsing: text)
        } else {
            let server = try RedisTestServer()
            ownServer = server
            url = server.url
        }
    }

    override func tearDown() {
        ownServer = nil
    }

    private func pool() -> RedisPool { RedisPool(RedisPoolConfiguration(url: url, maxConnections: 4)) }
    private func queue() -> RedisJobQueue { RedisJobQueue(pool: pool(), prefix: prefix) }
    private func tier() -> RedisTier { RedisTier(pool: pool(), prefix: prefix) }

    private func machine() throws -> ServiceFixture {
        var policy = SpeechService.LockPolicy()
        policy.pollEvery = .milliseconds(20)
        return try ServiceFixture(shared: SharedTier(tier: tier()), locking: policy)
    }

    private func worker(_ fixture: ServiceFixture, _ name: String, options: WorkerOptions) -> QueueWorker {
        QueueWorker(service: fixture.service, queue: queue(), tier: tier(), consumer: name, options: options)
    }

    private func quickOptions(concurrency: Int = 4, maxAttempts: Int = 3, grace: Duration = .seconds(5)) -> WorkerOptions {
        WorkerOptions(concurrency: concurrency, idleExit: .milliseconds(300), reclaimAfter: .milliseconds(300),
                      maxAttempts: maxAttempts, grace: grace, readBlock: .milliseconds(100), progressInterval: .seconds(60))
    }

    /// Resolved requests and their keys, queued.
    @discardableResult
    private func enqueue(_ texts: [String], with fixture: ServiceFixture) async throws -> [RequestKey] {
        var jobs: [(request: AudioRequest, key: RequestKey)] = []
        for text in texts {
            let request = try await fixture.service.prepare(fixture.request(text))
            jobs.append((request, RequestKey(request)))
        }
        _ = try await queue().enqueue(jobs)
        return jobs.map(\.key)
    }

    func testTwoWorkersShareTheQueueAndEveryJobIsDoneOnceWithOneEngineCallEach() async throws {
        let a = try machine(), b = try machine()
        a.tone.latency = .milliseconds(10)
        b.tone.latency = .milliseconds(10)
        let keys = try await enqueue((1...40).map { "queued phrase \($0)" }, with: a)
        let wa = worker(a, "a", options: quickOptions()), wb = worker(b, "b", options: quickOptions())
        async let first = wa.run()
        async let second = wb.run()
        let (sa, sb) = try await (first, second)
        XCTAssertEqual(sa.stop, .idle)
        XCTAssertEqual(sa.totals.done + sb.totals.done, 40)
        XCTAssertEqual(a.tone.calls + b.tone.calls, 40)
        let counts = try await queue().counts()
        XCTAssertEqual(counts.done, 40)
        XCTAssertEqual(counts.waiting + counts.inFlight + counts.dead, 0)
        let shared = try await tier().existingClips(keys)
        XCTAssertEqual(shared.count, 40, "every clip is in Redis")
        for key in keys {
            let local = (try? a.service.local.clip(for: key)) != nil || (try? b.service.local.clip(for: key)) != nil
            XCTAssertTrue(local, "every clip is in a local store")
        }
    }

    func testAJobHeldByADeadWorkerIsReclaimedAndCostsNoSecondEngineCallWhenItsClipWasMade() async throws {
        let a = try machine(), b = try machine()
        try await enqueue(["made then died", "never started"], with: a)
        // The dead worker took both jobs, made the first clip, and died before acknowledging.
        let taken = try await queue().read(consumer: "dead", count: 2, block: .milliseconds(200))
        XCTAssertEqual(taken.count, 2)
        _ = try await a.service.generateOrFetch(a.request("made then died"))
        XCTAssertEqual(a.tone.calls, 1)

        let summary = try await worker(b, "survivor", options: quickOptions()).run()
        XCTAssertEqual(summary.totals.reclaimed, 2)
        XCTAssertEqual(summary.totals.done, 2)
        XCTAssertEqual(b.tone.calls, 1, "only the job that was never started calls the engine")
        let counts = try await queue().counts()
        XCTAssertEqual(counts.done, 2)
        XCTAssertEqual(counts.inFlight, 0)
    }

    func testAJobThatKeepsFailingIsDeadAfterMaxAttemptsWithItsErrorAndRetryDeadRequeuesIt() async throws {
        let a = try machine()
        a.tone.answer = { _ in Data("not a wav file".utf8) }
        try await enqueue(["always broken"], with: a)
        let summary = try await worker(a, "w", options: quickOptions(maxAttempts: 3)).run()
        XCTAssertEqual(summary.totals.dead, 1)
        XCTAssertEqual(summary.totals.retried, 2)
        XCTAssertEqual(a.tone.calls, 3)
        let dead = try await queue().deadJobs()
        XCTAssertEqual(dead.count, 1)
        XCTAssertEqual(dead.first?.attempts, 3)
        XCTAssertFalse(dead.first?.lastError?.isEmpty ?? true)

        a.tone.answer = nil
        let requeued = try await queue().retryDead()
        XCTAssertEqual(requeued.requeued, 1)
        let again = try await worker(a, "w2", options: quickOptions()).run()
        XCTAssertEqual(again.totals.done, 1)
        let counts = try await queue().counts()
        XCTAssertEqual(counts.dead, 0)
        XCTAssertEqual(counts.done, 1)
    }

    func testAStoppedWorkerFinishesItsJobsWithinTheGracePeriod() async throws {
        let a = try machine()
        a.tone.latency = .milliseconds(300)
        try await enqueue((1...6).map { "graceful \($0)" }, with: a)
        var options = quickOptions(concurrency: 2, grace: .seconds(10))
        options.idleExit = nil
        let worker = worker(a, "stops", options: options)
        let run = Task { try await worker.run() }
        try await waitUntil { a.tone.calls >= 1 }
        run.cancel()
        let summary = try await run.value
        XCTAssertEqual(summary.stop, .requested)
        XCTAssertEqual(summary.totals.returned, 0)
        XCTAssertGreaterThanOrEqual(summary.totals.done, 1)
        let counts = try await queue().counts()
        XCTAssertEqual(counts.inFlight, 0, "nothing is left in flight")
        XCTAssertEqual(counts.done + counts.waiting, 6, "nothing is lost")
    }

    func testAStoppedWorkerHandsBackJobsThatOutlastTheGracePeriod() async throws {
        let a = try machine()
        a.tone.latency = .seconds(30)
        try await enqueue(["very slow 1", "very slow 2", "very slow 3"], with: a)
        var options = quickOptions(concurrency: 2, grace: .milliseconds(100))
        options.idleExit = nil
        let worker = worker(a, "impatient", options: options)
        let run = Task { try await worker.run() }
        try await waitUntil { a.tone.calls >= 2 }
        run.cancel()
        let summary = try await run.value
        XCTAssertEqual(summary.totals.returned, 2)
        XCTAssertEqual(summary.totals.done, 0)
        let counts = try await queue().counts()
        XCTAssertEqual(counts.waiting, 3, "the returned jobs are waiting for another worker at once")
        XCTAssertEqual(counts.inFlight, 0)
        XCTAssertEqual(counts.failedAttempts, 0, "handing back is not a failure")
    }

    func testMaxJobsStopsAfterThatManyJobs() async throws {
        let a = try machine()
        try await enqueue((1...5).map { "limited \($0)" }, with: a)
        var options = quickOptions(concurrency: 2)
        options.maxJobs = 3
        options.idleExit = nil
        let summary = try await worker(a, "limited", options: options).run()
        XCTAssertEqual(summary.stop, .maxJobs)
        XCTAssertEqual(summary.totals.done, 3)
        let counts = try await queue().counts()
        XCTAssertEqual(counts.waiting, 2)
    }

    func testIdleExitWaitsForJobsInFlightElsewhere() async throws {
        let a = try machine()
        try await enqueue(["held elsewhere"], with: a)
        // A live worker elsewhere holds the job and keeps it alive for a while, then hands it back.
        let other = queue()
        let held = try await other.read(consumer: "elsewhere", count: 1, block: .milliseconds(200))
        let holder = Task {
            for _ in 0..<6 {
                try await Task.sleep(for: .milliseconds(100))
                _ = try await other.keepAlive(held.map(\.id), consumer: "elsewhere")
            }
            _ = try await other.release(held[0])
        }
        var options = quickOptions()
        options.reclaimAfter = .seconds(30)
        let summary = try await worker(a, "patient", options: options).run()
        try await holder.value
        XCTAssertEqual(summary.stop, .idle)
        XCTAssertEqual(summary.totals.done, 1, "it did not leave while a job could still come back")
    }

    private func waitUntil(_ condition: @escaping () -> Bool) async throws {
        for _ in 0..<500 where !condition() { try await Task.sleep(for: .milliseconds(10)) }
        XCTAssertTrue(condition(), "condition not met within 5 s")
    }
}
