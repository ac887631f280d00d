import Foundation
import XCTest
@testable import TTSCore

/// WAV files with the chunks real tools add (LIST/INFO from ffmpeg, fact, odd-sized chunks with
/// their pad byte, a trailing id3 chunk) decode to the same samples as a canonical file.
final class WAVFixtureTests: XCTestCase {
    private func fixture(_ name: String) throws -> WAVAudio {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("fixtures/wav/\(name)")
        return try WAVAudio.decode(Data(contentsOf: url))
    }

    func testExtraChunksAreSkippedAndTheSamplesAreTheSame() throws {
        let files = try ["list-chunk-before-data.wav", "fact-odd-padding.wav", "trailing-id3-chunk.wav"].map(fixture)
        for audio in files {
            XCTAssertEqual(audio.format.sampleRate, 22050)
            XCTAssertEqual(audio.format.channels, 1)
            XCTAssertEqual(audio.frameCount, 2205)
        }
        XCTAssertEqual(files[0].pcm, files[1].pcm)
        XCTAssertEqual(files[0].pcm, files[2].pcm)
        // Re-encoded, it is the canonical 44-byte-header file.
        XCTAssertEqual(files[0].encoded().count, 44 + 2205 * 2)
    }
}
