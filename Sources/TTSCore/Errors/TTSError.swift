import Foundation

/// The one error family of tts-repl.
///
/// A caller switches on `kind` to decide what to do (retry, fix the input, fix the key, check
/// the disk); a person reads `message`, which says what happened, to which request, and what to
/// do next. No message ever contains an API key.
public struct TTSError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What class of failure this is, so a caller can act on it.
    public enum Kind: String, Sendable, Equatable, CaseIterable {
        /// Bad input: never sent to an engine. Fix the request.
        case validation
        /// Transient engine or network failure (5xx, timeout, reset): retried.
        case api
        /// Rate or quota limit (429): retried within bounds, then reported with the asked delay.
        case quota
        /// Missing or invalid credentials: never retried.
        case auth
        /// The engine refused the content or answered without audio.
        case content
        /// Local disk, SQLite or Redis failure.
        case store
        /// Configuration (flags, environment, `.env`) that cannot be used.
        case config
        /// The operation was cancelled (Ctrl-C).
        case cancelled
        /// Something that should not happen; a bug to report.
        case `internal`
    }

    public var kind: Kind
    public var message: String
    /// For validation errors: the request field at fault (`text`, `voice`, `language`, …).
    public var field: String?
    /// For quota errors: how long the service asked to wait, in seconds.
    public var retryAfter: Double?
    /// HTTP status, where an engine answered with one.
    public var httpStatus: Int?

    public init(_ kind: Kind, _ message: String, field: String? = nil,
                retryAfter: Double? = nil, httpStatus: Int? = nil) {
        self.kind = kind
        self.message = message
        self.field = field
        self.retryAfter = retryAfter
        self.httpStatus = httpStatus
    }

    public var description: String { "\(kind.rawValue) error: \(message)" }

    /// Whether a retry of the same request may succeed.
    public var isTransient: Bool { kind == .api || kind == .quota }

    public static func validation(_ field: String, _ message: String) -> TTSError {
        TTSError(.validation, message, field: field)
    }
    public static func store(_ message: String) -> TTSError { TTSError(.store, message) }
    public static func config(_ message: String) -> TTSError { TTSError(.config, message) }

    /// The text a person reads for any error: a `TTSError`'s message, else the error's description.
    public static func message(of error: any Error) -> String {
        if let error = error as? TTSError { return error.message }
        // Foundation's file errors print as "NSCocoaErrorDomain error 512": say the reason.
        let domain = (error as NSError).domain
        if domain == NSCocoaErrorDomain || domain == NSPOSIXErrorDomain { return FileSystemReason.describe(error) }
        return "\(error)"
    }
}
