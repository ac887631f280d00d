import Foundation

/// One RESP2 reply, copied out of hiredis so it outlives the C reply object.
///
/// An `.error` is a value, not a thrown error: Redis answered, the connection is fine, and the
/// caller decides what the error means for its command (`NOSCRIPT`, `WRONGTYPE`, …).
///
/// ```swift
/// switch try connection.command(["INCR", "n"]) {
/// case .integer(let n): print(n)
/// case .error(let message): print("Redis said:", message)
/// default: break
/// }
/// ```
public enum RedisReply: Sendable, Equatable {
    /// `+OK`, `+PONG`, `+QUEUED`.
    case status(String)
    /// `-ERR …`, `-WRONGPASS …`: the whole line after the dash.
    case error(String)
    case integer(Int)
    /// A bulk string: binary safe.
    case string(Data)
    case array([RedisReply])
    /// A nil bulk string or nil array (missing key, failed `SET NX`, aborted `EXEC`).
    case `nil`

    /// The bytes of a bulk string, or the text of a status as UTF-8.
    public var data: Data? {
        switch self {
        case let .string(data): return data
        case let .status(text): return Data(text.utf8)
        default: return nil
        }
    }

    /// A bulk string or status decoded as UTF-8.
    public var text: String? {
        data.map { String(decoding: $0, as: UTF8.self) }
    }

    public var integer: Int? {
        if case let .integer(value) = self { return value }
        return nil
    }

    public var elements: [RedisReply]? {
        if case let .array(elements) = self { return elements }
        return nil
    }

    public var errorMessage: String? {
        if case let .error(message) = self { return message }
        return nil
    }

    /// Whether this is the `+OK` status.
    public var isOK: Bool { self == .status("OK") }
}
