import Foundation
import TTSCore
import XCTest
@testable import TTSServer

final class WaveformTests: XCTestCase {
    func testPeaksFollowTheLoudestSampleOfEachSlice() throws {
        // 8000 frames: the first half at half scale, the second at a quarter, one full-scale
        // negative spike at frame 4500 (in the third of four slices).
        let wav = consoleWAV(frames: 8000) { i in
            if i == 4500 { return Int16.min }
            return i < 4000 ? (i % 2 == 0 ? 16384 : -16384) : 8192
        }
        let peaks = Waveform.peaks(of: try WAVAudio.decode(wav), points: 4)
        XCTAssertEqual(peaks, [0.5, 0.5, 1.0, 0.25])
    }

    func testAClipShorterThanThePointsGivesOnePointPerFrame() throws {
        let wav = consoleWAV(frames: 3) { i in Int16(i * 8192) }
        XCTAssertEqual(Waveform.peaks(of: try WAVAudio.decode(wav), points: 200), [0, 0.25, 0.5])
        let silent = WAVAudio(format: PCMFormat(sampleRate: 8000), pcm: Data())
        XCTAssertEqual(Waveform.peaks(of: silent, points: 200), [])
    }

    func testStereoTakesTheLouderChannel() {
        // Left quiet, right loud: frames interleave L R.
        var pcm = Data()
        for _ in 0..<100 {
            for value: Int16 in [1024, -24576] {
                let bits = UInt16(bitPattern: value)
                pcm.append(contentsOf: [UInt8(bits & 0xFF), UInt8(bits >> 8)])
            }
        }
        let audio = WAVAudio(format: PCMFormat(sampleRate: 8000, channels: 2), pcm: pcm)
        XCTAssertEqual(Waveform.peaks(of: audio, points: 2), [0.75, 0.75])
    }

    func testCacheKeepsTheRecentlyUsedAndDropsTheOldest() {
        let cache = WaveformCache(capacity: 2)
        let blobs = (0..<3).map { BlobHash(of: Data([UInt8($0)])) }
        cache.remember([0.1], for: .init(blob: blobs[0], points: 10))
        cache.remember([0.2], for: .init(blob: blobs[1], points: 10))
        XCTAssertEqual(cache.peaks(for: .init(blob: blobs[0], points: 10)), [0.1])  // now the newest
        cache.remember([0.3], for: .init(blob: blobs[2], points: 10))
        XCTAssertEqual(cache.count, 2)
        XCTAssertNil(cache.peaks(for: .init(blob: blobs[1], points: 10)))
        XCTAssertEqual(cache.peaks(for: .init(blob: blobs[0], points: 10)), [0.1])
        XCTAssertNil(cache.peaks(for: .init(blob: blobs[0], points: 20)), "another point count is another entry")
    }
}
