import Foundation
import TTSConcurrency
import TTSCore
import TTSService

/// The native API: `POST /v1/speech`, `GET /v1/clips[/{key}]`, `GET|HEAD /v1/blobs/{sha256}.wav`.
/// Answers and errors in the native shape; the JSON objects are the ones `say --json`,
/// `ls --json` and `info --json` print.
struct NativeRoutes: Sendable {
    let backend: any ServerBackend

    static let speechFields = ["text", "voice", "language", "engine", "model", "style", "speakers", "format", "stream"]
    /// Names the `format` field takes; all but wav and pcm need the conversion path.
    static let formatNames = ["wav", "pcm", "mp3", "opus", "flac", "vorbis", "ulaw", "alaw"]

    // MARK: POST /v1/speech

    func speech(_ request: ServerRequest) async -> ServerResponse {
        do {
            let body = try JSONBody(request.body, accepted: NativeRoutes.speechFields)
            let speechRequest = try audioRequest(body)
            let wantsJSON = NativeRoutes.prefersJSON(request.header("Accept"))
            let format = try deliveryFormat(body.string("format"), accept: wantsJSON ? nil : request.header("Accept"))
            if try body.bool("stream") { return try await streamedSpeech(speechRequest, format: format) }
            let generation = try await backend.speak(speechRequest)
            var headers = NativeRoutes.clipHeaders(generation)
            if wantsJSON {
                let url = NativeRoutes.blobURL(generation.clip.blob.hex)
                let object = JSONValue.object(generation.jsonFields() + [("url", .string(url))])
                var answer = ServerResponse.json(200, Data(object.serializedUTF8()), headers: headers)
                answer.tier = generation.tier.rawValue
                return answer
            }
            let audio = try await backend.audio(of: generation, as: format)
            headers.insert(("Content-Type", audio.mimeType), at: 0)
            if format == .wav {
                headers.append(("ETag", "\"\(generation.clip.blob.hex)\""))
            } else if let sha = audio.sha256 {
                headers.append(("ETag", "\"\(sha)\""))
            }
            let content: ServerResponse.Body = switch audio.content {
            case .file(let path, let length): .file(path: path, offset: 0, length: length)
            case .bytes(let data): .bytes(data)
            }
            return ServerResponse(status: 200, headers: headers, body: content, tier: generation.tier.rawValue)
        } catch {
            return NativeRoutes.errorAnswer(error)
        }
    }

    /// `"stream": true`: the audio as the engine makes it, chunked, as WAV with a header of
    /// unknown length or as raw PCM. The answer starts once the stream has (so its key and tier
    /// are known, and a refusal is still a plain error answer); a failure after that cuts it.
    private func streamedSpeech(_ request: AudioRequest, format: DeliveryFormat) async throws -> ServerResponse {
        switch format {
        case .wav, .pcm: break
        case .encoded(let name):
            throw APIError(status: 400, "format '\(name)' cannot be streamed; streaming supports wav and pcm", field: "format")
        }
        let stream = try await SpeechStreamBody.open(try await backend.speakStreaming(request)) { start in
            format == .wav ? WAVAudio.streamingHeader(for: start.format) : Data()
        }
        let mime = format == .wav ? "audio/wav" : "audio/L16;rate=\(stream.start.format.sampleRate);channels=1"
        return ServerResponse(status: 200, headers: [("Content-Type", mime), ("X-TTS-Key", stream.start.key.hex),
                                                     ("X-TTS-Tier", stream.start.tier.rawValue)],
                              body: .stream(stream.body), tier: stream.start.tier.rawValue)
    }

    /// The request with the server's defaults for what the client left out. A client that names
    /// another engine than the default gets that engine's own default model and voice.
    private func audioRequest(_ body: JSONBody) throws -> AudioRequest {
        let defaults = backend.defaults
        let text = try body.string("text", required: true) ?? ""
        let engine = try body.string("engine") ?? defaults.engine
        let sameEngine = engine.lowercased() == defaults.engine.lowercased()
        var request = AudioRequest(text: text, voice: try body.string("voice") ?? (sameEngine ? defaults.voice : ""),
                                   language: try body.string("language") ?? defaults.language, engine: engine,
                                   model: try body.string("model") ?? (sameEngine ? defaults.model : ""),
                                   style: try body.string("style") ?? "")
        if let speakers = body.value("speakers") {
            request.speakers = try NativeRoutes.speakers(speakers)
        }
        return request
    }

