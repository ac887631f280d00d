import BenchStats
import Foundation
import Glibc

/// A server process for the HTTP rows (`tts-repl serve`, the libmicrohttpd floor, nginx), its
/// output in a log file (a full stdout pipe must never stall a server under load), listening
/// on a loopback port that it reports in a port file or that was chosen for it.
final class BackgroundServer {
    let name: String
    let child: ChildProcess
    let port: Int
    let logURL: URL

    /// The server exited, or did not listen in time; `log` is the end of its output.
    struct DidNotStart: Error, CustomStringConvertible {
        var name: String
        var exited: Bool
        var log: String
        var description: String {
            "\(name) \(exited ? "exited before listening" : "did not listen within 15 s"): \(log)"
        }
    }

    /// Starts `executable arguments…` through `sh -c 'exec …'` with stdout and stderr to
    /// `<folder>/<name>.log`. The port comes from `portFile` when given, else it is `fixedPort`.
    init(name: String, executable: String, _ arguments: [String], environment: [String: String], folder: URL,
         portFile: URL? = nil, fixedPort: Int? = nil, samplePeakMemory: Bool = false) throws {
        self.name = name
        logURL = folder.appendingPathComponent("\(name).log")
        child = try ChildProcess(executable: "/bin/sh", ["-c", "exec \"$@\" >\"$LOG_FILE\" 2>&1", "sh", executable] + arguments,
                                 environment: environment.merging(["LOG_FILE": logURL.path]) { _, new in new },
                                 samplePeakMemory: samplePeakMemory)
        var found = fixedPort
        let deadline = monotonicNanos() + 15_000_000_000
        while monotonicNanos() < deadline {
            if found == nil, let portFile, let text = try? String(contentsOf: portFile, encoding: .utf8) {
                found = Int(text.trimmingCharacters(in: .whitespacesAndNewlines))
            }
            if let found, BackgroundServer.accepts(port: found) { break }
            if BackgroundServer.hasExited(child.pid) { break }
            usleep(20_000)
        }
        let log = (try? String(contentsOf: logURL, encoding: .utf8)).map { String($0.suffix(600)) } ?? ""
        guard let found, BackgroundServer.accepts(port: found) else {
            let exited = BackgroundServer.hasExited(child.pid)
            if !exited { kill(child.pid, SIGKILL) }
            _ = try? child.wait()
            throw DidNotStart(name: name, exited: exited, log: log)
        }
        port = found
    }

    var baseURL: String { "http://127.0.0.1:\(port)" }

    /// SIGTERM, then the exit (with the peak RSS when sampled); SIGKILL after 15 s, so a
    /// server that does not stop cannot hang the bench.
    @discardableResult
    func stop() throws -> ChildProcess.Exit {
        kill(child.pid, SIGTERM)
        let deadline = monotonicNanos() + 15_000_000_000
        while !BackgroundServer.hasExited(child.pid) && monotonicNanos() < deadline { usleep(20_000) }
        if !BackgroundServer.hasExited(child.pid) { kill(child.pid, SIGKILL) }
        return try child.wait(stoppedBySignal: true)
    }

    /// Whether the child has exited: a zombie (not yet reaped: `ChildProcess.wait` does that)
    /// or gone.
    static func hasExited(_ pid: pid_t) -> Bool {
        let state = state(of: pid)
        return state == nil || state == "Z" || state == "X"
    }

    /// The process state letter of /proc/PID/stat (R, S, T stopped, Z zombie…), nil when gone.
    static func state(of pid: pid_t) -> Character? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        return stat[stat.index(after: close)...].drop { $0 == " " }.first
    }

    /// Whether something accepts TCP connections on 127.0.0.1:port.
    static func accepts(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = loopback(port: port)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }

    /// A loopback port free right now (bound to port 0 and released), for servers that cannot
    /// report the port they picked (nginx).
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("socket failed: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var address = loopback(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw HarnessError("cannot bind a loopback port: \(String(cString: strerror(errno)))") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    private static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        return address
    }
}

/// The load generator of the HTTP rows: `wrk` with 2 threads, on loopback.
struct Wrk {
    let executable: String
    let seconds: Int

    /// One run against `url`; `script` (a Lua file) shapes the request, e.g. a POST body.
    /// A run with socket errors or non-2xx answers is a harness failure, not a figure.
    func run(_ url: String, connections: Int = 16, script: URL? = nil) throws -> WrkReport {
        var arguments = ["-t2", "-c\(connections)", "-d\(seconds)s", "--latency"]
        if let script { arguments += ["-s", script.path] }
        let child = try ChildProcess(executable: executable, arguments + [url], environment: ["PATH": "/usr/bin:/bin"])
        let output = String(decoding: child.readAll(), as: UTF8.self)
        _ = try child.wait()
        let report = try WrkReport(parsing: output)
        guard report.non2xx == 0, report.socketErrors == 0 else {
            throw HarnessError("wrk against \(url): \(report.non2xx) non-2xx answers, \(report.socketErrors) socket errors")
        }
        return report
    }

    /// A Lua script making every request `POST` with this JSON body.
    static func postScript(body: String, at url: URL) throws -> URL {
        let escaped = body.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        try """
            wrk.method = "POST"
            wrk.body = "\(escaped)"
            wrk.headers["Content-Type"] = "application/json"
            """.write(to: url, atomically: true, encoding: .utf8)
        return url
    }
}

extension Wrk {
    /// A Lua script making every request a `POST` of `{"text": …}` with a text never sent
    /// before: the tag given after `--`, the wrk thread and a counter.
    static func missScript(at url: URL) throws -> URL {
        try """
            local threads = 0
            function setup(thread)
              threads = threads + 1
              thread:set("id", threads)
            end
            function init(args)
              tag = args[1] or ""
              sent = 0
            end
            function request()
              sent = sent + 1
              return wrk.format("POST", nil, {["Content-Type"] = "application/json"},
                '{"text":"isolation miss ' .. tag .. ' ' .. id .. ' ' .. sent .. '"}')
            end
            """.write(to: url, atomically: true, encoding: .utf8)
        return url
    }
}

/// The first of `names` found as an executable in the usual system folders.
func systemTool(_ names: String...) -> String? {
    for folder in ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"] {
        for name in names where FileManager.default.isExecutableFile(atPath: "\(folder)/\(name)") {
            return "\(folder)/\(name)"
        }
    }
    return nil
}
