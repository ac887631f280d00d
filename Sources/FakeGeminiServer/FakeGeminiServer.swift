import Foundation
import Synchronization
import TTSCore

/// A loopback stand-in for Gemini's `generateContent` TTS endpoint, for tests, benchmarks and
/// demos. It validates requests as Google does, answers with deterministic audio in each model
/// family's format, and serves failures on demand (flags or `POST /__control/fault`).
///
/// ```swift
/// let server = try FakeGeminiServer(options: .init(invalidKeys: ["bad-key"]))
/// defer { server.stop() }
/// let base = server.baseURL                    // "http://127.0.0.1:41234"
/// server.inject(FaultSpec(.status(500), count: 2))
/// ```
///
/// Control endpoints: `POST /__control/fault` (a `FaultSpec` as JSON), `POST /__control/reset`,
/// `GET /__control/log` (JSON lines: path, model, voice, key suffix, status) and
/// `GET /__control/counters`.
public final class FakeGeminiServer: Sendable {
    public struct Options: Sendable {
        /// Time from a generate request's arrival to its answer (when building the answer takes
        /// less; it is built during the wait).
        public var latencyMs: Int
        /// Requests per minute allowed per API key; past it, 429 with a RetryInfo delay.
        public var rpmPerKey: Int?
        /// Faults served first, in order.
        public var faults: [FaultSpec]
        /// Keys answered with 400 `API_KEY_INVALID`.
        public var invalidKeys: Set<String>
        /// The window `rpmPerKey` counts over: a minute, as Google's does; tests shorten it so a
        /// pacing run that must stay under the limit takes seconds (20 per 1 s = 1200/min).
        public var rpmWindowSeconds: Double
        /// Streamed answers (`streamGenerateContent`): audio bytes per event. Any size, odd ones
        /// included, so an event may end inside a sample as Google's may.
        public var streamChunkBytes: Int
        /// Time from a streamed request's arrival to its first audio event.
        public var firstChunkDelayMs: Int
        /// Time between further audio events.
        public var chunkDelayMs: Int
        /// Streams of the WAV-answering models (3.8) send `audio/wav` with a RIFF header in the
        /// first event only, instead of raw `audio/l16`.
        public var streamWAV: Bool

        public init(latencyMs: Int = 0, rpmPerKey: Int? = nil, faults: [FaultSpec] = [], invalidKeys: Set<String> = [],
                    rpmWindowSeconds: Double = 60, streamChunkBytes: Int = 9_600, firstChunkDelayMs: Int = 0,
                    chunkDelayMs: Int = 0, streamWAV: Bool = false) {
            self.streamChunkBytes = max(1, streamChunkBytes)
            self.firstChunkDelayMs = firstChunkDelayMs
            self.chunkDelayMs = chunkDelayMs
            self.streamWAV = streamWAV
            self.latencyMs = latencyMs
            self.rpmPerKey = rpmPerKey
            self.rpmWindowSeconds = rpmWindowSeconds
            self.faults = faults
            self.invalidKeys = invalidKeys
        }
    }

    /// How a model family answers.
    enum AudioShape: Sendable { case pcmL16Semicolons, pcmL16Spaced, wav }

    /// The models served, and the audio each answers with.
    static let models: [String: AudioShape] = [
        "gemini-2.5-flash-preview-tts": .pcmL16Semicolons,
        "gemini-2.5-pro-preview-tts": .pcmL16Semicolons,
        "gemini-3.1-flash-tts-preview": .pcmL16Spaced,
        "gemini-3.8-flash-tts": .wav,
        "gemini-3.8-flash-lite-tts": .wav,
    ]

