import BenchStats
import Foundation
import Glibc
import TTSCore

/// Prewarm misses against fake-gemini answering after 200 ms, 8 calls in flight: the most that
/// allows is 8 / 0.2 s = 40 requests/s, and the target is 90 % of it. Wall time of one
/// `tts-repl prewarm LIST --concurrency 8` (TTS_CONCURRENCY=8, `--redis off`) over a fresh
/// store, from spawn to exit — start-up and the final summary included.
struct PrewarmGeminiScenario: Scenario {
    let name = "prewarm-gemini"

    func run(_ context: BenchContext) async throws -> [Row] {
        let title = "prewarm misses, fake-gemini 200 ms, concurrency 8"
        guard let repl = context.executable("tts-repl"), let fake = context.executable("fake-gemini") else {
            return [.skipped(title, target: "≥ 36 req/s", because: "tts-repl or fake-gemini is not built next to tts-bench")]
        }
        let phrases = context.quick ? 120 : 400
        let runs = context.quick ? 1 : 2
        let folder = try context.folder("prewarm-gemini")
        let server = try FakeGemini(fake, latencyMs: 200, folder: folder)
        defer { server.stop() }
        let environment = server.replEnvironment(home: try context.folder("prewarm-gemini-home"), concurrency: 8)
        var rates: [Double] = []
        for run in 1...runs {
            let list = folder.appendingPathComponent("list-\(run).txt")
            try (0..<phrases).map { "Gemini bench run \(run) phrase \($0)." }.joined(separator: "\n")
                .write(to: list, atomically: true, encoding: .utf8)
            let store = folder.appendingPathComponent("store-\(run)").path
            let result = try runRepl(repl, ["--store", store, "--redis", "off", "--engine", "gemini",
                                            "prewarm", list.path, "--concurrency", "8"], environment: environment)
            try checkGenerated(result.summary, expected: phrases, exit: result.exit)
            rates.append(Double(phrases) / result.seconds)
        }
        return [.measured("\(title) (\(phrases) phrases, median of \(runs))",
                          Figure(try Stats(rates).median, .requestsPerSecond),
                          baseline: Figure(40, .requestsPerSecond), label: "8 / 0.2 s",
                          target: Target(.ratio, .atLeast, 0.9),
                          note: "wall time of the whole tts-repl prewarm process (start-up and summary included), fresh store, --redis off")]
    }
}

/// Offline prewarm with espeak-ng in process against the espeak-ng CLI (one process per phrase,
/// `-w FILE`), both with as many in flight as the machine has cores.
struct PrewarmEspeakScenario: Scenario {
    let name = "prewarm-espeak"

    func run(_ context: BenchContext) async throws -> [Row] {
        let title = "offline prewarm, espeak-ng"
        guard let repl = context.executable("tts-repl") else {
            return [.skipped(title, target: "≥ 0.8×", because: "tts-repl is not built next to tts-bench")]
        }
        guard let cli = ["/usr/bin/espeak-ng", "/bin/espeak-ng"].first(where: FileManager.default.isExecutableFile) else {
            return [.skipped(title, target: "≥ 0.8×", because: "the espeak-ng CLI is not installed")]
        }
        let parallelism = max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        let phrases = context.quick ? 100 : 300
        let runs = context.quick ? 1 : 3
        let folder = try context.folder("prewarm-espeak")
        let home = try context.folder("prewarm-espeak-home")
        var environment = ChildProcess.replEnvironment(home: home)
        environment["TTS_CONCURRENCY"] = String(parallelism)

        var ours: [Double] = [], theirs: [Double] = []
        for run in 0...runs {  // run 0 warms espeak's data files in the page cache
            let texts = (0..<phrases).map { "Offline bench run \(run), sentence number \($0) is spoken here." }
            let list = folder.appendingPathComponent("list-\(run).txt")
            try texts.joined(separator: "\n").write(to: list, atomically: true, encoding: .utf8)
            let cliSeconds = try runCLI(cli, texts, parallelism: parallelism, into: try context.folder("espeak-cli-\(run)"))
            let store = folder.appendingPathComponent("store-\(run)").path
            let result = try runRepl(repl, ["--store", store, "--redis", "off", "--engine", "espeak",
                                            "prewarm", list.path, "--concurrency", String(parallelism)], environment: environment)
            try checkGenerated(result.summary, expected: phrases, exit: result.exit)
            if run > 0 {
                ours.append(Double(phrases) / result.seconds)
                theirs.append(Double(phrases) / cliSeconds)
            }
        }
        return [.measured("\(title) (\(phrases) phrases, \(parallelism) in flight, median of \(runs))",
                          Figure(try Stats(ours).median, .requestsPerSecond),
                          baseline: Figure(try Stats(theirs).median, .requestsPerSecond), label: "espeak-ng CLI",
                          target: Target(.ratio, .atLeast, 0.8),
                          note: "tts-repl prewarm (fresh store, --redis off, durable writes) against `espeak-ng -v en-us -w FILE TEXT` per phrase, \(parallelism) processes at a time; rates are phrases per second of wall time")]
    }

