import BenchStats
import Foundation

/// Issue "Pre-warm": an all-cached 10,000-line list through `tts-repl prewarm` — every phrase
/// already in the local tier, so the figure is the cost of reading, checking, keying and
/// looking up a line. Absolute target: ≥ 20,000 lines/s. Wall time of the whole process
/// (start-up and summary included), over a store seeded with exactly the list's phrases.
struct PrewarmCachedScenario: Scenario {
    let name = "prewarm-cached"

    func run(_ context: BenchContext) async throws -> [Row] {
        let lines = 10_000
        let title = "prewarm, all-cached \(grouped(lines))-line list"
        guard let repl = context.executable("tts-repl") else {
            return [.skipped(title, target: "≥ 20,000 lines/s", because: "tts-repl is not built next to tts-bench")]
        }
        let folder = try context.folder("prewarm-cached")
        let store = try await SeededStore.make(at: folder.appendingPathComponent("store"), count: lines)
        let list = folder.appendingPathComponent("list.txt")
        try (0..<lines).map(SeededStore.phrase).joined(separator: "\n").write(to: list, atomically: true, encoding: .utf8)
        let environment = ChildProcess.replEnvironment(home: try context.folder("prewarm-cached-home"))
        let runs = context.quick ? 3 : 5
        var rates: [Double] = []
        for _ in 0...runs {  // the first run warms the page cache and is not counted
            let result = try runRepl(repl, ["--store", store.layout.root.path, "--redis", "off", "--engine", "espeak",
                                            "prewarm", list.path], environment: environment)
            guard result.exit.status == 0, result.summary["cached"]?.intValue == lines,
                  result.summary["generated"]?.intValue == 0 else {
                throw HarnessError("the all-cached prewarm did not find every line cached: \(result.summary.serialized().prefix(400))")
            }
            rates.append(Double(lines) / result.seconds)
        }
        rates.removeFirst()
        return [.measured("\(title) (median of \(runs))", Figure(try Stats(rates).median, .linesPerSecond),
                          target: Target(.value, .atLeast, 20_000),
                          note: "wall time of tts-repl prewarm (start-up and summary included), every phrase already in the local tier, --redis off")]
    }
}
