import Foundation

/// One HTTP request as the server's faces see it: no C types, the whole body read (bodies are
/// bounded by the server's limit before a face sees them).
public struct ServerRequest: Sendable {
    /// `GET`, `HEAD`, `POST`, … as sent.
    public var method: String
    /// The path without the query string, percent-decoded (`/v1/audio/speech`).
    public var path: String
    /// Query parameters in order, percent-decoded.
    public var query: [(name: String, value: String)]
    /// Header fields as received. Values may hold secrets (tokens): never log them.
    public var headers: [(name: String, value: String)]
    public var body: Data
    /// The peer's address, for the access log (`127.0.0.1`).
    public var clientAddress: String

    public init(method: String, path: String, query: [(name: String, value: String)] = [],
                headers: [(name: String, value: String)] = [], body: Data = Data(), clientAddress: String = "") {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.clientAddress = clientAddress
    }

    /// The first header field of that name, compared case-insensitively as HTTP requires.
    public func header(_ name: String) -> String? {
        headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }

    /// The first query parameter of that name.
    public func queryValue(_ name: String) -> String? {
        query.first { $0.name == name }?.value
    }
}

/// One HTTP answer. A body is bytes in memory or a range of a file, which the server sends
/// without reading it into memory (blobs are immutable, so the file cannot change under it).
public struct ServerResponse: Sendable {
    public enum Body: Sendable, Equatable {
        case empty
        case bytes(Data)
        /// `length` bytes of the file at `path` from `offset`.
        case file(path: String, offset: Int, length: Int)
        /// Bytes sent as they are produced, with chunked transfer encoding; a thrown error cuts
        /// the transfer (the client sees no terminating chunk).
        case stream(AsyncThrowingStream<Data, Error>)

        /// Streams are never equal: each is read once.
        public static func == (lhs: Body, rhs: Body) -> Bool {
            switch (lhs, rhs) {
            case (.empty, .empty): true
            case (.bytes(let a), .bytes(let b)): a == b
            case (.file(let a, let b, let c), .file(let d, let e, let f)): a == d && b == e && c == f
            default: false
            }
        }
    }

    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: Body
    /// Which tier answered (`memory`, `local`, `redis`, `engine`), for the access log and the
    /// `X-TTS-Tier` header; nil for answers that involve no clip.
    public var tier: String?

    public init(status: Int, headers: [(name: String, value: String)] = [], body: Body = .empty, tier: String? = nil) {
        self.status = status
        self.headers = headers
        self.body = body
        self.tier = tier
    }

    /// A JSON answer (`application/json`).
    public static func json(_ status: Int, _ body: Data, headers: [(name: String, value: String)] = []) -> ServerResponse {
        ServerResponse(status: status, headers: [("Content-Type", "application/json")] + headers, body: .bytes(body))
    }

    /// The first header field of that name, compared case-insensitively.
    public func header(_ name: String) -> String? {
        headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }

    /// The number of body bytes this answer sends.
    public var bodyLength: Int {
        switch body {
        case .empty: 0
        case .bytes(let data): data.count
        case .file(_, _, let length): length
        case .stream: 0
        }
    }
}

/// Which API a route belongs to, so every answer — above all an error — comes in the shape
/// that API's clients parse: the native API's, OpenAI's or Gemini's.
public enum APIFamily: String, Sendable {
    case native, openAI, gemini
}
