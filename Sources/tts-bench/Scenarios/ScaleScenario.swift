import BenchStats
import Foundation
import TTSCore

/// The store at scale: a million indexed clips (100,000 with --quick) against a thousand.
///
/// - local-hit p50 with the large index against the small one (same service path as the
///   local-hit scenario, rounds alternating between the two stores, random keys);
/// - start-up to the first result: a one-shot `tts-repl --json say …` for a cached phrase,
///   from spawn until its JSON line arrives on stdout (one-shot mode rather than a pty
///   prompt: it is the same start-up — configuration, store, index, engine — plus one hit,
///   and needs no terminal emulation);
/// - bytes of index per clip.
/// (Peak memory of a large prewarm, also a scale figure, is `PrewarmMemoryScenario`.)
struct ScaleScenario: Scenario {
    let name = "scale"

    func run(_ context: BenchContext) async throws -> [Row] {
        let large = context.quick ? 100_000 : 1_000_000
        let small = 1_000
        let largeName = large >= 1_000_000 ? "\(large / 1_000_000)M" : "\(large / 1_000)k"

        let buildStart = monotonicNanos()
        let big = try await SeededStore.make(at: try context.folder("scale-large"), count: large) { progress("  \($0)") }
        let buildSeconds = Double(monotonicNanos() - buildStart) / 1e9
        let little = try await SeededStore.make(at: try context.folder("scale-small"), count: small)

        var rows: [Row] = []
        rows += try await hitLatency(big: big, little: little, largeName: largeName, quick: context.quick)
        rows += try startUp(context, big: big, little: little, largeName: largeName)
        rows.append(.measured("index bytes per clip (\(largeName) clips)", Figure(big.indexBytesPerClip(), .bytes),
                              note: "index.sqlite after close, with the WAL checkpointed; built in \(String(format: "%.1f", buildSeconds)) s by ClipIndex.upsert in batches of 10,000"))
        return rows
    }

    private func hitLatency(big: SeededStore, little: SeededStore, largeName: String, quick: Bool) async throws -> [Row] {
        let sampleSize = 1_000
        let bigProbe = try LocalHitProbe(store: big, sample: (0..<sampleSize).map { _ in Int.random(in: 0..<big.count) })
        let littleProbe = try LocalHitProbe(store: little)
        defer { bigProbe.close(); littleProbe.close() }
        let rounds = quick ? 4 : 20
        var bigService: [Double] = [], littleService: [Double] = [], bigFloor: [Double] = [], littleFloor: [Double] = []
        for round in 0...rounds {
            let b = try await bigProbe.serviceLatencies(bigProbe.sampled.shuffled())
            let l = try await littleProbe.serviceLatencies(littleProbe.sampled.shuffled())
            let bf = try bigProbe.floorLatencies(bigProbe.sampled.shuffled())
            let lf = try littleProbe.floorLatencies(littleProbe.sampled.shuffled())
            if round > 0 {
                bigService += b
                littleService += l
                bigFloor += bf
                littleFloor += lf
            }
        }
        let b = try Stats(bigService), l = try Stats(littleService)
        let bf = try Stats(bigFloor), lf = try Stats(littleFloor)
        return [
            .measured("local-tier hit p50, \(largeName) clips", Figure(b.p50, .microseconds),
                      baseline: Figure(l.p50, .microseconds), label: "1k clips", target: Target(.ratio, .atMost, 1.5)),
            .measured("local-tier hit p99, \(largeName) clips", Figure(b.p99, .microseconds),
                      baseline: Figure(l.p99, .microseconds), label: "1k clips"),
            .measured("SELECT+stat floor p50, \(largeName) clips", Figure(bf.p50, .microseconds),
                      baseline: Figure(lf.p50, .microseconds), label: "1k clips",
                      note: "information: the raw floor on both stores, to show how much of the growth is SQLite's own"),
        ]
    }

    private func startUp(_ context: BenchContext, big: SeededStore, little: SeededStore, largeName: String) throws -> [Row] {
        guard let repl = context.executable("tts-repl") else {
            return [.skipped("start-up to first result, \(largeName) clips", target: "≤ 150 ms",
                             because: "tts-repl is not built next to tts-bench")]
        }
        let home = try context.folder("scale-home")
        let runs = context.quick ? 5 : 15
        var bigTimes: [Double] = [], littleTimes: [Double] = []
        for run in 0...runs {
            let phrase = run * 7919
            let b = try firstResult(repl, store: big, phrase: phrase % big.count, home: home)
            let l = try firstResult(repl, store: little, phrase: phrase % little.count, home: home)
            if run > 0 {
                bigTimes.append(b)
                littleTimes.append(l)
            }
        }
        return [.measured("start-up to first result, \(largeName) clips (median of \(runs))",
                          Figure(try Stats(bigTimes).median, .milliseconds),
                          baseline: Figure(try Stats(littleTimes).median, .milliseconds), label: "1k clips",
                          target: Target(.value, .atMost, 150),
                          note: "one-shot `tts-repl --json --redis off say <cached phrase>`, from spawn until its JSON line is read; the target is absolute, the 1k-clip figure is for comparison")]
    }

    /// Milliseconds from spawn to the first line of a one-shot cached `say`.
    private func firstResult(_ repl: URL, store: SeededStore, phrase: Int, home: URL) throws -> Double {
        let start = monotonicNanos()
        let child = try ChildProcess(executable: repl.path,
                                     ["--json", "--store", store.layout.root.path, "--redis", "off", "--engine", "espeak",
                                      "say", SeededStore.phrase(phrase)],
                                     environment: ChildProcess.replEnvironment(home: home))
        let line = child.readLine() ?? []
        let elapsed = Double(monotonicNanos() - start) / 1e6
        _ = child.readAll()
        let exit = try child.wait()
        guard exit.status == 0, line.containsSubsequence(ReplScriptScenario.localMarker) else {
            throw HarnessError("one-shot say of phrase \(phrase) exited \(exit.status) and printed: \(String(decoding: line.prefix(300), as: UTF8.self))")
        }
        return elapsed
    }
}
