import Foundation
import TTSCore
import XCTest
import TestSupport
@testable import TTSStore

/// The job queue against a real redis-server, then the Redis Cluster `make test` starts (its
/// keys share the `{queue}` slot): each test has its own key prefix.
final class RedisJobQueueTests: RedisServerTestCase {
    private func makeQueue() throws -> RedisJobQueue {
        RedisJobQueue(client: try makeClient(), prefix: prefix)
    }

    private func request(_ text: String) -> AudioRequest {
        AudioRequest(text: text, voice: "en-us", language: "en-US", engine: "espeak", model: "espeak-ng", style: "calmly",
                     speakers: [SpeakerVoice(name: "Joe", voice: "Kore")])
    }

    private func enqueue(_ queue: RedisJobQueue, _ texts: [String]) async throws -> [RequestKey] {
        let jobs = texts.map { (request: request($0), key: RequestKey(request($0))) }
        _ = try await queue.enqueue(jobs)
        return jobs.map(\.key)
    }

    func testQueuedJobIsReadBackWithTheFullRequestAndCountedDoneOnceWhenCompleted() async throws {
        try await onEveryTarget {
            let queue = try makeQueue()
            let keys = try await enqueue(queue, ["Grüß Gott,\r\nwörld 😀"])
            var counts = try await queue.counts()
            XCTAssertEqual(counts.waiting, 1)
            XCTAssertEqual(counts.inFlight, 0)

            let jobs = try await queue.read(consumer: "a", count: 10, block: .milliseconds(100))
            XCTAssertEqual(jobs.count, 1)
            let job = try XCTUnwrap(jobs.first)
            XCTAssertEqual(job.request, request("Grüß Gott,\r\nwörld 😀"))
            XCTAssertEqual(job.key, keys[0])
            XCTAssertEqual(job.attempts, 0)
            counts = try await queue.counts()
            XCTAssertEqual(counts.waiting, 0)
            XCTAssertEqual(counts.inFlight, 1)
            XCTAssertEqual(counts.activeWorkers, 1)

            let first = try await queue.complete(job)
            let second = try await queue.complete(job)
            XCTAssertTrue(first)
            XCTAssertFalse(second, "a second acknowledgement is not counted")
            counts = try await queue.counts()
            XCTAssertEqual(counts, QueueCounts(waiting: 0, inFlight: 0, done: 1, dead: 0, failedAttempts: 0, activeWorkers: 1))
            let empty = try await queue.read(consumer: "a", count: 10, block: .milliseconds(50))
            XCTAssertTrue(empty.isEmpty)
        }
    }

    func testARequestAlreadyQueuedIsNotQueuedAgainUntilItIsDone() async throws {
        try await onEveryTarget {
            let queue = try makeQueue()
            let added = try await queue.enqueue([(request("one"), RequestKey(request("one"))), (request("two"), RequestKey(request("two")))])
            XCTAssertEqual(added, 2)
            let again = try await queue.enqueue(request("one"), key: RequestKey(request("one")))
            XCTAssertFalse(again)
            let jobs = try await queue.read(consumer: "a", count: 10, block: .milliseconds(100))
            XCTAssertEqual(jobs.count, 2)
            let whileInFlight = try await queue.enqueue(request("one"), key: RequestKey(request("one")))
            XCTAssertFalse(whileInFlight)
            for job in jobs { try await queue.complete(job) }
            let afterDone = try await queue.enqueue(request("one"), key: RequestKey(request("one")))
            XCTAssertTrue(afterDone, "a finished request may be queued again (its clip may have expired)")
        }
    }

    func testJobsOfADeadConsumerAreReclaimedOnlyAfterTheIdleTime() async throws {
        try await onEveryTarget {
            let queue = try makeQueue()
            _ = try await enqueue(queue, ["a", "b", "c"])
            let taken = try await queue.read(consumer: "dies", count: 2, block: .milliseconds(100))
            XCTAssertEqual(taken.count, 2)
            let early = try await queue.reclaim(consumer: "lives", minIdle: .seconds(30), count: 10)
            XCTAssertTrue(early.jobs.isEmpty, "jobs idle less than the timeout stay with their worker")

            try await Task.sleep(for: .milliseconds(300))
            let late = try await queue.reclaim(consumer: "lives", minIdle: .milliseconds(200), count: 10)
            XCTAssertEqual(Set(late.jobs.map(\.id)), Set(taken.map(\.id)))
            XCTAssertEqual(late.jobs.map(\.deliveries), [2, 2], "a reclaim counts as a second delivery")
            for job in late.jobs { try await queue.complete(job) }
            let stale = try await queue.complete(taken[0])
            XCTAssertFalse(stale, "the dead worker's late acknowledgement is not counted again")
            let counts = try await queue.counts()
            XCTAssertEqual(counts.done, 2)
            XCTAssertEqual(counts.waiting, 1)
        }
    }

