import Synchronization

/// A process's counters and latency histograms, printed in the Prometheus text exposition
/// format by `metrics` and served by `serve-metrics`.
///
/// Metrics are registered once (that allocates); recording an event afterwards touches one
/// atomic (counters) or takes one uncontended lock (histograms) and never allocates, so the
/// local-hit path can count every request and stay in the microseconds.
///
/// ```swift
/// let metrics = Metrics()
/// let hits = metrics.counter("tts_lookups_total", help: "Look-ups by the tier that answered",
///                            labels: [("tier", "local")])
/// let latency = metrics.histogram("tts_request_seconds", help: "Request latency",
///                                 buckets: Histogram.latencyBuckets)
/// hits.increment()
/// latency.observe(0.000_012)
/// print(metrics.exposition())
/// ```
public final class Metrics: Sendable {
    /// Guards the registry (names, families, order of registration); never taken on the hot path.
    private let registry = Mutex(Registry())

    private struct Registry {
        var families: [Family] = []
    }

    /// One metric name: its help text, type and every labelled series.
    struct Family {
        let name: String
        let help: String
        let kind: Kind
        var counters: [Counter] = []
        var histograms: [Histogram] = []
        /// Counters kept by someone else, read when printed.
        var readings: [(labels: String, value: @Sendable () -> Int)] = []
    }

    enum Kind: String { case counter, histogram, gauge }

    public init() {}

    /// The counter with this name and labels, created on first use. Asking again returns the
    /// same counter, so callers may keep it or look it up.
    public func counter(_ name: String, help: String, labels: [(String, String)] = []) -> Counter {
        registry.withLock { registry in
            let index = Metrics.familyIndex(&registry, name: name, help: help, kind: .counter)
            let rendered = Metrics.renderLabels(labels)
            if let existing = registry.families[index].counters.first(where: { $0.labels == rendered }) { return existing }
            let counter = Counter(labels: rendered)
            registry.families[index].counters.append(counter)
            return counter
        }
    }

    /// A counter whose value another object keeps (e.g. SQLite's count of an index's commits),
    /// read each time the metrics are printed. `value` must be cheap and must not block.
    public func counter(_ name: String, help: String, labels: [(String, String)] = [],
                        reading value: @escaping @Sendable () -> Int) {
        registry.withLock { registry in
            let index = Metrics.familyIndex(&registry, name: name, help: help, kind: .counter)
            registry.families[index].readings.append((Metrics.renderLabels(labels), value))
        }
    }

    /// The histogram with this name and labels, created on first use with `buckets` (upper
    /// bounds, ascending; `+Inf` is implicit).
    public func histogram(_ name: String, help: String, labels: [(String, String)] = [],
                          buckets: [Double] = Histogram.latencyBuckets) -> Histogram {
        registry.withLock { registry in
            let index = Metrics.familyIndex(&registry, name: name, help: help, kind: .histogram)
            let rendered = Metrics.renderLabels(labels)
            if let existing = registry.families[index].histograms.first(where: { $0.labels == rendered }) { return existing }
            let histogram = Histogram(labels: rendered, buckets: buckets.sorted())
            registry.families[index].histograms.append(histogram)
            return histogram
        }
    }

    /// The registry in the Prometheus text format (version 0.0.4): `# HELP` and `# TYPE` per
    /// name, one line per series; histograms as `_bucket{le=…}`, `_sum` and `_count`.
    /// `gauges` are values computed at scrape time (store size, shared counters), appended.
    public func exposition(gauges: [Gauge] = []) -> String {
        let families = registry.withLock { $0.families }
        var out = ""
        for family in families {
            out += "# HELP \(family.name) \(Metrics.escapeHelp(family.help))\n# TYPE \(family.name) \(family.kind.rawValue)\n"
            for counter in family.counters {
                out += "\(family.name)\(counter.labels) \(counter.value)\n"
            }
            for reading in family.readings {
                out += "\(family.name)\(reading.labels) \(reading.value())\n"
            }
            for histogram in family.histograms {
                let snapshot = histogram.snapshot()
                var cumulative = 0
                for (bound, count) in zip(histogram.buckets, snapshot.counts) {
                    cumulative += count
                    out += "\(family.name)_bucket\(Metrics.adding(("le", Metrics.format(bound)), to: histogram.labels)) \(cumulative)\n"
                }
                out += "\(family.name)_bucket\(Metrics.adding(("le", "+Inf"), to: histogram.labels)) \(snapshot.count)\n"
                out += "\(family.name)_sum\(histogram.labels) \(Metrics.format(snapshot.sum))\n"
                out += "\(family.name)_count\(histogram.labels) \(snapshot.count)\n"
            }
        }
        var seen = Set<String>()
        for gauge in gauges {
            if seen.insert(gauge.name).inserted {
                out += "# HELP \(gauge.name) \(Metrics.escapeHelp(gauge.help))\n# TYPE \(gauge.name) gauge\n"
            }
            out += "\(gauge.name)\(Metrics.renderLabels(gauge.labels)) \(Metrics.format(gauge.value))\n"
        }
        return out
    }