    /// Google's 30 prebuilt voices, lowercased.
    static let voices: Set<String> = Set([
        "Zephyr", "Puck", "Charon", "Kore", "Fenrir", "Leda", "Orus", "Aoede", "Callirrhoe", "Autonoe",
        "Enceladus", "Iapetus", "Umbriel", "Algieba", "Despina", "Erinome", "Algenib", "Rasalgethi",
        "Laomedeia", "Achernar", "Alnilam", "Schedar", "Gacrux", "Pulcherrima", "Achird",
        "Zubenelgenubi", "Vindemiatrix", "Sadachbia", "Sadaltager", "Sulafat",
    ].map { $0.lowercased() })

    /// A generate request as received, for in-process tests. The API key header is recorded as
    /// its last four characters only.
    public struct RecordedRequest: Sendable {
        public var method: String
        public var target: String
        public var headers: [String: String]
        public var body: Data
        /// The body as a JSON object, when it is one.
        public var json: [String: Any]? { try? JSONSerialization.jsonObject(with: body) as? [String: Any] }
    }

    /// What the server has seen.
    public struct Counters: Sendable, Codable, Equatable {
        public var requests = 0
        public var succeeded = 0
        public var failed = 0
        public var faultsServed = 0
        public var connections = 0
        /// The most generate requests handled at once (from arrival, through the injected
        /// latency, to the answer): shows how many calls a client really keeps in flight.
        public var peakConcurrentRequests = 0
        /// Generate requests that asked for a stream (`streamGenerateContent`), of `requests`.
        public var streamRequests = 0
        /// Events of streamed answers written to the wire so far (audio, finish and error events).
        public var streamEventsSent = 0
    }

    private struct State {
        var faults: [FaultSpec]
        var log: [String] = []
        var recorded: [RecordedRequest] = []
        var counters = Counters()
        var recentByKey: [String: [Double]] = [:]
        /// Generate requests being handled now.
        var inFlight = 0
    }

    private let options: Options
    private let state: Mutex<State>
    private let http = Mutex<LoopbackHTTPServer?>(nil)
    public let port: Int

    /// Starts serving on 127.0.0.1 at `port` (0 picks a free one; read `port` afterwards).
    public init(port: Int = 0, options: Options = Options()) throws {
        self.options = options
        self.state = Mutex(State(faults: options.faults))
        let box = HandlerBox()
        let server = try LoopbackHTTPServer(port: port) { request in box.target?.handle(request) ?? .hang }
        self.port = server.port
        http.withLock { $0 = server }
        box.target = self
    }

    deinit { stop() }

    public var baseURL: String { "http://127.0.0.1:\(port)" }

    /// Stops listening and drops every connection (a hanging answer ends too).
    public func stop() { http.withLock { $0?.stop() } }

    /// Queues a fault for the next generate requests.
    public func inject(_ fault: FaultSpec) { state.withLock { $0.faults.append(fault) } }

    public func recordedRequests() -> [RecordedRequest] { state.withLock { $0.recorded } }

    public func counters() -> Counters {
        var counters = state.withLock { $0.counters }
        counters.connections = http.withLock { $0?.acceptedConnections.load(ordering: .relaxed) ?? 0 }
        return counters
    }

    /// The request log: one JSON object per line.
    public func logLines() -> String { state.withLock { $0.log.map { $0 + "\n" }.joined() } }

    // MARK: - Routing

