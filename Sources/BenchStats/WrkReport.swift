/// What `wrk --latency` printed: requests per second, the latency percentiles it reports, and
/// the errors it counted. The HTTP rows of `make bench` come from these figures.
///
/// ```swift
/// let report = try WrkReport(parsing: output)
/// report.requestsPerSecond   // 9123.45
/// report.latencyMs[99]       // 5.67
/// ```
public struct WrkReport: Sendable, Equatable {
    public var requestsPerSecond: Double
    /// Percentile (50, 75, 90, 99) → latency in milliseconds, from "Latency Distribution".
    public var latencyMs: [Int: Double]
    /// Answers other than 2xx/3xx ("Non-2xx or 3xx responses: N").
    public var non2xx: Int
    /// Connect, read, write and timeout errors ("Socket errors: …").
    public var socketErrors: Int

    public struct Unreadable: Error, CustomStringConvertible {
        public var description: String
    }

    public init(parsing output: String) throws {
        var rate: Double?
        var latency: [Int: Double] = [:]
        var non2xx = 0
        var socketErrors = 0
        var inDistribution = false
        for rawLine in output.split(separator: "\n") {
            let line = rawLine.trimmingCharacters(in: " \t")
            let words = line.split(separator: " ").map(String.init)
            if line.hasPrefix("Requests/sec:"), words.count >= 2 {
                rate = Double(words[1])
            } else if line.hasPrefix("Latency Distribution") {
                inDistribution = true
            } else if inDistribution, words.count == 2, words[0].hasSuffix("%"),
                      let percent = Double(words[0].dropLast()), let ms = WrkReport.milliseconds(words[1]) {
                latency[Int(percent)] = ms
            } else if line.hasPrefix("Non-2xx or 3xx responses:"), let count = words.last.flatMap({ Int($0) }) {
                non2xx = count
            } else if line.hasPrefix("Socket errors:") {
                // "Socket errors: connect 0, read 0, write 0, timeout 0"
                socketErrors = words.compactMap { Int($0.trimmingCharacters(in: ",")) }.reduce(0, +)
            } else if !words.isEmpty && !words[0].hasSuffix("%") {
                inDistribution = false
            }
        }
        guard let rate else {
            throw Unreadable(description: "wrk printed no Requests/sec line: \(output.suffix(300))")
        }
        requestsPerSecond = rate
        latencyMs = latency
        self.non2xx = non2xx
        self.socketErrors = socketErrors
    }

    /// wrk's durations: `812.00us`, `1.23ms`, `2.01s`, `1.00m`.
    static func milliseconds(_ text: String) -> Double? {
        for (suffix, factor) in [("us", 0.001), ("ms", 1.0), ("s", 1000.0), ("m", 60_000.0)] where text.hasSuffix(suffix) {
            return Double(text.dropLast(suffix.count)).map { $0 * factor }
        }
        return nil
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: String) -> String {
        var slice = Substring(self)
        while let first = slice.first, set.contains(first) { slice = slice.dropFirst() }
        while let last = slice.last, set.contains(last) { slice = slice.dropLast() }
        return String(slice)
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in set: String) -> String { String(self).trimmingCharacters(in: set) }
}
