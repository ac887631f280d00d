import BenchStats
import Foundation
import TTSCore

/// Script throughput: 10,000 `say` lines, every one a cached clip, piped through one
/// `tts-repl --json` process (release build, `--redis off`, espeak engine), from spawn until
/// the last JSON line is read and the process has exited. Absolute target, no baseline.
/// Every output line must report tier `local`, or the run is a harness failure.
struct ReplScriptScenario: Scenario {
    let name = "repl-script"
    static let lines = 10_000

    func run(_ context: BenchContext) async throws -> [Row] {
        let target = Target(.value, .atLeast, 20_000)
        guard let repl = context.executable("tts-repl") else {
            return [.skipped("REPL script, cached say", target: "≥ 20000 lines/s",
                             because: "tts-repl is not built next to tts-bench (`make bench` builds it)")]
        }
        let store = try await SeededStore.make(at: try context.folder("repl-script"), count: ReplScriptScenario.lines)
        let home = try context.folder("repl-home")
        let script = Array((0..<ReplScriptScenario.lines).map { "say \(SeededStore.phrase($0))\n" }.joined().utf8)

        let runs = context.quick ? 2 : 5
        var rates: [Double] = []
        var peakRSS: [Double] = []
        for run in 0...runs {  // run 0 warms the page cache and the binary
            let child = try ChildProcess(executable: repl.path,
                                         ["--json", "--store", store.layout.root.path, "--redis", "off", "--engine", "espeak"],
                                         environment: ChildProcess.replEnvironment(home: home), stdin: true,
                                         samplePeakMemory: true)
            let start = monotonicNanos()
            let writer = child.feedInput(script)
            var local = 0
            var lines = 0
            var firstOther: String?
            while let line = child.readLine() {
                lines += 1
                if line.containsSubsequence(ReplScriptScenario.localMarker) {
                    local += 1
                } else if firstOther == nil {
                    firstOther = String(decoding: line.prefix(300), as: UTF8.self)
                }
            }
            let exit = try child.wait()
            let elapsed = Double(monotonicNanos() - start) / 1e9
            while writer.isExecuting { usleep(1000) }
            guard exit.status == 0, local == ReplScriptScenario.lines else {
                throw HarnessError("tts-repl exited \(exit.status) with \(local) local hits in \(lines) lines; first other line: \(firstOther ?? "none")")
            }
            if run > 0 {
                rates.append(Double(ReplScriptScenario.lines) / elapsed)
                peakRSS.append(exit.peakRSSMiB)
            }
        }
        let rate = try Stats(rates).median
        return [
            .measured("REPL script, \(grouped(ReplScriptScenario.lines)) cached say (median of \(runs))",
                      Figure(rate, .linesPerSecond), target: target),
            .measured("REPL script, per line", Figure(1e6 / rate, .microseconds),
                      note: "includes process start-up and opening the store, spread over the 10,000 lines"),
            .measured("REPL script, peak RSS of tts-repl", Figure(try Stats(peakRSS).median, .mebibytes),
                      note: "VmHWM of the tts-repl process, read from /proc every 5 ms and once more when it exits"),
        ]
    }

    static let localMarker = Array(#""tier":"local""#.utf8)
}

extension Array where Element == UInt8 {
    /// Whether `needle` occurs in these bytes (a plain scan: lines are short).
    func containsSubsequence(_ needle: [UInt8]) -> Bool {
        guard needle.count <= count, let first = needle.first else { return needle.isEmpty }
        var i = 0
        while i + needle.count <= count {
            if self[i] == first && self[i..<(i + needle.count)].elementsEqual(needle) { return true }
            i += 1
        }
        return false
    }
}
