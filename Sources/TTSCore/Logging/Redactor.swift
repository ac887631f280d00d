import Synchronization

/// Removes every configured secret (API keys, the Redis password, serve tokens) from text that
/// leaves the process: printed errors and notices, JSON output, log lines. A service may echo
/// a key back in its error text, and that text travels verbatim into messages; redacting at
/// the few places text leaves is the one check that cannot be forgotten by a new message.
///
/// One instance for the process, `Redactor.process`, configured once at start (and again
/// when `config reload` brings new secrets); `Logger` and the command-line output use it.
///
/// ```swift
/// Redactor.process.configure(secrets: configuration.secrets)
/// Redactor.process.redact("API key AIza…wxyz is invalid")   // "API key [redacted] is invalid"
/// ```
public final class Redactor: Sendable {
    public static let process = Redactor()

    /// What replaces a secret.
    public static let mark = "[redacted]"

    /// Secrets shorter than this are not searched for: replacing every "abc" in every
    /// message would garble output, and such a secret protects nothing anyway.
    public static let minimumLength = 6

    /// The secrets, longest first so one that contains another is replaced whole.
    private let secrets = Mutex<[String]>([])

    public init(secrets: [String] = []) {
        configure(secrets: secrets)
    }

    /// Replaces the set of secrets (empty strings and short ones are ignored).
    public func configure(secrets list: [String]) {
        secrets.withLock { $0 = Self.searchable(list) }
    }

    /// Adds secrets to the set: after `config reload` the old ones may still be quoted by
    /// work in flight, so they stay.
    public func add(secrets list: [String]) {
        secrets.withLock { $0 = Self.searchable($0 + list) }
    }

    /// Each secret as written and as it appears inside a JSON string (a password may hold a
    /// quote or a backslash), longest first.
    private static func searchable(_ list: [String]) -> [String] {
        var forms = Set<String>()
        for secret in list where secret.utf8.count >= minimumLength {
            forms.insert(secret)
            forms.insert(String(JSONValue.string(secret).serialized().dropFirst().dropLast()))
        }
        return forms.sorted { $0.utf8.count > $1.utf8.count }
    }

    /// `text` with every secret replaced by `[redacted]`.
    public func redact(_ text: String) -> String {
        let list = secrets.withLock { $0 }
        guard !list.isEmpty else { return text }
        var out = text
        for secret in list where out.contains(secret) {
            out = out.replacing(secret, with: Self.mark)
        }
        return out
    }

    /// The same for UTF-8 bytes on their way to a descriptor; untouched when nothing is secret.
    public func redact(utf8 bytes: [UInt8]) -> [UInt8] {
        guard !secrets.withLock({ $0.isEmpty }) else { return bytes }
        return Array(redact(String(decoding: bytes, as: UTF8.self)).utf8)
    }
}
