import Dispatch

/// A `Duration` as a floating-point count, for logs, reports and metrics: one conversion for the
/// whole program instead of each file splitting `components` by hand.
extension Duration {
    /// Seconds as a floating-point number.
    public var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    /// Milliseconds as a floating-point number.
    public var milliseconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) * 1000 + Double(attoseconds) / 1e15
    }
}

extension Duration {
    /// The same span for Dispatch's timers (`asyncAfter`), to the nanosecond.
    public var dispatchInterval: DispatchTimeInterval {
        .nanoseconds(Int(milliseconds * 1_000_000))
    }
}
