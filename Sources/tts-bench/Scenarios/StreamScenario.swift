import BenchStats
import Foundation
import Glibc
import TTSCore
import TTSEngines
import TTSService
import TTSStore

/// Time to first audio of a streamed miss, against fake-gemini streaming a 10 s clip whose first
/// chunk leaves after 300 ms and the other nine over the next 2 s (issue 16's set-up):
///
/// - through the service in process (`speakStreaming`), beside the unary call's total time for
///   the same kind of clip: target ≤ the first-chunk delay + 10 ms;
/// - 8 listeners of one miss: one engine call, each one's first audio ≤ the delay + 20 ms;
/// - through `tts-repl say --stream` (a stand-in player that discards its input), as reported by
///   the command's own `first_audio_ms`.
struct StreamScenario: Scenario {
    let name = "stream"
    static let firstChunkMs = 300
    static let chunkMs = 222  // nine gaps ≈ 2 s
    static let chunkBytes = 48_000  // 1 s of 24 kHz mono 16-bit

    func run(_ context: BenchContext) async throws -> [Row] {
        let delay = Double(Self.firstChunkMs)
        guard let fake = context.executable("fake-gemini") else {
            return [.skipped("time to first audio, streamed miss", target: "≤ \(Self.firstChunkMs + 10) ms",
                             because: "fake-gemini is not built next to tts-bench")]
        }
        let folder = try context.folder("stream")
        // The unary answer comes when the whole clip would have been streamed.
        let server = try FakeGemini(fake, latencyMs: Self.firstChunkMs + 9 * Self.chunkMs, folder: folder, extraArguments: [
            "--first-chunk-ms", String(Self.firstChunkMs), "--chunk-ms", String(Self.chunkMs),
            "--stream-chunk-bytes", String(Self.chunkBytes),
        ])
        defer { server.stop() }
        let service = try makeService(server.baseURL, folder.appendingPathComponent("store"))
        let runs = context.quick ? 3 : 7

        // 167 characters at fake-gemini's 60 ms each: a 10 s clip.
        func text(_ tag: String) -> String {
            let base = "Streaming bench \(tag): this sentence is long enough that the fake speaks it for ten seconds, "
            return String((base + String(repeating: "and then some more words ", count: 8)).prefix(167))
        }
        _ = try await firstAudio(service, text("warm-up"))  // connection, engine, store warm

        var streamed: [Double] = []
        var unary: [Double] = []
        for run in 0..<runs {
            streamed.append(try await firstAudio(service, text("stream \(run)")).first)
            let started = ContinuousClock.now
            let generation = try await service.generateOrFetch(request(text("unary \(run)")))
            guard generation.tier == .engine else { throw HarnessError("the unary bench request was not a miss") }
            unary.append(started.duration(to: .now).milliseconds)
        }
        let unaryMedian = try Stats(unary).median

        let callsBefore = service.metrics.snapshot.engineCalls["ok", default: 0]
        let shared = text("followers")
        let firsts = try await withThrowingTaskGroup(of: Double.self) { group in
            for _ in 0..<8 { group.addTask { try await firstAudio(service, shared).first } }
            return try await group.reduce(into: [Double]()) { $0.append($1) }
        }
        let calls = service.metrics.snapshot.engineCalls["ok", default: 0] - callsBefore

        let followersTitle = "8 listeners of one streamed miss: slowest first audio"
        var rows: [Row] = [
            .measured("time to first audio, streamed miss through the service (10 s clip, median of \(runs))",
                      Figure(try Stats(streamed).median, .milliseconds),
                      baseline: Figure(delay, .milliseconds), label: "fake's first chunk",
                      target: Target(.value, .atMost, delay + 10),
                      note: "the unary call for the same kind of clip took \(Unit.milliseconds.format(unaryMedian)) in total (median)"),
            calls == 1
                ? .measured(followersTitle, Figure(firsts.max() ?? .nan, .milliseconds),
                            baseline: Figure(delay, .milliseconds), label: "fake's first chunk",
                            target: Target(.value, .atMost, delay + 20), note: "one engine call for all eight")
                : .failed(followersTitle, HarnessError("expected one engine call for the eight listeners, counted \(calls)")),
        ]
        if let repl = context.executable("tts-repl") {
            rows.append(try replRow(context, repl, server, folder, runs: runs, text: text))
            rows += try await serveRows(context, repl, server, folder, runs: runs, text: text)
        }
        return rows
    }

