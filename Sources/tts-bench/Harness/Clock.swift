import Glibc

/// Monotonic time in nanoseconds: one vDSO call, cheap enough to wrap a 5 µs operation.
@inline(__always)
func monotonicNanos() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) &* 1_000_000_000 &+ UInt64(now.tv_nsec)
}

/// Microseconds between two `monotonicNanos()` readings.
@inline(__always)
func microseconds(from start: UInt64, to end: UInt64) -> Double {
    Double(end &- start) / 1000
}

/// Seconds taken by `body`.
func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = monotonicNanos()
    try body()
    return Double(monotonicNanos() &- start) / 1e9
}
