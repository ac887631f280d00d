import Foundation
import XCTest
import TestSupport
import TTSStore

/// Two tts-repl processes with separate stores ("two machines") on one Redis server.
final class RedisEndToEndTests: XCTestCase {
    private var server: RedisTestServer?

    override func tearDown() {
        server = nil
    }

    private func machine(_ url: String, prefix: String) throws -> ReplProcess {
        var repl = try ReplProcess()
        repl.environment["REDIS_URL"] = url
        repl.environment["TTS_REDIS_PREFIX"] = prefix
        return repl
    }

    private func serverURL() throws -> String {
        if let url = ProcessInfo.processInfo.environment["TTS_TEST_REDIS_URL"] { return url }
        let own = try RedisTestServer()
        server = own
        return own.urlString
    }

    func testTwoProcessesWithTheSameFiftyPhrasesCallTheEngineFiftyTimes() throws {
        try assertTwoProcessesCallTheEngineOncePerPhrase(url: try serverURL())
    }

    /// The same on the Redis Cluster `make test` starts (`REDIS_URL=redis+cluster://…`).
    func testTwoProcessesOnARedisClusterCallTheEngineFiftyTimes() throws {
        guard let url = ProcessInfo.processInfo.environment["TTS_TEST_REDIS_CLUSTER_URL"], !url.isEmpty else {
            return XCTFail("TTS_TEST_REDIS_CLUSTER_URL is not set: run the tests through Tests/with-redis.sh (make test)")
        }
        try assertTwoProcessesCallTheEngineOncePerPhrase(url: url)
    }

    private func assertTwoProcessesCallTheEngineOncePerPhrase(url: String) throws {
        let prefix = "e2e-\(UUID().uuidString.prefix(8)):"
        let a = try machine(url, prefix: prefix), b = try machine(url, prefix: prefix)
        let script = (1...50).map { "say shared phrase \($0)" }.joined(separator: "\n") + "\n"
        let results = ResultsBox()
        let group = DispatchGroup()
        for repl in [a, b] {
            group.enter()
            Thread.detachNewThread {
                results.append(try? repl.run(["--json"], stdin: script, timeout: 120))
                group.leave()
            }
        }
        XCTAssertEqual(group.wait(timeout: .now() + 150), .success)
        let all = results.values
        XCTAssertEqual(all.count, 2)
        XCTAssertTrue(all.allSatisfy { $0.status == 0 }, all.map(\.stderr).joined())
        let tiers = all.flatMap { $0.jsonLines.compactMap { $0["tier"] as? String } }
        XCTAssertEqual(tiers.count, 100)
        XCTAssertEqual(tiers.filter { $0 == "engine" }.count, 50, "each phrase generated exactly once across both")
        XCTAssertEqual(tiers.filter { $0 == "redis" }.count, 50)
        // Blobs taken from Redis are flushed by the time a process exits: no row is left for
        // the next start to rehash.
        for repl in [a, b] {
            let index = try ClipIndex(url: StoreLayout(root: repl.store).indexURL)
            defer { index.close() }
            XCTAssertEqual(try index.clipsWithBlobNotDurable().count, 0)
            XCTAssertEqual(try index.count(.all), 50)
        }
    }

    func testPasswordDatabaseAndUnixSocketURLs() throws {
        let own = try RedisTestServer(password: "s3cret-pass", unixSocket: true)
        server = own
        let socket = try XCTUnwrap(own.socketPath)
        let urls = ["redis://:s3cret-pass@127.0.0.1:\(own.port)/3", "unix://\(socket)?db=2&password=s3cret-pass"]
        for url in urls {
            let prefix = "e2e-\(UUID().uuidString.prefix(8)):"
            let a = try machine(url, prefix: prefix), b = try machine(url, prefix: prefix)
            let first = try a.run(["--json", "say", "through", url.hasPrefix("unix") ? "a socket" : "a password"])
            let second = try b.run(["--json", "say", "through", url.hasPrefix("unix") ? "a socket" : "a password"])
            XCTAssertEqual(first.jsonLines.first?["tier"] as? String, "engine", first.stderr)
            XCTAssertEqual(second.jsonLines.first?["tier"] as? String, "redis", second.stderr)
            XCTAssertEqual(second.stderr, "", "no degraded warning with a good URL")
        }
    }

    func testWrongPasswordIsReportedOnceAndNeverShownAndTheLocalTierServes() throws {
        let own = try RedisTestServer(password: "right-password")
        server = own
        let repl = try machine("redis://:wrong-password@127.0.0.1:\(own.port)", prefix: "e2e:")
        let result = try repl.run(["--json"], stdin: "say still works\nsay still works\n")
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.jsonLines.compactMap { $0["tier"] as? String }, ["engine", "memory"])
        XCTAssertTrue(result.stderr.contains("refused the password"), result.stderr)
        XCTAssertEqual(result.stderr.components(separatedBy: "warning:").count - 1, 1, result.stderr)
        XCTAssertFalse(result.stderr.contains("wrong-password"))
        let log = try String(contentsOf: repl.store.appendingPathComponent("tts.log"), encoding: .utf8)
        XCTAssertFalse(log.contains("wrong-password"))
    }
}

final class ResultsBox: @unchecked Sendable {
    private var stored: [ReplProcess.Result] = []
    /// Guards `stored` between the threads that run the processes.
    private let lock = NSLock()
    func append(_ result: ReplProcess.Result?) {
        guard let result else { return }
        lock.withLock { stored.append(result) }
    }
    var values: [ReplProcess.Result] { lock.withLock { stored } }
}
