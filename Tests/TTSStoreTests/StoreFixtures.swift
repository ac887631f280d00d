import Foundation
import TTSCore
import XCTest

/// A fresh folder under the system temp dir, removed at the end of the test.
func makeTemporaryFolder(_ test: XCTestCase) throws -> URL {
    let folder = FileManager.default.temporaryDirectory
        .appendingPathComponent("tts-store-tests-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(at: folder) }
    return folder
}

/// A small valid WAV whose bytes depend on `seed`.
func sampleWAV(seed: UInt8, frames: Int = 400) -> Data {
    var pcm = Data(count: frames * 2)
    for i in 0..<pcm.count { pcm[i] = UInt8(truncatingIfNeeded: i &* 31 &+ Int(seed)) }
    return WAVAudio(format: PCMFormat(sampleRate: 22050), pcm: pcm).encoded()
}

/// A clip with distinct, exactly representable values in every field.
func sampleClip(text: String = "Hello world", voice: String = "en-us", language: String = "en-US",
                engine: String = "espeak", model: String = "espeak-ng", style: String = "",
                blobSeed: UInt8 = 1, bytes: Int = 844, createdAt: Double = 1_700_000_000.25,
                hits: Int = 0) -> Clip {
    let request = AudioRequest(text: text, voice: voice, language: language, engine: engine,
                               model: model, style: style)
    return Clip(key: RequestKey(request), blob: BlobHash(of: sampleWAV(seed: blobSeed)), text: text,
                voice: voice, language: language, engine: engine, model: model, style: style,
                bytes: bytes, durationMs: 9, sampleRate: 22050,
                createdAt: Date(timeIntervalSince1970: createdAt),
                lastUsedAt: Date(timeIntervalSince1970: createdAt + 0.5), hits: hits)
}

/// Asserts that `body` throws a `TTSError` of `kind` whose message contains every fragment.
func assertThrowsTTSError(_ kind: TTSError.Kind, containing fragments: [String],
                          file: StaticString = #filePath, line: UInt = #line,
                          _ body: () throws -> Void) {
    do {
        try body()
        XCTFail("expected a \(kind) error", file: file, line: line)
    } catch let error as TTSError {
        XCTAssertEqual(error.kind, kind, "\(error)", file: file, line: line)
        for fragment in fragments {
            XCTAssertTrue(error.message.contains(fragment), "'\(fragment)' missing from: \(error.message)", file: file, line: line)
        }
    } catch {
        XCTFail("expected TTSError, got \(error)", file: file, line: line)
    }
}
