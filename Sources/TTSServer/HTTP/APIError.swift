import Foundation
import TTSCore

/// An error answer in the shape of the API that was called:
///
/// - native: `{"error":{"kind","message","field"?}}`, as `tts-repl --json` prints errors;
/// - OpenAI: `{"error":{"message","type","param","code"}}` (what the `openai` SDK parses);
/// - Gemini: `{"error":{"code","message","status"}}` (what `google-genai` parses).
///
/// Messages are the service's own (`TTSError.message`), which never contain a key or token.
public struct APIError: Error, Sendable, Equatable {
    public var status: Int
    public var message: String
    /// The request field at fault (`voice`, `input`, `text`), when there is one.
    public var field: String?
    /// The error's category in the native shape (`validation`, `auth`, …).
    public var kind: String
    /// Seconds a client should wait before trying again (`Retry-After`), for 429 and 503.
    public var retryAfter: Int?

    public init(status: Int, _ message: String, field: String? = nil, kind: String? = nil, retryAfter: Int? = nil) {
        self.status = status
        self.message = message
        self.field = field
        self.kind = kind ?? APIError.kind(forStatus: status)
        self.retryAfter = retryAfter
    }

    /// The HTTP answer for a service error: bad input is the client's (400); an engine's own
    /// auth, quota or outage is the server's upstream problem (502/429/503), never a 401 that
    /// would make a client think its own token was wrong.
    public init(_ error: TTSError) {
        let status: Int
        switch error.kind {
        case .validation, .content: status = 400
        case .auth: status = 502
        case .quota: status = 429
        case .api: status = 502
        case .store, .config, .internal: status = 500
        case .cancelled: status = 503
        }
        self.init(status: status, error.message, field: error.field, kind: error.kind.rawValue,
                  retryAfter: error.retryAfter.map { max(1, Int($0.rounded(.up))) })
    }

    private static func kind(forStatus status: Int) -> String {
        switch status {
        case 401, 403: "auth"
        case 429: "quota"
        case 400..<500: "validation"
        default: "internal"
        }
    }

    /// The answer in `family`'s shape, with `Retry-After` when set.
    public func response(_ family: APIFamily) -> ServerResponse {
        let object: JSONValue
        switch family {
        case .native:
            var fields: [(String, JSONValue)] = [("kind", .string(kind)), ("message", .string(message))]
            if let field { fields.append(("field", .string(field))) }
            object = .object([("error", .object(fields))])
        case .openAI:
            object = .object([("error", .object([
                ("message", .string(message)), ("type", .string(openAIType)),
                ("param", field.map { .string($0) } ?? .null), ("code", openAICode.map { .string($0) } ?? .null),
            ]))])
        case .gemini:
            object = .object([("error", .object([
                ("code", .int(status)), ("message", .string(message)), ("status", .string(googleStatus)),
            ]))])
        }
        var headers: [(name: String, value: String)] = []
        if let retryAfter { headers.append(("Retry-After", String(retryAfter))) }
        if status == 401 && family != .gemini { headers.append(("WWW-Authenticate", "Bearer")) }
        return .json(status, Data(object.serialized().utf8), headers: headers)
    }

    /// OpenAI's `type` field: what its SDK maps to an exception class.
    var openAIType: String {
        switch status {
        case 401: "authentication_error"
        case 403: "permission_error"
        case 404: "not_found_error"
        case 429: "rate_limit_error"
        case 400..<500: "invalid_request_error"
        default: "server_error"
        }
    }

    var openAICode: String? {
        switch status {
        case 401: "invalid_api_key"
        case 429: "rate_limit_exceeded"
        default: nil
        }
    }

    /// Google's canonical status names (google.rpc.Code) for the HTTP status.
    var googleStatus: String {
        switch status {
        case 400, 413: "INVALID_ARGUMENT"
        case 401: "UNAUTHENTICATED"
        case 403: "PERMISSION_DENIED"
        case 404: "NOT_FOUND"
        case 405: "UNIMPLEMENTED"
        case 409: "ABORTED"
        case 429: "RESOURCE_EXHAUSTED"
        case 499: "CANCELLED"
        case 501: "UNIMPLEMENTED"
        case 503, 502: "UNAVAILABLE"
        case 504: "DEADLINE_EXCEEDED"
        default: "INTERNAL"
        }
    }
}
