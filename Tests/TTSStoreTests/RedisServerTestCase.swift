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

    override func tearDown() {
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
