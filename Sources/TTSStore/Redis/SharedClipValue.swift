import Foundation
import TTSCore

/// A clip's shared entry as one Redis value: its metadata and, when within the cap, its WAV
/// bytes, so a hit is one GETEX (one round trip) instead of metadata then blob.
///
/// Layout, version 1:
///
/// ```
/// [1: version = 1][4: metadata length, big-endian][metadata][audio bytes, possibly none]
/// metadata = fields, each [1: name length][name][4: value length, big-endian][value]
/// ```
///
/// Fields: `blob`, `bytes`, `duration_ms`, `sample_rate`, `channels`, `engine`, `model`, `voice`,
/// `language`, `style`, `speakers` (`name:voice,…`), `text`, `created` (unix seconds).
/// Readers skip names they do not know, so fields can be added without a new version; a
/// reader that meets a version it does not know treats the entry as unreadable (a miss,
/// overwritten by the next publish).
///
/// ```swift
/// let value = SharedClipValue(clip: clip, channels: 1, audio: wav).encoded()
/// let back = try SharedClipValue.decode(value, key: clip.key)   // same clip, same bytes
/// ```
struct SharedClipValue: Sendable {
    var clip: Clip
    /// A dialogue clip's speakers are part of its request, so of its key.
    var speakers: [SpeakerVoice] { clip.speakers }
    var channels: Int
    /// Nil for a metadata-only entry (audio over the cap, or sharing off).
    var audio: Data?

    static let version: UInt8 = 1
    /// Version byte and metadata length.
    private static let headerSize = 5

    func encoded() -> Data {
        let fields: [(String, String)] = [
            ("blob", clip.blob.hex),
            ("bytes", String(clip.bytes)),
            ("duration_ms", String(clip.durationMs)),
            ("sample_rate", String(clip.sampleRate)),
            ("channels", String(channels)),
            ("engine", clip.engine),
            ("model", clip.model),
            ("voice", clip.voice),
            ("language", clip.language),
            ("style", clip.style),
            ("speakers", SpeakerVoice.storedText(speakers)),
            ("text", clip.text),
            ("created", String(Int(clip.createdAt.timeIntervalSince1970.rounded(.down)))),
        ]
        var metadata = Data()
        for (name, value) in fields {
            let nameBytes = Array(name.utf8), valueBytes = Array(value.utf8)
            metadata.append(UInt8(nameBytes.count))
            metadata.append(contentsOf: nameBytes)
            metadata.appendBigEndian(UInt32(valueBytes.count))
            metadata.append(contentsOf: valueBytes)
        }
        var out = Data(capacity: SharedClipValue.headerSize + metadata.count + (audio?.count ?? 0))
        out.append(SharedClipValue.version)
        out.appendBigEndian(UInt32(metadata.count))
        out.append(metadata)
        if let audio { out.append(audio) }
        return out
    }

    /// Reads a value written by `encoded()`; the audio is a view of `value`'s bytes, not a copy.
    /// Throws `Unreadable` with what is wrong.
    static func decode(_ value: Data, key: RequestKey) throws -> SharedClipValue {
        let count = value.count
        guard count >= headerSize else { throw Unreadable("only \(count) bytes") }
        return try value.withUnsafeBytes { (raw: UnsafeRawBufferPointer) throws -> SharedClipValue in
            let bytes = raw.bindMemory(to: UInt8.self)
            guard bytes[0] == version else { throw Unreadable("format version \(bytes[0]), this build reads \(version)") }
            let metadataLength = Int(readBigEndian32(bytes, at: 1))
            guard metadataLength <= count - headerSize else {
                throw Unreadable("metadata of \(metadataLength) bytes in a value of \(count)")
            }
            let end = headerSize + metadataLength
            // The fields walked in place, each straight into what the clip holds: no map of
            // strings, numbers parsed from their digits (a hit decodes one value).
            var fields = ValueFields()
            var offset = headerSize
            while offset < end {
                let nameLength = Int(bytes[offset])
                guard offset + 1 + nameLength + 4 <= end else { throw Unreadable("a field runs past the metadata") }
                let name = UnsafeBufferPointer(rebasing: bytes[(offset + 1)..<(offset + 1 + nameLength)])
                let valueLength = Int(readBigEndian32(bytes, at: offset + 1 + nameLength))
                let start = offset + 1 + nameLength + 4
                guard valueLength <= end - start else {
                    throw Unreadable("field '\(String(decoding: name, as: UTF8.self))' runs past the metadata")
                }
                fields.read(name, UnsafeBufferPointer(rebasing: bytes[start..<(start + valueLength)]))
                offset = start + valueLength
            }
            guard let clip = fields.clip(key: key) else { throw Unreadable("a required field is missing or not a number") }
            var audio: Data?
            if end < count {
                if count >= 4096 {
                    // A view into the reply's heap buffer, not a copy (88 KB per hit): the
                    // deallocator keeps `value`, and so the bytes, alive.
                    let base = UnsafeMutableRawPointer(mutating: raw.baseAddress! + end)
                    audio = Data(bytesNoCopy: base, count: count - end, deallocator: .custom { _, _ in _ = value })
                } else {
                    audio = Data(bytes: raw.baseAddress! + end, count: count - end)
                }
            }
            return SharedClipValue(clip: clip, channels: fields.channels ?? 1, audio: audio)
        }
    }

