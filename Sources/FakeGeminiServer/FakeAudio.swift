import Foundation
import TTSCore

/// Deterministic stand-in speech: the same (text, voice) always gives the same samples.
///
/// Three tones whose pitches come from SHA-256 of voice and text, 60 ms per character, 24 kHz
/// mono 16-bit — so tests can tell voices and texts apart, and durations scale like speech.
enum FakeAudio {
    static let format = PCMFormat(sampleRate: 24_000)
    static let millisecondsPerCharacter = 60

    static func pcm(text: String, voice: String) -> Data {
        let digest = SHA256.hash(voice + "\u{1F}" + text).bytes
        let frames = max(text.count, 1) * millisecondsPerCharacter * format.sampleRate / 1000
        var samples = [Int16](repeating: 0, count: frames)
        let segment = max(frames / 3, 1)
        for tone in 0..<3 {
            let frequency = 180.0 + Double(digest[tone]) * 2.5
            let step = 2 * Double.pi * frequency / Double(format.sampleRate)
            let end = tone == 2 ? frames : min(frames, (tone + 1) * segment)
            var index = tone * segment
            while index < end {
                samples[index] = Int16(sin(step * Double(index)) * 8_000)
                index += 1
            }
        }
        return samples.withUnsafeBufferPointer { Data(buffer: $0) }  // little-endian on every Linux target
    }
}
