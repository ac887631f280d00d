import Foundation
import Glibc
import Synchronization

/// One parsed HTTP/1.1 request as the loopback server received it.
struct ServerRequest: Sendable {
    var method: String
    /// Path with its query string, as sent.
    var target: String
    /// Header names lowercased.
    var headers: [String: String]
    var body: Data

    var path: String { String(target.prefix { $0 != "?" }) }
}

/// What the handler wants done with a request.
enum ServerReply: Sendable {
    case respond(status: Int, contentType: String, body: Data)
    /// Keep the connection open and never answer, until the client goes away or the server stops.
    case hang
    /// A `Transfer-Encoding: chunked` answer whose body `produce` writes piece by piece (it runs
    /// on the connection's thread and may sleep between pieces).
    case stream(status: Int, contentType: String, produce: @Sendable (ChunkedBodyWriter) -> Void)
}

/// Writes one chunked answer's body: each `send` is one HTTP chunk, on the wire at once.
final class ChunkedBodyWriter: @unchecked Sendable {
    // @unchecked: used only by the connection's thread, inside `produce`.
    private let write: (Data) -> Bool
    /// Set by `cut()`: the connection is dropped without the closing zero-size chunk.
    private(set) var isCut = false
    /// False once the peer went away.
    private(set) var isOpen = true

    init(write: @escaping (Data) -> Bool) { self.write = write }

    /// Sends one chunk; returns false when the peer is gone.
    @discardableResult
    func send(_ data: Data) -> Bool {
        guard isOpen, !isCut, !data.isEmpty else { return isOpen && !isCut }
        var framed = Data(String(data.count, radix: 16).utf8)
        framed.append(contentsOf: [13, 10])
        framed.append(data)
        framed.append(contentsOf: [13, 10])
        isOpen = write(framed)
        return isOpen
    }

    /// Ends the answer as a broken connection would: no closing chunk, the socket shut down.
    func cut() { isCut = true }
}

/// A small HTTP/1.1 server on POSIX sockets, bound to 127.0.0.1 only: keep-alive,
/// `Content-Length` bodies, one thread per connection, TCP_NODELAY (without it a keep-alive
/// client stalls ~40 ms per request on Nagle + delayed ACK).
final class LoopbackHTTPServer: Sendable {
    typealias Handler = @Sendable (ServerRequest) -> ServerReply

    let port: Int
    private let listener: Int32
    private let handler: Handler
    private let connections = Mutex<Set<Int32>>([])
    private let stopped = Atomic<Bool>(false)
    /// Connections accepted so far; shows whether clients reuse connections.
    let acceptedConnections = Atomic<Int>(0)