    /// Every counter's value by `name{labels}`, for `stats` and tests.
    public func counterValues() -> [String: Int] {
        registry.withLock { registry in
            var values: [String: Int] = [:]
            for family in registry.families {
                for counter in family.counters { values[family.name + counter.labels] = counter.value }
                for reading in family.readings { values[family.name + reading.labels] = reading.value() }
            }
            return values
        }
    }

    // MARK: Helpers

    private static func familyIndex(_ registry: inout Registry, name: String, help: String, kind: Kind) -> Int {
        precondition(isValidName(name), "metric name \(name) is not a Prometheus name")
        if let index = registry.families.firstIndex(where: { $0.name == name }) {
            precondition(registry.families[index].kind == kind, "metric \(name) registered as two types")
            return index
        }
        registry.families.append(Family(name: name, help: help, kind: kind))
        return registry.families.count - 1
    }

    static func isValidName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first == "_" || first == ":" || (first.isASCII && first.properties.isAlphabetic) else {
            return false
        }
        return name.unicodeScalars.allSatisfy { $0.isASCII && ($0 == "_" || $0 == ":" || $0.properties.isAlphabetic || ("0"..."9").contains($0)) }
    }

    /// `{a="1",b="2"}`, or an empty string without labels. Values escape `\`, `"` and newlines.
    static func renderLabels(_ labels: [(String, String)]) -> String {
        guard !labels.isEmpty else { return "" }
        return "{" + labels.map { "\($0.0)=\"\(escapeLabel($0.1))\"" }.joined(separator: ",") + "}"
    }

    private static func adding(_ label: (String, String), to rendered: String) -> String {
        let pair = "\(label.0)=\"\(label.1)\""
        return rendered.isEmpty ? "{\(pair)}" : String(rendered.dropLast()) + ",\(pair)}"
    }

    private static func escapeLabel(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }

    private static func escapeHelp(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n")
    }

    /// Whole numbers without a fraction, others in Swift's shortest round-trip form.
    static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }
}

/// A monotonically increasing count (events, bytes). One atomic add per event.
public final class Counter: Sendable {
    /// `{tier="local"}` as printed; fixed at registration.
    let labels: String
    private let storage = Atomic<Int>(0)

    init(labels: String) { self.labels = labels }

    public func increment(by amount: Int = 1) {
        storage.add(amount, ordering: .relaxed)
    }

    public var value: Int { storage.load(ordering: .relaxed) }
}

/// Counts observations (seconds, bytes) into fixed buckets, with their sum.
public final class Histogram: Sendable {
    /// From 10 µs (a local hit) to 30 s (a slow engine call).
    public static let latencyBuckets: [Double] = [0.000_01, 0.000_05, 0.000_1, 0.000_5, 0.001, 0.005, 0.01, 0.05,
                                                  0.1, 0.5, 1, 2.5, 5, 10, 30]
    let labels: String
    let buckets: [Double]
    /// Guards the per-bucket counts, the sum and the count, which must move together.
    private let state: Mutex<State>

    struct State {
        /// Per bucket, not cumulative; observations above the last bound are only in `count`.
        var counts: [Int]
        var sum: Double = 0
        var count: Int = 0
    }

    init(labels: String, buckets: [Double]) {
        self.labels = labels
        self.buckets = buckets
        state = Mutex(State(counts: [Int](repeating: 0, count: buckets.count)))
    }

    public func observe(_ value: Double) {
        // Bucket search outside the lock; the array is immutable.
        var index = buckets.count
        for (i, bound) in buckets.enumerated() where value <= bound {
            index = i
            break
        }
        state.withLock { state in
            if index < state.counts.count { state.counts[index] += 1 }
            state.sum += value
            state.count += 1
        }
    }

    /// Observes the time since `start`, in seconds.
    public func observe(since start: ContinuousClock.Instant) {
        observe(start.duration(to: .now).seconds)
    }

    func snapshot() -> State { state.withLock { $0 } }

    /// Observations so far.
    public var count: Int { state.withLock { $0.count } }
    public var sum: Double { state.withLock { $0.sum } }
}

/// A value computed when the metrics are read (clips in the store, shared counters).
public struct Gauge: Sendable {
    public var name: String
    public var help: String
    public var labels: [(String, String)]
    public var value: Double

    public init(_ name: String, help: String, labels: [(String, String)] = [], value: Double) {
        self.name = name
        self.help = help
        self.labels = labels
        self.value = value
    }
}
