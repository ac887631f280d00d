import BenchStats
import Foundation
import TTSCore

/// tts-repl against the `sqlite3` shell on the same index, as whole processes (issue 14's peers):
///
/// - script mode: 10,000 cached `say` lines through one `tts-repl` (plain and `--json`) against
///   `sqlite3` reading 10,000 point `SELECT … WHERE key = '…'` lines — lines per second, spawn
///   to exit;
/// - one-shot: `tts-repl --json say <cached phrase>` from spawn to exit against
///   `sqlite3 index.sqlite "SELECT … WHERE key = '…'"`.
///
/// Both run interleaved, and each figure is judged against the shell's run just before it: the
/// row shows the round whose ratio is the median (`PairedRounds`).
///
/// sqlite3 does strictly less (no normalization, no key hashing, no stat): the ratios say what
/// the rest of a hit costs at the level of a whole process.
struct ShellPeersScenario: Scenario {
    let name = "shell-peers"
    static let lines = 10_000
    /// The cached lines whose index writes are counted (issue 14: per 1,000).
    static let countedLines = 1_000

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
            var lines = 0
            let status = try runToExit(executable, arguments, environment: environment, input: input) { _ in lines += 1 }
            let elapsed = Double(monotonicNanos() - start) / 1e9
            guard status == 0, lines == expectLines else {
                throw HarnessError("\(executable) \(arguments.joined(separator: " ")) exited \(status) after \(lines) of \(expectLines) lines")
            }
            return elapsed
        }

        // Each round runs the shell, then plain, then --json back to back, and each of ours is
        // judged against the shell of its own round (`PairedRounds`): this machine's speed
        // drifts between rounds by more than the margin being judged.
        let rounds = context.quick ? 3 : 5
        var plain: [PairedRounds.Round] = [], json: [PairedRounds.Round] = []
        for round in 0...rounds {  // round 0 warms the page cache and the binaries
            let s = try timed(sqlite3, ["-batch", index], input: selectScript, expectLines: count)
            let p = try timed(repl.path, replArguments, input: sayScript, expectLines: count)
            let j = try timed(repl.path, ["--json"] + replArguments, input: sayScript, expectLines: count)
            if round > 0 {
                let shell = Double(count) / s
                plain.append(PairedRounds.Round(figure: Double(count) / p, baseline: shell))
                json.append(PairedRounds.Round(figure: Double(count) / j, baseline: shell))
            }
        }

        let oneShotRuns = context.quick ? 11 : 41  // odd: the median pair is one pair
        var oneShots: [PairedRounds.Round] = []
        let phrase = SeededStore.phrase(7), key = store.key(7).hex
        for run in 0...oneShotRuns {
            let s = try timed(sqlite3, [index, "SELECT blob FROM clips WHERE key = '\(key)'"], input: nil, expectLines: 1)
            let r = try timed(repl.path, ["--json"] + replArguments + ["say", phrase], input: nil, expectLines: 1)
            if run > 0 { oneShots.append(PairedRounds.Round(figure: r * 1000, baseline: s * 1000)) }
        }

        let commits = try indexCommits(repl: repl.path, arguments: replArguments, environment: environment,
                                       lines: Array(sayScript.split(separator: UInt8(ascii: "\n")).prefix(ShellPeersScenario.countedLines)))

        let scope = "\(grouped(count)) cached lines, the median round of \(rounds) by ratio"
        let scriptTarget = Target(.ratio, .atLeast, 0.5)
        func scriptRow(_ name: String, _ rounds: [PairedRounds.Round]) throws -> Row {
            let median = try PairedRounds(rounds).medianRound
            return .measured(name, Figure(median.figure, .linesPerSecond), baseline: Figure(median.baseline, .linesPerSecond),
                             label: "sqlite3 shell, same round", target: scriptTarget,
                             note: "ratios by round: " + rounds.map { String(format: "%.2f", $0.ratio) }.joined(separator: " "))
        }
        let oneShot = try PairedRounds(oneShots).medianRound
        return [
            try scriptRow("script mode, plain output (\(scope))", plain),
            try scriptRow("script mode, --json", json),
            .measured("index write transactions over \(grouped(ShellPeersScenario.countedLines)) cached `say` lines", Figure(commits, .transactions),
                      target: Target(.value, .atMost, 5),
                      note: "tts_index_write_transactions_total of the process, read by a `metrics` line after the cached lines (it writes the pending hit counts first, so they are current); one write per line would be \(grouped(ShellPeersScenario.countedLines))"),
            .measured("one-shot `--json say`, spawn to exit (the median pair of \(oneShotRuns) by ratio)", Figure(oneShot.figure, .milliseconds),
                      baseline: Figure(oneShot.baseline, .milliseconds), label: "sqlite3 one SELECT, just before",
                      target: Target(.ratio, .atMost, 4)),
        ]
    }

    /// Runs `lines` and then `metrics` through one `tts-repl --json`, and reads how many write
    /// transactions the process committed to the index.
    private func indexCommits(repl: String, arguments: [String], environment: [String: String], lines: [ArraySlice<UInt8>]) throws -> Double {
        var script: [UInt8] = []
        for line in lines { script += line + [UInt8(ascii: "\n")] }
        script += Array("metrics\n".utf8)
        var commits: Double?
        let status = try runToExit(repl, ["--json"] + arguments, environment: environment, input: script) { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any],
                  object["series"] as? String == "tts_index_write_transactions_total" else { return }
            commits = object["value"] as? Double
        }
        guard status == 0, let commits else {
            throw HarnessError("tts-repl --json with \(lines.count) say lines and metrics exited \(status) without tts_index_write_transactions_total")
        }
        return commits
    }

    /// Runs a child with `input` on stdin, hands each line it prints to `eachLine`, and returns
    /// its exit status once it has exited and its input was all written.
    private func runToExit(_ executable: String, _ arguments: [String], environment: [String: String], input: [UInt8]?,
                           eachLine: ([UInt8]) -> Void) throws -> Int32 {
        let child = try ChildProcess(executable: executable, arguments, environment: environment, stdin: input != nil)
        let writer = input.map { child.feedInput($0) }
        while let line = child.readLine() { eachLine(line) }
        let exit = try child.wait()
        if let writer { while writer.isExecuting { usleep(1000) } }
        return exit.status
    }
}
