import Foundation
import Glibc
import XCTest
import FakeGeminiServer
import TestSupport
import TTSCore
import TTSStore

/// Distributed pre-warming with real processes: `prewarm --queue` on one "machine", `worker`
/// processes with stores of their own, one Redis, Gemini played by fake-gemini with latency so
/// a run lasts long enough to kill a worker in the middle of it.
final class QueueEndToEndTests: XCTestCase {
    private let apiKey = "FAKEQUEUEE2E0123456789abcdefghijklmnop"
    private var server: RedisTestServer?
    private var redisURL = ""
    private var prefix = ""

    override func setUpWithError() throws {
        prefix = "qe2e-\(UUID().uuidString.prefix(8)):"
        if let url = ProcessInfo.processInfo.environment["TTS_TEST_REDIS_URL"], !url.isEmpty {
            redisURL = url
        } else {
            let own = try RedisTestServer()
            server = own
            redisURL = own.urlString
        }
    }

    override func tearDown() {
        server = nil
    }

    /// A machine: its own store, the shared Redis and prefix, Gemini at fake-gemini.
    private func machine(_ gemini: FakeGeminiServer, maxAttempts: Int = 3) throws -> ReplProcess {
        var repl = try ReplProcess()
        repl.environment["REDIS_URL"] = redisURL
        repl.environment["TTS_REDIS_PREFIX"] = prefix
        repl.environment["GEMINI_API_KEY"] = apiKey
        repl.environment["GEMINI_BASE_URL"] = gemini.baseURL
        repl.environment["TTS_RETRY_BASE_MS"] = "10"
        repl.environment["TTS_QUEUE_RECLAIM_S"] = "1"
        repl.environment["TTS_QUEUE_MAX_ATTEMPTS"] = String(maxAttempts)
        return repl
    }