    private func handle(_ request: ServerRequest) -> ServerReply {
        switch (request.method, request.path) {
        case ("GET", "/__control/log"):
            return .respond(status: 200, contentType: "application/x-ndjson", body: Data(logLines().utf8))
        case ("GET", "/__control/counters"):
            let body = (try? JSONEncoder().encode(counters())) ?? Data("{}".utf8)
            return .respond(status: 200, contentType: "application/json", body: body)
        case ("POST", "/__control/fault"):
            do {
                inject(try FaultSpec(json: request.body))
                return .respond(status: 200, contentType: "application/json", body: Data("{\"ok\":true}".utf8))
            } catch {
                return Self.googleError(400, "INVALID_ARGUMENT", "\(error)")
            }
        case ("POST", "/__control/reset"):
            state.withLock { $0 = State(faults: [], inFlight: $0.inFlight) }  // calls still being answered stay counted
            return .respond(status: 200, contentType: "application/json", body: Data("{\"ok\":true}".utf8))
        case ("POST", let path) where path.hasPrefix("/v1beta/models/") && path.hasSuffix(":streamGenerateContent"):
            let model = String(path.dropFirst("/v1beta/models/".count).dropLast(":streamGenerateContent".count))
            state.withLock { $0.counters.streamRequests += 1 }
            // Pacing is the stream's own (first-chunk and per-chunk delays, counted from the
            // request's arrival, so building the audio does not add to them), not `latencyMs`.
            return generate(request, model: model, streaming: true, arrived: .now)
        case ("POST", let path) where path.hasPrefix("/v1beta/models/") && path.hasSuffix(":generateContent"):
            let model = String(path.dropFirst("/v1beta/models/".count).dropLast(":generateContent".count))
            state.withLock { state in
                state.inFlight += 1
                state.counters.peakConcurrentRequests = max(state.counters.peakConcurrentRequests, state.inFlight)
            }
            defer { state.withLock { $0.inFlight -= 1 } }
            // The answer is built during the wait, so it leaves `latencyMs` after the request
            // arrived and not later: a benchmark's "8 calls / 200 ms" then holds for the server.
            let due = ContinuousClock.now + .milliseconds(options.latencyMs)
            let reply = generate(request, model: model)
            let left = ContinuousClock.now.duration(to: due)
            if left > .zero { usleep(UInt32(left.components.seconds * 1_000_000 + left.components.attoseconds / 1_000_000_000_000)) }
            return reply
        default:
            return Self.googleError(404, "NOT_FOUND", "The requested URL \(request.path) was not found on this server.")
        }
    }

    // MARK: - generateContent

    private func generate(_ request: ServerRequest, model: String, streaming: Bool = false,
                          arrived: ContinuousClock.Instant = .now) -> ServerReply {
        let key = request.headers["x-goog-api-key"] ?? Self.queryValue("key", in: request.target) ?? ""
        let body = try? JSONSerialization.jsonObject(with: request.body) as? [String: Any]
        let voice = body.flatMap(Self.voiceNames)?.joined(separator: ",") ?? ""
        var recordedHeaders = request.headers
        if let apiKey = recordedHeaders["x-goog-api-key"] { recordedHeaders["x-goog-api-key"] = "…" + apiKey.suffix(4) }
        let reply = answer(request, model: model, key: key, body: body, streaming: streaming, arrived: arrived)
        let status: Int
        switch reply {
        case let .respond(code, _, _), let .stream(code, _, _): status = code
        case .hang: status = 0
        }
        let entry: [String: Any] = ["path": request.path, "model": model, "voice": voice,
                                    "keySuffix": String(key.suffix(4)), "status": status]
        let line = (try? JSONSerialization.data(withJSONObject: entry, options: [.sortedKeys, .withoutEscapingSlashes]))
            .map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        state.withLock { state in
            state.log.append(line)
            state.recorded.append(RecordedRequest(method: request.method, target: request.target,
                                                  headers: recordedHeaders, body: request.body))
            state.counters.requests += 1
            if status == 200 { state.counters.succeeded += 1 } else { state.counters.failed += 1 }
        }
        return reply
    }

