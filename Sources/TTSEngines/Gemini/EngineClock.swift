import Foundation
import TTSCore

/// Time as the retry and pacing logic sees it, injected so tests can check waits without
/// waiting: a test clock records each sleep and moves its own time forward instead.
public protocol EngineClock: Sendable {
    /// Seconds since an arbitrary fixed point; never goes backwards.
    func now() -> Double
    /// Waits `seconds`; throws `CancellationError` when the calling task is cancelled.
    func sleep(seconds: Double) async throws
}

/// The real clock: monotonic time and `Task.sleep`.
public struct SystemEngineClock: EngineClock {
    private let origin = ContinuousClock.now

    public init() {}

    public func now() -> Double { (ContinuousClock.now - origin).seconds }

    public func sleep(seconds: Double) async throws {
        guard seconds > 0 else { return try Task.checkCancellation() }
        try await Task.sleep(for: .seconds(seconds))
    }
}