    private func phraseFile(_ repl: ReplProcess, _ phrases: [String]) throws -> String {
        let url = repl.workingDirectory.appendingPathComponent("phrases.txt")
        try (phrases.joined(separator: "\n") + "\n").write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    private func counts(_ repl: ReplProcess) throws -> [String: Any] {
        let result = try repl.run(["--json", "queue"])
        XCTAssertEqual(result.status, 0, result.stderr)
        return result.jsonLines.first ?? [:]
    }

    /// The events of one kind in a worker's log, with their fields.
    private func events(_ name: String, in repl: ReplProcess) -> [[String: Any]] {
        let text = (try? String(contentsOf: repl.store.appendingPathComponent("tts.log"), encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }.filter { $0["event"] as? String == name }
    }

    /// `worker` takes SIGTERM for itself while it runs; once it has returned, SIGTERM must shut
    /// the session down gracefully again (it used to kill the process outright).
    func testSigtermAfterAWorkerHasRunShutsTheSessionDownGracefully() throws {
        var repl = try ReplProcess()
        repl.environment["REDIS_URL"] = redisURL
        repl.environment["TTS_REDIS_PREFIX"] = prefix
        let session = try LiveRepl(repl)
        session.send("worker --idle-exit 0.2")
        XCTAssertTrue(session.waitFor("the queue stayed empty"), session.output)
        kill(session.process.processIdentifier, SIGTERM)
        // stdin stays open: closing it would race the signal with a normal end of input.
        XCTAssertEqual(session.waitForExit(), 128 + SIGTERM, session.output)
        XCTAssertEqual(session.process.terminationReason, .exit, "ended by its own exit, not killed by the signal")
        let log = try String(contentsOf: repl.store.appendingPathComponent("tts.log"), encoding: .utf8)
        XCTAssertTrue(log.contains("\"event\":\"shutdown\""), log)
    }

    func testTwoWorkersOneKilledMidRunEveryJobIsDoneExactlyOnceAndNothingIsLost() throws {
        try assertTwoWorkersOneKilledMidRunDoEveryJobOnce()
    }

    /// The same on the Redis Cluster `make test` starts (the queue's keys in the `{queue}` slot,
    /// the clips spread over every master).
    func testTwoWorkersOneKilledMidRunOnARedisCluster() throws {
        guard let url = ProcessInfo.processInfo.environment["TTS_TEST_REDIS_CLUSTER_URL"], !url.isEmpty else {
            return XCTFail("TTS_TEST_REDIS_CLUSTER_URL is not set: run the tests through Tests/with-redis.sh (make test)")
        }
        redisURL = url
        try assertTwoWorkersOneKilledMidRunDoEveryJobOnce()
    }

    private func assertTwoWorkersOneKilledMidRunDoEveryJobOnce() throws {
        let gemini = try FakeGeminiServer(options: .init(latencyMs: 300))
        defer { gemini.stop() }
        let producer = try machine(gemini), a = try machine(gemini), b = try machine(gemini)
        let phrases = (1...100).map { "Queued announcement number \($0)." }
        let file = try phraseFile(producer, phrases + phrases.prefix(5))
        let queued = try producer.run(["--json", "prewarm", file, "--queue"])
        XCTAssertEqual(queued.status, 0, queued.stderr)
        XCTAssertEqual(queued.jsonLines.first?["queued"] as? Int, 100)
        XCTAssertEqual(queued.jsonLines.first?["duplicates"] as? Int, 5)

        let doomed = try SpawnedRepl(a, ["worker", "--concurrency", "4", "--idle-exit", "3"])
        let survivor = try SpawnedRepl(b, ["worker", "--concurrency", "4", "--idle-exit", "3"])
        // Kill A while it is busy: after it finished ten jobs, with more in flight.
        var killed = false
        for _ in 0..<3000 {
            if events("job-done", in: a).count >= 10 {
                // A finishes its calls nearly together, then takes more within a few ms; a
                // third of the 300 ms latency later they are surely in flight when it dies.
                usleep(100_000)
                kill(doomed.pid, SIGKILL)
                killed = true
                break
            }
            usleep(10_000)
        }
        XCTAssertTrue(killed, "worker A never finished ten jobs; its stderr: \(doomed.stderr())")
        XCTAssertEqual(doomed.waitForExit(timeout: 10), 128 + SIGKILL)
        let status = survivor.waitForExit(timeout: 120)
        XCTAssertEqual(status, 0, "worker B: \(survivor.stderr())")

        // Every job acknowledged once: the done counter counts first acknowledgements only, and
        // no job id or request shows up as done twice in the logs.
        let queue = try counts(producer)
        XCTAssertEqual(queue["done"] as? Int, 100)
        XCTAssertEqual(queue["pending"] as? Int, 0)
        XCTAssertEqual(queue["in_flight"] as? Int, 0)
        XCTAssertEqual(queue["dead"] as? Int, 0)
        let done = events("job-done", in: a) + events("job-done", in: b)
        let doneKeys = done.compactMap { $0["key"] as? String }
        XCTAssertEqual(Set(doneKeys).count, doneKeys.count, "a request was acknowledged twice")
        XCTAssertGreaterThanOrEqual(events("job-reclaimed", in: b).count, 1, "B took over A's jobs in flight")

        // Nothing lost: every phrase's clip is in Redis.
        let client = RedisClient(try RedisTarget(parsing: redisURL))
        defer { client.close() }
        let tier = RedisTier(client: client, prefix: prefix)
        let expected = Set(geminiKeys(of: phrases))
        XCTAssertEqual(expected.count, 100)
        let present = try blocking { try await tier.existingClips(expected.compactMap { RequestKey(hex: $0) }) }
        XCTAssertEqual(present.count, 100, "every phrase's clip is in Redis")

        // One engine call per phrase: no request was generated twice across the two workers.
        let generated = (events("generate", in: a) + events("generate", in: b)).compactMap { $0["key"] as? String }
        XCTAssertEqual(Set(generated).count, generated.count, "a phrase was generated twice")
        XCTAssertTrue(Set(generated).isSubset(of: expected))
    }

    /// Entries no worker can read go to the dead stream; they used to be hidden there (the
    /// worker said 0 dead, `queue dead` listed none) and `retry-dead` put them back in the queue.
    func testUnreadableEntriesAreShownAsDeadWithTheReasonAndNotRequeued() throws {
        let gemini = try FakeGeminiServer()
        defer { gemini.stop() }
        let repl = try machine(gemini)
        XCTAssertEqual(try repl.run(["prewarm", try phraseFile(repl, ["A readable phrase."]), "--queue"]).status, 0)
        let pool = RedisPool(url: try RedisURL(parsing: redisURL))
        let malformed: [[String]] = [["text", "no key nor engine"], ["key", "not-hex", "text", "x", "engine", "espeak"],
                                     ["garbage", "1"]]
        let stream = prefix + "queue"
        for fields in malformed {
            let reply = try blocking { try await pool.command(["XADD", stream, "*"] + fields) }
            XCTAssertNil(reply.errorMessage)
        }
        let worker = try repl.run(["--json", "worker", "--idle-exit", "1"], timeout: 60)
        XCTAssertEqual(worker.status, 0, worker.stderr)
        let summary = worker.jsonLines.last ?? [:]
        XCTAssertEqual(summary["done"] as? Int, 1, worker.stdout)
        XCTAssertEqual(summary["dead"] as? Int, 3, worker.stdout)

        let dead = try repl.run(["--json", "queue", "dead"])
        XCTAssertEqual(dead.jsonLines.count, 3, dead.stdout)
        for entry in dead.jsonLines {
            XCTAssertTrue((entry["error"] as? String ?? "").contains("could not be read"), dead.stdout)
        }
        let human = try repl.run(["queue", "dead"])
        XCTAssertTrue(human.stdout.contains("could not be read"), human.stdout)

        let retried = try repl.run(["--json", "queue", "retry-dead"])
        XCTAssertEqual(retried.jsonLines.first?["requeued"] as? Int, 0, retried.stdout)
        XCTAssertEqual(retried.jsonLines.first?["unreadable"] as? Int, 3, retried.stdout)
        let queue = try counts(repl)
        XCTAssertEqual(queue["pending"] as? Int, 0)
        XCTAssertEqual(queue["dead"] as? Int, 3)
    }

    func testAJobThatKeepsFailingLandsInDeadAndRetryDeadRequeuesIt() throws {
        let gemini = try FakeGeminiServer()
        defer { gemini.stop() }
        gemini.inject(FaultSpec(.shape("blocked"), count: 2))
        let repl = try machine(gemini, maxAttempts: 2)
        let file = try phraseFile(repl, ["This one is blocked twice."])
        XCTAssertEqual(try repl.run(["prewarm", file, "--queue"]).status, 0)
        let first = try repl.run(["worker", "--idle-exit", "1"], timeout: 60)
        XCTAssertEqual(first.status, 0, first.stderr)
        var queue = try counts(repl)
        XCTAssertEqual(queue["dead"] as? Int, 1)
        XCTAssertEqual(queue["failed_attempts"] as? Int, 2)
        XCTAssertEqual(queue["pending"] as? Int, 0)
        let dead = try repl.run(["--json", "queue", "dead"])
        XCTAssertEqual(dead.jsonLines.first?["attempts"] as? Int, 2)
        XCTAssertFalse((dead.jsonLines.first?["error"] as? String ?? "").isEmpty, dead.stdout)
        XCTAssertEqual(gemini.counters().requests, 2)

        let retried = try repl.run(["--json", "queue", "retry-dead"])
        XCTAssertEqual(retried.jsonLines.first?["requeued"] as? Int, 1)
        queue = try counts(repl)
        XCTAssertEqual(queue["dead"] as? Int, 0)
        XCTAssertEqual(queue["pending"] as? Int, 1)
        let second = try repl.run(["worker", "--idle-exit", "1"], timeout: 60)
        XCTAssertEqual(second.status, 0, second.stderr)
        queue = try counts(repl)
        XCTAssertEqual(queue["done"] as? Int, 1)
        XCTAssertEqual(queue["pending"] as? Int, 0)
    }

    func testASigtermedWorkerExitsZeroAfterFinishingItsJobsInFlight() throws {
        let gemini = try FakeGeminiServer(options: .init(latencyMs: 1500))
        defer { gemini.stop() }
        let repl = try machine(gemini)
        let file = try phraseFile(repl, (1...6).map { "Slow phrase \($0)." })
        XCTAssertEqual(try repl.run(["prewarm", file, "--queue"]).status, 0)
        let worker = try SpawnedRepl(repl, ["worker", "--concurrency", "2", "--grace", "20"])
        XCTAssertTrue(waitFor { ((try? counts(repl))?["in_flight"] as? Int ?? 0) >= 2 }, worker.stderr())
        kill(worker.pid, SIGTERM)
        XCTAssertEqual(worker.waitForExit(timeout: 30), 0, worker.stderr())
        let queue = try counts(repl)
        XCTAssertEqual(queue["in_flight"] as? Int, 0, "nothing left in flight")
        XCTAssertGreaterThanOrEqual(queue["done"] as? Int ?? 0, 2, "the jobs in flight were finished")
        XCTAssertEqual((queue["done"] as? Int ?? 0) + (queue["pending"] as? Int ?? 0), 6, "nothing lost")
        XCTAssertTrue(worker.stdout().contains("asked to stop"), worker.stdout())
    }

    func testASigtermedWorkerHandsBackJobsThatOutlastTheGracePeriod() throws {
        let gemini = try FakeGeminiServer(options: .init(latencyMs: 20_000))
        defer { gemini.stop() }
        let repl = try machine(gemini)
        let file = try phraseFile(repl, ["Never finished one.", "Never finished two.", "Never started."])
        XCTAssertEqual(try repl.run(["prewarm", file, "--queue"]).status, 0)
        let worker = try SpawnedRepl(repl, ["worker", "--concurrency", "2", "--grace", "0.2"])
        XCTAssertTrue(waitFor { ((try? counts(repl))?["in_flight"] as? Int ?? 0) >= 2 }, worker.stderr())
        kill(worker.pid, SIGTERM)
        XCTAssertEqual(worker.waitForExit(timeout: 15), 0, worker.stderr())
        let queue = try counts(repl)
        XCTAssertEqual(queue["pending"] as? Int, 3, "the two jobs in flight are back in the queue")
        XCTAssertEqual(queue["in_flight"] as? Int, 0)
        XCTAssertEqual(queue["failed_attempts"] as? Int, 0)
    }

    func testWorkerWithoutRedisSaysSoAndExitsTwo() throws {
        let gemini = try FakeGeminiServer()
        defer { gemini.stop() }
        var repl = try machine(gemini)
        repl.environment["REDIS_URL"] = "off"
        let result = try repl.run(["worker"])
        XCTAssertEqual(result.status, 2)
        XCTAssertTrue(result.stderr.contains("needs Redis"), result.stderr)
    }

    // MARK: - Helpers

    /// The request keys of the phrases as the session asks for them: Gemini's default voice
    /// and model, no language.
    private func geminiKeys(of phrases: [String]) -> [String] {
        phrases.map {
            RequestKey(AudioRequest(text: $0, voice: "Kore", engine: "gemini", model: "gemini-3.8-flash-lite-tts")).hex
        }
    }

    private func waitFor(timeout: TimeInterval = 20, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition() { return true }
            usleep(10_000)
        }
        return condition()
    }

    private func blocking<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
        let box = ResultHolder<T>()
        let done = DispatchSemaphore(value: 0)
        Task.detached {
            do { box.result = .success(try await body()) } catch { box.result = .failure(error) }
            done.signal()
        }
        guard done.wait(timeout: .now() + 30) == .success, let result = box.result else {
            throw TTSError.store("a Redis call did not finish within 30 s")
        }
        return try result.get()
    }
}

