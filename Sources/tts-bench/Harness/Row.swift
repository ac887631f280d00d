import BenchStats
import Foundation

/// What a figure is measured in, and how it is printed.
enum Unit: String, Sendable {
    case microseconds = "µs"
    case milliseconds = "ms"
    case megabytesPerSecond = "MB/s"
    case linesPerSecond = "lines/s"
    case requestsPerSecond = "req/s"
    case clipsPerSecond = "clips/s"
    case mebibytes = "MiB"
    case bytes = "B"
    case transactions = "commits"

    func format(_ value: Double) -> String {
        let number: String
        switch self {
        case .microseconds, .milliseconds:
            number = value < 10 ? String(format: "%.2f", value) : String(format: "%.1f", value)
        case .mebibytes:
            number = String(format: "%.1f", value)
        case .megabytesPerSecond, .linesPerSecond, .requestsPerSecond, .clipsPerSecond, .bytes, .transactions:
            number = String(format: "%.0f", value)
        }
        return number + " " + rawValue
    }
}

/// One measured number with its unit.
struct Figure: Sendable {
    var value: Double
    var unit: Unit

    init(_ value: Double, _ unit: Unit) {
        self.value = value
        self.unit = unit
    }

    var formatted: String { unit.format(value) }
}

/// One line of the report: a scenario's figure beside its baseline from the same run, the
/// ratio, the target and the verdict. The verdict is computed from the numbers, never passed in,
/// except for rows that have no numbers (not built, skipped, harness error).
struct Row: Sendable {
    var scenario: String
    var figure: Figure?
    var baseline: Figure?
    /// What the baseline is (`sha256sum`, `SELECT+stat`), printed after its value.
    var baselineLabel: String?
    var targetText: String
    var verdict: Verdict
    var note: String?

    /// figure ÷ baseline, when both exist in the same unit.
    var ratio: Double? {
        guard let figure, let baseline, figure.unit == baseline.unit, baseline.value != 0 else { return nil }
        return figure.value / baseline.value
    }

    /// A measured row; with no target the row is information only.
    static func measured(_ scenario: String, _ figure: Figure, baseline: Figure? = nil, label: String? = nil,
                         target: Target? = nil, note: String? = nil) -> Row {
        Row(scenario: scenario, figure: figure, baseline: baseline, baselineLabel: label,
            targetText: target.map { describe($0, unit: figure.unit) } ?? "—",
            verdict: target?.verdict(figure: figure.value, baseline: baseline?.value) ?? .info, note: note)
    }

    static func skipped(_ scenario: String, target: String, because reason: String) -> Row {
        Row(scenario: scenario, figure: nil, baseline: nil, baselineLabel: nil, targetText: target,
            verdict: .skipped, note: reason)
    }

    static func failed(_ scenario: String, _ error: Error) -> Row {
        Row(scenario: scenario, figure: nil, baseline: nil, baselineLabel: nil, targetText: "—",
            verdict: .harnessError, note: "\(error)")
    }

    private static func describe(_ target: Target, unit: Unit) -> String {
        switch target.basis {
        case .ratio: return "\(target.bound.rawValue) \(trimmed(target.limit))×"
        case .value: return "\(target.bound.rawValue) \(unit.format(target.limit))"
        }
    }

    static func trimmed(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }
}

/// A failure of the harness (a set-up step, an unexpected tier, a child that exited badly):
/// the scenario reports it instead of a figure, and `tts-bench` exits non-zero.
struct HarnessError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// 1000000 → "1,000,000".
func grouped(_ number: Int) -> String {
    let digits = Array(String(number.magnitude))
    var out = ""
    for (i, digit) in digits.enumerated() {
        if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
        out.append(digit)
    }
    return (number < 0 ? "-" : "") + out
}
