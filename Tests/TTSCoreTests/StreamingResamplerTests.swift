import Foundation
import XCTest
import TTSCore

final class StreamingResamplerTests: XCTestCase {
    /// A chirp with noise: every output sample depends on its own inputs.
    private func signal(_ count: Int) -> [Float] {
        var seed: UInt32 = 12345
        return (0..<count).map { i in
            seed = seed &* 1_103_515_245 &+ 12345
            let noise = Float(seed >> 16 & 0x7FFF) / 32768 - 0.5
            return 0.6 * Float(sin(Double(i * i) / 40_000)) + 0.2 * noise
        }
    }

    func testPiecesOfAnySizeGiveTheSameBitsAsTheWholeSignal() {
        let input = signal(5000)
        for (from, to) in [(22_050, 24_000), (16_000, 24_000), (24_000, 8000), (44_100, 24_000)] {
            let whole = Resampler(from: from, to: to).resample(input)
            for pieceSize in [1, 7, 333, 4999, 6000] {
                var stream = StreamingResampler(from: from, to: to)
                var out: [Float] = []
                var start = 0
                while start < input.count {
                    let end = min(input.count, start + pieceSize)
                    out += stream.push(Array(input[start..<end]))
                    start = end
                }
                out += stream.finish()
                XCTAssertEqual(out, whole, "\(from) → \(to) Hz in pieces of \(pieceSize)")
            }
        }
    }

    func testOutputComesBeforeTheSignalEnds() {
        var stream = StreamingResampler(from: 22_050, to: 24_000)
        XCTAssertGreaterThan(stream.push(signal(2205)).count, 2000, "a tenth of a second in gives most of it out at once")
    }

    func testPCMPiecesSplitInsideSamplesEqualTheTranscodersAnswer() throws {
        let samples = signal(3000).map { Int16(max(-32768, min(32767, $0 * 30000))) }
        var bytes = Data()
        for sample in samples { withUnsafeBytes(of: sample.littleEndian) { bytes.append(contentsOf: $0) } }
        let expected = try WAVAudio.decode(AudioTranscoder.convert(WAVAudio(format: PCMFormat(sampleRate: 16000), pcm: bytes),
                                                                   to: AudioTarget(sampleRate: 24_000, encoding: .pcm16)).wav).pcm
        var stream = PCM16StreamResampler(from: 16000, to: 24_000, channels: 1)
        var out = Data()
        var start = 0
        for size in [1, 2, 3, 1001, 2000] + Array(repeating: 997, count: 10) where start < bytes.count {
            let end = min(bytes.count, start + size)
            out += stream.push(bytes.subdata(in: start..<end))
            start = end
        }
        out += stream.push(bytes.subdata(in: start..<bytes.count))
        out += stream.finish()
        XCTAssertEqual(out.count, 4500 * 2)
        XCTAssertEqual(out, expected)
    }
}
