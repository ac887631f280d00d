import Foundation
import TTSCore

/// Names a request in messages: the first 8 hex digits of its key and up to 40 characters of text.
struct RequestLabel: CustomStringConvertible {
    let description: String

    init(_ request: AudioRequest) {
        let text = request.text.count > 40 ? request.text.prefix(39) + "…" : Substring(request.text)
        description = "request \(RequestKey(request).short) (\"\(text)\")"
    }
}

/// A failed attempt and what the engine should do next.
struct AttemptFailure: Error {
    enum Next: Equatable {
        case stop
        /// Try again, after the service's requested delay when it gave one (seconds).
        case retry(after: Double?)
        /// Set the key aside and try the next one, without counting an attempt.
        case benchKey(APIKeyRing.BenchReason)
    }

    var error: TTSError
    var next: Next
}

/// Reads Gemini's answer: audio on success, or the failure shape mapped to a `TTSError` kind and
/// a next step. Every message names the request, the HTTP status and Google's own words.
enum GeminiAnswer {
    static func interpret(_ response: HTTPResponse, label: RequestLabel, key: String) -> Result<Data, AttemptFailure> {
        if response.status == 200 { return audio(from: response.body, label: label) }
        return .failure(failure(status: response.status, body: response.body, label: label, key: key))
    }

    // MARK: - Success shapes

    private struct Body: Decodable {
        var candidates: [Candidate]?
        var promptFeedback: PromptFeedback?
    }
    private struct PromptFeedback: Decodable { var blockReason: String? }
    private struct Candidate: Decodable {
        var content: Content?
        var finishReason: String?
    }
    private struct Content: Decodable { var parts: [Part]? }
    private struct Part: Decodable {
        var text: String?
        var inlineData: InlineData?
    }
    private struct InlineData: Decodable {
        var mimeType: String?
        var data: String?
    }

