import BenchStats

/// Prints the rows as an aligned text table (scenario, figure, baseline, ratio, target,
/// verdict), then the notes the rows carry, numbered.
enum TablePrinter {
    static let header = ["scenario", "figure", "baseline", "ratio", "target", "verdict"]

    static func render(_ rows: [Row]) -> String {
        var notes: [String] = []
        let cells: [[String]] = rows.map { row in
            var verdict = row.verdict.rawValue
            if let note = row.note {
                notes.append(note)
                verdict += " [\(notes.count)]"
            }
            let baseline = row.baseline.map { value in
                value.formatted + (row.baselineLabel.map { " (\($0))" } ?? "")
            } ?? row.baselineLabel ?? "—"
            return [
                row.scenario,
                row.figure?.formatted ?? "—",
                baseline,
                row.ratio.map { ratioText($0) } ?? "—",
                row.targetText,
                verdict,
            ]
        }
        var widths = header.map(\.count)
        for line in cells {
            for (i, cell) in line.enumerated() { widths[i] = max(widths[i], cell.count) }
        }
        func layout(_ line: [String]) -> String {
            line.enumerated().map { i, cell in
                i == line.count - 1 ? cell : cell + String(repeating: " ", count: widths[i] - cell.count)
            }.joined(separator: "  ")
        }
        var lines = [layout(header), layout(widths.map { String(repeating: "-", count: $0) })]
        lines += cells.map(layout)
        if !notes.isEmpty {
            lines.append("")
            lines += notes.enumerated().map { "[\($0.offset + 1)] \($0.element)" }
        }
        return lines.joined(separator: "\n")
    }

    /// Two significant digits are what the noise on a shared machine allows.
    static func ratioText(_ ratio: Double) -> String {
        ratio >= 10 ? String(format: "%.0f×", ratio) : String(format: "%.2f×", ratio)
    }
}
