import BenchStats
import Foundation
import Glibc
import TTSCore
import TTSEngines
import TTSService
import TTSStore

/// Issue "Audio formats": in-process encoding through the conversion path against the
/// reference command-line encoders, and a cached MP3 export against a link-mode export.
///
/// - Encode 200 espeak clips (about 3 s of speech each, 22,050 Hz) to MP3 (64 kbit/s CBR), Opus
///   (32 kbit/s) and FLAC (level 5) through `ConvertedAudioCache.converted` — hash-checked read
///   of the blob, decode, (Opus: resample to 24 kHz), encode with libsndfile, write, name —
///   with two conversions at a time, then one `flush()` (a syncfs) for the batch, against
///   `lame -b 64`, `opusenc --bitrate 32` and `flac -5` run on the same WAV files, two
///   processes at a time (the CLIs leave their files to the page cache).
///   Target: ≥ 1.0× their throughput.
/// - Export 1,000 clips as MP3 a second time (every conversion cached) against a link-mode
///   export of the same clips: both `tts-repl export` processes, wall time. Target: ≤ 2×.
struct FormatsScenario: Scenario {
    let name = "formats"
    static let parallelism = 2

    func run(_ context: BenchContext) async throws -> [Row] {
        var rows = try await encodeRows(context)
        rows.append(try await cachedExportRow(context))
        return rows
    }

    // MARK: Encoding

    private struct Encoder: Sendable {
        var title: String
        var target: AudioTarget
        var tool: String
        var arguments: @Sendable (_ input: String, _ output: String) -> [String]
        var package: String
    }

    private static let encoders = [
        Encoder(title: "MP3 64 kbit/s", target: AudioTarget(encoding: .mp3, bitrate: 64), tool: "lame",
                arguments: { ["--quiet", "-b", "64", "--cbr", $0, $1] }, package: "lame"),
        Encoder(title: "Opus 32 kbit/s", target: AudioTarget(encoding: .opus, bitrate: 32), tool: "opusenc",
                arguments: { ["--quiet", "--bitrate", "32", $0, $1] }, package: "opus-tools"),
        Encoder(title: "FLAC level 5", target: AudioTarget(encoding: .flac, quality: 5), tool: "flac",
                arguments: { ["--silent", "-5", "-f", "-o", $1, $0] }, package: "flac"),
    ]

    private func encodeRows(_ context: BenchContext) async throws -> [Row] {
        let clipsCount = 200
        let folder = try context.folder("formats-encode")
        let layout = StoreLayout(root: folder.appendingPathComponent("store"))
        var engines = EngineRegistry()
        engines.register(EspeakEngine())
        let service = SpeechService(engines: engines, index: try ClipIndex(url: layout.indexURL), blobs: try BlobStore(layout: layout))
        var clips: [Clip] = []
        for i in 0..<clipsCount {
            let text = "Bench sentence \(i): thank you for calling, your call is important to us, please stay on the line."
            clips.append(try await service.generateOrFetch(AudioRequest(text: text, engine: "espeak", model: "")).clip)
        }
        let wavs = clips.map { service.local.blobs.path(for: $0.blob) }
        let audioSeconds = Double(clips.map(\.durationMs).reduce(0, +)) / 1000
        let runs = context.quick ? 1 : 3
        var rows: [Row] = []
        for encoder in Self.encoders {
            let title = "encode \(clipsCount) clips to \(encoder.title)"
            guard let tool = which(encoder.tool) else {
                rows.append(.skipped(title, target: "≥ 1.0× \(encoder.tool)", because: "\(encoder.tool) is not installed (`make bench` installs \(encoder.package))"))
                continue
            }
            var ours: [Double] = [], theirs: [Double] = []
            for run in 0...runs {  // run 0 warms the page cache and the codecs
                try? FileManager.default.removeItem(at: layout.convertedURL)
                let start = monotonicNanos()
                try await convertAll(clips, to: encoder.target, with: service.conversions)
                let mine = Double(monotonicNanos() - start) / 1e9
                let out = try context.folder("formats-cli-\(encoder.tool)-\(run)")
                let cliStart = monotonicNanos()
                try runInParallel(wavs.enumerated().map { i, wav in
                    [tool] + encoder.arguments(wav, out.appendingPathComponent("\(i).\(encoder.target.encoding.fileExtension)").path)
                })
                let cli = Double(monotonicNanos() - cliStart) / 1e9
                try? FileManager.default.removeItem(at: out)
                if run > 0 {
                    ours.append(Double(clipsCount) / mine)
                    theirs.append(Double(clipsCount) / cli)
                }
            }
            rows.append(.measured("\(title) (median of \(runs))", Figure(try Stats(ours).median, .clipsPerSecond),
                                  baseline: Figure(try Stats(theirs).median, .clipsPerSecond), label: encoder.tool,
                                  target: Target(.ratio, .atLeast, 1.0),
                                  note: "\(Self.parallelism) at a time both sides, \(String(format: "%.0f", audioSeconds)) s of speech in all; ours: hash-checked read, encode through libsndfile, name under converted/, one syncfs for the batch; theirs: one process per WAV file, no sync"))
        }
        service.close()
        return rows
    }

