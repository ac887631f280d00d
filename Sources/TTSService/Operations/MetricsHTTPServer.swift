import Foundation
import Glibc
import Synchronization
import TTSCore

/// A minimal HTTP/1.1 responder for Prometheus scrapes: `GET /metrics` on 127.0.0.1.
///
/// One dedicated thread accepts; each connection is answered on a thread of its own, so an
/// idle client (which gets 2 s to send its request) never holds up a scrape; every answer
/// closes its connection. `TCP_NODELAY` is set so a
/// response is never held back by Nagle's algorithm. Other paths get 404, other methods 405.
/// `stop()` ends the accept loop within a poll interval.
///
/// ```swift
/// let server = try MetricsHTTPServer(port: 0) { metrics.exposition() }
/// print(server.port)     // the port the kernel chose
/// server.stop()
/// ```
public final class MetricsHTTPServer: Sendable {
    public let port: Int
    private let listener: Int32
    private let body: @Sendable () -> String
    private let stopped = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)

    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"
    private static let maxRequestBytes = 8192

    /// Binds 127.0.0.1:`port` (0: any free port) and starts answering.
    public init(port: Int, body: @escaping @Sendable () -> String) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw MetricsHTTPServer.failure("cannot create a socket", port: port) }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(clamping: port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw -> Int32 in
                guard bind(fd, raw, length) == 0, listen(fd, 16) == 0 else { return -1 }
                return getsockname(fd, raw, &length)
            }
        }
        guard bound == 0 else {
            let error = MetricsHTTPServer.failure("cannot listen on 127.0.0.1:\(port)", port: port)
            close(fd)
            throw error
        }
        listener = fd
        self.port = Int(UInt16(bigEndian: address.sin_port))
        self.body = body
        let thread = Thread { [self] in acceptLoop() }
        thread.name = "tts.metrics-http"
        thread.start()
    }

    /// Stops accepting, waits for the loop to end, closes the socket. Idempotent.
    public func stop() {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        finished.wait()
        close(listener)
    }

    private func acceptLoop() {
        defer { finished.signal() }
        while !stopped.load(ordering: .acquiring) {
            var poller = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, 100)
            guard ready > 0 else { continue }
            let client = accept(listener, nil, nil)
            guard client >= 0 else { continue }
            _ = fcntl(client, F_SETFD, FD_CLOEXEC)
            var yes: Int32 = 1
            setsockopt(client, Int32(IPPROTO_TCP), TCP_NODELAY, &yes, socklen_t(MemoryLayout<Int32>.size))
            // A client that connects and says nothing must not hold the loop: 2 s to send its request.
            var timeout = timeval(tv_sec: 2, tv_usec: 0)
            setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            // Each connection on a thread of its own, so an idle or slow one never delays
            // another's scrape (the loop goes straight back to accepting).
            let handler = Thread { [self] in
                answer(client)
                close(client)
            }
            handler.name = "tts.metrics-conn"
            handler.start()
        }
    }

    private func answer(_ client: Int32) {
        guard let head = readHead(client) else { return }
        let requestLine = head.split(separator: "\r\n", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        let parts = requestLine.split(separator: " ")
        guard parts.count == 3, parts[2].hasPrefix("HTTP/1.") else {
            send(client, status: "400 Bad Request", body: "bad request\n")
            return
        }
        let method = parts[0], target = parts[1]
        let path = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        guard path == "/metrics" else {
            send(client, status: "404 Not Found", body: "not found: the metrics are at /metrics\n")
            return
        }
        guard method == "GET" || method == "HEAD" else {
            send(client, status: "405 Method Not Allowed", body: "method not allowed: use GET\n", extra: "Allow: GET, HEAD\r\n")
            return
        }
        send(client, status: "200 OK", body: body(), contentType: MetricsHTTPServer.contentType, includeBody: method == "GET")
    }

    /// The request line and headers, up to the blank line; nil when the client sent nothing
    /// usable in time or more than 8 KiB of headers.
    private func readHead(_ client: Int32) -> String? {
        var buffer = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 1024)
        while buffer.count < MetricsHTTPServer.maxRequestBytes {
            let count = chunk.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return nil }
            buffer.append(contentsOf: chunk[0..<count])
            if let end = buffer.indices.dropLast(3).first(where: {
                buffer[$0] == 13 && buffer[$0 + 1] == 10 && buffer[$0 + 2] == 13 && buffer[$0 + 3] == 10
            }) {
                return String(decoding: buffer[0..<end], as: UTF8.self)
            }
        }
        return nil
    }

    private func send(_ client: Int32, status: String, body: String, contentType: String = "text/plain; charset=utf-8",
                      extra: String = "", includeBody: Bool = true) {
        let bytes = Array(body.utf8)
        let head = "HTTP/1.1 \(status)\r\nContent-Type: \(contentType)\r\nContent-Length: \(bytes.count)\r\n\(extra)Connection: close\r\n\r\n"
        var out = Array(head.utf8)
        if includeBody { out += bytes }
        out.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let sent = Glibc.send(client, buffer.baseAddress! + offset, buffer.count - offset, Int32(MSG_NOSIGNAL))
                if sent < 0 && errno == EINTR { continue }
                if sent <= 0 { return }
                offset += sent
            }
        }
    }

    private static func failure(_ what: String, port: Int) -> TTSError {
        let reason = String(cString: strerror(errno))
        return TTSError(.config, "\(what): \(reason). Choose another port with --port, or 0 for any free one.")
    }
}
