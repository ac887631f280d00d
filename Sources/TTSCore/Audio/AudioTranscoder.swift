import Foundation

/// The facts an export manifest needs about converted audio.
public struct TranscodedAudio: Sendable {
    public var wav: Data
    public var sampleRate: Int
    public var frames: Int
    public var durationMs: Int { sampleRate == 0 ? 0 : Int(Int64(frames) * 1000 / Int64(sampleRate)) }
}

/// Converts a decoded PCM clip to an `AudioTarget`: any of 8/16/24/32-bit PCM in, resampled
/// per channel with `Resampler`, rounded and clipped to 16 bits, then written as PCM or G.711.
/// Pure: no files. The conversion cache calls it once per (blob, target).
///
/// ```swift
/// let out = AudioTranscoder.convert(try WAVAudio.decode(bytes), to: AudioTarget(sampleRate: 8000, encoding: .ulaw))
/// ```
public enum AudioTranscoder {
    /// Converts to a WAV target (16-bit PCM or G.711). Compressed encodings go through the
    /// service's conversion path, which starts from `pcm16(_:rate:)` as well.
    public static func convert(_ audio: WAVAudio, to target: AudioTarget) -> TranscodedAudio {
        let rate = target.outputRate(forSourceRate: audio.format.sampleRate)
        let (samples, channels) = pcm16(audio, rate: rate)
        let wav: Data
        if let law = target.encoding.law {
            wav = G711WAVWriter.encode(samples, law: law, sampleRate: rate, channels: channels)
        } else {
            var pcm = Data(capacity: samples.count * 2)
            for sample in samples {
                pcm.append(UInt8(truncatingIfNeeded: sample))
                pcm.append(UInt8(truncatingIfNeeded: sample >> 8))
            }
            wav = WAVAudio(format: PCMFormat(sampleRate: rate, channels: channels, bitsPerSample: 16), pcm: pcm).encoded()
        }
        return TranscodedAudio(wav: wav, sampleRate: rate, frames: samples.count / channels)
    }

    /// Interleaved 16-bit samples at `rate`: the input as it is when it is 16-bit at that rate
    /// already (the common case: every engine stores 16-bit PCM), else resampled per channel,
    /// rounded and clipped.
    public static func pcm16(_ audio: WAVAudio, rate: Int) -> (samples: [Int16], channels: Int) {
        let channels = max(1, audio.format.channels)
        if audio.format.bitsPerSample == 16 && rate == audio.format.sampleRate {
            var samples = [Int16](repeating: 0, count: audio.pcm.count / 2)
            samples.withUnsafeMutableBytes { out in
                audio.pcm.withUnsafeBytes { out.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[0..<out.count])) }
            }
            return (samples.map { Int16(littleEndian: $0) }, channels)
        }
        var planes = deinterleave(audio)
        if rate != audio.format.sampleRate {
            let resampler = Resampler(from: audio.format.sampleRate, to: rate)
            planes = planes.map { resampler.resample($0) }
        }
        let frames = planes.first?.count ?? 0
        var samples = [Int16](repeating: 0, count: frames * channels)
        for (c, plane) in planes.enumerated() {
            for i in 0..<frames { samples[i * channels + c] = int16(plane[i]) }
        }
        return (samples, channels)
    }

    /// A sample in −1…1 as 16 bits: rounded, clipped.
    @inline(__always)
    public static func int16(_ value: Float) -> Int16 {
        Int16(max(-32768, min(32767, (value * 32768).rounded())))
    }

    /// One `[Float]` in −1…1 per channel. 8-bit WAV is unsigned; wider sizes are signed.
    public static func deinterleave(_ audio: WAVAudio) -> [[Float]] {
        let channels = max(1, audio.format.channels)
        let width = audio.format.bitsPerSample / 8
        let frames = audio.frameCount
        var planes = [[Float]](repeating: [Float](repeating: 0, count: frames), count: channels)
        let bytes = [UInt8](audio.pcm)
        for i in 0..<frames {
            for c in 0..<channels {
                let at = (i * channels + c) * width
                let value: Float
                switch width {
                case 1: value = (Float(bytes[at]) - 128) / 128
                case 2: value = Float(Int16(bitPattern: UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8)) / 32768
                case 3:
                    let raw = Int32(bytes[at]) | Int32(bytes[at + 1]) << 8 | Int32(bytes[at + 2]) << 16
                    value = Float((raw << 8) >> 8) / 8_388_608
                default:
                    let raw = UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
                    value = Float(Double(Int32(bitPattern: raw)) / 2_147_483_648)
                }
                planes[c][i] = value
            }
        }
        return planes
    }
}
