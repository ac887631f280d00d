import Foundation

/// The shape of linear PCM audio.
public struct PCMFormat: Sendable, Hashable, Codable {
    public var sampleRate: Int
    public var channels: Int
    public var bitsPerSample: Int

    public init(sampleRate: Int, channels: Int = 1, bitsPerSample: Int = 16) {
        self.sampleRate = sampleRate
        self.channels = channels
        self.bitsPerSample = bitsPerSample
    }

    public var bytesPerFrame: Int { channels * bitsPerSample / 8 }
    public var byteRate: Int { sampleRate * bytesPerFrame }

    /// What a stored clip may have: anything outside is a broken or hostile header, not audio.
    public static let plausibleSampleRates = 1000...384_000
    public static let plausibleChannelCounts = 1...8
}

/// A clip's audio: PCM samples and their format, read from or written as a WAV file.
///
/// `decode` is strict where a lie would corrupt the cache (missing `fmt `/`data`, non-PCM,
/// sizes that overrun the file, an odd number of bytes for the frame size) and lenient where
/// real files differ (extra chunks such as `LIST` and `fact`, odd-sized chunks with a pad
/// byte, a RIFF size that disagrees with the file length). `encoded()` always writes the
/// canonical 44-byte header.
///
/// ```swift
/// let wav = WAVAudio(format: PCMFormat(sampleRate: 24_000), pcm: samples)
/// let bytes = wav.encoded()
/// let back = try WAVAudio.decode(bytes)   // == wav
/// ```
public struct WAVAudio: Sendable, Equatable {
    public var format: PCMFormat
    /// Little-endian sample bytes, frames interleaved.
    public var pcm: Data

    public init(format: PCMFormat, pcm: Data) {
        self.format = format
        self.pcm = pcm
    }

    public var frameCount: Int { format.bytesPerFrame == 0 ? 0 : pcm.count / format.bytesPerFrame }

    /// Whole milliseconds of audio, rounded down.
    public var durationMs: Int {
        format.sampleRate == 0 ? 0 : Int(Int64(frameCount) * 1000 / Int64(format.sampleRate))
    }

    /// The canonical 44-byte header, the samples, and, when the sample bytes are odd in number
    /// (8-bit mono, 24-bit mono with an odd frame count), the zero pad byte RIFF requires after
    /// an odd-sized chunk: the data size excludes it, the RIFF size includes it.
    public func encoded() -> Data {
        let pad = pcm.count & 1
        var out = Data(capacity: 44 + pcm.count + pad)
        out.append(contentsOf: Array("RIFF".utf8))
        out.appendLE(UInt32(36 + pcm.count + pad))
        out.append(contentsOf: Array("WAVE".utf8))
        out.append(contentsOf: Array("fmt ".utf8))
        out.appendLE(UInt32(16))
        out.appendLE(UInt16(1))
        out.appendLE(UInt16(format.channels))
        out.appendLE(UInt32(format.sampleRate))
        out.appendLE(UInt32(format.byteRate))
        out.appendLE(UInt16(format.bytesPerFrame))
        out.appendLE(UInt16(format.bitsPerSample))
        out.append(contentsOf: Array("data".utf8))
        out.appendLE(UInt32(pcm.count))
        out.append(pcm)
        if pad == 1 { out.append(0) }
        return out
    }

    /// Parses and validates a WAV file; throws a `content` error saying what is wrong.
    public static func decode(_ data: Data) throws -> WAVAudio {
        func bad(_ why: String) -> TTSError { TTSError(.content, "not a usable WAV file: \(why)") }
        let bytes = [UInt8](data)
        guard bytes.count >= 12 else {
            throw bad(bytes.isEmpty ? "it is empty" : "only \(bytes.count) bytes, shorter than a RIFF header")
        }
        guard bytes[0..<4].elementsEqual("RIFF".utf8), bytes[8..<12].elementsEqual("WAVE".utf8) else {
            throw bad("it does not start with RIFF…WAVE")
        }
        var offset = 12
        var format: PCMFormat?
        var pcm: Data?
        while offset + 8 <= bytes.count {
            let id = String(decoding: bytes[offset..<offset + 4], as: UTF8.self)
            let size = Int(bytes.readLE32(at: offset + 4))
            let body = offset + 8
            guard size <= bytes.count - body else {
                throw bad("chunk '\(id)' claims \(size) bytes but only \(bytes.count - body) remain (truncated?)")
            }
            switch id {
            case "fmt ":
                guard size >= 16 else { throw bad("fmt chunk is \(size) bytes, expected at least 16") }
                let tag = bytes.readLE16(at: body)
                let channels = Int(bytes.readLE16(at: body + 2))
                let rate = Int(bytes.readLE32(at: body + 4))
                let bits = Int(bytes.readLE16(at: body + 14))
                // 0xFFFE is WAVE_FORMAT_EXTENSIBLE; its sub-format is at offset 24 of the chunk.
                let isPCM = tag == 1 || (tag == 0xFFFE && size >= 26 && bytes.readLE16(at: body + 24) == 1)
                guard isPCM else { throw bad("format tag \(tag) is not linear PCM") }
                guard PCMFormat.plausibleChannelCounts.contains(channels) else { throw bad("\(channels) channels") }
                guard PCMFormat.plausibleSampleRates.contains(rate) else { throw bad("sample rate \(rate) Hz") }
                guard [8, 16, 24, 32].contains(bits) else { throw bad("\(bits) bits per sample") }
                format = PCMFormat(sampleRate: rate, channels: channels, bitsPerSample: bits)
            case "data":
                guard let format else { throw bad("data chunk comes before the fmt chunk") }
                guard size % format.bytesPerFrame == 0 else {
                    throw bad("data chunk of \(size) bytes is not a whole number of \(format.bytesPerFrame)-byte frames")
                }
                pcm = data.subdata(in: data.startIndex + body..<data.startIndex + body + size)
            default:
                break  // LIST, fact, cue, … carry nothing we need.
            }
            if pcm != nil, let format { return WAVAudio(format: format, pcm: pcm!) }
            offset = body + size + (size & 1)  // chunks are padded to even sizes
        }
        throw bad(format == nil ? "no fmt chunk" : "no data chunk")
    }
}

extension Data {
    mutating func appendLE(_ value: UInt32) {
        append(UInt8(truncatingIfNeeded: value)); append(UInt8(truncatingIfNeeded: value >> 8))
        append(UInt8(truncatingIfNeeded: value >> 16)); append(UInt8(truncatingIfNeeded: value >> 24))
    }
    mutating func appendLE(_ value: UInt16) {
        append(UInt8(truncatingIfNeeded: value)); append(UInt8(truncatingIfNeeded: value >> 8))
    }
}

extension Array where Element == UInt8 {
    func readLE16(at i: Int) -> UInt16 { UInt16(self[i]) | UInt16(self[i + 1]) << 8 }
    func readLE32(at i: Int) -> UInt32 {
        UInt32(self[i]) | UInt32(self[i + 1]) << 8 | UInt32(self[i + 2]) << 16 | UInt32(self[i + 3]) << 24
    }
}
