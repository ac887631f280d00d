import Foundation
import Synchronization
import TTSCore
import TTSService

/// `POST /v1beta/models/{model}:generateContent` (and `/v1/…`, and `:streamGenerateContent`)
/// as Gemini's speech models answer it, so Google's SDKs get the cache by changing their base
/// URL.
///
/// Only speech: a body must ask for `responseModalities: ["AUDIO"]`; anything else is refused
/// in Gemini's 400 `INVALID_ARGUMENT` shape, since this is a speech cache, not a general proxy.
/// Field names are read in camelCase and snake_case (the REST docs use the first, Google's
/// Python SDK may send the second). The model in the path is the Gemini engine's model; a miss
/// is generated upstream with the server's own keys, never the client's.
///
/// ```swift
/// let face = GeminiFace(backend: backend)
/// // router: POST /v1beta/models/gemini-3.8-flash-tts:generateContent
/// let response = await face.generateContent(request, model: "gemini-3.8-flash-tts", stream: false)
/// ```
public struct GeminiFace: Sendable {
    public let backend: SpeechBackend

    public init(backend: SpeechBackend) {
        self.backend = backend
    }

    /// How a model family delivers audio: 3.8 and later answer a complete WAV file, 2.5 and 3.1
    /// raw 16-bit PCM named by an `audio/L16` mime type. Streams carry raw PCM for every family.
    enum AudioShape: Equatable {
        case wav, pcm

        init(model: String) {
            // "gemini-3.8-flash-tts" → 3.8; a name without a version reads as the older family.
            let version = model.split(separator: "-").dropFirst().first.flatMap { Double($0) } ?? 0
            self = version >= 3.8 ? .wav : .pcm
        }
    }

    public func generateContent(_ request: ServerRequest, model: String, stream: Bool) async -> ServerResponse {
        let speech: AudioRequest
        do throws(APIError) {
            speech = try parse(request.body, model: model)
        } catch {
            return error.response(.gemini)
        }
        do {
            if stream { return try await streamedContent(speech) }
            let generation = try await backend.speak(speech)
            let rate = generation.clip.sampleRate
            let shape = AudioShape(model: speech.model)
            let audio = try await backend.audio(of: generation, as: shape == .wav ? .wav : .pcm(sampleRate: rate))
            let mimeType = shape == .wav ? "audio/wav" : "audio/L16;codec=pcm;rate=\(rate)"
            let bytes = try await audio.bytes()
            let answer = Answer(clip: generation.clip, model: speech.model, mimeType: mimeType)
            let headers: [(name: String, value: String)] = [
                ("Content-Type", "application/json"),
                ("X-TTS-Key", generation.clip.key.hex), ("X-TTS-Tier", generation.tier.rawValue),
            ]
            let body = Data(answer.unary(audio: bytes).serialized().utf8)
            return ServerResponse(status: 200, headers: headers, body: .bytes(body), tier: generation.tier.rawValue)
        } catch let error as TTSError {
            return APIError(error).response(.gemini)
        } catch {
            return APIError(status: 500, "the audio could not be read: \(error)").response(.gemini)
        }
    }

    /// `streamGenerateContent?alt=sse` as the audio is made: one `data:` event per piece, then
    /// one with `finishReason: STOP`; a failure after the start becomes an error event.
    private func streamedContent(_ speech: AudioRequest) async throws -> ServerResponse {
        let heard = HeardAudio()
        @Sendable func answer(_ start: SpeechStreamStart) -> Answer {
            Answer(responseId: String(start.key.hex.prefix(24)), model: speech.model,
                   mimeType: "audio/L16;codec=pcm;rate=\(start.format.sampleRate)", textCharacters: speech.text.count,
                   durationMs: heard.milliseconds(at: start.format.sampleRate))
        }
        let stream = try await SpeechStreamBody.open(
            try await backend.speakStreaming(speech), head: { _ in Data() },
            piece: { start, pcm in
                heard.add(pcm.count)
                let answer = answer(start)
                return Answer.event(answer.response(candidate: answer.candidate(pcm, finished: false)))
            },
            tail: { start in
                let answer = answer(start)
                return Answer.event(answer.response(candidate: answer.candidate(nil, finished: true)))
            },
            failure: { _, error in
                let refusal = (error as? TTSError).map { APIError($0) } ?? APIError(status: 500, "the stream failed: \(error)")
                guard case .bytes(let json) = refusal.response(.gemini).body else { return nil }
                return Data("data: ".utf8) + json + Data("\n\n".utf8)
            })
        let tier = stream.start.tier.rawValue
        return ServerResponse(status: 200, headers: [("Content-Type", "text/event-stream"), ("X-TTS-Key", stream.start.key.hex),
                                                     ("X-TTS-Tier", tier)],
                              body: .stream(stream.body), tier: tier)
    }

