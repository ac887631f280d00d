import BenchStats
import Foundation
import TTSCore

/// tts-repl against the `sqlite3` shell on the same index, as whole processes (issue 14's peers):
///
/// - script mode: 10,000 cached `say` lines through one `tts-repl` (plain and `--json`) against
///   `sqlite3` reading 10,000 point `SELECT … WHERE key = '…'` lines — lines per second, spawn
///   to exit;
/// - one-shot: `tts-repl --json say <cached phrase>` from spawn to exit against
///   `sqlite3 index.sqlite "SELECT … WHERE key = '…'"` — the median of interleaved runs.
///
/// sqlite3 does strictly less (no normalization, no key hashing, no stat): the ratios say what
/// the rest of a hit costs at the level of a whole process.
struct ShellPeersScenario: Scenario {
    let name = "shell-peers"
    static let lines = 10_000

    func run(_ context: BenchContext) async throws -> [Row] {
        guard let repl = context.executable("tts-repl") else {
            return [.skipped("script mode vs sqlite3 shell", target: "≥ 0.5×", because: "tts-repl is not built next to tts-bench")]
        }
        guard let sqlite3 = ["/usr/bin/sqlite3", "/bin/sqlite3"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            return [.skipped("script mode vs sqlite3 shell", target: "≥ 0.5×", because: "the sqlite3 shell is not installed (`make bench` installs it)")]
        }
        let count = ShellPeersScenario.lines
        let store = try await SeededStore.make(at: try context.folder("shell-peers"), count: count)
        let home = try context.folder("shell-peers-home")
        let index = store.layout.indexURL.path
        let environment = ChildProcess.replEnvironment(home: home)
        let replArguments = ["--store", store.layout.root.path, "--redis", "off", "--engine", "espeak"]
        let sayScript = Array((0..<count).map { "say \(SeededStore.phrase($0))\n" }.joined().utf8)
        let selectScript = Array((0..<count).map { "SELECT blob FROM clips WHERE key = '\(store.key($0).hex)';\n" }.joined().utf8)

        /// Seconds from spawn to exit, with `input` on stdin and every output line read.
        func timed(_ executable: String, _ arguments: [String], input: [UInt8]?, expectLines: Int) throws -> Double {
            let start = monotonicNanos()
            let child = try ChildProcess(executable: executable, arguments, environment: environment, stdin: input != nil)
            let writer = input.map { child.feedInput($0) }
            var lines = 0
            while child.readLine() != nil { lines += 1 }
            let exit = try child.wait()
            let elapsed = Double(monotonicNanos() - start) / 1e9
            if let writer { while writer.isExecuting { usleep(1000) } }
            guard exit.status == 0, lines == expectLines else {
                throw HarnessError("\(executable) \(arguments.joined(separator: " ")) exited \(exit.status) after \(lines) of \(expectLines) lines")
            }
            return elapsed
        }

        let rounds = context.quick ? 2 : 5
        var plain: [Double] = [], json: [Double] = [], shell: [Double] = []
        for round in 0...rounds {  // round 0 warms the page cache and the binaries
            let s = try timed(sqlite3, ["-batch", index], input: selectScript, expectLines: count)
            let p = try timed(repl.path, replArguments, input: sayScript, expectLines: count)
            let j = try timed(repl.path, ["--json"] + replArguments, input: sayScript, expectLines: count)
            if round > 0 {
                shell.append(Double(count) / s)
                plain.append(Double(count) / p)
                json.append(Double(count) / j)
            }
        }

        let oneShotRuns = context.quick ? 10 : 40
        var replOnce: [Double] = [], shellOnce: [Double] = []
        let phrase = SeededStore.phrase(7), key = store.key(7).hex
        for run in 0...oneShotRuns {
            let s = try timed(sqlite3, [index, "SELECT blob FROM clips WHERE key = '\(key)'"], input: nil, expectLines: 1)
            let r = try timed(repl.path, ["--json"] + replArguments + ["say", phrase], input: nil, expectLines: 1)
            if run > 0 {
                shellOnce.append(s * 1000)
                replOnce.append(r * 1000)
            }
        }

        let shellRate = try Stats(shell).median
        let label = "sqlite3 shell"
        let scope = "\(grouped(count)) cached lines, median of \(rounds)"
        return [
            .measured("script mode, plain output (\(scope))", Figure(try Stats(plain).median, .linesPerSecond),
                      baseline: Figure(shellRate, .linesPerSecond), label: label, target: Target(.ratio, .atLeast, 0.5)),
            .measured("script mode, --json", Figure(try Stats(json).median, .linesPerSecond),
                      baseline: Figure(shellRate, .linesPerSecond), label: label, target: Target(.ratio, .atLeast, 0.5)),
            .measured("one-shot `--json say`, spawn to exit (median of \(oneShotRuns))", Figure(try Stats(replOnce).median, .milliseconds),
                      baseline: Figure(try Stats(shellOnce).median, .milliseconds), label: "sqlite3 one SELECT",
                      target: Target(.ratio, .atMost, 4)),
        ]
    }
}
