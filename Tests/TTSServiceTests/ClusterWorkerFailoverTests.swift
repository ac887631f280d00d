import Foundation
import XCTest
import TestSupport
import TTSCore
@testable import TTSStore
@testable import TTSService

/// Queue workers on a Redis Cluster whose queue master is killed mid-run, with replicas to take
/// over: the run completes, no job is lost, and the engine is called once per clip plus at
/// most once more for each job in flight at the kill (its clip made, its acknowledgement or
/// publication lost with the master). A cluster of its own (`RedisTestCluster`): the shared one
/// must keep its masters.
final class ClusterWorkerFailoverTests: XCTestCase {
    private let prefix = "cwtest-\(UUID().uuidString.prefix(8)):"

    /// One process's connections: short timeouts, so calls to the dead master fail quickly.
    private func client(_ cluster: RedisTestCluster) throws -> RedisClient {
        RedisClient(try RedisTarget(parsing: cluster.urlString),
                    configuration: RedisPoolConfiguration(url: cluster.nodes[0].url, connectTimeout: .milliseconds(200),
                                                          commandTimeout: .milliseconds(1500),
                                                          initialReconnectDelay: .milliseconds(20),
                                                          maxReconnectDelay: .milliseconds(100)))
    }

    func testKillingTheQueueMasterMidRunLosesNoJobAndCostsNoEngineCallBeyondTheJobsInFlight() async throws {
        let cluster = try RedisTestCluster()
        defer { cluster.stop() }
        let concurrency = 4
        var machines: [(fixture: ServiceFixture, worker: QueueWorker, client: RedisClient)] = []
        for name in ["a", "b"] {
            let client = try client(cluster)
            var policy = SpeechService.LockPolicy()
            policy.pollEvery = .milliseconds(20)
            let fixture = try ServiceFixture(shared: SharedTier(tier: RedisTier(client: client, prefix: prefix)), locking: policy)
            fixture.tone.latency = .milliseconds(20)
            let options = WorkerOptions(concurrency: concurrency, idleExit: .milliseconds(300), reclaimAfter: .milliseconds(300),
                                        maxAttempts: 5, grace: .seconds(5), readBlock: .milliseconds(100),
                                        progressInterval: .seconds(60))
            let worker = QueueWorker(service: fixture.service, queue: RedisJobQueue(client: client, prefix: prefix),
                                     tier: RedisTier(client: client, prefix: prefix), consumer: name, options: options)
            machines.append((fixture, worker, client))
        }
        defer { for machine in machines { machine.client.close() } }
        let control = try client(cluster)
        defer { control.close() }
        let queue = RedisJobQueue(client: control, prefix: prefix)

        var jobs: [(request: AudioRequest, key: RequestKey)] = []
        for i in 0..<60 {
            let request = try await machines[0].fixture.service.prepare(machines[0].fixture.request("failover phrase \(i)"))
            jobs.append((request, RequestKey(request)))
        }
        let added = try await queue.enqueue(jobs)
        XCTAssertEqual(added, 60)
        let master = try await control.node(serving: queue.streamKey)

        let runs = machines.map { machine in Task { try await machine.worker.run() } }
        // Bounded: the whole run gets 90 s, then the workers are stopped (and the test fails).
        let watchdog = Task {
            try await Task.sleep(for: .seconds(90))
            for run in runs { run.cancel() }
        }
        defer {
            watchdog.cancel()
            for run in runs { run.cancel() }
        }
        func engineCalls() -> Int { machines.reduce(0) { $0 + $1.fixture.tone.calls } }
        for _ in 0..<400 where engineCalls() < 12 { try await Task.sleep(for: .milliseconds(25)) }  // bounded: 10 s
        let callsAtKill = engineCalls()
        XCTAssertGreaterThanOrEqual(callsAtKill, 12)
        XCTAssertLessThan(callsAtKill, 60, "the master went down mid-run")
        try XCTUnwrap(cluster.node(port: master.port)).stop()

        var summaries: [WorkerSummary] = []
        for run in runs { summaries.append(try await run.value) }
        XCTAssertEqual(summaries.map(\.stop), [.idle, .idle], "both runs completed by themselves")

        // Read through the control connections first: their map is refreshed by the failed call.
        let counts = try await queue.counts()
        let newMaster = try await control.node(serving: queue.streamKey)
        XCTAssertNotEqual(newMaster, master, "a replica took over the queue's slot")
        XCTAssertEqual(counts.waiting + counts.inFlight, 0, "\(counts)")
        XCTAssertEqual(counts.dead, 0, "no job given up: \(counts)")
        XCTAssertEqual(summaries.reduce(0) { $0 + $1.totals.dead }, 0)
        let shared = try await RedisTier(client: control, prefix: prefix).existingClips(jobs.map(\.key))
        XCTAssertEqual(shared.count, 60, "every clip is in Redis")
        for job in jobs {
            let local = machines.contains { (try? $0.fixture.service.local.clip(for: job.key)) != nil }
            XCTAssertTrue(local, "every clip is in a local store")
        }
        let calls = engineCalls()
        XCTAssertGreaterThanOrEqual(calls, 60)
        XCTAssertLessThanOrEqual(calls, 60 + 2 * concurrency, "one call per clip, one more at most per job in flight at the kill")
    }
}