    /// Bytes of audio streamed so far, for the usage counts of each event.
    private final class HeardAudio: Sendable {
        private let bytes = Mutex(0)
        func add(_ count: Int) { bytes.withLock { $0 += count } }
        func milliseconds(at sampleRate: Int) -> Int { bytes.withLock { $0 } * 1000 / max(1, sampleRate * 2) }
    }

    /// Gemini's response objects for one clip.
    struct Answer {
        let responseId: String
        let model: String
        let mimeType: String
        let textCharacters: Int
        let durationMs: Int

        init(responseId: String, model: String, mimeType: String, textCharacters: Int, durationMs: Int) {
            self.responseId = responseId
            self.model = model
            self.mimeType = mimeType
            self.textCharacters = textCharacters
            self.durationMs = durationMs
        }

        init(clip: Clip, model: String, mimeType: String) {
            self.init(responseId: String(clip.key.hex.prefix(24)), model: model, mimeType: mimeType,
                      textCharacters: clip.text.count, durationMs: clip.durationMs)
        }

        /// One server-sent event.
        static func event(_ value: JSONValue) -> Data { Data("data: \(value.serialized())\n\n".utf8) }

        /// Gemini counts about 25 tokens per second of audio; the prompt roughly a token per
        /// four characters. Clients show these; nothing bills by them here.
        var usage: JSONValue {
            let prompt = max(1, textCharacters / 4)
            let candidates = max(1, durationMs * 25 / 1000)
            return .object([("promptTokenCount", .int(prompt)), ("candidatesTokenCount", .int(candidates)),
                            ("totalTokenCount", .int(prompt + candidates))])
        }

        func candidate(_ audio: Data?, finished: Bool) -> JSONValue {
            var content: [(String, JSONValue)] = [("role", "model")]
            if let audio {
                content.insert(("parts", .array([.object([("inlineData", .object([
                    ("mimeType", .string(mimeType)), ("data", .string(audio.base64EncodedString())),
                ]))])])), at: 0)
            }
            var fields: [(String, JSONValue)] = [("content", .object(content))]
            if finished { fields.append(("finishReason", "STOP")) }
            fields.append(("index", 0))
            return .object(fields)
        }

        func response(candidate: JSONValue) -> JSONValue {
            .object([("candidates", .array([candidate])), ("usageMetadata", usage),
                     ("modelVersion", .string(model)), ("responseId", .string(responseId))])
        }

        /// `generateContent`'s answer: one candidate holding the whole clip.
        func unary(audio: Data) -> JSONValue {
            response(candidate: candidate(audio, finished: true))
        }
    }

