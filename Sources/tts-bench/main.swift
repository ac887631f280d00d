// tts-bench: the benchmarks behind `make bench`. Each scenario warms up, measures its figure and
// the baseline it is judged against in the same run (alternating, so load from other processes
// hits both alike), and reports medians (p50/p99 for latencies). A missed target is reported as
// missed; the exit status is non-zero only when the harness itself failed.
import BenchStats
import Foundation
import Glibc

let scenarios: [any Scenario] = [
    SHA256Scenario(),
    SHA256LibcryptoScenario(),
    LocalHitScenario(),
    RedisHitScenario(),
    ReplScriptScenario(),
    ShellPeersScenario(),
    PrewarmGeminiScenario(),
    PrewarmEspeakScenario(),
    PrewarmCachedScenario(),
    ExportScenario(),
    FormatsScenario(),
    ScaleScenario(),
    PrewarmMemoryScenario(),
    ServeScenario(),
    DistributedPrewarmScenario(),
    StreamScenario(),
]

func runBench() async -> Int32 {
    let options: BenchOptions
    do {
        options = try BenchOptions.parse(Array(CommandLine.arguments.dropFirst()),
                                         environment: ProcessInfo.processInfo.environment)
    } catch {
        FileHandle.standardError.write(Data("\(error)\n".utf8))
        return 2
    }
    let startedAt = Date()
    var machine = Machine.current()
    let work = options.workParent.appendingPathComponent("tts-bench.\(getpid())", isDirectory: true)
    do {
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    } catch {
        FileHandle.standardError.write(Data("tts-bench: cannot create the work folder \(work.path): \(error)\n".utf8))
        return 1
    }
    defer { try? FileManager.default.removeItem(at: work) }
    // Children (tts-repl) read `.env` from their working folder: run them from a clean one.
    guard FileManager.default.changeCurrentDirectoryPath(work.path) else {
        FileHandle.standardError.write(Data("tts-bench: cannot change to the work folder \(work.path)\n".utf8))
        return 1
    }

    let context = BenchContext(options: options, workDirectory: work)
    print("tts-bench\(options.quick ? " (quick)" : ""): \(machine.processors) × \(machine.cpuModel), load \(machine.loadBefore)")
    var rows: [Row] = []
    for scenario in scenarios where options.only.isEmpty || options.only.contains(scenario.name) {
        progress("\(scenario.name)…")
        let started = monotonicNanos()
        do {
            rows += try await scenario.run(context)
        } catch {
            rows.append(.failed(scenario.name, error))
        }
        progress("\(scenario.name) done in \(String(format: "%.1f", Double(monotonicNanos() - started) / 1e9)) s")
    }
    machine.loadAfter = Machine.loadAverage()

    print("")
    print(TablePrinter.render(rows))
    print("")
    print("\(ISO8601DateFormatter().string(from: startedAt)), \(machine.summary)")
    do {
        try ResultsFile.write(rows, machine: machine, options: options, startedAt: startedAt, to: options.resultsURL)
        print("rows written to \(options.resultsURL.path)")
    } catch {
        FileHandle.standardError.write(Data("tts-bench: cannot write \(options.resultsURL.path): \(error)\n".utf8))
        return 1
    }
    return rows.contains { $0.verdict == .harnessError } ? 1 : 0
}

/// Progress on stderr, so stdout holds only the report.
func progress(_ text: String) {
    FileHandle.standardError.write(Data("  \(text)\n".utf8))
}

// Scenarios run on the global executor, not the main actor, so the service's async calls are
// measured without a hop back to the main thread after each one.
let status = await Task.detached { await runBench() }.value
exit(status)
