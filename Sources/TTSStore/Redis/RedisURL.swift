import Foundation
import TTSCore

/// Where a Redis server is and how to log in to it, parsed once from `REDIS_URL`.
///
/// Accepted forms (the ones redis-cli and most clients accept):
///
/// ```
/// redis://127.0.0.1                      port 6379, database 0
/// redis://cache.lan:6380/3               database 3
/// redis://:s3cret@127.0.0.1              password only (AUTH password)
/// redis://s3cret@127.0.0.1               password only, redis-cli style
/// redis://alice:s3cret@127.0.0.1         ACL user and password (AUTH alice password)
/// redis://[::1]:6379                     IPv6 literal
/// unix:///run/redis.sock?db=2&password=s3cret
/// ```
///
/// User and password may be percent-encoded. `description` never shows the password, so a
/// `RedisURL` may be printed in any message or log line.
///
/// ```swift
/// let url = try RedisURL(parsing: "redis://:pw@127.0.0.1:6380/1")
/// print(url)   // redis://:***@127.0.0.1:6380/1
/// ```
public struct RedisURL: Sendable, Equatable, CustomStringConvertible {
    /// How to reach the server.
    public enum Endpoint: Sendable, Equatable {
        case tcp(host: String, port: Int)
        case unix(path: String)
    }

    public var endpoint: Endpoint
    /// ACL user name (Redis 6+); `nil` logs in as the default user.
    public var username: String?
    /// Sent with AUTH on connect; never shown.
    public var password: String?
    /// Selected with SELECT on connect when not 0.
    public var database: Int

    public static let defaultPort = 6379

    public init(endpoint: Endpoint, username: String? = nil, password: String? = nil, database: Int = 0) {
        self.endpoint = endpoint
        self.username = username
        self.password = password
        self.database = database
    }

    /// Parses a `redis://` or `unix://` URL; throws a `.config` error that shows the
    /// (redacted) input and says which part is wrong.
    public init(parsing text: String) throws {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard let schemeEnd = trimmed.range(of: "://") else {
            throw RedisURL.malformed(trimmed, "it has no scheme; write redis://host[:port][/db] or unix:///path/to/socket")
        }
        let scheme = trimmed[..<schemeEnd.lowerBound].lowercased()
        let rest = String(trimmed[schemeEnd.upperBound...])
        switch scheme {
        case "redis":
            self = try RedisURL.parseTCP(rest, original: trimmed)
        case "unix":
            self = try RedisURL.parseUnix(rest, original: trimmed)
        case "rediss":
            throw RedisURL.malformed(trimmed, "TLS (rediss://) is not supported by this build's hiredis; use redis:// through a TLS tunnel")
        default:
            throw RedisURL.malformed(trimmed, "the scheme '\(scheme)' is not redis:// or unix://")
        }
    }

    /// The URL with the password replaced by `***`.
    public var description: String {
        switch endpoint {
        case let .tcp(host, port):
            var userInfo = ""
            if username != nil || password != nil {
                userInfo = (username.map(RedisURL.percentEncode) ?? "") + (password == nil ? "" : ":***") + "@"
            }
            let shownHost = host.contains(":") ? "[\(host)]" : host
            return "redis://\(userInfo)\(shownHost):\(port)/\(database)"
        case let .unix(path):
            var query: [String] = []
            if database != 0 { query.append("db=\(database)") }
            if let username { query.append("user=\(RedisURL.percentEncode(username))") }
            if password != nil { query.append("password=***") }
            return "unix://\(path)" + (query.isEmpty ? "" : "?" + query.joined(separator: "&"))
        }
    }

    // MARK: - Parsing

