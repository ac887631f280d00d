import Foundation

/// A failure fake-gemini serves instead of audio, for the next `count` generate requests.
///
/// From a flag: `STATUS_OR_SHAPE[:COUNT[:RETRYDELAY]]` — `500:2`, `hang`, `429:1:45.5s`,
/// `per-day-429:*` (`*` means every request). From `POST /__control/fault`: a JSON object
/// `{"status":500,"count":2}` or `{"shape":"hang"}`, optionally with `"retryDelay":"45.5s"`,
/// `"afterChunks":3` (mid-stream shapes; the flag form is `stream-cut@3`),
/// `"googleStatus":"FAILED_PRECONDITION"` and `"message":"…"`. The count defaults to 1.
public struct FaultSpec: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// An error answer in Google's body shape with this HTTP status.
        case status(Int)
        /// One of the named answer shapes (see `FaultSpec.shapes`).
        case shape(String)
    }

    /// The named shapes: 200 answers Google sends without usable audio, and transport trouble.
    public static let shapes: Set<String> = [
        "empty-other", "text-instead-of-audio", "blocked", "per-day-429", "truncated",
        "bad-base64", "huge", "hang", "stream-error", "stream-cut", "stream-other",
    ]

    /// The shapes that happen inside a stream, after `afterChunks` audio events: an error event,
    /// a connection cut without the closing chunk, `finishReason: OTHER`. Only streamed
    /// requests take them.
    public static let midStreamShapes: Set<String> = ["stream-error", "stream-cut", "stream-other"]

    public var isMidStream: Bool {
        if case let .shape(name) = kind { return Self.midStreamShapes.contains(name) }
        return false
    }

    public var kind: Kind
    /// How many requests get this fault; nil means all of them.
    public var count: Int?
    /// The RetryInfo delay sent with a 429, as Google spells it ("45.5s").
    public var retryDelay: String?
    /// Google's status word, when the default for the HTTP status is not wanted.
    public var googleStatus: String?
    public var message: String?
    /// For mid-stream shapes: audio events sent before the fault.
    public var afterChunks: Int = 1

    public init(_ kind: Kind, count: Int? = 1, retryDelay: String? = nil, googleStatus: String? = nil, message: String? = nil,
                afterChunks: Int = 1) {
        self.afterChunks = max(0, afterChunks)
        self.kind = kind
        self.count = count
        self.retryDelay = retryDelay
        self.googleStatus = googleStatus
        self.message = message
    }

    /// Parses the command-line form.
    public init(flag: String) throws {
        let pieces = flag.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        // `stream-cut@3`: a mid-stream shape after 3 audio events.
        let named = pieces[0].split(separator: "@", maxSplits: 1).map(String.init)
        kind = try Self.kind(named[0])
        if named.count == 2 {
            guard let n = Int(named[1]), n >= 0 else { throw ServerError("fault '\(flag)': the number after @ must be a whole number of chunks") }
            afterChunks = n
        }
        count = 1
        if pieces.count > 1 {
            if pieces[1] == "*" { count = nil }
            else if let n = Int(pieces[1]), n > 0 { count = n }
            else { throw ServerError("fault '\(flag)': the count must be a positive number or *") }
        }
        if pieces.count > 2 { retryDelay = pieces[2] }
        if pieces.count > 3 { throw ServerError("fault '\(flag)': expected STATUS_OR_SHAPE[:COUNT[:RETRYDELAY]]") }
    }

    /// Parses the control-request form.
    public init(json: Data) throws {
        guard let object = try? JSONSerialization.jsonObject(with: json) as? [String: Any] else {
            throw ServerError("the fault must be a JSON object such as {\"status\":500,\"count\":2}")
        }
        if let status = object["status"] as? Int {
            kind = .status(status)
        } else if let shape = object["shape"] as? String {
            kind = try Self.kind(shape)
        } else {
            throw ServerError("the fault needs \"status\" (a number) or \"shape\" (one of \(Self.shapes.sorted().joined(separator: ", ")))")
        }
        let n = object["count"] as? Int ?? 1
        count = n < 0 ? nil : n
        retryDelay = object["retryDelay"] as? String
        googleStatus = object["googleStatus"] as? String
        message = object["message"] as? String
        afterChunks = max(0, object["afterChunks"] as? Int ?? 1)
    }

    private static func kind(_ word: String) throws -> Kind {
        if let status = Int(word), (100...599).contains(status) { return .status(status) }
        guard shapes.contains(word) else {
            throw ServerError("unknown fault '\(word)': use an HTTP status or one of \(shapes.sorted().joined(separator: ", "))")
        }
        return .shape(word)
    }
}
