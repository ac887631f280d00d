/// Order statistics of repeated measurements: the median for figures measured a few times
/// (a throughput per run), p50 and p99 for latencies measured thousands of times.
///
/// Percentiles interpolate linearly between the two nearest ranks (numpy's default), so the
/// median of an even count is the mean of the middle two and p99 of a small sample lies between
/// its two largest values rather than jumping to the maximum.
///
/// ```swift
/// let stats = try Stats([4.1, 3.9, 4.0, 12.5])
/// stats.median        // 4.05
/// stats.p99           // 12.245
/// ```
public struct Stats: Sendable, Equatable {
    /// The samples in ascending order.
    public let sorted: [Double]

    /// A sample with no values, or with a NaN, has no statistics: that is a harness bug, never
    /// a figure to print.
    public struct EmptySample: Error, CustomStringConvertible {
        public var description: String { "no measurements (or a NaN among them): the scenario measured nothing" }
    }

    public init(_ samples: [Double]) throws {
        guard !samples.isEmpty, !samples.contains(where: \.isNaN) else { throw EmptySample() }
        sorted = samples.sorted()
    }

    public var count: Int { sorted.count }
    public var min: Double { sorted[0] }
    public var max: Double { sorted[sorted.count - 1] }
    public var mean: Double { sorted.reduce(0, +) / Double(sorted.count) }

    /// The value below which `percent` % of the samples lie (0…100, clamped).
    public func percentile(_ percent: Double) -> Double {
        let p = Swift.min(Swift.max(percent, 0), 100) / 100
        let position = p * Double(sorted.count - 1)
        let lower = Int(position.rounded(.down))
        let upper = Swift.min(lower + 1, sorted.count - 1)
        let fraction = position - Double(lower)
        return sorted[lower] + (sorted[upper] - sorted[lower]) * fraction
    }

    public var median: Double { percentile(50) }
    public var p50: Double { percentile(50) }
    public var p99: Double { percentile(99) }
}
