import Foundation
import TTSCore
import XCTest
@testable import TTSStore
#if canImport(Glibc)
import Glibc
#endif

/// A throwaway `redis-server` child process for one test: its own temp directory, a free
/// loopback port, optional password and unix socket. `stop()` and `start()` again keep the port,
/// so a test can take the server away and bring it back.
final class RedisTestServer {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    let directory: URL
    let port: Int
    let password: String?
    let socketPath: String?
    private var process: Process?

    /// Starts a server and waits (bounded) until it answers PING.
    init(password: String? = nil, unixSocket: Bool = false) throws {
        _ = try RedisTestServer.executable()
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("tts-redis-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        port = try RedisTestServer.freePort()
        self.password = password
        socketPath = unixSocket ? directory.appendingPathComponent("redis.sock").path : nil
        try start()
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: directory)
    }

    /// The TCP address, with the password when the server has one.
    var url: RedisURL {
        RedisURL(endpoint: .tcp(host: "127.0.0.1", port: port), password: password)
    }

    var socketURL: RedisURL? {
        socketPath.map { RedisURL(endpoint: .unix(path: $0), password: password) }
    }

    func start() throws {
        guard process == nil else { return }
        var arguments = [
            "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", directory.path, "--pidfile", directory.appendingPathComponent("redis.pid").path,
            "--logfile", directory.appendingPathComponent("redis.log").path, "--daemonize", "no",
        ]
        if let password { arguments += ["--requirepass", password] }
        if let socketPath { arguments += ["--unixsocket", socketPath, "--unixsocketperm", "700"] }
        let child = Process()
        child.executableURL = URL(fileURLWithPath: try RedisTestServer.executable())
        child.arguments = arguments
        child.standardOutput = FileHandle.nullDevice
        child.standardError = FileHandle.nullDevice
        try child.run()
        process = child
        // Bounded wait: 200 × 25 ms.
        for _ in 0..<200 {
            if !child.isRunning { break }
            if let connection = try? RedisConnection(url: url, connectTimeout: .milliseconds(200)),
               (try? connection.command(["PING"])) == .status("PONG") {
                return
            }
            usleep(25_000)
        }
        let log = (try? String(contentsOf: directory.appendingPathComponent("redis.log"), encoding: .utf8)) ?? ""
        stop()
        throw Failure(description: "redis-server on port \(port) did not answer PING. Its log:\n\(log.suffix(2000))")
    }

    /// Shuts the server down and waits (bounded) for it to exit; SIGKILL if it lingers.
    ///
    /// SHUTDOWN rather than SIGTERM: a child spawned from a Dispatch worker thread (any async
    /// test) inherits that thread's blocked signal mask, and never sees SIGTERM.
    func stop() {
        guard let child = process else { return }
        process = nil
        if child.isRunning, let connection = try? RedisConnection(url: url, connectTimeout: .milliseconds(200)) {
            _ = try? connection.command(["SHUTDOWN", "NOSAVE"])
        }
        for _ in 0..<200 where child.isRunning { usleep(10_000) }
        if child.isRunning {
            kill(child.processIdentifier, SIGKILL)
            child.waitUntilExit()
        }
    }

    /// The redis-server binary. Missing: a failure when CI is set, a skip otherwise.
    static func executable() throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let candidates = path.split(separator: ":").map(String.init) + ["/usr/bin", "/usr/sbin", "/usr/local/bin"]
        for folder in candidates {
            let file = folder + "/redis-server"
            if FileManager.default.isExecutableFile(atPath: file) { return file }
        }
        let message = "redis-server is not installed (apt-get install redis-server); the Redis tests need it"
        if ProcessInfo.processInfo.environment["CI"] != nil {
            throw Failure(description: message + ", and CI is set, so they fail rather than skip.")
        }
        throw XCTSkip(message + ".")
    }

    /// A loopback port that was free a moment ago: bind port 0 and read what the kernel chose.
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket() failed: errno \(errno)") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw -> Int32 in
                guard bind(fd, raw, length) == 0 else { return -1 }
                return getsockname(fd, raw, &length)
            }
        }
        guard bound == 0 else { throw Failure(description: "binding a free port failed: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

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
