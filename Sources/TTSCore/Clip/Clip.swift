import Foundation

/// The name of a blob: SHA-256 of the WAV bytes, as 64 lowercase hex characters. Identical
/// audio from two requests is one blob.
public struct BlobHash: Sendable, Hashable, Codable, CustomStringConvertible {
    public let hex: String

    public init(of wav: Data) { hex = SHA256.hash(wav).hex }

    public init?(hex: String) {
        guard RequestKey(hex: hex) != nil else { return nil }  // same 64-hex shape
        self.hex = hex.lowercased()
    }

    public var short: String { String(hex.prefix(8)) }
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

/// A cached clip: what was asked for (the request's fields and its key), which blob holds the
/// audio, and what that audio is. The same record lives in the local index and in Redis.
public struct Clip: Sendable, Equatable, Codable {
    public var key: RequestKey
    public var blob: BlobHash
    public var text: String
    public var voice: String
    public var language: String
    public var engine: String
    public var model: String
    public var style: String
    public var bytes: Int
    public var durationMs: Int
    public var sampleRate: Int
    public var createdAt: Date
    public var lastUsedAt: Date
    public var hits: Int

    public init(key: RequestKey, blob: BlobHash, text: String, voice: String, language: String,
                engine: String, model: String, style: String, bytes: Int, durationMs: Int,
                sampleRate: Int, createdAt: Date, lastUsedAt: Date, hits: Int) {
        self.key = key
        self.blob = blob
        self.text = text
        self.voice = voice
        self.language = language
        self.engine = engine
        self.model = model
        self.style = style
        self.bytes = bytes
        self.durationMs = durationMs
        self.sampleRate = sampleRate
        self.createdAt = createdAt
        self.lastUsedAt = lastUsedAt
        self.hits = hits
    }

    public init(key: RequestKey, blob: BlobHash, request: AudioRequest, bytes: Int, durationMs: Int,
                sampleRate: Int, createdAt: Date = Date(), lastUsedAt: Date? = nil, hits: Int = 0) {
        self.key = key
        self.blob = blob
        self.text = request.text
        self.voice = request.voice
        self.language = request.language
        self.engine = request.engine
        self.model = request.model
        self.style = request.style
        self.bytes = bytes
        self.durationMs = durationMs
        self.sampleRate = sampleRate
        self.createdAt = createdAt
        self.lastUsedAt = lastUsedAt ?? createdAt
        self.hits = hits
    }
}
