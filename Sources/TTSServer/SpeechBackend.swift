import Foundation
import TTSCore
import TTSService

/// What the HTTP faces need of the cache, gathered in one protocol so no face reaches into the
/// service's parts: the native, OpenAI and Gemini faces all speak through it, and tests can
/// stand in for it.
public protocol SpeechBackend: Sendable {
    /// The server's defaults for fields a client leaves out (engine, model, voice, language).
    var defaults: RequestDefaults { get }
    /// Cache first, the engine only on a miss (single-flight, Redis lock, retries: the service's
    /// data path unchanged). Throws `TTSError`.
    func speak(_ request: AudioRequest) async throws -> Generation
    /// The generated clip's audio in `format`: the stored WAV file itself, raw PCM, or a
    /// converted copy. Throws `TTSError` (`.validation` naming the formats available when the
    /// format cannot be produced here).
    func audio(of generation: Generation, as format: DeliveryFormat) async throws -> DeliveredAudio
    /// The audio as it is made (`SpeechService.speakStreaming`): `.started`, PCM pieces, then
    /// `.finished` once cached. Validation errors are thrown by the call; later failures end the
    /// sequence with a thrown `TTSError`.
    func speakStreaming(_ request: AudioRequest) async throws -> AsyncThrowingStream<SpeechStreamEvent, Error>
}

extension SpeechBackend {
    /// A stream of one piece made from the unary path, for backends that cannot stream (test
    /// doubles): the same events in the same order, only not before the clip is ready.
    public func speakStreaming(_ request: AudioRequest) async throws -> AsyncThrowingStream<SpeechStreamEvent, Error> {
        let generation = try await speak(request)
        let audio = try await audio(of: generation, as: .pcm(sampleRate: 0))
        let pcm: Data = switch audio.content {
        case .bytes(let data): data
        case .file(let path, _): try Data(contentsOf: URL(fileURLWithPath: path))
        }
        let clip = generation.clip
        return AsyncThrowingStream { continuation in
            continuation.yield(.started(SpeechStreamStart(key: clip.key, format: PCMFormat(sampleRate: clip.sampleRate),
                                                          tier: generation.tier)))
            continuation.yield(.audio(pcm))
            continuation.yield(.finished(clip))
            continuation.finish()
        }
    }
}

/// The server's defaults for a request's open fields.
public struct RequestDefaults: Sendable, Equatable {
    public var engine: String
    public var model: String
    public var voice: String
    public var language: String

    public init(engine: String, model: String = "", voice: String = "", language: String = "") {
        self.engine = engine
        self.model = model
        self.voice = voice
        self.language = language
    }
}

/// The audio formats a client can ask for, by the names the APIs use (`response_format` in
/// OpenAI's, `format` in the native API's).
public enum DeliveryFormat: Sendable, Hashable {
    /// The stored WAV file, byte for byte.
    case wav
    /// Raw signed 16-bit little-endian mono samples at `sampleRate` (OpenAI's `pcm` is 24 kHz;
    /// 0 keeps the clip's own rate).
    case pcm(sampleRate: Int)
    /// A compressed or companded copy made by the conversion path (`mp3`, `opus`, `flac`,
    /// `vorbis`, `ulaw`, `alaw`), cached under `<store>/converted/`.
    case encoded(String)

    public var name: String {
        switch self {
        case .wav: "wav"
        case .pcm: "pcm"
        case .encoded(let name): name
        }
    }
}

/// Audio ready to send: a file (the blob or a cached conversion, sent without copying it into
/// memory) or bytes made for this answer.
public struct DeliveredAudio: Sendable {
    public enum Content: Sendable, Equatable {
        case file(path: String, length: Int)
        case bytes(Data)
    }

    public var content: Content
    /// `audio/wav`, `audio/mpeg`, `audio/ogg`, `audio/flac`, `audio/L16;rate=24000`, …
    public var mimeType: String
    /// A strong validator for the bytes (the SHA-256 of the file sent), when known.
    public var sha256: String?

    public init(content: Content, mimeType: String, sha256: String? = nil) {
        self.content = content
        self.mimeType = mimeType
        self.sha256 = sha256
    }
}