    private static func audio(from data: Data, label: RequestLabel) -> Result<Data, AttemptFailure> {
        func fail(_ kind: TTSError.Kind, _ what: String, _ next: AttemptFailure.Next) -> Result<Data, AttemptFailure> {
            .failure(AttemptFailure(error: TTSError(kind, "Gemini \(label): HTTP 200 but \(what)", httpStatus: 200), next: next))
        }
        guard let body = try? JSONDecoder().decode(Body.self, from: data) else {
            return fail(.api, "the answer is not the JSON Gemini sends (\(data.count) bytes)", .retry(after: nil))
        }
        guard let candidate = body.candidates?.first else {
            if let reason = body.promptFeedback?.blockReason {
                return fail(.content, "Google blocked the prompt (blockReason \(reason)); rephrase the text, it was not retried", .stop)
            }
            return fail(.api, "the answer has no candidates", .retry(after: nil))
        }
        let finish = candidate.finishReason ?? "none"
        let parts = candidate.content?.parts ?? []
        guard let inline = parts.lazy.compactMap(\.inlineData).first(where: { !($0.data ?? "").isEmpty }) else {
            if let text = parts.lazy.compactMap(\.text).first(where: { !$0.isEmpty }) {
                let excerpt = text.count > 60 ? text.prefix(59) + "…" : Substring(text)
                return fail(.content, "Gemini answered with text instead of audio (finishReason \(finish)): \"\(excerpt)\"; try rephrasing or another voice", .stop)
            }
            if finish == "OTHER" || finish == "none" || finish == "STOP" {
                return fail(.api, "the answer holds no audio (finishReason \(finish))", .retry(after: nil))
            }
            return fail(.content, "Google stopped without audio (finishReason \(finish)); rephrase the text, it was not retried", .stop)
        }
        guard finish == "STOP" else {
            if finish == "OTHER" || finish == "MAX_TOKENS" {
                return fail(.api, "the audio was cut short (finishReason \(finish))", .retry(after: nil))
            }
            return fail(.content, "Google stopped the audio (finishReason \(finish)); rephrase the text, it was not retried", .stop)
        }
        guard let bytes = Data(base64Encoded: inline.data ?? "") else {
            return fail(.api, "its audio is not valid base64", .retry(after: nil))
        }
        // An answer in a format this program cannot read is not audio it can store: wrapping
        // MP3 or Opus bytes as PCM would cache noise for good. Not retried: the same request
        // gets the same format.
        let mimeType = inline.mimeType ?? ""
        func unusable(_ why: String) -> Result<Data, AttemptFailure> {
            fail(.content, "its audio has mimeType \"\(mimeType)\", \(why); it was not stored nor retried. tts-repl reads audio/L16 PCM and audio/wav: check GEMINI_MODEL", .stop)
        }
        let base = mimeType.split(separator: ";", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        let isWAV = wavTypes.contains(base)
        guard isWAV || pcmTypes.contains(base) else { return unusable("a format tts-repl cannot read") }
        // 3.8 models answer with a complete WAV file: keep it as it is once it reads as one.
        if isWAV || bytes.starts(with: Array("RIFF".utf8)) {
            do {
                _ = try WAVAudio.decode(bytes)
                return .success(bytes)
            } catch let error as TTSError {
                return fail(.api, "its WAV audio is unusable (\(error.message))", .retry(after: nil))
            } catch {
                return fail(.api, "its WAV audio is unusable", .retry(after: nil))
            }
        }
        guard let format = pcmFormat(mimeType: mimeType) else {
            return unusable("whose rate or channels no audio has")
        }
        guard bytes.count % format.bytesPerFrame == 0 else {
            return fail(.api, "its \(bytes.count) bytes of PCM are not whole \(format.bytesPerFrame)-byte frames", .retry(after: nil))
        }
        return .success(WAVAudio(format: format, pcm: bytes).encoded())
    }

    /// The mime types Gemini labels its audio with: raw 16-bit PCM, or a whole WAV file.
    private static let pcmTypes: Set<String> = ["audio/l16", "audio/pcm"]
    private static let wavTypes: Set<String> = ["audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave"]

    /// What one event of a `streamGenerateContent` answer holds.
    struct StreamEvent {
        /// Decoded inline audio bytes, as sent (a boundary may fall inside a sample).
        var audio: Data?
        var mimeType = ""
        var finishReason: String?
    }

    /// Reads one SSE payload (or a plain JSON answer on the streaming URL): audio and/or the
    /// finish reason, or the failure it reports, classified as for a unary answer. An event
    /// with neither (usage metadata only) is empty, not an error.
    static func streamEvent(_ data: Data, label: RequestLabel, key: String) -> Result<StreamEvent, AttemptFailure> {
        // An error event names "error" first; audio events are parsed once, not twice (their
        // base64 makes them large, and the first one's parse is on the time to first audio).
        if data.prefix(64).range(of: Data("\"error\"".utf8)) != nil,
           let object = try? JSONSerialization.jsonObject(with: data),
           let error = ((object as? [Any])?.first ?? object) as? [String: Any], error["error"] != nil {
            let google = GoogleError(data)
            return .failure(failure(status: google.code ?? 500, body: data, label: label, key: key))
        }
        func fail(_ kind: TTSError.Kind, _ what: String, _ next: AttemptFailure.Next) -> Result<StreamEvent, AttemptFailure> {
            .failure(AttemptFailure(error: TTSError(kind, "Gemini \(label): the stream \(what)", httpStatus: 200), next: next))
        }
        let decoded = (try? JSONDecoder().decode([Body].self, from: data)).flatMap(\.first)
            ?? (try? JSONDecoder().decode(Body.self, from: data))
        guard let body = decoded else {
            return fail(.api, "sent an event that is not the JSON Gemini sends (\(data.count) bytes)", .retry(after: nil))
        }
        guard let candidate = body.candidates?.first else {
            if let reason = body.promptFeedback?.blockReason {
                return fail(.content, "was refused: Google blocked the prompt (blockReason \(reason)); rephrase the text, it was not retried", .stop)
            }
            return .success(StreamEvent())
        }
        let parts = candidate.content?.parts ?? []
        var event = StreamEvent(finishReason: candidate.finishReason)
        if let inline = parts.lazy.compactMap(\.inlineData).first(where: { !($0.data ?? "").isEmpty }) {
            guard let bytes = Data(base64Encoded: inline.data ?? "") else {
                return fail(.api, "sent audio that is not valid base64", .retry(after: nil))
            }
            event.audio = bytes
            event.mimeType = inline.mimeType ?? ""
        } else if let text = parts.lazy.compactMap(\.text).first(where: { !$0.isEmpty }) {
            let excerpt = text.count > 60 ? text.prefix(59) + "…" : Substring(text)
            return fail(.content, "held text instead of audio: \"\(excerpt)\"; try rephrasing or another voice", .stop)
        }
        if let finish = event.finishReason, !["STOP", "OTHER", "MAX_TOKENS"].contains(finish) {
            return fail(.content, "was stopped by Google (finishReason \(finish)); rephrase the text, it was not retried", .stop)
        }
        return .success(event)
    }

    /// Reads `rate=` and `channels=` from a mime type such as `audio/L16;codec=pcm;rate=24000`
    /// or `audio/l16; rate=24000; channels=1`; Gemini's 24 kHz mono when absent. nil when a
    /// value is not a number or outside what a WAV file may hold (1–384 kHz, 1–8 channels), so
    /// `rate=0` is refused rather than read as the default.
    static func pcmFormat(mimeType: String) -> PCMFormat? {
        var rate = 24_000
        var channels = 1
        for parameter in mimeType.split(separator: ";").dropFirst() {
            let pair = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2 else { continue }
            switch pair[0].lowercased() {
            case "rate":
                guard let value = Int(pair[1]), PCMFormat.plausibleSampleRates.contains(value) else { return nil }
                rate = value
            case "channels":
                guard let value = Int(pair[1]), PCMFormat.plausibleChannelCounts.contains(value) else { return nil }
                channels = value
            default: break
            }
        }
        return PCMFormat(sampleRate: rate, channels: channels, bitsPerSample: 16)
    }

    // MARK: - Error shapes

    /// Google's error body: `{"error":{"code":…,"message":…,"status":…,"details":[…]}}`.
    struct GoogleError {
        /// The HTTP status Google put in the body (`code`), which an error event inside a stream
        /// carries where an ordinary answer has the real status line.
        var code: Int?
        var status = ""
        var message = ""
        var reasons: [String] = []
        var quotaIds: [String] = []
        var retryDelay: Double?

        init(_ data: Data) {
            guard let object = try? JSONSerialization.jsonObject(with: data),
                  let error = ((object as? [Any])?.first ?? object) as? [String: Any],
                  let body = error["error"] as? [String: Any] else {
                message = String(decoding: data.prefix(200), as: UTF8.self)
                return
            }
            code = body["code"] as? Int
            status = body["status"] as? String ?? ""
            message = body["message"] as? String ?? ""
            for detail in body["details"] as? [[String: Any]] ?? [] {
                if let reason = detail["reason"] as? String { reasons.append(reason) }
                for violation in detail["violations"] as? [[String: Any]] ?? [] {
                    if let id = violation["quotaId"] as? String { quotaIds.append(id) }
                }
                if let delay = detail["retryDelay"] as? String {
                    retryDelay = Double(delay.hasSuffix("s") ? String(delay.dropLast()) : delay)
                }
            }
        }
    }

    static func failure(status: Int, body: Data, label: RequestLabel, key: String) -> AttemptFailure {
        let google = GoogleError(body)
        let said = "HTTP \(status)\(google.status.isEmpty ? "" : " " + google.status): \(google.message.trimmingCharacters(in: .whitespacesAndNewlines))"
        func make(_ kind: TTSError.Kind, _ advice: String, _ next: AttemptFailure.Next,
                  field: String? = nil) -> AttemptFailure {
            AttemptFailure(error: TTSError(kind, "Gemini \(label) failed: \(said) — \(advice)", field: field,
                                           retryAfter: kind == .quota ? google.retryDelay : nil, httpStatus: status),
                           next: next)
        }
        switch status {
        case 400 where google.reasons.contains("API_KEY_INVALID"):
            return make(.auth, "Google rejects API key \(redactedKey(key)); replace it with a valid key from AI Studio", .benchKey(.invalid))
        case 400 where google.status == "FAILED_PRECONDITION":
            return make(.auth, "the key's project cannot use this API here (free tier not offered in the region?); enable billing on the project", .stop)
        case 400:
            return make(.validation, "the request was refused as invalid and was not retried; check the voice, model and text", .stop)
        case 401, 403:
            return make(.auth, "the API key \(redactedKey(key)) is missing or lacks access to the Gemini API; check the key's project", .stop)
        case 404:
            return make(.validation, "the model is unknown or retired; use one such as \(GeminiConfiguration.defaultModel)", .stop, field: "model")
        case 429 where google.quotaIds.contains { $0.contains("PerDay") }:
            return make(.quota, "the daily quota is spent (it resets at midnight Pacific time); trying another key if one is configured", .benchKey(.dailyQuota))
        case 429:
            return make(.quota, "rate limit reached; lower the requests-per-minute budget (TTS_RPM)", .retry(after: google.retryDelay))
        case 408, 499, 500, 502, 503, 504:
            return make(.api, "a transient failure on Google's side", .retry(after: nil))
        default:
            return make(.api, "an unexpected answer; it was not retried", .stop)
        }
    }
}