    /// The fields of a version-1 value, read as they are met; unknown names are skipped.
    private struct ValueFields {
        var blob: BlobHash?, bytes: Int?, durationMs: Int?, sampleRate: Int?, channels: Int?, created: Double?
        var engine: String?, model: String?, voice: String?, text: String?
        var language = "", style = "", speakers = ""

        mutating func read(_ name: UnsafeBufferPointer<UInt8>, _ value: UnsafeBufferPointer<UInt8>) {
            func text() -> String { String(decoding: value, as: UTF8.self) }
            func named(_ known: StaticString) -> Bool {
                name.count == known.utf8CodeUnitCount && memcmp(name.baseAddress!, known.utf8Start, name.count) == 0
            }
            if named("blob") { blob = BlobHash(hex: text()) }
            else if named("bytes") { bytes = Self.number(value) }
            else if named("duration_ms") { durationMs = Self.number(value) }
            else if named("sample_rate") { sampleRate = Self.number(value) }
            else if named("channels") { channels = Self.number(value) }
            else if named("created") { created = Self.number(value).map(Double.init) ?? Double(text()) }
            else if named("engine") { engine = text() }
            else if named("model") { model = text() }
            else if named("voice") { voice = text() }
            else if named("text") { self.text = text() }
            else if named("language") { language = text() }
            else if named("style") { style = text() }
            else if named("speakers") { speakers = text() }
        }

        /// A non-negative decimal integer, or nil.
        static func number(_ digits: UnsafeBufferPointer<UInt8>) -> Int? {
            guard !digits.isEmpty, digits.count < 19 else { return nil }
            var n = 0
            for digit in digits {
                guard digit >= 48, digit <= 57 else { return nil }
                n = n * 10 + Int(digit - 48)
            }
            return n
        }

        func clip(key: RequestKey) -> Clip? {
            guard let blob, let bytes, let durationMs, let sampleRate, let created,
                  let engine, let model, let voice, let text else { return nil }
            return Clip(key: key, blob: blob, text: text, voice: voice, language: language,
                        engine: engine, model: model, style: style, bytes: bytes,
                        durationMs: durationMs, sampleRate: sampleRate,
                        createdAt: Date(timeIntervalSince1970: created), lastUsedAt: Date(), hits: 0,
                        speakers: SpeakerVoice.list(storedText: speakers))
        }
    }

    /// The clip named by metadata fields (of this format or the old hash); nil when a required
    /// field is missing or malformed. `lastUsedAt` is now and `hits` 0: use statistics stay local.
    static func decodeClip(key: RequestKey, _ map: [String: String]) -> Clip? {
        guard let blob = map["blob"].flatMap({ BlobHash(hex: $0) }),
              let bytes = map["bytes"].flatMap({ Int($0) }),
              let durationMs = map["duration_ms"].flatMap({ Int($0) }),
              let sampleRate = map["sample_rate"].flatMap({ Int($0) }),
              let created = map["created"].flatMap({ Double($0) }),
              let engine = map["engine"], let model = map["model"], let voice = map["voice"],
              let text = map["text"] else {
            return nil
        }
        return Clip(key: key, blob: blob, text: text, voice: voice, language: map["language"] ?? "",
                    engine: engine, model: model, style: map["style"] ?? "", bytes: bytes,
                    durationMs: durationMs, sampleRate: sampleRate,
                    createdAt: Date(timeIntervalSince1970: created), lastUsedAt: Date(), hits: 0,
                    speakers: SpeakerVoice.list(storedText: map["speakers"] ?? ""))
    }

    private static func readBigEndian32(_ bytes: UnsafeBufferPointer<UInt8>, at offset: Int) -> UInt32 {
        UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16 | UInt32(bytes[offset + 2]) << 8 | UInt32(bytes[offset + 3])
    }

    struct Unreadable: Error, Sendable {
        let reason: String
        init(_ reason: String) { self.reason = reason }
    }
}