    /// `[{"name": "Joe", "voice": "Kore"}, …]`.
    private static func speakers(_ value: JSONValue) throws -> [SpeakerVoice] {
        let problem = APIError(status: 400, "the field 'speakers' must be an array of objects such as {\"name\": \"Joe\", \"voice\": \"Kore\"}", field: "speakers")
        guard case .array(let items) = value else { throw problem }
        return try items.map { item in
            guard let name = item["name"]?.stringValue, let voice = item["voice"]?.stringValue else { throw problem }
            return SpeakerVoice(name: name, voice: voice)
        }
    }

    /// The `format` field wins; else an audio type in `Accept`; else WAV.
    private func deliveryFormat(_ name: String?, accept: String?) throws -> DeliveryFormat {
        if let name {
            switch name.lowercased() {
            case "wav": return .wav
            case "pcm": return .pcm(sampleRate: 0)
            case let other where NativeRoutes.formatNames.contains(other): return .encoded(other)
            default:
                throw APIError(status: 400, "unknown format '\(name)'; accepted: \(NativeRoutes.formatNames.joined(separator: ", "))", field: "format")
            }
        }
        guard let accept = accept?.lowercased() else { return .wav }
        let types: [(String, DeliveryFormat)] = [("audio/wav", .wav), ("audio/x-wav", .wav), ("audio/l16", .pcm(sampleRate: 0)),
                                                 ("audio/mpeg", .encoded("mp3")), ("audio/flac", .encoded("flac")),
                                                 ("audio/ogg", .encoded("opus")), ("audio/basic", .encoded("ulaw"))]
        let firstAudio = accept.split(separator: ",").lazy
            .map { $0.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? "" }
            .compactMap { type in types.first { $0.0 == type }?.1 }.first
        return firstAudio ?? .wav
    }

    /// Whether `Accept` asks for JSON before any audio type.
    static func prefersJSON(_ accept: String?) -> Bool {
        guard let accept = accept?.lowercased() else { return false }
        for type in accept.split(separator: ",").map({ $0.split(separator: ";").first?.trimmingCharacters(in: .whitespaces) ?? "" }) {
            if type == "application/json" { return true }
            if type.hasPrefix("audio/") { return false }
        }
        return false
    }

    static func clipHeaders(_ generation: Generation) -> [(name: String, value: String)] {
        [("X-TTS-Key", generation.clip.key.hex), ("X-TTS-Tier", generation.tier.rawValue),
         ("Content-Location", blobURL(generation.clip.blob.hex))]
    }

    static func blobURL(_ sha256: String) -> String { "/v1/blobs/\(sha256).wav" }

    static func errorAnswer(_ error: Error) -> ServerResponse {
        switch error {
        case let error as APIError: error.response(.native)
        case let error as TTSError: APIError(error).response(.native)
        default: APIError(status: 500, "\(error)").response(.native)
        }
    }

    // MARK: GET /v1/clips

    func clipList(_ request: ServerRequest) async -> ServerResponse {
        do {
            var query = ClipQuery()
            query.match = request.queryValue("match")
            query.voice = request.queryValue("voice")
            query.language = request.queryValue("lang")
            query.engine = request.queryValue("engine")
            query.model = request.queryValue("model")
            query.limit = try NativeRoutes.number(request, "limit", default: 20, range: 1...10_000)
            query.offset = try NativeRoutes.number(request, "offset", default: 0, range: 0...Int.max)
            let backend = self.backend, asked = query
            let clips = try await Blocking.run { try backend.clips(asked) }
            let array = JSONValue.array(clips.map { .object($0.jsonFields) })
            return .json(200, Data(array.serializedUTF8()))
        } catch {
            return NativeRoutes.errorAnswer(error)
        }
    }

    private static func number(_ request: ServerRequest, _ name: String, default value: Int, range: ClosedRange<Int>) throws -> Int {
        guard let text = request.queryValue(name) else { return value }
        guard let number = Int(text), range.contains(number) else {
            throw APIError(status: 400, "\(name) takes a whole number from \(range.lowerBound) to \(range.upperBound), not '\(text)'", field: name)
        }
        return number
    }

    // MARK: GET /v1/clips/{key or prefix}

    func clip(_ word: String) async -> ServerResponse {
        do {
            let backend = self.backend
            let lookup = try await Blocking.run { try backend.clip(named: word) }
            switch lookup {
            case .found(let clip):
                let object = JSONValue.object(clip.jsonFields + [("path", .string(backend.path(of: clip))),
                                                                 ("url", .string(NativeRoutes.blobURL(clip.blob.hex)))])
                return .json(200, Data(object.serializedUTF8()), headers: [("X-TTS-Key", clip.key.hex)])
            case .notFound(let message):
                return APIError(status: 404, message, field: "key", kind: "not_found").response(.native)
            case .unusable(let message):
                return APIError(status: 400, message, field: "key").response(.native)
            }
        } catch {
            return NativeRoutes.errorAnswer(error)
        }
    }