    init(port: Int, handler: @escaping Handler) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ServerError("socket() failed: \(String(cString: strerror(errno)))") }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port)).bigEndian
        address.sin_addr.s_addr = in_addr_t(0x7f00_0001).bigEndian  // 127.0.0.1 only
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 128) == 0 else {
            let why = String(cString: strerror(errno))
            close(fd)
            throw ServerError("cannot listen on 127.0.0.1:\(port): \(why)")
        }
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.port = Int(UInt16(bigEndian: actual.sin_port))
        self.listener = fd
        self.handler = handler
        let thread = Thread { [self] in acceptLoop() }
        thread.name = "fake-gemini accept"
        thread.start()
    }

    /// Closes the listener and every open connection; connection threads then end by themselves.
    func stop() {
        guard !stopped.exchange(true, ordering: .relaxed) else { return }
        // Wakes the blocked accept(); the accept thread closes the socket itself, so the
        // descriptor number cannot be reused under it by another server.
        shutdown(listener, Int32(SHUT_RDWR))
        connections.withLock { open in
            for fd in open { shutdown(fd, Int32(SHUT_RDWR)) }
        }
    }

    private func acceptLoop() {
        defer { close(listener) }
        while !stopped.load(ordering: .relaxed) {
            let fd = accept(listener, nil, nil)
            if fd < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                return
            }
            var yes: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &yes, socklen_t(MemoryLayout<Int32>.size))
            acceptedConnections.add(1, ordering: .relaxed)
            connections.withLock { _ = $0.insert(fd) }
            if stopped.load(ordering: .relaxed) { shutdown(fd, Int32(SHUT_RDWR)) }
            let thread = Thread { [self] in
                serve(fd)
                connections.withLock { _ = $0.remove(fd) }
                close(fd)
            }
            thread.name = "fake-gemini connection"
            thread.start()
        }
    }

    private func serve(_ fd: Int32) {
        var reader = SocketReader(fd: fd)
        while let request = reader.nextRequest() {
            switch handler(request) {
            case .hang:
                waitForClose(fd)
                return
            case let .stream(status, contentType, produce):
                var head = "HTTP/1.1 \(status) \(Self.reasonPhrase(status))\r\n"
                head += "Content-Type: \(contentType)\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n"
                guard writeAll(fd, Data(head.utf8)) else { return }
                let writer = ChunkedBodyWriter { [self] in writeAll(fd, $0) }
                produce(writer)
                if writer.isCut {
                    shutdown(fd, Int32(SHUT_RDWR))
                    return
                }
                guard writer.isOpen, writeAll(fd, Data("0\r\n\r\n".utf8)) else { return }
            case let .respond(status, contentType, body):
                let keepAlive = request.headers["connection"]?.lowercased() != "close"
                var head = "HTTP/1.1 \(status) \(Self.reasonPhrase(status))\r\n"
                head += "Content-Type: \(contentType)\r\nContent-Length: \(body.count)\r\n"
                head += keepAlive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n"
                guard writeAll(fd, Data(head.utf8)), writeAll(fd, body), keepAlive else { return }
            }
        }
    }

    /// Blocks until the peer closes (or aborts) the connection, or the server stops.
    private func waitForClose(_ fd: Int32) {
        var scratch = [UInt8](repeating: 0, count: 4096)
        while !stopped.load(ordering: .relaxed) {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, 100)
            if ready < 0 && errno != EINTR { return }
            if ready > 0 {
                let n = recv(fd, &scratch, scratch.count, 0)
                if n <= 0 { return }
            }
        }
    }

    private func writeAll(_ fd: Int32, _ data: Data) -> Bool {
        data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return false }
                offset += n
            }
            return true
        }
    }

    static func reasonPhrase(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 400: "Bad Request"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 408: "Request Timeout"
        case 429: "Too Many Requests"
        case 500: "Internal Server Error"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        case 504: "Gateway Timeout"
        default: "Status \(status)"
        }
    }
}

struct ServerError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Reads pipelined keep-alive requests from one socket.
private struct SocketReader {
    let fd: Int32
    private var buffer = [UInt8]()
    private static let maxHeaderBytes = 64 << 10
    private static let maxBodyBytes = 32 << 20

    init(fd: Int32) { self.fd = fd }

    /// The next request, or nil when the peer closed the connection or sent garbage.
    mutating func nextRequest() -> ServerRequest? {
        var headerEnd: Int?
        while true {
            headerEnd = Self.find([13, 10, 13, 10], in: buffer)
            if headerEnd != nil { break }
            guard buffer.count < Self.maxHeaderBytes, fill() else { return nil }
        }
        let head = String(decoding: buffer[..<headerEnd!], as: UTF8.self)
        let lines = head.components(separatedBy: "\r\n")
        let parts = lines[0].split(separator: " ")
        guard parts.count >= 2 else { return nil }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
            headers[name] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let length = Int(headers["content-length"] ?? "0") ?? -1
        guard (0...Self.maxBodyBytes).contains(length) else { return nil }
        let bodyStart = headerEnd! + 4
        while buffer.count < bodyStart + length {
            guard fill() else { return nil }
        }
        let body = Data(buffer[bodyStart..<bodyStart + length])
        buffer.removeFirst(bodyStart + length)
        return ServerRequest(method: String(parts[0]), target: String(parts[1]), headers: headers, body: body)
    }

    private mutating func fill() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = recv(fd, &chunk, chunk.count, 0)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return false }
            buffer.append(contentsOf: chunk[..<n])
            return true
        }
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for i in 0...(haystack.count - needle.count) where haystack[i] == needle[0] {
            if haystack[i..<i + needle.count].elementsEqual(needle) { return i }
        }
        return nil
    }
}