private final class ResultHolder<T: Sendable>: @unchecked Sendable {
    /// Written once by the task before it signals; read after the wait.
    var result: Result<T, Error>?
}

/// `tts-repl` started in the background with posix_spawn and a cleared signal mask (a child
/// of a test thread would otherwise inherit blocked signals and never see SIGTERM), output
/// going to files so the test can read it while and after it runs.
final class SpawnedRepl {
    let pid: pid_t
    private let outURL: URL
    private let errURL: URL
    private var exitStatus: Int32?

    /// `stdin`: a file the child reads as its input (a script); /dev/null when nil.
    init(_ repl: ReplProcess, _ arguments: [String], stdin: URL? = nil) throws {
        let tag = UUID().uuidString.prefix(6)
        outURL = repl.workingDirectory.appendingPathComponent("spawn-\(tag).out")
        errURL = repl.workingDirectory.appendingPathComponent("spawn-\(tag).err")
        pid = try spawnRepl(arguments, environment: repl.environment) { [outURL, errURL] actions in
            posix_spawn_file_actions_addopen(&actions, 0, stdin?.path ?? "/dev/null", O_RDONLY, 0)
            posix_spawn_file_actions_addopen(&actions, 1, outURL.path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
            posix_spawn_file_actions_addopen(&actions, 2, errURL.path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        }
    }

    deinit {
        if waitNoHang() == nil {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
    }

    /// The exit status (128 + signal when killed) once the child has exited, or nil.
    func waitNoHang() -> Int32? {
        if let exitStatus { return exitStatus }
        var status: Int32 = 0
        guard waitpid(pid, &status, WNOHANG) == pid else { return nil }
        exitStatus = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return exitStatus
    }

    /// Waits (bounded) for the child to exit; nil if it did not.
    func waitForExit(timeout: TimeInterval) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let status = waitNoHang() { return status }
            usleep(10_000)
        }
        return waitNoHang()
    }

    func stdout() -> String { (try? String(contentsOf: outURL, encoding: .utf8)) ?? "" }
    func stderr() -> String { (try? String(contentsOf: errURL, encoding: .utf8)) ?? "" }
}