    /// Seconds for `espeak-ng -w` over every text, `parallelism` processes at a time.
    private func runCLI(_ cli: String, _ texts: [String], parallelism: Int, into folder: URL) throws -> Double {
        let failures = FailureList()
        let seconds = seconds {
            DispatchQueue.concurrentPerform(iterations: parallelism) { worker in
                for i in stride(from: worker, to: texts.count, by: parallelism) {
                    do {
                        let child = try ChildProcess(executable: cli, ["-v", "en-us", "-w", folder.appendingPathComponent("\(i).wav").path, texts[i]],
                                                     environment: ["PATH": "/usr/bin:/bin"])
                        _ = child.readAll()
                        let exit = try child.wait()
                        if exit.status != 0 { failures.add("espeak-ng exited \(exit.status) for phrase \(i)") }
                    } catch {
                        failures.add("\(error)")
                    }
                }
            }
        }
        if let first = failures.first { throw HarnessError(first) }
        return seconds
    }
}

/// Peak resident memory of `tts-repl prewarm` over a 10,000-phrase list (2,000 with --quick),
/// against fake-gemini without latency, 8 in flight: VmHWM of the child.
struct PrewarmMemoryScenario: Scenario {
    let name = "prewarm-rss"

    func run(_ context: BenchContext) async throws -> [Row] {
        let phrases = context.quick ? 2_000 : 10_000
        let title = "peak RSS, \(grouped(phrases))-phrase prewarm"
        guard let repl = context.executable("tts-repl"), let fake = context.executable("fake-gemini") else {
            return [.skipped(title, target: "≤ 64 MiB", because: "tts-repl or fake-gemini is not built next to tts-bench")]
        }
        let folder = try context.folder("prewarm-rss")
        let server = try FakeGemini(fake, latencyMs: 0, folder: folder)
        defer { server.stop() }
        let list = folder.appendingPathComponent("list.txt")
        try (0..<phrases).map { "rss \($0)" }.joined(separator: "\n").write(to: list, atomically: true, encoding: .utf8)
        let result = try runRepl(repl, ["--store", folder.appendingPathComponent("store").path, "--redis", "off", "--engine", "gemini",
                                        "prewarm", list.path, "--concurrency", "8"],
                                 environment: server.replEnvironment(home: try context.folder("prewarm-rss-home"), concurrency: 8),
                                 samplePeakMemory: true)
        try checkGenerated(result.summary, expected: phrases, exit: result.exit)
        return [.measured(title, Figure(Double(result.exit.peakRSSKiB) / 1024, .mebibytes),
                          target: Target(.value, .atMost, 64),
                          note: "VmHWM of tts-repl prewarm (fake-gemini, no latency, concurrency 8, short phrases), sampled every 5 ms; the run took \(String(format: "%.1f", result.seconds)) s")]
    }
}

/// A prewarm summary must say every phrase was generated, or the figure means nothing.
func checkGenerated(_ summary: JSONValue, expected: Int, exit: ChildProcess.Exit) throws {
    guard exit.status == 0, summary["generated"]?.intValue == expected else {
        throw HarnessError("prewarm exited \(exit.status) and reported \(summary.serialized().prefix(400)); expected \(expected) generated")
    }
}

/// Failures collected from worker threads.
final class FailureList: @unchecked Sendable {
    /// Guards `messages`.
    private let lock = NSLock()
    private var messages: [String] = []

    func add(_ message: String) { lock.withLock { messages.append(message) } }
    var first: String? { lock.withLock { messages.first } }
}