    private func answer(_ request: ServerRequest, model: String, key: String, body: [String: Any]?, streaming: Bool,
                        arrived: ContinuousClock.Instant) -> ServerReply {
        if key.isEmpty {
            return Self.googleError(403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.")
        }
        if options.invalidKeys.contains(key) {
            return Self.googleError(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.", details: [
                ["@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
                 "domain": "googleapis.com", "metadata": ["service": "generativelanguage.googleapis.com"]],
            ])
        }
        guard let shape = Self.models[model] else {
            return Self.googleError(404, "NOT_FOUND", "models/\(model) is not found for API version v1beta, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods.")
        }
        var streamFault: FaultSpec?
        if let fault = takeFault(streaming: streaming) {
            if fault.isMidStream {
                streamFault = fault  // served once the stream is under way
            } else {
                let reply = serve(fault, model: model, shape: shape)
                return streaming ? Self.asOneEvent(reply) : reply
            }
        }
        if let limit = options.rpmPerKey, let wait = admit(key: key, limit: limit) {
            return Self.quotaError(quotaId: "GenerateRequestsPerMinutePerProjectPerModel", limit: limit,
                                   retryDelay: String(format: "%.6fs", wait))
        }
        guard let body else {
            return Self.googleError(400, "INVALID_ARGUMENT", "Invalid JSON payload received. Unexpected token.")
        }
        let config = Self.field(body, "generationConfig") as? [String: Any] ?? [:]
        let modalities = (Self.field(config, "responseModalities") as? [String] ?? []).map { $0.uppercased() }
        guard modalities == ["AUDIO"] else {
            return Self.googleError(400, "INVALID_ARGUMENT", "The requested combination of response modalities (\(modalities.isEmpty ? "TEXT" : modalities.joined(separator: ", "))) is not supported by the model. models/\(model) accepts the following combination of response modalities:\n* AUDIO\n")
        }
        let speech = Self.field(config, "speechConfig") as? [String: Any] ?? [:]
        let voices = Self.voiceNames(body) ?? []
        if let multi = Self.field(speech, "multiSpeakerVoiceConfig") as? [String: Any] {
            let speakers = Self.field(multi, "speakerVoiceConfigs") as? [Any] ?? []
            guard speakers.count == 2 else {
                return Self.googleError(400, "INVALID_ARGUMENT", "Multi-speaker voice config must have exactly 2 speaker voice configs, got \(speakers.count).")
            }
        }
        for voice in voices where !Self.voices.contains(voice.lowercased()) {
            return Self.googleError(400, "INVALID_ARGUMENT", "Voice name \(voice) is not supported. Allowed voice names are: \(Self.voices.sorted().joined(separator: ", ")).")
        }
        if voices.isEmpty && model.hasPrefix("gemini-3.1") {
            return Self.googleError(400, "INVALID_ARGUMENT", "A voice must be specified for model models/\(model): set speechConfig.voiceConfig.prebuiltVoiceConfig.voiceName.")
        }
        let text = Self.texts(body).joined(separator: " ")
        guard !text.isEmpty else {
            return Self.googleError(400, "INVALID_ARGUMENT", "* GenerateContentRequest.contents: contents is not specified\n")
        }
        let pcm = FakeAudio.pcm(text: text, voice: voices.first ?? "Kore")
        if streaming {
            return streamAnswer(pcm: pcm, model: model, shape: shape, fault: streamFault, arrived: arrived)
        }
        return Self.audioAnswer(pcm: pcm, model: model, shape: shape)
    }

    /// The next fault for this request; faults that only make sense inside a stream wait for a
    /// streamed request.
    private func takeFault(streaming: Bool) -> FaultSpec? {
        state.withLock { state in
            guard let index = state.faults.firstIndex(where: { ($0.count.map { $0 > 0 } ?? true) && (streaming || !$0.isMidStream) }) else { return nil }
            let fault = state.faults[index]
            if let count = fault.count {
                if count <= 1 { state.faults.remove(at: index) } else { state.faults[index].count = count - 1 }
            }
            state.counters.faultsServed += 1
            return fault
        }
    }

    /// Sliding one-minute window per key; returns how long to wait when the key is over its limit.
    private func admit(key: String, limit: Int) -> Double? {
        let now = Date().timeIntervalSince1970
        return state.withLock { state in
            let window = options.rpmWindowSeconds
            var recent = state.recentByKey[key, default: []].filter { now - $0 < window }
            defer { state.recentByKey[key] = recent }
            if recent.count >= limit { return max(0.001, window - (now - recent[0])) }
            recent.append(now)
            return nil
        }
    }