    /// Reads Gemini's request body into an `AudioRequest` for the Gemini engine; a 400 in
    /// Gemini's shape otherwise.
    func parse(_ body: Data, model: String) throws(APIError) -> AudioRequest {
        let modelName = model.hasPrefix("models/") ? String(model.dropFirst("models/".count)) : model
        guard !modelName.isEmpty else {
            throw APIError(status: 400, "the path names no model: call /v1beta/models/MODEL:generateContent", field: "model")
        }
        let json = try LenientJSONBody(body).root
        let config = try json.member("generationConfig", "generation_config")?.object(field: "generationConfig")
        let modalities = try config?.member("responseModalities", "response_modalities")?.array(field: "generationConfig.responseModalities") ?? []
        guard modalities.contains(where: { $0.stringValue?.uppercased() == "AUDIO" }) else {
            throw APIError(status: 400, "generationConfig.responseModalities must be [\"AUDIO\"]: this server is a speech cache, not a general Gemini proxy, and answers speech requests only", field: "generationConfig.responseModalities")
        }

        var texts: [String] = []
        var styles: [String] = []
        let contents = try json.member("contents")?.array(field: "contents") ?? []
        for content in contents {
            let parts = try content.object(field: "contents[]").member("parts")?.array(field: "contents[].parts") ?? []
            for part in parts {
                guard let textValue = try part.object(field: "contents[].parts[]").member("text") else {
                    throw APIError(status: 400, "every part must be text: this speech cache reads text only (no inline data or files)", field: "contents[].parts[].text")
                }
                var text = try textValue.string(field: "contents[].parts[].text")
                if let metadata = try part.member("speechMetadata", "speech_metadata")?.object(field: "speech_metadata") {
                    if let style = try metadata.member("style")?.string(field: "speech_metadata.style"), !style.isEmpty {
                        styles.append(style)
                    }
                    if let speaker = try metadata.member("speaker")?.string(field: "speech_metadata.speaker"), !speaker.isEmpty {
                        text = "\(speaker): \(text)"
                    }
                }
                texts.append(text)
            }
        }
        guard texts.contains(where: { !$0.allSatisfy(\.isWhitespace) }) else {
            throw APIError(status: 400, "contents holds no text to speak: send contents[].parts[].text", field: "contents")
        }
        let style = styles.first ?? ""
        guard styles.allSatisfy({ $0 == style }) else {
            throw APIError(status: 400, "parts ask for different styles (\(Set(styles).sorted().joined(separator: ", "))): send one request per style", field: "speech_metadata.style")
        }

        let speech = try config?.member("speechConfig", "speech_config")?.object(field: "generationConfig.speechConfig")
        let language = try speech?.member("languageCode", "language_code")?.string(field: "speechConfig.languageCode") ?? ""
        var voice = ""
        if let voiceConfig = try speech?.member("voiceConfig", "voice_config") {
            voice = try Self.voiceName(in: voiceConfig, field: "speechConfig.voiceConfig")
        }
        var speakers: [SpeakerVoice] = []
        if let multi = try speech?.member("multiSpeakerVoiceConfig", "multi_speaker_voice_config")?.object(field: "speechConfig.multiSpeakerVoiceConfig") {
            let configs = try multi.member("speakerVoiceConfigs", "speaker_voice_configs")?.array(field: "multiSpeakerVoiceConfig.speakerVoiceConfigs") ?? []
            guard configs.count == 2 else {
                throw APIError(status: 400, "multiSpeakerVoiceConfig.speakerVoiceConfigs must name exactly two speakers, got \(configs.count)", field: "multiSpeakerVoiceConfig.speakerVoiceConfigs")
            }
            for config in configs {
                let entry = try config.object(field: "speakerVoiceConfigs[]")
                guard let speaker = try entry.member("speaker")?.string(field: "speakerVoiceConfigs[].speaker"), !speaker.isEmpty else {
                    throw APIError(status: 400, "each of speakerVoiceConfigs needs a 'speaker' name that appears in the text", field: "speakerVoiceConfigs[].speaker")
                }
                guard let voiceConfig = entry.member("voiceConfig", "voice_config") else {
                    throw APIError(status: 400, "speaker '\(speaker)' has no voiceConfig.prebuiltVoiceConfig.voiceName", field: "speakerVoiceConfigs[].voiceConfig")
                }
                speakers.append(SpeakerVoice(name: speaker, voice: try Self.voiceName(in: voiceConfig, field: "speakerVoiceConfigs[].voiceConfig")))
            }
        }
        return AudioRequest(text: texts.joined(separator: "\n"), voice: speakers.isEmpty ? voice : "", language: language,
                            engine: "gemini", model: modelName, style: style, speakers: speakers)
    }

    /// `voiceConfig.prebuiltVoiceConfig.voiceName`, in either spelling.
    static func voiceName(in voiceConfig: JSONValue, field: String) throws(APIError) -> String {
        let prebuilt = try voiceConfig.object(field: field).member("prebuiltVoiceConfig", "prebuilt_voice_config")
        guard let name = try prebuilt?.object(field: "\(field).prebuiltVoiceConfig").member("voiceName", "voice_name") else {
            throw APIError(status: 400, "\(field) needs prebuiltVoiceConfig.voiceName, e.g. Kore", field: field)
        }
        return try name.string(field: "\(field).prebuiltVoiceConfig.voiceName")
    }
}
