import Foundation
import TTSCore

/// Shows an API key as its last four characters (`…x7Qa`), so a person can tell keys apart
/// while no message, log or history line ever holds a usable key. Keys shorter than 12
/// characters show nothing at all.
public func redactedKey(_ key: String) -> String {
    Configuration.redact(key)
}

/// The configured API keys and which of them are set aside. A key that Google calls invalid is
/// benched for good; one that hit its per-day quota is benched for a while (the quota clears at
/// midnight Pacific time). Requests use the first key that is not benched.
actor APIKeyRing {
    enum BenchReason: Sendable { case invalid, dailyQuota }

    private let keys: [String]
    private let clock: any EngineClock
    private var benched: [Int: (reason: BenchReason, until: Double)] = [:]

    init(keys: [String], clock: any EngineClock) {
        self.keys = keys
        self.clock = clock
    }

    var isEmpty: Bool { keys.isEmpty }

    /// The first key that is not benched, with its position.
    func usableKey() -> (index: Int, key: String)? {
        let now = clock.now()
        for (index, key) in keys.enumerated() {
            if let bench = benched[index], bench.until > now { continue }
            benched[index] = nil
            return (index, key)
        }
        return nil
    }

    func bench(_ index: Int, _ reason: BenchReason, for duration: Duration) {
        let until = reason == .invalid ? Double.infinity : clock.now() + duration.seconds
        benched[index] = (reason, until)
    }

    /// Why no key is usable, in words (redacted keys only), and whether any was only out of quota.
    func exhaustion() -> (summary: String, quotaOnly: Bool) {
        let invalid = benched.filter { $0.value.reason == .invalid }.keys.sorted().map { redactedKey(keys[$0]) }
        let daily = benched.filter { $0.value.reason == .dailyQuota }.keys.sorted().map { redactedKey(keys[$0]) }
        var parts: [String] = []
        if !invalid.isEmpty { parts.append("invalid: \(invalid.joined(separator: ", "))") }
        if !daily.isEmpty { parts.append("out of daily quota: \(daily.joined(separator: ", "))") }
        let count = keys.count == 1 ? "the one API key is" : "all \(keys.count) API keys are"
        return ("\(count) unusable (\(parts.joined(separator: "; ")))", invalid.isEmpty)
    }
}
