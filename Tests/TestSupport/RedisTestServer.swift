import Foundation
import TTSCore
import XCTest
import TTSStore
#if canImport(Glibc)
import Glibc
#endif

/// A throwaway `redis-server` child process for one test: its own temp directory, a free
/// loopback port, optional password and unix socket. `stop()` and `start()` again keep the port,
/// so a test can take the server away and bring it back.
public final class RedisTestServer {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public let directory: URL
    public let port: Int
    public let password: String?
    public let socketPath: String?
    /// More redis-server options, e.g. `["--rename-command", "GETEX", ""]` to stand for an
    /// older server.
    public let extraArguments: [String]
    private var process: Process?

    /// Starts a server and waits (bounded) until it answers PING.
    public init(password: String? = nil, unixSocket: Bool = false, extraArguments: [String] = []) throws {
        self.extraArguments = extraArguments
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

    /// The TCP address as a URL string, for configuration and child processes.
    public var urlString: String { password.map { "redis://:\($0)@127.0.0.1:\(port)" } ?? "redis://127.0.0.1:\(port)" }

    /// The TCP address, with the password when the server has one.
    public var url: RedisURL {
        RedisURL(endpoint: .tcp(host: "127.0.0.1", port: port), password: password)
    }

    public var socketURL: RedisURL? {
        socketPath.map { RedisURL(endpoint: .unix(path: $0), password: password) }
    }

    public func start() throws {
        guard process == nil else { return }
        var arguments = [
            "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", directory.path, "--pidfile", directory.appendingPathComponent("redis.pid").path,
            "--logfile", directory.appendingPathComponent("redis.log").path, "--daemonize", "no",
        ]
        if let password { arguments += ["--requirepass", password] }
        if let socketPath { arguments += ["--unixsocket", socketPath, "--unixsocketperm", "700"] }
        arguments += extraArguments
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
    public func stop() {
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
    public static func executable() throws -> String {
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
    public static func freePort() throws -> Int {
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

