import Foundation
import Synchronization
import TTSCore
import TTSService

/// `POST /v1/audio/speech` as OpenAI defines it, so the `openai` SDKs get the cache by
/// changing their base URL.
///
/// The body is OpenAI's `{model, input, voice, response_format?, speed?, instructions?,
/// stream_format?}`. `model` picks the engine: OpenAI's own names (`tts-1`, `gpt-4o-mini-tts`)
/// mean the server's default engine and model, a Gemini model name (`gemini-2.5-flash-preview-tts`)
/// means that model, `espeak` the espeak engine. `voice` goes through `OpenAIVoiceMap`;
/// `instructions` is the style. The answer is the audio bytes with OpenAI's `Content-Type`,
/// errors come in OpenAI's `{"error":{message,type,param,code}}` shape.
///
/// ```swift
/// let face = OpenAIFace(backend: backend, voiceMap: OpenAIVoiceMap(overrides: configuration.openAIVoiceMap))
/// let response = await face.speech(request)   // router: POST /v1/audio/speech
/// ```
public struct OpenAIFace: Sendable {
    public let backend: SpeechBackend
    public let voiceMap: OpenAIVoiceMap

    public init(backend: SpeechBackend, voiceMap: OpenAIVoiceMap = OpenAIVoiceMap()) {
        self.backend = backend
        self.voiceMap = voiceMap
    }

    /// OpenAI's `response_format` values, in the order its reference lists them.
    static let formatNames = ["mp3", "opus", "aac", "flac", "wav", "pcm"]

    /// The `Content-Type` OpenAI answers each format with.
    static let contentTypes: [String: String] = [
        "mp3": "audio/mpeg", "opus": "audio/opus", "aac": "audio/aac", "flac": "audio/flac",
        "wav": "audio/wav", "pcm": "audio/pcm",
    ]

    /// OpenAI's `pcm` is 16-bit little-endian mono at 24 kHz, whatever the clip's own rate.
    static let pcmSampleRate = 24_000

    /// What one OpenAI request asks for, after mapping to the cache's fields.
    struct SpeechCall: Equatable {
        var request: AudioRequest
        var format: String
        var streamsEvents: Bool
        /// `stream_format: "audio"` said in so many words: chunked audio as it is made (wav and
        /// pcm only). Left out, the clip is sent whole, as before.
        var streamsAudio = false
    }

    public func speech(_ request: ServerRequest) async -> ServerResponse {
        let call: SpeechCall
        do throws(APIError) {
            call = try parse(request.body)
        } catch {
            return error.response(.openAI)
        }
        if call.streamsAudio && !["pcm", "wav"].contains(call.format) {
            return APIError(status: 400, "response_format '\(call.format)' cannot be streamed; streaming supports wav and pcm",
                            field: "response_format").response(.openAI)
        }
        do {
            if call.streamsEvents && ["pcm", "wav"].contains(call.format) { return try await streamed(call, asEvents: true) }
            if call.streamsAudio { return try await streamed(call, asEvents: false) }
            let generation: Generation
            do {
                generation = try await backend.speak(call.request)
            } catch var error as TTSError {
                error.field = error.field.map(Self.openAIParam)
                throw error
            }
            let audio: DeliveredAudio
            do {
                audio = try await backend.audio(of: generation, as: deliveryFormat(call.format))
            } catch var error as TTSError where error.kind == .validation {
                // The backend names the formats it can make; the field at fault is ours.
                error.field = "response_format"
                throw error
            }
            let contentType = Self.contentTypes[call.format] ?? audio.mimeType
            var headers: [(name: String, value: String)] = [
                ("X-TTS-Key", generation.clip.key.hex), ("X-TTS-Tier", generation.tier.rawValue),
            ]
            if call.streamsEvents {
                headers.insert(("Content-Type", "text/event-stream"), at: 0)
                headers.append(("Cache-Control", "no-cache"))
                let events = Self.speechEvents(audio: try await audio.bytes(), clip: generation.clip)
                return ServerResponse(status: 200, headers: headers, body: .bytes(events), tier: generation.tier.rawValue)
            }
            headers.insert(("Content-Type", contentType), at: 0)
            return ServerResponse(status: 200, headers: headers, body: Self.body(of: audio), tier: generation.tier.rawValue)
        } catch let error as TTSError {
            return APIError(error).response(.openAI)
        } catch {
            return APIError(status: 500, "the audio could not be read: \(error)").response(.openAI)
        }
    }