    /// `parallelism` workers, each converting every `parallelism`-th clip.
    private func convertAll(_ clips: [Clip], to target: AudioTarget, with conversions: ConvertedAudioCache) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<Self.parallelism {
                group.addTask {
                    for i in stride(from: worker, to: clips.count, by: Self.parallelism) {
                        _ = try await conversions.converted(clips[i], to: target)
                    }
                }
            }
            try await group.waitForAll()
        }
        // The batch's one sync, counted in its time (on a Dispatch thread: it blocks on the disk).
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
            DispatchQueue.global().async { continuation.resume(with: Result { try conversions.flush() }) }
        }
    }

    /// Runs the commands, at most `parallelism` at a time; any failure stops the scenario.
    private func runInParallel(_ commands: [[String]]) throws {
        var running: [(ChildProcess, [String])] = []
        var next = 0
        while next < commands.count || !running.isEmpty {
            while running.count < Self.parallelism && next < commands.count {
                let command = commands[next]
                running.append((try ChildProcess(executable: command[0], Array(command.dropFirst()),
                                                 environment: ["PATH": "/usr/bin:/bin"]), command))
                next += 1
            }
            // Wait for the oldest: the commands take about the same time.
            let (child, command) = running.removeFirst()
            _ = child.readAll()
            let exit = try child.wait()
            guard exit.status == 0 else { throw HarnessError("\(command.joined(separator: " ")) exited \(exit.status)") }
        }
    }

    private func which(_ tool: String) -> String? {
        ["/usr/bin", "/bin", "/usr/local/bin"].map { "\($0)/\(tool)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    // MARK: Cached export

    private func cachedExportRow(_ context: BenchContext) async throws -> Row {
        let clips = 1_000
        let title = "export \(grouped(clips)) clips as MP3, all conversions cached"
        guard let repl = context.executable("tts-repl") else {
            return .skipped(title, target: "≤ 2×", because: "tts-repl is not built next to tts-bench")
        }
        let store = try await SeededStore.make(at: try context.folder("formats-export-store"), count: clips, distinctAudio: true)
        let environment = ChildProcess.replEnvironment(home: try context.folder("formats-export-home"))
        let base = ["--store", store.layout.root.path, "--redis", "off", "export"]
        // Untimed: the first MP3 export fills converted/.
        let filled = try runRepl(repl, base + [try context.folder("formats-export-fill").path, "--encoding", "mp3"], environment: environment)
        guard filled.exit.status == 0, filled.summary["converted"]?.intValue == clips else {
            throw HarnessError("the first MP3 export did not convert every clip: \(filled.summary.serialized().prefix(400))")
        }
        let runs = context.quick ? 3 : 5
        var mp3: [Double] = [], link: [Double] = []
        for run in 0...runs {  // run 0 warms the page cache
            let out = try context.folder("formats-export-out")
            let m = try runRepl(repl, base + [out.appendingPathComponent("mp3").path, "--encoding", "mp3"], environment: environment)
            guard m.exit.status == 0, m.summary["converted"]?.intValue == 0, m.summary["linked"]?.intValue == clips else {
                throw HarnessError("the cached MP3 export converted or missed something: \(m.summary.serialized().prefix(400))")
            }
            let l = try runRepl(repl, base + [out.appendingPathComponent("link").path, "--link", "always"], environment: environment)
            guard l.exit.status == 0, l.summary["linked"]?.intValue == clips else {
                throw HarnessError("the link-mode export missed something: \(l.summary.serialized().prefix(400))")
            }
            try FileManager.default.removeItem(at: out)
            if run > 0 {
                mp3.append(m.seconds)
                link.append(l.seconds)
            }
        }
        return .measured("\(title) (median of \(runs))", Figure(try Stats(mp3).median * 1000, .milliseconds),
                         baseline: Figure(try Stats(link).median * 1000, .milliseconds), label: "link-mode export",
                         target: Target(.ratio, .atMost, 2),
                         note: "wall time of `tts-repl export DIR --encoding mp3` whose 1,000 conversions are cached (each read and hashed for the manifest, then linked) against `export DIR --link always` of the same clips")
    }
}