    private func serve(_ fault: FaultSpec, model: String, shape: AudioShape) -> ServerReply {
        switch fault.kind {
        case let .status(code):
            if code == 429 {
                return Self.quotaError(quotaId: "GenerateRequestsPerMinutePerProjectPerModel", limit: 10,
                                       retryDelay: fault.retryDelay ?? "1s", message: fault.message)
            }
            if code == 200 {
                return Self.audioAnswer(pcm: FakeAudio.pcm(text: "fault", voice: "Kore"), model: model, shape: shape)
            }
            let (word, message) = Self.statusWords(code)
            return Self.googleError(code, fault.googleStatus ?? word, fault.message ?? message)
        case let .shape(name):
            switch name {
            case "hang":
                return .hang
            case "per-day-429":
                return Self.quotaError(quotaId: "GenerateRequestsPerDayPerProjectPerModel-FreeTier", limit: 15,
                                       retryDelay: fault.retryDelay ?? "3600s", message: fault.message)
            case "empty-other":
                return Self.json(["candidates": [["content": [String: Any](), "finishReason": "OTHER", "index": 0]],
                                  "modelVersion": model])
            case "text-instead-of-audio":
                return Self.json(["candidates": [["content": ["role": "model", "parts": [["text": "I'm sorry, I can only answer in text right now."]]],
                                                  "finishReason": "STOP", "index": 0]],
                                  "modelVersion": model])
            case "blocked":
                return Self.json(["promptFeedback": ["blockReason": "SAFETY"],
                                  "usageMetadata": ["promptTokenCount": 8, "totalTokenCount": 8],
                                  "modelVersion": model])
            case "truncated":
                let pcm = FakeAudio.pcm(text: "truncated answer", voice: "Kore")
                return Self.audioAnswer(pcm: pcm.prefix(pcm.count / 2), model: model, shape: shape, finishReason: "OTHER")
            case "bad-base64":
                return Self.json(["candidates": [["content": ["role": "model", "parts": [["inlineData": ["mimeType": "audio/L16;codec=pcm;rate=24000", "data": "@@not base64!!"]]]],
                                                  "finishReason": "STOP", "index": 0]]])
            case "huge":
                // 22.5 MB of PCM is 30 MB of base64: a ~7.8-minute clip.
                return Self.audioAnswer(pcm: Data(repeating: 0x11, count: 22_500_000), model: model, shape: .pcmL16Semicolons)
            default:
                return Self.googleError(500, "INTERNAL", "fake-gemini does not know the fault \(name).")
            }
        }
    }

    // MARK: - Streamed answers

