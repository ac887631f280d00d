import Foundation

/// One HTTP request as the engines see it: no C types, no curl options.
///
/// ```swift
/// let request = HTTPRequest(method: "POST", url: "http://127.0.0.1:8080/v1beta/models/m:generateContent",
///                           headers: [("Content-Type", "application/json")], body: json)
/// let response = try await client.send(request)
/// ```
public struct HTTPRequest: Sendable {
    public var method: String
    public var url: String
    /// Header name/value pairs, sent in order. Values may hold secrets (an API key): the client
    /// never logs or echoes them.
    public var headers: [(name: String, value: String)]
    public var body: Data?
    /// Total time allowed for this request, overriding the client's default.
    public var timeout: Duration?

    public init(method: String = "GET", url: String, headers: [(name: String, value: String)] = [],
                body: Data? = nil, timeout: Duration? = nil) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
    }
}

/// What came back: the status, the header fields of the final answer, and the whole body
/// (bodies are bounded by the client's limit).
public struct HTTPResponse: Sendable {
    public var status: Int
    public var body: Data
    public var headers: [(name: String, value: String)]

    public init(status: Int, body: Data, headers: [(name: String, value: String)] = []) {
        self.status = status
        self.body = body
        self.headers = headers
    }

    /// The first header field of that name, compared case-insensitively.
    public func header(_ name: String) -> String? {
        headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }
}

/// Why a request got no HTTP answer. Engines turn this into a `TTSError` that names their request.
public struct HTTPFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Reason: String, Sendable, Equatable {
        /// The connect or total timeout ran out.
        case timedOut
        /// Nothing accepted the connection (refused, unresolvable host, unreachable proxy).
        case couldNotConnect
        /// The TLS handshake or certificate check failed.
        case tls
        /// The body grew past the client's limit; the transfer was stopped.
        case bodyTooLarge
        /// The caller's task was cancelled; the transfer was stopped.
        case cancelled
        /// Any other transport failure (reset connection, malformed answer…).
        case transport
    }

    public var reason: Reason
    /// What happened, in words; never contains header values.
    public var detail: String

    public init(_ reason: Reason, _ detail: String) {
        self.reason = reason
        self.detail = detail
    }

    public var description: String { detail }
}

/// Sends HTTP requests. `CurlHTTPClient` is the real one; tests may substitute their own.
public protocol HTTPTransport: Sendable {
    /// Sends the request and returns the response, whatever its status. Throws `HTTPFailure`
    /// when no response arrived. Cancelling the calling task stops the transfer.
    func send(_ request: HTTPRequest) async throws -> HTTPResponse
    /// Sends the request and returns as soon as the answer's status is known; the body then
    /// arrives piece by piece, as the server sends it, never held whole. The body sequence
    /// throws `HTTPFailure` when the transfer breaks off. Ending its iteration, or cancelling the
    /// calling task while waiting for the status, stops the transfer.
    ///
    /// The default sends the request with `send` and delivers the whole body as one piece.
    func stream(_ request: HTTPRequest) async throws -> HTTPStreamingResponse
}

extension HTTPTransport {
    public func stream(_ request: HTTPRequest) async throws -> HTTPStreamingResponse {
        let response = try await send(request)
        return HTTPStreamingResponse(status: response.status, body: AsyncThrowingStream { continuation in
            continuation.yield(response.body)
            continuation.finish()
        })
    }
}

/// An answer whose body is still arriving (`HTTPTransport.stream`).
public struct HTTPStreamingResponse: Sendable {
    public var status: Int
    /// Body bytes in the order they arrived, in pieces of whatever size the network delivered.
    public var body: AsyncThrowingStream<Data, Error>

    public init(status: Int, body: AsyncThrowingStream<Data, Error>) {
        self.status = status
        self.body = body
    }
}

/// Limits and identity of an HTTP client, set once when it is built.
public struct HTTPClientConfiguration: Sendable {
    public var connectTimeout: Duration
    /// Default total time per request (connect, send, wait, receive).
    public var totalTimeout: Duration
    /// Bodies past this size are aborted. Gemini answers a 5-minute clip with ~18 MB of JSON.
    public var maxBodyBytes: Int
    public var userAgent: String
    /// Idle connections kept for reuse (one per pooled handle).
    public var maxIdleHandles: Int
    /// Transfers that run at once, each on its own thread; further ones wait for a free thread.
    /// An engine's own in-flight limit normally keeps below it.
    public var maxConcurrentTransfers: Int
    /// PEM file of the certificate authorities to trust instead of the system's (a test server's
    /// self-signed certificate).
    public var trustedCertificatesFile: String?

    public init(connectTimeout: Duration = .seconds(10), totalTimeout: Duration = .seconds(120),
                maxBodyBytes: Int = 64 << 20, userAgent: String = "tts-repl/0.1", maxIdleHandles: Int = 8,
                maxConcurrentTransfers: Int = 64) {
        self.connectTimeout = connectTimeout
        self.totalTimeout = totalTimeout
        self.maxBodyBytes = maxBodyBytes
        self.userAgent = userAgent
        self.maxIdleHandles = maxIdleHandles
        self.maxConcurrentTransfers = maxConcurrentTransfers
    }
}

extension Duration {
    /// Whole milliseconds, rounded up so a short timeout never becomes "no timeout" (0).
    var wholeMilliseconds: Int {
        let (seconds, attoseconds) = components
        let ms = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int(max(ms, 1))
    }
}