    private static func parseTCP(_ rest: String, original: String) throws -> RedisURL {
        var remainder = Substring(rest)
        if remainder.contains("?") {
            throw malformed(original, "query parameters are only read for unix:// URLs; put the database in the path (redis://host:port/3)")
        }
        if remainder.contains("#") {
            throw malformed(original, "it has a fragment (#…); remove it")
        }
        // Authority ends at the first "/" after the user info. The password may itself contain
        // "/" or "@" only percent-encoded, so the last "@" before the path separates user info.
        var username: String?
        var password: String?
        if let at = remainder.lastIndex(of: "@") {
            let userInfo = remainder[..<at]
            remainder = remainder[remainder.index(after: at)...]
            if let colon = userInfo.firstIndex(of: ":") {
                let user = try decode(userInfo[..<colon], original: original, part: "user name")
                username = user.isEmpty ? nil : user
                password = try decode(userInfo[userInfo.index(after: colon)...], original: original, part: "password")
            } else {
                // redis-cli reads a lone user-info component as the password.
                password = try decode(userInfo, original: original, part: "password")
            }
            if password == "" { password = nil }
        }
        let authority: Substring
        let path: Substring
        if let slash = remainder.firstIndex(of: "/") {
            authority = remainder[..<slash]
            path = remainder[remainder.index(after: slash)...]
        } else {
            authority = remainder
            path = ""
        }

        var host: Substring
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else {
                throw malformed(original, "the IPv6 address has no closing ']'")
            }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw malformed(original, "unexpected text after the IPv6 address") }
                portText = after.dropFirst()
            }
        } else if let colon = authority.firstIndex(of: ":") {
            host = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        } else {
            host = authority
        }
        guard !host.isEmpty else { throw malformed(original, "the host is empty; write redis://127.0.0.1:6379") }
        var port = defaultPort
        if let portText {
            guard let value = Int(portText), (1...65535).contains(value) else {
                throw malformed(original, "the port '\(portText)' is not a number from 1 to 65535")
            }
            port = value
        }
        var database = 0
        if !path.isEmpty {
            database = try parseDatabase(path, original: original)
        }
        return RedisURL(endpoint: .tcp(host: String(host), port: port), username: username,
                        password: password, database: database)
    }

    private static func parseUnix(_ rest: String, original: String) throws -> RedisURL {
        let pathPart: Substring
        var query: Substring = ""
        if let q = rest.firstIndex(of: "?") {
            pathPart = rest[..<q]
            query = rest[rest.index(after: q)...]
        } else {
            pathPart = Substring(rest)
        }
        guard pathPart.hasPrefix("/"), pathPart.count > 1 else {
            throw malformed(original, "the socket path must be absolute: unix:///path/to/redis.sock")
        }
        let path = try decode(pathPart, original: original, part: "socket path")
        var url = RedisURL(endpoint: .unix(path: path))
        for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = parts[0]
            let value = parts.count > 1 ? parts[1] : ""
            switch name {
            case "db":
                url.database = try parseDatabase(value, original: original)
            case "password":
                let decoded = try decode(value, original: original, part: "password")
                url.password = decoded.isEmpty ? nil : decoded
            case "user":
                let decoded = try decode(value, original: original, part: "user name")
                url.username = decoded.isEmpty ? nil : decoded
            default:
                throw malformed(original, "the query parameter '\(name)' is unknown; accepted: db, password, user")
            }
        }
        return url
    }

    private static func parseDatabase(_ text: Substring, original: String) throws -> Int {
        guard let value = Int(text), value >= 0 else {
            throw malformed(original, "the database '\(text)' is not a number 0 or more (redis://host:port/3)")
        }
        return value
    }

    private static func decode(_ text: Substring, original: String, part: String) throws -> String {
        guard let decoded = String(text).removingPercentEncoding else {
            throw malformed(original, "the \(part) has a bad percent-escape")
        }
        return decoded
    }

    private static func percentEncode(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }

    /// A `.config` error that quotes the URL without its password: the message must be safe
    /// to print even when the URL is malformed, so the user-info part is masked textually.
    static func malformed(_ original: String, _ reason: String) -> TTSError {
        TTSError.config("REDIS_URL '\(redactUserInfo(original))' cannot be used: \(reason).")
    }

    /// Masks everything between "://" and the last "@" (and any `password=` value), without
    /// relying on the URL being well formed.
    static func redactUserInfo(_ text: String) -> String {
        var result = text
        if let schemeEnd = result.range(of: "://"), let at = result.range(of: "@", options: .backwards),
           at.lowerBound > schemeEnd.upperBound {
            result.replaceSubrange(schemeEnd.upperBound..<at.lowerBound, with: "***")
        }
        if let p = result.range(of: "password=") {
            let end = result[p.upperBound...].firstIndex(of: "&") ?? result.endIndex
            result.replaceSubrange(p.upperBound..<end, with: "***")
        }
        return result
    }
}
