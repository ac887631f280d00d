import Foundation
import TTSCore

/// `bench/results.json`: the run's context and the same rows as the table, for scripts and
/// for comparing runs.
enum ResultsFile {
    static func write(_ rows: [Row], machine: Machine, options: BenchOptions, startedAt: Date, to url: URL) throws {
        let document = JSONValue.object([
            ("date", .string(ISO8601DateFormatter().string(from: startedAt))),
            ("quick", .bool(options.quick)),
            ("commit", options.commit.map(JSONValue.string) ?? .null),
            ("machine", machine.json),
            ("rows", .array(rows.map(json))),
        ])
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data((document.serialized() + "\n").utf8).write(to: url, options: .atomic)
    }

    static func json(_ row: Row) -> JSONValue {
        func number(_ value: Double?) -> JSONValue { value.map(JSONValue.double) ?? .null }
        return .object([
            ("scenario", .string(row.scenario)),
            ("figure", number(row.figure?.value)),
            ("unit", row.figure.map { .string($0.unit.rawValue) } ?? .null),
            ("baseline", number(row.baseline?.value)),
            ("baseline_label", row.baselineLabel.map(JSONValue.string) ?? .null),
            ("ratio", number(row.ratio)),
            ("target", .string(row.targetText)),
            ("verdict", .string(row.verdict.rawValue)),
            ("note", row.note.map(JSONValue.string) ?? .null),
        ])
    }
}

/// What the figures were measured on. The load averages matter: the machine may be shared.
struct Machine {
    var cpuModel: String
    var processors: Int
    var loadBefore: String
    var loadAfter: String = ""

    static func current() -> Machine {
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let model = cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }
            .flatMap { $0.split(separator: ":", maxSplits: 1).last }
            .map { $0.trimmingCharacters(in: .whitespaces) } ?? "unknown"
        return Machine(cpuModel: model, processors: sysconf(Int32(_SC_NPROCESSORS_ONLN)), loadBefore: loadAverage())
    }

    static func loadAverage() -> String {
        let text = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? ""
        return text.split(separator: " ").prefix(3).joined(separator: " ")
    }

    var summary: String {
        "\(processors) × \(cpuModel), load average \(loadBefore) before, \(loadAfter) after"
    }

    var json: JSONValue {
        .object([("cpu", .string(cpuModel)), ("nproc", .int(processors)),
                 ("load_before", .string(loadBefore)), ("load_after", .string(loadAfter))])
    }
}