    /// wav or pcm as the audio is made. `stream_format: "sse"`: a `speech.audio.delta` per piece
    /// (wav: the first carries a header of unknown length), then `speech.audio.done`;
    /// `"audio"`: the bytes themselves, chunked. OpenAI's pcm is 24 kHz: a clip at another rate
    /// is resampled piece by piece (`PCM16StreamResampler`), so the pieces together are the
    /// unary answer's bytes. A failure midway cuts the transfer.
    private func streamed(_ call: SpeechCall, asEvents: Bool) async throws -> ServerResponse {
        let wantsWAV = call.format == "wav", textCharacters = call.request.text.count
        @Sendable func frame(_ audio: Data) -> Data { asEvents && !audio.isEmpty ? Self.delta(audio) : audio }
        let sent = StreamedAudio()
        let stream: SpeechStreamBody
        do {
            stream = try await SpeechStreamBody.open(
                try await backend.speakStreaming(call.request),
                head: { start in
                    if !wantsWAV && start.format.sampleRate != Self.pcmSampleRate {
                        sent.resample(from: start.format, to: Self.pcmSampleRate)
                    }
                    return wantsWAV ? frame(WAVAudio.streamingHeader(for: start.format)) : Data()
                },
                piece: { _, pcm in frame(sent.add(pcm)) },
                tail: { start in
                    var out = frame(sent.finish())
                    if asEvents {
                        out.append(Self.done(textCharacters: textCharacters, durationMs: sent.milliseconds(at: start.format.sampleRate)))
                    }
                    return out
                })
        } catch var error as TTSError {
            error.field = error.field.map(Self.openAIParam)
            throw error
        }
        let tier = stream.start.tier.rawValue
        let contentType = asEvents ? "text/event-stream" : Self.contentTypes[call.format] ?? "application/octet-stream"
        return ServerResponse(status: 200, headers: [("Content-Type", contentType), ("Cache-Control", "no-cache"),
                                                     ("X-TTS-Key", stream.start.key.hex), ("X-TTS-Tier", tier)],
                              body: .stream(stream.body), tier: tier)
    }

    /// The audio of one stream: how much came (for the usage figures), and the resampler when
    /// the clip's rate is not the one sent. Used by one forwarding task at a time.
    private final class StreamedAudio: Sendable {
        private let state = Mutex<(bytes: Int, resampler: PCM16StreamResampler?)>((0, nil))
        func resample(from format: PCMFormat, to rate: Int) {
            state.withLock { $0.resampler = PCM16StreamResampler(from: format.sampleRate, to: rate, channels: format.channels) }
        }
        /// The bytes to send for this piece.
        func add(_ pcm: Data) -> Data {
            state.withLock { state in
                state.bytes += pcm.count
                return state.resampler?.push(pcm) ?? pcm
            }
        }
        /// What the resampler still holds, once the audio has ended.
        func finish() -> Data { state.withLock { $0.resampler?.finish() ?? Data() } }
        func milliseconds(at sampleRate: Int) -> Int { state.withLock { $0.bytes } * 1000 / max(1, sampleRate * 2) }
    }

    static func delta(_ audio: Data) -> Data {
        let event: JSONValue = .object([("type", "speech.audio.delta"), ("audio", .string(audio.base64EncodedString()))])
        return Data("data: \(event.serialized())\n\n".utf8)
    }

    /// `speech.audio.done` with token usage.
    static func done(textCharacters: Int, durationMs: Int) -> Data {
        let inputTokens = max(1, textCharacters / 4)
        let outputTokens = max(1, durationMs / 40)  // OpenAI counts audio at about 25 tokens a second
        let done: JSONValue = .object([
            ("type", "speech.audio.done"),
            ("usage", .object([("input_tokens", .int(inputTokens)), ("output_tokens", .int(outputTokens)),
                               ("total_tokens", .int(inputTokens + outputTokens))])),
        ])
        return Data("data: \(done.serialized())\n\n".utf8)
    }

    /// The service names its fields (`text`, `style`); OpenAI's clients know them by OpenAI's
    /// names (`input`, `instructions`), and `param` must name what the client sent.
    static func openAIParam(_ field: String) -> String {
        switch field {
        case "text": "input"
        case "style": "instructions"
        case "engine": "model"
        case "format": "response_format"
        default: field
        }
    }

    /// The body for delivered audio: a file is sent from disk, never copied into memory.
    static func body(of audio: DeliveredAudio) -> ServerResponse.Body {
        switch audio.content {
        case .file(let path, let length): .file(path: path, offset: 0, length: length)
        case .bytes(let data): .bytes(data)
        }
    }

    /// OpenAI's `stream_format: "sse"` answer: `speech.audio.delta` events carrying base64
    /// audio, then `speech.audio.done` with token usage. The whole clip is known here, so it
    /// goes in a few large deltas.
    static func speechEvents(audio: Data, clip: Clip) -> Data {
        var out = Data()
        let chunk = 64 * 1024
        var offset = 0
        repeat {
            let end = min(offset + chunk, audio.count)
            out.append(delta(audio.subdata(in: offset..<end)))
            offset = end
        } while offset < audio.count
        out.append(done(textCharacters: clip.text.count, durationMs: clip.durationMs))
        return out
    }