    /// `text/event-stream`: one `data:` event per `streamChunkBytes` of audio, paced by the
    /// options, then a last event with `finishReason: STOP` — or, with a mid-stream fault, an
    /// error event, a cut connection or `finishReason: OTHER` after `afterChunks` audio events.
    private func streamAnswer(pcm: Data, model: String, shape: AudioShape, fault: FaultSpec?,
                              arrived: ContinuousClock.Instant) -> ServerReply {
        let options = self.options
        let wav = options.streamWAV && shape == .wav
        let mimeType = wav ? "audio/wav" : "audio/l16; rate=24000; channels=1"
        var payload = pcm
        if wav {
            payload = WAVAudio.streamingHeader(for: FakeAudio.format) + pcm
        }
        let size = options.streamChunkBytes
        let pieces = stride(from: 0, to: payload.count, by: size).map { payload.subdata(in: $0..<min($0 + size, payload.count)) }
        let usage = "\"usageMetadata\":{\"promptTokenCount\":8,\"candidatesTokenCount\":\(pcm.count / 1000),\"totalTokenCount\":\(8 + pcm.count / 1000)}"
        return .stream(status: 200, contentType: "text/event-stream") { [self] writer in
            func event(_ json: String) -> Bool {
                let sent = writer.send(Data("data: \(json)\r\n\r\n".utf8))
                if sent { state.withLock { $0.counters.streamEventsSent += 1 } }
                return sent
            }
            func finish(_ reason: String) {
                _ = event("{\"candidates\":[{\"content\":{\"role\":\"model\"},\"finishReason\":\"\(reason)\",\"index\":0}],\(usage),\"modelVersion\":\"\(model)\"}")
            }
            /// Serves the fault; false when there is none.
            func fail() -> Bool {
                switch fault?.kind {
                case .shape("stream-error")?:
                    let message = fault?.message ?? "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting"
                    _ = event("{\"error\":{\"code\":500,\"message\":\"\(message)\",\"status\":\"INTERNAL\"}}")
                case .shape("stream-cut")?:
                    writer.cut()
                case .shape("stream-other")?:
                    finish("OTHER")
                default:
                    return false
                }
                return true
            }
            // Each event leaves at its time counted from the arrival, so pacing does not drift.
            let first = arrived + .milliseconds(options.firstChunkDelayMs)
            for (index, piece) in pieces.enumerated() {
                if index == fault?.afterChunks, fail() { return }
                Self.sleep(until: first + .milliseconds(index * options.chunkDelayMs))
                let extra = index == 0 ? ",\(usage),\"modelVersion\":\"\(model)\",\"responseId\":\"fake\"" : ""
                let sent = event("{\"candidates\":[{\"content\":{\"parts\":[{\"inlineData\":{\"mimeType\":\"\(mimeType)\",\"data\":\"\(piece.base64EncodedString())\"}}],\"role\":\"model\"},\"index\":0}]\(extra)}")
                guard sent else { return }
            }
            if fail() { return }
            finish("STOP")
        }
    }

    /// A fault's whole answer on the streaming URL: an error status stays an ordinary answer
    /// (errors before a stream starts are), a 200 body becomes the stream's one event.
    private static func asOneEvent(_ reply: ServerReply) -> ServerReply {
        guard case let .respond(200, _, body) = reply else { return reply }
        return .stream(status: 200, contentType: "text/event-stream") { writer in
            writer.send(Data("data: ".utf8) + body + Data("\r\n\r\n".utf8))
        }
    }

    private static func sleep(until due: ContinuousClock.Instant) {
        let left = ContinuousClock.now.duration(to: due)
        if left > .zero { usleep(UInt32(left.components.seconds * 1_000_000 + left.components.attoseconds / 1_000_000_000_000)) }
    }

    // MARK: - Answers in Google's shapes

    private static func audioAnswer(pcm: Data, model: String, shape: AudioShape, finishReason: String = "STOP") -> ServerReply {
        let mimeType: String
        let payload: Data
        switch shape {
        case .pcmL16Semicolons: mimeType = "audio/L16;codec=pcm;rate=24000"; payload = pcm
        case .pcmL16Spaced: mimeType = "audio/l16; rate=24000; channels=1"; payload = pcm
        case .wav: mimeType = "audio/wav"; payload = WAVAudio(format: FakeAudio.format, pcm: pcm).encoded()
        }
        // Built by hand: JSONSerialization is slow on a 30 MB string.
        var body = Data("{\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"inlineData\":{\"mimeType\":\"\(mimeType)\",\"data\":\"".utf8)
        body.append(payload.base64EncodedData())
        body.append(Data("\"}}]},\"finishReason\":\"\(finishReason)\",\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":8,\"candidatesTokenCount\":\(pcm.count / 1000),\"totalTokenCount\":\(8 + pcm.count / 1000)},\"modelVersion\":\"\(model)\",\"responseId\":\"fake\"}".utf8))
        return .respond(status: 200, contentType: "application/json; charset=UTF-8", body: body)
    }

    private static func json(_ object: [String: Any], status: Int = 200) -> ServerReply {
        let body = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return .respond(status: status, contentType: "application/json; charset=UTF-8", body: body)
    }

