import Foundation
import TTSCore

/// How often and how patiently a failed engine call is tried again.
///
/// Backoff is exponential with full jitter (a random wait between 0 and
/// `min(maxBackoff, baseDelay · 2^(n-1))` before retry n), so many clients that failed together
/// do not retry together. A wait the service asks for (Gemini's `RetryInfo.retryDelay`) replaces
/// the backoff when it is at most `maxServerDelay`; a longer one fails fast with a quota error
/// that says how long the service asked to wait.
///
/// ```swift
/// var policy = RetryPolicy()          // 3 attempts, 1 s base, 30 s cap, 60 s longest asked wait
/// policy.attempts = 5
/// ```
public struct RetryPolicy: Sendable, Equatable {
    /// Calls per request in total, the first one included (1 = no retry).
    public var attempts: Int
    public var baseDelay: Duration
    public var maxBackoff: Duration
    /// The longest service-requested wait that is honoured; longer ones fail fast.
    public var maxServerDelay: Duration
    /// How long a key that hit its per-day quota is left aside before it is tried again.
    public var dailyQuotaBench: Duration

    public init(attempts: Int = 3, baseDelay: Duration = .milliseconds(1000), maxBackoff: Duration = .seconds(30),
                maxServerDelay: Duration = .seconds(60), dailyQuotaBench: Duration = .seconds(3600)) {
        self.attempts = max(1, attempts)
        self.baseDelay = baseDelay
        self.maxBackoff = maxBackoff
        self.maxServerDelay = maxServerDelay
        self.dailyQuotaBench = dailyQuotaBench
    }

    /// The largest wait full jitter may pick before retry `retry` (1 for the first retry), in seconds.
    public func backoffCeiling(beforeRetry retry: Int) -> Double {
        let exponent = Double(max(0, min(retry - 1, 60)))
        return min(maxBackoff.seconds, baseDelay.seconds * pow(2, exponent))
    }

    /// A random wait in `0...backoffCeiling(beforeRetry:)`, in seconds.
    public func backoffDelay(beforeRetry retry: Int) -> Double {
        Double.random(in: 0...backoffCeiling(beforeRetry: retry))
    }
}
