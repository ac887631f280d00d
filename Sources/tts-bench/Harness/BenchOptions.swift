import Foundation

/// The command line of `tts-bench` (normally run by `make bench`, which passes these).
struct BenchOptions: Sendable {
    /// The short version: fewer rounds, 100k instead of 1M clips for the scale figures.
    var quick = false
    /// Folder holding the release-built `tts-repl` (and `fake-gemini`).
    var binDirectory: URL
    /// Where the rows go as JSON.
    var resultsURL: URL
    /// Parent of the throwaway stores and files; removed at the end.
    var workParent: URL
    /// Scenario names to run (`sha256`, `local-hit`, …); empty runs all.
    var only: Set<String> = []
    /// Redis for the shared-tier scenario: `make bench` starts one and sets TTS_BENCH_REDIS_URL.
    var redisURL: String?
    /// A 3-master Redis Cluster for the cluster row: `make bench` starts one beside the server
    /// and sets TTS_BENCH_REDIS_CLUSTER_URL.
    var redisClusterURL: String?
    /// Printed with the results (`make bench` passes `git rev-parse --short HEAD`).
    var commit: String?

    static let usage = """
        usage: tts-bench [--quick] [--bin DIR] [--out FILE] [--work DIR] [--only NAME,…] [--commit REV]

        Runs the tts-repl benchmarks and prints each figure beside its baseline from the same run.
        Normally run through `make bench` (or `make bench QUICK=1`), which builds in release mode
        and starts a throwaway redis-server (TTS_BENCH_REDIS_URL) and Redis Cluster
        (TTS_BENCH_REDIS_CLUSTER_URL).
        Exit status 0 when every scenario ran (whether or not it met its target), 1 when the
        harness itself failed, 2 for a usage error.
        """

    static func parse(_ arguments: [String], environment: [String: String]) throws -> BenchOptions {
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var options = BenchOptions(
            binDirectory: executable.deletingLastPathComponent(),
            resultsURL: URL(fileURLWithPath: "bench/results.json"),
            workParent: URL(fileURLWithPath: environment["TMPDIR"] ?? "/tmp"))
        options.redisURL = environment["TTS_BENCH_REDIS_URL"].flatMap { $0.isEmpty ? nil : $0 }
        options.redisClusterURL = environment["TTS_BENCH_REDIS_CLUSTER_URL"].flatMap { $0.isEmpty ? nil : $0 }
        var i = 0
        func value() throws -> String {
            i += 1
            guard i < arguments.count else { throw HarnessError("\(arguments[i - 1]) needs a value\n\(usage)") }
            return arguments[i]
        }
        while i < arguments.count {
            switch arguments[i] {
            case "--quick": options.quick = true
            case "--bin": options.binDirectory = URL(fileURLWithPath: try value())
            case "--out": options.resultsURL = URL(fileURLWithPath: try value())
            case "--work": options.workParent = URL(fileURLWithPath: try value())
            case "--only": options.only = Set(try value().split(separator: ",").map(String.init))
            case "--commit": options.commit = try value()
            case "-h", "--help": throw HarnessError(usage)
            default: throw HarnessError("unknown option \(arguments[i])\n\(usage)")
            }
            i += 1
        }
        options.resultsURL = options.resultsURL.absoluteURL.standardizedFileURL
        options.binDirectory = options.binDirectory.absoluteURL.standardizedFileURL
        options.workParent = options.workParent.absoluteURL.standardizedFileURL
        return options
    }
}

/// What every scenario gets: the options and a private work folder.
struct BenchContext: Sendable {
    let options: BenchOptions
    let workDirectory: URL

    var quick: Bool { options.quick }

    /// A new empty folder under the work folder.
    func folder(_ name: String) throws -> URL {
        let url = workDirectory.appendingPathComponent(name, isDirectory: true)
        try? FileManager.default.removeItem(at: url)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// A built executable next to the bench (release), or nil when it is not there.
    func executable(_ name: String) -> URL? {
        let url = options.binDirectory.appendingPathComponent(name)
        return FileManager.default.isExecutableFile(atPath: url.path) ? url : nil
    }
}

/// One benchmark: a warm-up, repeated measurements, and its rows.
protocol Scenario: Sendable {
    /// Short name for `--only` (`sha256`, `local-hit`, …).
    var name: String { get }
    func run(_ context: BenchContext) async throws -> [Row]
}
