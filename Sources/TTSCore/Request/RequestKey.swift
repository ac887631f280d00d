/// The name of what was asked for: SHA-256 over the canonical form of a normalized, resolved
/// request. Two requests that would produce the same audio share a key; the key never depends
/// on the audio itself (engines are not bit-for-bit repeatable).
///
/// Canonical form: `tts/v1 ␟ engine ␟ model ␟ voice ␟ language ␟ text`, fields joined by
/// U+001F (unit separator, which normalization keeps out of every field). Style and speakers,
/// when present, follow as `style=…` and `speakers=name:voice,…`; a request without them keys
/// exactly as the base form, so adding those features did not move any existing key.
public struct RequestKey: Sendable, Hashable, Comparable, CustomStringConvertible, Codable {
    /// 64 lowercase hex characters.
    public let hex: String

    public init(_ request: AudioRequest) {
        hex = SHA256.hash(RequestKey.canonicalBytes(of: request)).hex
    }

    /// Accepts a full 64-character hex key (as printed by `ls --json`).
    public init?(hex: String) {
        // Keys read back from the index are already lowercase: check them without a copy.
        if RequestKey.isLowercaseHexKey(hex) {
            self.hex = hex
            return
        }
        let lower = hex.lowercased()
        guard RequestKey.isLowercaseHexKey(lower) else { return nil }
        self.hex = lower
    }

    /// Over the contiguous UTF-8 buffer: iterating `String.UTF8View` byte by byte showed in
    /// the hit path's profile (every row read checks its blob name).
    private static func isLowercaseHexKey(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { bytes in
            bytes.count == 64 && bytes.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }
        }
    }

    private enum CodingKeys: String, CodingKey { case hex }

    /// The first 16 digits (`DigestPrefix`); `==` still compares all 64.
    public func hash(into hasher: inout Hasher) { hasher.combine(DigestPrefix.word(hex)) }

    /// Decodes `{"hex": "…"}` and applies the same check as `init?(hex:)`: a key read from
    /// Redis or disk is input like any other, and one that is not 64 hex digits must not load
    /// (the key names files on export).
    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let text = try container.decode(String.self, forKey: .hex)
        guard let key = RequestKey(hex: text) else {
            throw DecodingError.dataCorruptedError(forKey: .hex, in: container,
                                                   debugDescription: "a request key is 64 hex digits, got \(text.debugDescription)")
        }
        self = key
    }

    public static func canonicalForm(of request: AudioRequest) -> String {
        var fields = ["tts/v1", request.engine, request.model, request.voice, request.language, request.text]
        if !request.style.isEmpty { fields.append("style=" + request.style) }
        if !request.speakers.isEmpty {
            fields.append("speakers=" + request.speakers.map { "\($0.name):\($0.voice)" }.joined(separator: ","))
        }
        return fields.joined(separator: "\u{1F}")
    }

    /// The UTF-8 bytes of `canonicalForm(of:)`, written into one buffer: every local hit keys
    /// its request, and joining an array of Strings first cost more than hashing the result.
    static func canonicalBytes(of request: AudioRequest) -> [UInt8] {
        let separator: UInt8 = 0x1F
        var bytes: [UInt8] = []
        bytes.reserveCapacity(7 + request.engine.utf8.count + request.model.utf8.count + request.voice.utf8.count
                              + request.language.utf8.count + request.text.utf8.count + 5)
        bytes.append(contentsOf: "tts/v1".utf8)
        // Field by field, not over an array of the five: that array was an allocation per key.
        func append(_ field: String) {
            bytes.append(separator)
            bytes.append(contentsOf: field.utf8)
        }
        append(request.engine)
        append(request.model)
        append(request.voice)
        append(request.language)
        append(request.text)
        if !request.style.isEmpty {
            bytes.append(separator)
            bytes.append(contentsOf: "style=".utf8)
            bytes.append(contentsOf: request.style.utf8)
        }
        if !request.speakers.isEmpty {
            bytes.append(separator)
            bytes.append(contentsOf: "speakers=".utf8)
            for (i, speaker) in request.speakers.enumerated() {
                if i > 0 { bytes.append(UInt8(ascii: ",")) }
                bytes.append(contentsOf: speaker.name.utf8)
                bytes.append(UInt8(ascii: ":"))
                bytes.append(contentsOf: speaker.voice.utf8)
            }
        }
        return bytes
    }

    /// The first eight hex characters, for people and file names.
    public var short: String { String(hex.prefix(8)) }
    public var description: String { hex }
    public static func < (a: RequestKey, b: RequestKey) -> Bool { a.hex < b.hex }
}
