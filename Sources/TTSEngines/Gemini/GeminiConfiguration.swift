import Foundation

/// Everything the Gemini engine needs, as a value: built and validated once at the edge (from
/// flags, environment or `.env`) and passed in. The engine never reads the environment.
///
/// ```swift
/// var configuration = GeminiConfiguration(apiKeys: [key])
/// configuration.rpm = 10                      // tier-1 budget
/// let engine = GeminiEngine(configuration: configuration)
/// ```
///
/// Its `description` shows keys redacted, so printing a configuration never leaks one.
public struct GeminiConfiguration: Sendable, CustomStringConvertible {
    public static let defaultBaseURL = "https://generativelanguage.googleapis.com"
    public static let defaultModel = "gemini-3.8-flash-lite-tts"

    /// Scheme, host and optional port, without a trailing slash (`http://127.0.0.1:8080` for fake-gemini).
    public var baseURL: String
    /// Tried in order; a key Google rejects or whose daily quota is spent is set aside.
    public var apiKeys: [String]
    /// The model used when a request names none.
    public var model: String
    /// Total time for one HTTP call.
    public var requestTimeout: Duration
    public var connectTimeout: Duration
    public var retry: RetryPolicy
    /// Requests per minute across all calls through one engine; nil means no budget.
    public var rpm: Int?
    /// Calls in flight at once through one engine (every copy of it): a ceiling for the whole
    /// process, so every generation in it together stays under it. A prewarm window
    /// wider than this still sends only this many calls at a time. Also the number of threads
    /// and kept-alive connections of the engine's HTTP client.
    public var concurrency: Int
    /// Told about every retry (for the `retries` metric); the engine itself keeps no count.
    public var onRetry: @Sendable () -> Void = {}

    public init(baseURL: String = GeminiConfiguration.defaultBaseURL, apiKeys: [String],
                model: String = GeminiConfiguration.defaultModel, requestTimeout: Duration = .seconds(120),
                connectTimeout: Duration = .seconds(10), retry: RetryPolicy = RetryPolicy(),
                rpm: Int? = nil, concurrency: Int = 4) {
        self.baseURL = baseURL
        self.apiKeys = apiKeys
        self.model = model
        self.requestTimeout = requestTimeout
        self.connectTimeout = connectTimeout
        self.retry = retry
        self.rpm = rpm
        self.concurrency = concurrency
    }

    public var description: String {
        "GeminiConfiguration(baseURL: \(baseURL), apiKeys: [\(apiKeys.map(redactedKey).joined(separator: ", "))], "
            + "model: \(model), requestTimeout: \(requestTimeout), retry: \(retry.attempts) attempts, "
            + "rpm: \(rpm.map(String.init) ?? "unlimited"), concurrency: \(concurrency))"
    }
}