    /// `tts-repl serve`, `POST /v1/speech` with `"stream": true` through libcurl: milliseconds
    /// from sending the request to the first audio byte after the 44-byte WAV header, beside a
    /// unary POST's total time; then 8 clients streaming one miss.
    private func serveRows(_ context: BenchContext, _ repl: URL, _ fake: FakeGemini, _ folder: URL, runs: Int,
                           text: (String) -> String) async throws -> [Row] {
        let serve = try fake.serve(repl, name: "serve-stream", store: folder.appendingPathComponent("serve-store"),
                                   home: try context.folder("stream-serve-home"), folder: folder, concurrency: 8)
        defer { _ = try? serve.stop() }
        let client = CurlHTTPClient(configuration: HTTPClientConfiguration(totalTimeout: .seconds(60)))
        func post(_ text: String, stream: Bool) -> HTTPRequest {
            let body = JSONValue.object([("text", .string(text)), ("voice", "Kore"), ("stream", .bool(stream))]).serialized()
            return HTTPRequest(method: "POST", url: serve.baseURL + "/v1/speech", headers: [("Content-Type", "application/json")],
                               body: Data(body.utf8))
        }
        /// Milliseconds to the first byte after the WAV header; reads the answer to its end.
        @Sendable func firstAudio(_ request: HTTPRequest) async throws -> Double {
            let asked = ContinuousClock.now
            let response = try await client.stream(request)
            guard response.status == 200 else { throw HarnessError("serve answered a streamed POST /v1/speech with \(response.status)") }
            var received = 0
            var first: Double?
            for try await piece in response.body {
                received += piece.count
                if first == nil && received > 44 { first = asked.duration(to: .now).milliseconds }
            }
            guard let first else { throw HarnessError("serve's streamed answer carried no audio") }
            return first
        }
        _ = try await firstAudio(post(text("serve warm-up"), stream: true))

        var streamed: [Double] = [], unary: [Double] = []
        for run in 0..<runs {
            streamed.append(try await firstAudio(post(text("serve stream \(run)"), stream: true)))
            let started = ContinuousClock.now
            let answer = try await client.send(post(text("serve unary \(run)"), stream: false))
            guard answer.status == 200, answer.header("X-TTS-Tier") == "engine" else {
                throw HarnessError("the unary POST /v1/speech was not a miss answered 200 (\(answer.status), tier \(answer.header("X-TTS-Tier") ?? "none"))")
            }
            unary.append(started.duration(to: .now).milliseconds)
        }
        let delay = Double(Self.firstChunkMs)
        let counters = { () -> Int in
            let answer = try? JSONValue.parse(CurlClient(executable: systemTool("curl") ?? "/usr/bin/curl").get(fake.baseURL + "/__control/counters"))
            return answer?["streamRequests"]?.intValue ?? -1
        }
        let streamsBefore = counters()
        let shared = post(text("serve followers"), stream: true)
        let firsts = try await withThrowingTaskGroup(of: Double.self) { group in
            for _ in 0..<8 { group.addTask { try await firstAudio(shared) } }
            return try await group.reduce(into: [Double]()) { $0.append($1) }
        }
        let calls = counters() - streamsBefore
        let followersTitle = "8 clients of one streamed miss through serve: slowest first audio"
        return [
            .measured("time to first audio through serve, native stream (median of \(runs))",
                      Figure(try Stats(streamed).median, .milliseconds),
                      baseline: Figure(delay, .milliseconds), label: "fake's first chunk",
                      target: Target(.value, .atMost, delay + 10),
                      note: "POST /v1/speech \"stream\": true through libcurl, to the first byte after the WAV header; the unary POST for the same kind of clip took \(Unit.milliseconds.format(try Stats(unary).median)) in total (median)"),
            calls == 1
                ? .measured(followersTitle, Figure(firsts.max() ?? .nan, .milliseconds),
                            baseline: Figure(delay, .milliseconds), label: "fake's first chunk",
                            target: Target(.value, .atMost, delay + 20), note: "one engine call for all eight (fake-gemini's count)")
                : .failed(followersTitle, HarnessError("expected one engine stream for the eight clients, fake-gemini counted \(calls)")),
        ]
    }