    func testKeepAliveStopsALongJobFromBeingReclaimedAndReportsJobsTakenOver() async throws {
        try await onEveryTarget {
            let queue = try makeQueue()
            _ = try await enqueue(queue, ["slow", "other"])
            let jobs = try await queue.read(consumer: "busy", count: 2, block: .milliseconds(100))
            try await Task.sleep(for: .milliseconds(300))
            // Someone reclaims one job before our keep-alive.
            let stolen = try await queue.reclaim(consumer: "thief", minIdle: .milliseconds(200), count: 1)
            XCTAssertEqual(stolen.jobs.count, 1)
            let kept = try await queue.keepAlive(jobs.map(\.id), consumer: "busy")
            XCTAssertEqual(kept.count, 1)
            XCTAssertFalse(kept.contains(stolen.jobs[0].id))
            let none = try await queue.reclaim(consumer: "thief", minIdle: .milliseconds(200), count: 10)
            XCTAssertTrue(none.jobs.isEmpty, "a job kept alive is not idle")
        }
    }

    func testAFailingJobIsRetriedWithItsErrorThenMovedToDeadAndRetryDeadRequeuesIt() async throws {
        try await onEveryTarget {
            let queue = try makeQueue()
            let keys = try await enqueue(queue, ["doomed"])
            var settlements: [JobSettlement] = []
            for attempt in 1...3 {
                let jobs = try await queue.read(consumer: "w", count: 1, block: .milliseconds(200))
                let job = try XCTUnwrap(jobs.first, "attempt \(attempt)")
                XCTAssertEqual(job.attempts, attempt - 1)
                if attempt > 1 { XCTAssertEqual(job.lastError, "boom \(attempt - 1)") }
                settlements.append(try await queue.fail(job, error: "boom \(attempt)", maxAttempts: 3))
            }
            XCTAssertEqual(settlements.last, .dead)
            XCTAssertTrue(settlements.dropLast().allSatisfy { if case .requeued = $0 { true } else { false } })
            var counts = try await queue.counts()
            XCTAssertEqual(counts.dead, 1)
            XCTAssertEqual(counts.waiting, 0)
            XCTAssertEqual(counts.inFlight, 0)
            XCTAssertEqual(counts.failedAttempts, 3)
            let dead = try await queue.deadJobs()
            XCTAssertEqual(dead.first?.lastError, "boom 3")
            XCTAssertEqual(dead.first?.attempts, 3)
            XCTAssertEqual(dead.first?.key, keys[0])

            let result = try await queue.retryDead()
            XCTAssertEqual(result.requeued, 1)
            counts = try await queue.counts()
            XCTAssertEqual(counts.dead, 0)
            XCTAssertEqual(counts.waiting, 1)
            let again = try await queue.read(consumer: "w", count: 1, block: .milliseconds(200))
            XCTAssertEqual(again.first?.attempts, 0, "a requeued dead job gets its attempts back")
            XCTAssertEqual(again.first?.request, request("doomed"))
        }
    }

    /// An unreadable entry is buried with its reason, counted for the worker, listed by
    /// `deadEntries`, and left dead by `retryDead`, which still requeues the readable job after it.
    func testUnreadableEntriesAreListedWithTheReasonAndNeverRequeued() async throws {
        try await onEveryTarget {
            let queue = try makeQueue()
            try await queue.prepare()
            for fields in [["text", "orphan"], ["key", String(repeating: "z", count: 64), "text", "t", "engine", "espeak"]] {
                let reply = try await queue.client.command(["XADD", queue.streamKey, "*"] + fields, routing: queue.streamKey)
                XCTAssertNil(reply.errorMessage)
            }
            _ = try await enqueue(queue, ["readable"])
            let jobs = try await queue.read(consumer: "w", count: 10, block: .milliseconds(100))
            XCTAssertEqual(jobs.map(\.request.text), ["readable"])
            XCTAssertEqual(queue.takeUnreadableCount(), 2)
            XCTAssertEqual(queue.takeUnreadableCount(), 0, "taken once")
            _ = try await queue.fail(jobs[0], error: "boom", maxAttempts: 1)

            let entries = try await queue.deadEntries()
            XCTAssertEqual(entries.count, 3)
            XCTAssertEqual(entries.filter { $0.job == nil }.map(\.text), ["orphan", "t"])
            XCTAssertTrue(entries.filter { $0.job == nil }.allSatisfy { $0.error.contains("could not be read") })
            XCTAssertEqual(entries.compactMap(\.job).map(\.lastError), ["boom"])

            let result = try await queue.retryDead()
            XCTAssertEqual(result.requeued, 1)
            XCTAssertEqual(result.unreadable, 2)
            let counts = try await queue.counts()
            XCTAssertEqual(counts.waiting, 1)
            XCTAssertEqual(counts.dead, 2)
            let again = try await queue.retryDead()
            XCTAssertEqual(again.requeued, 0, "unreadable entries are never requeued")
            XCTAssertEqual(again.unreadable, 2)
        }
    }

