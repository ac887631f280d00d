import Foundation
import TTSCore
import XCTest
import TestSupport
@testable import TTSStore
#if canImport(Glibc)
import Glibc
#endif

/// Base for tests that need any Redis: the server `make test` started (`TTS_TEST_REDIS_URL`),
/// or one of its own, stopped in tearDown. Each test gets a unique key prefix, so tests can
/// share one server.
class RedisServerTestCase: XCTestCase {
    private var ownServer: RedisTestServer?
    private(set) var prefix = ""

    override func setUp() {
        super.setUp()
        prefix = "tts-test-\(UUID().uuidString.prefix(8)):"
    }

    /// Set by `onEveryTarget` while its body runs on the cluster: `makeClient()` then talks to
    /// the Redis Cluster `make test` started (`TTS_TEST_REDIS_CLUSTER_URL`).
    private(set) var usesCluster = false
    private var touchedCluster = false

    /// Runs `body` on the single server, then on the cluster.
    func onEveryTarget(_ body: () async throws -> Void) async throws {
        usesCluster = false
        try await body()
        usesCluster = true
        touchedCluster = true
        defer { usesCluster = false }
        try await body()
    }

    override func tearDown() {
        if touchedCluster, let target = try? clusterTarget() {
            RedisServerTestCase.deleteKeys(startingWith: prefix, onEveryNodeOf: target)
        }
        // On the shared server, remove this test's keys (databases 0 and 3 are the ones used).
        if ownServer == nil, let url = try? serverURL() {
            for database in [0, 3] {
                var target = url
                target.database = database
                let connection = try? RedisConnection(url: target)
                _ = try? connection?.command([
                    "EVAL", "for _, k in ipairs(redis.call('KEYS', ARGV[1] .. '*')) do redis.call('DEL', k) end",
                    "0", prefix,
                ])
            }
        }
        ownServer?.stop()
        ownServer = nil
        super.tearDown()
    }

    /// The address of a running Redis for this test.
    func serverURL() throws -> RedisURL {
        if let text = ProcessInfo.processInfo.environment["TTS_TEST_REDIS_URL"], !text.isEmpty {
            return try RedisURL(parsing: text)
        }
        if ownServer == nil { ownServer = try RedisTestServer() }
        return ownServer!.url
    }

    /// The cluster `Tests/with-redis.sh` started; a cluster test fails without one.
    func clusterTarget() throws -> RedisTarget {
        guard let text = ProcessInfo.processInfo.environment["TTS_TEST_REDIS_CLUSTER_URL"], !text.isEmpty else {
            throw TTSError.config("TTS_TEST_REDIS_CLUSTER_URL is not set: run the tests through Tests/with-redis.sh (make test), which starts a Redis Cluster")
        }
        return try RedisTarget(parsing: text)
    }

    /// A client for this test's Redis: the single server, or the cluster for cluster variants.
    func makeClient(maxConnections: Int = 4) throws -> RedisClient {
        if usesCluster { return RedisClient(try clusterTarget(), maxConnections: maxConnections) }
        return RedisClient(pool: try makePool(maxConnections: maxConnections))
    }

    /// Removes keys by prefix on every node a cluster's seeds report (SCAN + DEL per master:
    /// a script may not touch keys of several slots).
    static func deleteKeys(startingWith prefix: String, onEveryNodeOf target: RedisTarget) {
        guard let seed = try? RedisConnection(url: target.seeds[0]),
              let nodes = try? seed.command(["CLUSTER", "NODES"]).text else { return }
        for line in nodes.split(separator: "\n") where line.contains("master") && !line.contains("fail") {
            let fields = line.split(separator: " ")
            guard fields.count > 1, let colon = fields[1].lastIndex(of: ":") else { continue }
            let hostPort = fields[1][..<(fields[1].firstIndex(of: "@") ?? fields[1].endIndex)]
            guard let port = Int(hostPort[hostPort.index(after: colon)...]) else { continue }
            var url = target.seeds[0]
            url.endpoint = .tcp(host: "127.0.0.1", port: port)
            guard let connection = try? RedisConnection(url: url) else { continue }
            var cursor = "0"
            for _ in 0..<10_000 {  // bounded: a test makes far fewer keys
                guard let reply = try? connection.command(["SCAN", cursor, "MATCH", prefix + "*", "COUNT", "1000"]).elements,
                      reply.count == 2 else { break }
                for key in reply[1].elements ?? [] { if let key = key.data { _ = try? connection.command([Data("DEL".utf8), key]) } }
                cursor = reply[0].text ?? "0"
                if cursor == "0" { break }
            }
        }
    }

    func makePool(database: Int = 0, maxConnections: Int = 4) throws -> RedisPool {
        var url = try serverURL()
        url.database = database
        return RedisPool(RedisPoolConfiguration(url: url, maxConnections: maxConnections))
    }

    /// Bytes that break any text-based protocol handling: CR LF, NUL, high bytes.
    func awkwardBytes(_ count: Int) -> Data {
        let pattern: [UInt8] = [0x52, 0x49, 0x46, 0x46, 0x0D, 0x0A, 0x00, 0xFF, 0x24, 0x2D, 0x0A, 0x0D]
        return Data((0..<count).map { pattern[$0 % pattern.count] ^ UInt8(truncatingIfNeeded: $0 / pattern.count) })
    }
}

/// Asserts that `body` throws a `TTSError` of `kind` and returns it for further checks.
@discardableResult
func assertThrowsTTSError(_ kind: TTSError.Kind, file: StaticString = #filePath, line: UInt = #line,
                          _ body: () throws -> Void) -> TTSError? {
    do {
        try body()
        return checkTTSError(nil, kind, file: file, line: line)
    } catch {
        return checkTTSError(error, kind, file: file, line: line)
    }
}

@discardableResult
func assertThrowsTTSErrorAsync(_ kind: TTSError.Kind, file: StaticString = #filePath, line: UInt = #line,
                               _ body: () async throws -> Void) async -> TTSError? {
    do {
        try await body()
        return checkTTSError(nil, kind, file: file, line: line)
    } catch {
        return checkTTSError(error, kind, file: file, line: line)
    }
}

private func checkTTSError(_ error: (any Error)?, _ kind: TTSError.Kind, file: StaticString, line: UInt) -> TTSError? {
    guard let error else {
        XCTFail("expected a \(kind) error, nothing was thrown", file: file, line: line)
        return nil
    }
    guard let ttsError = error as? TTSError else {
        XCTFail("expected a TTSError, got \(error)", file: file, line: line)
        return nil
    }
    XCTAssertEqual(ttsError.kind, kind, ttsError.message, file: file, line: line)
    return ttsError
}
