import Foundation

/// The name of a blob: SHA-256 of the WAV bytes, as 64 lowercase hex characters. Identical
/// audio from two requests is one blob.
public struct BlobHash: Sendable, Hashable, Codable, CustomStringConvertible {
    public let hex: String

    public init(of wav: Data) { hex = SHA256.hash(wav).hex }

    public init?(hex: String) {
        guard let shape = RequestKey(hex: hex) else { return nil }  // same 64-hex shape, lowercased
        self.hex = shape.hex
    }

    public var short: String { String(hex.prefix(8)) }

    /// The first 16 digits (`DigestPrefix`); `==` still compares all 64.
    public func hash(into hasher: inout Hasher) { hasher.combine(DigestPrefix.word(hex)) }
    public var description: String { hex }

    private enum CodingKeys: String, CodingKey { case hex }

    /// A blob hash names a file in the store: one read from Redis or disk that is not 64 hex
    /// digits must not load, or it could point outside the store.
    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let text = try container.decode(String.self, forKey: .hex)
        guard let hash = BlobHash(hex: text) else {
            throw DecodingError.dataCorruptedError(forKey: .hex, in: container,
                                                   debugDescription: "a blob hash is 64 hex digits, got \(text.debugDescription)")
        }
        self = hash
    }
}

/// A cached clip: what was asked for (the request and its key), which blob holds the audio,
/// and what that audio is. The same record lives in the local index and in Redis.
///
/// The request is kept whole, speakers included, so a clip whose audio was lost or damaged can
/// be asked for again exactly as it was made.
public struct Clip: Sendable, Equatable, Codable {
    public var key: RequestKey
    public var blob: BlobHash
    /// The prepared request the clip answers (normalized, voice and model resolved).
    public var request: AudioRequest
    public var bytes: Int
    public var durationMs: Int
    public var sampleRate: Int
    public var createdAt: Date
    public var lastUsedAt: Date
    public var hits: Int

    public var text: String { get { request.text } set { request.text = newValue } }
    public var voice: String { get { request.voice } set { request.voice = newValue } }
    public var language: String { get { request.language } set { request.language = newValue } }
    public var engine: String { get { request.engine } set { request.engine = newValue } }
    public var model: String { get { request.model } set { request.model = newValue } }
    public var style: String { get { request.style } set { request.style = newValue } }
    public var speakers: [SpeakerVoice] { get { request.speakers } set { request.speakers = newValue } }

    public init(key: RequestKey, blob: BlobHash, text: String, voice: String, language: String,
                engine: String, model: String, style: String, bytes: Int, durationMs: Int,
                sampleRate: Int, createdAt: Date, lastUsedAt: Date, hits: Int, speakers: [SpeakerVoice] = []) {
        self.init(key: key, blob: blob,
                  request: AudioRequest(text: text, voice: voice, language: language, engine: engine, model: model,
                                        style: style, speakers: speakers),
                  bytes: bytes, durationMs: durationMs, sampleRate: sampleRate, createdAt: createdAt,
                  lastUsedAt: lastUsedAt, hits: hits)
    }

    public init(key: RequestKey, blob: BlobHash, request: AudioRequest, bytes: Int, durationMs: Int,
                sampleRate: Int, createdAt: Date = Date(), lastUsedAt: Date? = nil, hits: Int = 0) {
        self.key = key
        self.blob = blob
        self.request = request
        self.bytes = bytes
        self.durationMs = durationMs
        self.sampleRate = sampleRate
        self.createdAt = createdAt
        self.lastUsedAt = lastUsedAt ?? createdAt
        self.hits = hits
    }

    // Flat JSON, as before the request was embedded; `speakers` may be absent (older records).
    private enum CodingKeys: String, CodingKey {
        case key, blob, text, voice, language, engine, model, style, speakers, bytes, durationMs, sampleRate,
             createdAt, lastUsedAt, hits
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(key: try c.decode(RequestKey.self, forKey: .key), blob: try c.decode(BlobHash.self, forKey: .blob),
                  text: try c.decode(String.self, forKey: .text), voice: try c.decode(String.self, forKey: .voice),
                  language: try c.decode(String.self, forKey: .language), engine: try c.decode(String.self, forKey: .engine),
                  model: try c.decode(String.self, forKey: .model), style: try c.decode(String.self, forKey: .style),
                  bytes: try c.decode(Int.self, forKey: .bytes), durationMs: try c.decode(Int.self, forKey: .durationMs),
                  sampleRate: try c.decode(Int.self, forKey: .sampleRate), createdAt: try c.decode(Date.self, forKey: .createdAt),
                  lastUsedAt: try c.decode(Date.self, forKey: .lastUsedAt), hits: try c.decode(Int.self, forKey: .hits),
                  speakers: try c.decodeIfPresent([SpeakerVoice].self, forKey: .speakers) ?? [])
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(key, forKey: .key)
        try c.encode(blob, forKey: .blob)
        try c.encode(text, forKey: .text)
        try c.encode(voice, forKey: .voice)
        try c.encode(language, forKey: .language)
        try c.encode(engine, forKey: .engine)
        try c.encode(model, forKey: .model)
        try c.encode(style, forKey: .style)
        if !speakers.isEmpty { try c.encode(speakers, forKey: .speakers) }
        try c.encode(bytes, forKey: .bytes)
        try c.encode(durationMs, forKey: .durationMs)
        try c.encode(sampleRate, forKey: .sampleRate)
        try c.encode(createdAt, forKey: .createdAt)
        try c.encode(lastUsedAt, forKey: .lastUsedAt)
        try c.encode(hits, forKey: .hits)
    }
}