    // MARK: GET|HEAD /v1/blobs/{sha256}.wav

    /// The immutable audio, sent from its file: strong ETag, cacheable for a year, 304 on a
    /// matching `If-None-Match`, one `Range` as 206. Only `<64 lowercase hex>.wav` names a blob,
    /// so nothing a client sends can name a path outside the store.
    /// The blob's name split into its SHA-256 and the extension asked for; nil for anything that
    /// is not 64 lowercase hex digits, a dot and a known extension (so no name reaches a path).
    static func blobName(_ name: String) -> (sha256: String, encoding: AudioEncoding)? {
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].utf8.count == 64 else { return nil }
        let sha = String(parts[0]), ext = String(parts[1])
        guard sha.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }),
              let encoding = NativeRoutes.encodingByExtension[ext] else { return nil }
        return (sha, encoding)
    }

    /// `.wav` is the stored blob itself; the others name its conversion to that format.
    static let encodingByExtension: [String: AudioEncoding] = [
        "wav": .pcm16, "mp3": .mp3, "opus": .opus, "ogg": .vorbis, "flac": .flac,
    ]

    private func blobNotFound(_ name: String) -> ServerResponse {
        APIError(status: 404, "no blob named \(name): blob URLs are /v1/blobs/<sha256>.wav (or .mp3, .opus, .ogg, .flac), as answers give them in Content-Location",
                 kind: "not_found").response(.native)
    }

    /// `GET|HEAD /v1/blobs/<sha256>.wav`, answered at once from the file. Nil for another
    /// format, which may need converting first (`convertedBlob`).
    func blob(_ name: String, _ request: ServerRequest) -> ServerResponse? {
        guard let (sha, encoding) = NativeRoutes.blobName(name) else { return blobNotFound(name) }
        guard encoding == .pcm16 else { return nil }
        guard let file = backend.blobFile(sha) else { return blobNotFound(name) }
        return NativeRoutes.immutableFile(path: file.path, size: file.size, etag: sha, contentType: "audio/wav", request)
    }

    /// `GET|HEAD /v1/blobs/<sha256>.mp3` (and the other formats): the cached conversion.
    func convertedBlob(_ name: String, _ request: ServerRequest) async -> ServerResponse {
        guard let (sha, encoding) = NativeRoutes.blobName(name) else { return blobNotFound(name) }
        do {
            guard let audio = try await backend.convertedBlob(sha, as: encoding),
                  case .file(let path, let length) = audio.content else { return blobNotFound(name) }
            return NativeRoutes.immutableFile(path: path, size: length, etag: audio.sha256 ?? sha, contentType: audio.mimeType, request)
        } catch {
            return NativeRoutes.errorAnswer(error)
        }
    }

    /// An immutable file as nginx serves static files: strong ETag, `If-None-Match` → 304, a
    /// single `Range` → 206 (416 outside the file), sent from the file without reading it.
    static func immutableFile(path: String, size: Int, etag sha: String, contentType: String, _ request: ServerRequest) -> ServerResponse {
        let etag = "\"\(sha)\""
        var headers: [(name: String, value: String)] = [
            ("ETag", etag), ("Cache-Control", "public, max-age=31536000, immutable"), ("Accept-Ranges", "bytes"),
        ]
        if let match = request.header("If-None-Match"), NativeRoutes.matches(match, etag) {
            return ServerResponse(status: 304, headers: headers)
        }
        headers.insert(("Content-Type", contentType), at: 0)
        // A stale If-Range means the client's copy differs: send the whole file.
        let rangeHeader = request.header("If-Range").map { $0 == etag } ?? true ? request.header("Range") : nil
        switch ByteRange(header: rangeHeader, size: size) {
        case .whole:
            return ServerResponse(status: 200, headers: headers, body: .file(path: path, offset: 0, length: size))
        case .part(let offset, let length):
            headers.append(("Content-Range", "bytes \(offset)-\(offset + length - 1)/\(size)"))
            return ServerResponse(status: 206, headers: headers, body: .file(path: path, offset: offset, length: length))
        case .unsatisfiable:
            var answer = APIError(status: 416, "the range \(rangeHeader ?? "") lies outside the file's \(size) bytes", field: "Range")
                .response(.native)
            answer.headers.append(("Content-Range", "bytes */\(size)"))
            return answer
        }
    }

    /// `If-None-Match: "a", W/"b"` or `*` against a strong ETag (weak comparison, as for GET).
    static func matches(_ header: String, _ etag: String) -> Bool {
        header.split(separator: ",").contains { candidate in
            let tag = candidate.trimmingCharacters(in: .whitespaces)
            return tag == "*" || tag == etag || tag == "W/" + etag
        }
    }
}