    func testARequeuedDeadJobWhoseRequestWasQueuedAgainIsNotQueuedTwice() async throws {
        try await onEveryTarget {
            let queue = try makeQueue()
            _ = try await enqueue(queue, ["twice"])
            let job = try await queue.read(consumer: "w", count: 1, block: .milliseconds(200))[0]
            _ = try await queue.fail(job, error: "bad", maxAttempts: 1)
            _ = try await enqueue(queue, ["twice"])
            let result = try await queue.retryDead()
            XCTAssertEqual(result.requeued, 0)
            XCTAssertEqual(result.alreadyQueued, 1)
            let counts = try await queue.counts()
            XCTAssertEqual(counts.waiting, 1)
            XCTAssertEqual(counts.dead, 0)
        }
    }

    func testAReleasedJobGoesBackToTheQueueWithItsAttemptsAndTheConsumerCanBeRemoved() async throws {
        try await onEveryTarget {
            let queue = try makeQueue()
            _ = try await enqueue(queue, ["handed back"])
            let job = try await queue.read(consumer: "stopping", count: 1, block: .milliseconds(200))[0]
            let holding = try await queue.removeConsumer("stopping")
            XCTAssertFalse(holding, "a consumer holding a job is kept, or the job would be lost")
            let released = try await queue.release(job)
            XCTAssertTrue(released)
            let removed = try await queue.removeConsumer("stopping")
            XCTAssertTrue(removed)
            let counts = try await queue.counts()
            XCTAssertEqual(counts.waiting, 1)
            XCTAssertEqual(counts.failedAttempts, 0)
            let next = try await queue.read(consumer: "other", count: 1, block: .milliseconds(200))
            XCTAssertEqual(next.first?.key, job.key)
        }
    }

    func testSettlingAJobSomeoneElseFinishedDoesNothing() async throws {
        try await onEveryTarget {
            let queue = try makeQueue()
            _ = try await enqueue(queue, ["raced"])
            let job = try await queue.read(consumer: "w", count: 1, block: .milliseconds(200))[0]
            try await queue.complete(job)
            let settlement = try await queue.fail(job, error: "late failure", maxAttempts: 3)
            XCTAssertEqual(settlement, .alreadySettled)
            let released = try await queue.release(job)
            XCTAssertFalse(released)
            let counts = try await queue.counts()
            XCTAssertEqual(counts, QueueCounts(waiting: 0, inFlight: 0, done: 1, dead: 0, failedAttempts: 0, activeWorkers: 1))
        }
    }

    func testAMalformedEntryIsMovedToDeadInsteadOfBlockingTheQueue() async throws {
        try await onEveryTarget {
            let queue = try makeQueue()
            try await queue.prepare()
            _ = try await queue.client.command(["XADD", queue.streamKey, "*", "text", "no key here"], routing: queue.streamKey)
            _ = try await enqueue(queue, ["fine"])
            let jobs = try await queue.read(consumer: "w", count: 10, block: .milliseconds(200))
            XCTAssertEqual(jobs.map(\.request.text), ["fine"])
            let counts = try await queue.counts()
            XCTAssertEqual(counts.dead, 1)
            XCTAssertEqual(counts.inFlight, 1)
        }
    }

    func testReadingRecreatesAQueueThatWasDeleted() async throws {
        try await onEveryTarget {
            let queue = try makeQueue()
            _ = try await enqueue(queue, ["gone"])
            _ = try await queue.client.command(["DEL", queue.streamKey], routing: queue.streamKey)
            let jobs = try await queue.read(consumer: "w", count: 1, block: .milliseconds(50))
            XCTAssertTrue(jobs.isEmpty)
            let requeued = try await enqueue(queue, ["gone"])
            XCTAssertEqual(requeued.count, 1)
            let counts = try await queue.counts()
            XCTAssertEqual(counts.waiting, 1, "the stale key entry does not block queuing the request again")
        }
    }
}