    static func googleError(_ code: Int, _ status: String, _ message: String, details: [[String: Any]] = []) -> ServerReply {
        var error: [String: Any] = ["code": code, "message": message, "status": status]
        if !details.isEmpty { error["details"] = details }
        return json(["error": error], status: code)
    }

    private static func quotaError(quotaId: String, limit: Int, retryDelay: String, message: String? = nil) -> ServerReply {
        googleError(429, "RESOURCE_EXHAUSTED", message ?? "You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.", details: [
            ["@type": "type.googleapis.com/google.rpc.QuotaFailure",
             "violations": [["quotaMetric": "generativelanguage.googleapis.com/generate_requests_per_model",
                             "quotaId": quotaId, "quotaValue": "\(limit)"]]],
            ["@type": "type.googleapis.com/google.rpc.Help", "links": [["description": "Learn more about Gemini API quotas", "url": "https://ai.google.dev/gemini-api/docs/rate-limits"]]],
            ["@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": retryDelay],
        ])
    }

    private static func statusWords(_ code: Int) -> (String, String) {
        switch code {
        case 400: ("INVALID_ARGUMENT", "Request contains an invalid argument.")
        case 403: ("PERMISSION_DENIED", "The caller does not have permission.")
        case 404: ("NOT_FOUND", "Requested entity was not found.")
        case 408: ("DEADLINE_EXCEEDED", "The request timed out.")
        case 499: ("CANCELLED", "The operation was cancelled.")
        case 500: ("INTERNAL", "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting")
        case 502, 503: ("UNAVAILABLE", "The model is overloaded. Please try again later.")
        case 504: ("DEADLINE_EXCEEDED", "The request timed out. Please try again.")
        default: ("UNKNOWN", "Unknown error.")
        }
    }

    // MARK: - Reading camelCase or snake_case bodies

    /// The field under its camelCase name or its snake_case spelling (the Python SDK sends those).
    static func field(_ object: [String: Any], _ camelCase: String) -> Any? {
        if let value = object[camelCase] { return value }
        var snake = ""
        for character in camelCase {
            if character.isUppercase { snake += "_" + character.lowercased() } else { snake.append(character) }
        }
        return object[snake]
    }

    /// Every voice the body names, single- or multi-speaker; nil when it names none.
    static func voiceNames(_ body: [String: Any]) -> [String]? {
        let config = field(body, "generationConfig") as? [String: Any] ?? [:]
        let speech = field(config, "speechConfig") as? [String: Any] ?? [:]
        func name(_ voiceConfig: Any?) -> String? {
            let prebuilt = (voiceConfig as? [String: Any]).flatMap { field($0, "prebuiltVoiceConfig") as? [String: Any] }
            return prebuilt.flatMap { field($0, "voiceName") as? String }
        }
        var names: [String] = []
        if let single = name(field(speech, "voiceConfig")) { names.append(single) }
        if let multi = field(speech, "multiSpeakerVoiceConfig") as? [String: Any] {
            for speaker in field(multi, "speakerVoiceConfigs") as? [[String: Any]] ?? [] {
                if let voice = name(field(speaker, "voiceConfig")) { names.append(voice) }
            }
        }
        return names.isEmpty ? nil : names
    }

    static func texts(_ body: [String: Any]) -> [String] {
        (body["contents"] as? [[String: Any]] ?? []).flatMap { content in
            (content["parts"] as? [[String: Any]] ?? []).compactMap { $0["text"] as? String }
        }
    }

    private static func queryValue(_ name: String, in target: String) -> String? {
        URLComponents(string: target)?.queryItems?.first { $0.name == name }?.value
    }
}

/// Lets the socket server call back into the fake after both exist, without a retain cycle.
private final class HandlerBox: @unchecked Sendable {
    private let targetLock = NSLock()
    private weak var _target: FakeGeminiServer?
    var target: FakeGeminiServer? {
        get { targetLock.withLock { _target } }
        set { targetLock.withLock { _target = newValue } }
    }
}
