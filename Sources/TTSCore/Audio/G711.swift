import Foundation

/// G.711 companding (ITU-T G.711): 16-bit linear samples to 8-bit µ-law (North America,
/// Japan) or A-law (Europe and most other telephone networks), and back. Telephone systems
/// and IVR platforms take these directly: 8 kHz, 8 bits, half the bytes of 16-bit PCM.
///
/// The segment arithmetic follows the ITU reference (the one in Sun's public-domain `g711.c`
/// and ITU-T G.191): µ-law works on 14-bit magnitudes with a bias of 33, A-law on 13-bit
/// magnitudes; both decode to the midpoint of the quantisation interval, scaled to 16 bits.
///
/// ```swift
/// let code = G711.muLaw(encode: 1000)      // 0xCE
/// let back = G711.muLaw(decode: code)      // 988: within half a step of 1000
/// ```
public enum G711 {
    /// Which of the two companding laws.
    public enum Law: String, Sendable, CaseIterable {
        case muLaw = "ulaw"
        case aLaw = "alaw"

        /// The WAV `fmt ` format tag: 7 for µ-law, 6 for A-law.
        public var formatTag: UInt16 { self == .muLaw ? 7 : 6 }

        public func encode(_ sample: Int16) -> UInt8 {
            self == .muLaw ? G711.muLaw(encode: sample) : G711.aLaw(encode: sample)
        }

        public func decode(_ code: UInt8) -> Int16 {
            self == .muLaw ? G711.muLaw(decode: code) : G711.aLaw(decode: code)
        }
    }

    // Segment end points (magnitudes, after the bias for µ-law) of the eight segments.
    private static let muLawSegmentEnds: [Int] = [0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF]
    private static let aLawSegmentEnds: [Int] = [0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF]

    /// 16-bit linear → µ-law byte. Codes are stored inverted (all bits flipped), as the
    /// standard requires, so silence is 0xFF.
    public static func muLaw(encode sample: Int16) -> UInt8 {
        let bias = 0x21  // 33, in the 14-bit domain
        // One's complement for negatives (as ITU-T G.191 does), so -1 and 0 both encode as
        // zero and the two signs quantise symmetrically.
        var value = sample < 0 ? Int(~sample) >> 2 : Int(sample) >> 2  // 16 → 14 bits
        let mask = sample < 0 ? 0x7F : 0xFF
        value = min(value, 8159) + bias  // clip at the largest encodable magnitude
        let segment = muLawSegmentEnds.firstIndex { value <= $0 } ?? 8
        if segment >= 8 { return UInt8(0x7F ^ mask) }
        let code = (segment << 4) | ((value >> (segment + 1)) & 0x0F)
        return UInt8(code ^ mask)
    }

    /// µ-law byte → 16-bit linear: the midpoint of the code's interval.
    public static func muLaw(decode code: UInt8) -> Int16 {
        let u = Int(~code)
        let segment = (u & 0x70) >> 4
        var magnitude = ((u & 0x0F) << 3) + 0x84  // 0x84 = 33 << 2, the bias at 16 bits
        magnitude <<= segment
        return Int16(u & 0x80 != 0 ? 0x84 - magnitude : magnitude - 0x84)
    }

    /// 16-bit linear → A-law byte. Even bits are inverted (XOR 0x55) as the standard requires.
    public static func aLaw(encode sample: Int16) -> UInt8 {
        var value = Int(sample) >> 3  // 16 → 13 bits
        let mask: Int
        if value >= 0 {
            mask = 0xD5  // sign bit set for positive values, then the even-bit inversion
        } else {
            mask = 0x55
            value = -value - 1
        }
        let segment = aLawSegmentEnds.firstIndex { value <= $0 } ?? 8
        if segment >= 8 { return UInt8(0x7F ^ mask) }
        var code = segment << 4
        code |= segment < 2 ? (value >> 1) & 0x0F : (value >> segment) & 0x0F
        return UInt8(code ^ mask)
    }

    /// A-law byte → 16-bit linear: the midpoint of the code's interval.
    public static func aLaw(decode code: UInt8) -> Int16 {
        let a = Int(code ^ 0x55)
        var magnitude = (a & 0x0F) << 4
        let segment = (a & 0x70) >> 4
        switch segment {
        case 0: magnitude += 8
        case 1: magnitude += 0x108
        default: magnitude = (magnitude + 0x108) << (segment - 1)
        }
        return Int16(a & 0x80 != 0 ? magnitude : -magnitude)
    }
}

/// Writes G.711 WAV files (format tag 7 µ-law or 6 A-law, 8 bits per sample), with the
/// 18-byte `fmt ` chunk and the `fact` chunk (sample count) that the WAV specification asks of
/// every non-PCM file. `WAVAudio` stays a strict PCM codec: the cache only ever stores PCM.
///
/// ```swift
/// let bytes = G711WAVWriter.encode(samples, law: .muLaw, sampleRate: 8000)
/// ```
public enum G711WAVWriter {
    /// Encodes interleaved 16-bit samples (`channels` per frame).
    public static func encode(_ samples: [Int16], law: G711.Law, sampleRate: Int, channels: Int = 1) -> Data {
        let dataSize = samples.count
        let frames = channels > 0 ? samples.count / channels : 0
        var out = Data(capacity: 58 + dataSize + 1)
        out.append(contentsOf: Array("RIFF".utf8))
        // RIFF size: "WAVE" + fmt (8+18) + fact (8+4) + data header (8) + data (+ pad byte).
        out.appendLE(UInt32(4 + 26 + 12 + 8 + dataSize + (dataSize & 1)))
        out.append(contentsOf: Array("WAVE".utf8))
        out.append(contentsOf: Array("fmt ".utf8))
        out.appendLE(UInt32(18))
        out.appendLE(law.formatTag)
        out.appendLE(UInt16(channels))
        out.appendLE(UInt32(sampleRate))
        out.appendLE(UInt32(sampleRate * channels))  // byte rate: one byte per sample
        out.appendLE(UInt16(channels))  // block align
        out.appendLE(UInt16(8))
        out.appendLE(UInt16(0))  // cbSize: no extra format bytes
        out.append(contentsOf: Array("fact".utf8))
        out.appendLE(UInt32(4))
        out.appendLE(UInt32(frames))
        out.append(contentsOf: Array("data".utf8))
        out.appendLE(UInt32(dataSize))
        out.append(contentsOf: samples.map { law.encode($0) })
        if dataSize & 1 == 1 { out.append(0) }  // chunks are padded to even sizes
        return out
    }
}