    func deliveryFormat(_ name: String) -> DeliveryFormat {
        switch name {
        case "wav": .wav
        case "pcm": .pcm(sampleRate: Self.pcmSampleRate)
        default: .encoded(name)
        }
    }

    /// Reads OpenAI's body and maps it to an `AudioRequest`; a 400 naming `param` otherwise.
    func parse(_ body: Data) throws(APIError) -> SpeechCall {
        let json = try LenientJSONBody(body).root
        guard let modelValue = json.member("model") else {
            throw APIError(status: 400, "you must provide a model parameter (e.g. tts-1, gpt-4o-mini-tts, or an engine model such as gemini-2.5-flash-preview-tts)", field: "model")
        }
        let model = try modelValue.string(field: "model")
        guard let inputValue = json.member("input") else {
            throw APIError(status: 400, "you must provide an input parameter: the text to speak", field: "input")
        }
        let input = try inputValue.string(field: "input")
        guard let voiceValue = json.member("voice") else {
            throw APIError(status: 400, "you must provide a voice parameter (e.g. alloy, or an engine voice such as Kore)", field: "voice")
        }
        let voice: String
        if case .object = voiceValue {
            // A custom voice is `{"id": "…"}`: here the id names an engine voice.
            guard let id = voiceValue.member("id") else {
                throw APIError(status: 400, "a voice object needs an 'id' naming the voice", field: "voice")
            }
            voice = try id.string(field: "voice")
        } else {
            voice = try voiceValue.string(field: "voice")
        }

        let format = try json.member("response_format").map { value throws(APIError) in
            try value.string(field: "response_format").lowercased()
        } ?? "mp3"  // OpenAI's default: the SDK sends no response_format unless asked
        guard Self.formatNames.contains(format) else {
            throw APIError(status: 400, "response_format '\(format)' is not one of \(Self.formatNames.joined(separator: ", ")); this server makes \(availableFormats)", field: "response_format")
        }
        if format == "aac" {
            throw APIError(status: 400, "response_format 'aac' is not available from this server; ask for one of \(availableFormats)", field: "response_format")
        }
        if let speedValue = json.member("speed") {
            let speed = try speedValue.number(field: "speed")
            guard speed == 1 else {
                throw APIError(status: 400, "speed \(speed) is not supported: this server speaks at the voice's own pace (speed 1). Ask for a pace in 'instructions' instead, e.g. \"speak slowly\"", field: "speed")
            }
        }
        let instructions = try json.member("instructions").map { value throws(APIError) in try value.string(field: "instructions") } ?? ""
        let streamFormat = try json.member("stream_format").map { value throws(APIError) in try value.string(field: "stream_format") } ?? "audio"
        guard ["audio", "sse"].contains(streamFormat) else {
            throw APIError(status: 400, "stream_format '\(streamFormat)' is not one of audio, sse", field: "stream_format")
        }

        let (engine, engineModel) = engineAndModel(for: model)
        let defaults = backend.defaults
        var engineVoice = voiceMap.voice(for: voice, engine: engine)
        // espeak's mapped voices are English accents: with another default language, an OpenAI
        // voice name means "the engine's voice for that language" instead.
        if engine == "espeak", voiceMap.overrides[voice.lowercased()] == nil, OpenAIVoiceMap.espeak[voice.lowercased()] != nil,
           !defaults.language.isEmpty, !defaults.language.lowercased().hasPrefix("en") {
            engineVoice = ""
        }
        let language = engine == defaults.engine ? defaults.language : ""
        return SpeechCall(
            request: AudioRequest(text: input, voice: engineVoice, language: language, engine: engine,
                                  model: engineModel, style: instructions),
            format: format, streamsEvents: streamFormat == "sse",
            streamsAudio: json.member("stream_format") != nil && streamFormat == "audio")
    }

    /// The formats a client can ask for today: wav and pcm always; mp3, opus and flac once the
    /// server can encode them (the backend says which, when asked).
    var availableFormats: String { "wav or pcm, and mp3, opus or flac where this server encodes them" }

    /// OpenAI's model names mean the server's default engine and model; an engine's own model
    /// name picks that engine.
    func engineAndModel(for model: String) -> (engine: String, model: String) {
        let defaults = backend.defaults
        let name = model.hasPrefix("models/") ? String(model.dropFirst("models/".count)) : model
        let lower = name.lowercased()
        if lower.hasPrefix("gemini-") { return ("gemini", name) }
        if lower == "espeak" || lower == "espeak-ng" { return ("espeak", defaults.engine == "espeak" ? defaults.model : "") }
        return (defaults.engine, defaults.model)
    }
}