    private func request(_ text: String) -> AudioRequest {
        AudioRequest(text: text, voice: "Kore", engine: "gemini", model: "")
    }

    private func makeService(_ baseURL: String, _ root: URL) throws -> SpeechService {
        let layout = StoreLayout(root: root)
        var configuration = GeminiConfiguration(baseURL: baseURL, apiKeys: ["bench-key-not-secret"])
        configuration.concurrency = 8
        var engines = EngineRegistry()
        engines.register(GeminiEngine(configuration: configuration))
        return SpeechService(engines: engines, index: try ClipIndex(url: layout.indexURL), blobs: try BlobStore(layout: layout))
    }

    /// Milliseconds from asking to the first audio piece; reads the stream to its end.
    private func firstAudio(_ service: SpeechService, _ text: String) async throws -> (first: Double, tier: Tier?) {
        let asked = ContinuousClock.now
        var first: Double?
        var tier: Tier?
        for try await event in try await service.speakStreaming(request(text)) {
            switch event {
            case let .started(start): tier = start.tier
            case .audio: if first == nil { first = asked.duration(to: .now).milliseconds }
            case .finished: break
            }
        }
        guard let first else { throw HarnessError("a streamed bench request delivered no audio") }
        return (first, tier)
    }

    /// `tts-repl say --stream` with a player that discards its input: the command's own figure.
    private func replRow(_ context: BenchContext, _ repl: URL, _ server: FakeGemini, _ folder: URL, runs: Int,
                         text: (String) -> String) throws -> Row {
        let bin = folder.appendingPathComponent("player-bin")
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        let player = bin.appendingPathComponent("aplay")
        try "#!/bin/sh\nexec cat > /dev/null\n".write(to: player, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: player.path)
        var environment = server.replEnvironment(home: try context.folder("stream-home"), concurrency: 4)
        environment["PATH"] = bin.path + ":" + (environment["PATH"] ?? "/usr/bin:/bin")
        let store = folder.appendingPathComponent("repl-store").path
        var figures: [Double] = []
        for run in 0..<runs {
            let result = try runRepl(repl, ["--store", store, "--redis", "off", "--engine", "gemini", "--voice", "Kore",
                                            "say", "--stream", text("repl \(run)")], environment: environment)
            var ms: Double?
            if result.exit.status == 0, case let .object(fields) = result.summary {
                switch fields.first(where: { $0.0 == "first_audio_ms" })?.1 {
                case let .double(value)?: ms = value
                case let .int(value)?: ms = Double(value)
                default: break
                }
            }
            guard let ms else {
                throw HarnessError("tts-repl say --stream exited \(result.exit.status) without first_audio_ms: \(result.summary)")
            }
            figures.append(ms)
        }
        return .measured("time to first audio, tts-repl say --stream (median of \(runs))",
                         Figure(try Stats(figures).median, .milliseconds),
                         baseline: Figure(Double(Self.firstChunkMs), .milliseconds), label: "fake's first chunk",
                         target: Target(.value, .atMost, Double(Self.firstChunkMs + 10)),
                         note: "first_audio_ms as the command reports it (from the command's start, process start-up excluded)")
    }
}