/// Whether a shared entry can be trusted for the key it was found under, beyond its audio's
/// hash (which the local store checks as it writes the bytes): anyone who can write to Redis
/// can put another phrase's metadata, or a WAV of another length, under a key.
enum SharedClipCheck {
    /// Why the entry must not be used, or nil when it is consistent: its request fields key to
    /// `key`, and its audio (when present) has the size, rate, channels and duration the
    /// metadata states.
    static func problem(with value: SharedClipValue, key: RequestKey) -> String? {
        let clip = value.clip
        let request = AudioRequest(text: clip.text, voice: clip.voice, language: clip.language, engine: clip.engine,
                                   model: clip.model, style: clip.style, speakers: value.speakers)
        let recomputed = RequestKey(request)
        guard recomputed == key else {
            return "its request fields key to \(recomputed.short), not to the key it is stored under"
        }
        guard let audio = value.audio else { return nil }
        guard audio.count == clip.bytes else { return "its audio is \(audio.count) bytes, the metadata says \(clip.bytes)" }
        guard let header = WAVHeader(audio) else { return "its audio is not a PCM WAV file" }
        if header.sampleRate != clip.sampleRate {
            return "its audio is at \(header.sampleRate) Hz, the metadata says \(clip.sampleRate)"
        }
        if header.channels != value.channels {
            return "its audio has \(header.channels) channel(s), the metadata says \(value.channels)"
        }
        if abs(header.durationMs - clip.durationMs) > 1 {
            return "its audio lasts \(header.durationMs) ms, the metadata says \(clip.durationMs)"
        }
        return nil
    }
}

/// The format and length of a PCM WAV file, read from its chunks without touching the samples
/// (nor copying them: a hit's 88 KB are checked where they lie).
///
/// It accepts exactly what `WAVAudio.decode` accepts (linear PCM, plain or extensible; 1–8
/// channels; a plausible rate; 8/16/24/32 bits; a `data` chunk of whole frames after `fmt `),
/// so the shared tier can refuse a WAV that does not parse without decoding it a second time.
struct WAVHeader: Sendable, Equatable {
    var sampleRate: Int
    var channels: Int
    var bitsPerSample: Int
    var dataBytes: Int

    var durationMs: Int {
        let frame = channels * bitsPerSample / 8
        guard frame > 0, sampleRate > 0 else { return 0 }
        return Int(Int64(dataBytes / frame) * 1000 / Int64(sampleRate))
    }

    /// Nil unless `WAVAudio.decode` would take the file.
    init?(_ data: Data) {
        let parsed: WAVHeader? = data.withUnsafeBytes { raw in
            let bytes = raw.bindMemory(to: UInt8.self)
            func le16(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 }
            func le32(_ at: Int) -> Int { le16(at) | le16(at + 2) << 16 }
            func tag(_ at: Int, _ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) -> Bool {
                bytes[at] == a && bytes[at + 1] == b && bytes[at + 2] == c && bytes[at + 3] == d
            }
            // "RIFF", "WAVE", "fmt ", "data" as bytes: no array or string made per check.
            guard bytes.count >= 12, tag(0, 82, 73, 70, 70), tag(8, 87, 65, 86, 69) else { return nil }
            var offset = 12
            var format: (rate: Int, channels: Int, bits: Int)?
            // Bounded: each pass moves past one chunk of the file.
            while offset + 8 <= bytes.count {
                let size = le32(offset + 4)
                let body = offset + 8
                guard size <= bytes.count - body else { return nil }
                if tag(offset, 102, 109, 116, 32) {
                    guard size >= 16 else { return nil }
                    let formatTag = le16(body)
                    // 0xFFFE is WAVE_FORMAT_EXTENSIBLE; its sub-format is at offset 24 of the chunk.
                    guard formatTag == 1 || (formatTag == 0xFFFE && size >= 26 && le16(body + 24) == 1) else { return nil }
                    let rate = le32(body + 4), channels = le16(body + 2), bits = le16(body + 14)
                    guard PCMFormat.plausibleChannelCounts.contains(channels), PCMFormat.plausibleSampleRates.contains(rate),
                          bits == 8 || bits == 16 || bits == 24 || bits == 32 else { return nil }
                    format = (rate, channels, bits)
                } else if tag(offset, 100, 97, 116, 97) {
                    guard let format, size % (format.channels * format.bits / 8) == 0 else { return nil }
                    return WAVHeader(sampleRate: format.rate, channels: format.channels, bitsPerSample: format.bits,
                                     dataBytes: size)
                }
                offset = body + size + (size & 1)
            }
            return nil
        }
        guard let parsed else { return nil }
        self = parsed
    }

    init(sampleRate: Int, channels: Int, bitsPerSample: Int, dataBytes: Int) {
        self.sampleRate = sampleRate
        self.channels = channels
        self.bitsPerSample = bitsPerSample
        self.dataBytes = dataBytes
    }
}

extension Data {
    fileprivate mutating func appendBigEndian(_ value: UInt32) {
        append(contentsOf: [UInt8(value >> 24), UInt8(truncatingIfNeeded: value >> 16),
                            UInt8(truncatingIfNeeded: value >> 8), UInt8(truncatingIfNeeded: value)])
    }
}
