import Foundation
import TTSCore
import XCTest
@testable import TTSEngines

/// The answers in fixtures/gemini — one per model family and failure shape of the fact sheet —
/// read the way the engine reads a live answer.
final class GeminiFixtureTests: XCTestCase {
    private func interpret(_ name: String, status: Int = 200) throws -> Result<Data, AttemptFailure> {
        let body = try Data(contentsOf: fixturesFolder().appendingPathComponent("gemini/\(name)"))
        let request = AudioRequest(text: "Have a wonderful day!", voice: "Kore", engine: "gemini", model: "gemini-2.5-flash-preview-tts")
        return GeminiAnswer.interpret(HTTPResponse(status: status, body: body), label: RequestLabel(request), key: "fixture-key-not-secret")
    }

    private func audio(_ name: String) throws -> WAVAudio {
        guard case .success(let wav) = try interpret(name) else { throw TTSError(.internal, "\(name): no audio") }
        return try WAVAudio.decode(wav)
    }

    func testEachModelFamilysUnaryAnswerDecodesToTheSameQuarterSecond() throws {
        let families = try ["unary-2.5-pcm.json", "unary-3.1-pcm.json", "unary-3.8-wav.json"].map(audio)
        for audio in families {
            XCTAssertEqual(audio.format.sampleRate, 24000)
            XCTAssertEqual(audio.frameCount, 6000)
        }
        XCTAssertEqual(families[0].pcm, families[1].pcm)
        XCTAssertEqual(families[0].pcm, families[2].pcm, "a 3.8 WAV answer keeps its samples as they are")
    }

    func testFailureShapesMapToTheirKindsAndRetries() throws {
        let expectations: [(String, Int, TTSError.Kind, Bool)] = [
            ("finish-other-empty.json", 200, .api, true),
            ("text-instead-of-audio.json", 200, .content, false),
            ("blocked-prompt.json", 200, .content, false),
            ("error-429-per-minute.json", 429, .quota, true),
            ("error-400-api-key-invalid.json", 400, .auth, false),
            ("error-500-internal.json", 500, .api, true),
        ]
        for (name, status, kind, retried) in expectations {
            guard case .failure(let failure) = try interpret(name, status: status) else {
                XCTFail("\(name) was taken as audio"); continue
            }
            XCTAssertEqual(failure.error.kind, kind, name)
            var isRetried = false
            if case .retry = failure.next { isRetried = true }
            XCTAssertEqual(isRetried, retried, name)
            XCTAssertFalse(failure.error.message.contains("fixture-key-not-secret"), name)
        }
    }

    func testPerDayQuotaIsNotRetriedOnTheSameKey() throws {
        guard case .failure(let failure) = try interpret("error-429-per-day.json", status: 429) else {
            return XCTFail("a 429 was taken as audio")
        }
        XCTAssertEqual(failure.error.kind, .quota)
        if case .retry = failure.next { XCTFail("a per-day quota does not clear before midnight Pacific: no retry on the same key") }
    }
}

/// The repository's fixtures/ folder, found from this file's path.
func fixturesFolder(file: String = #filePath) -> URL {
    URL(fileURLWithPath: file).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("fixtures", isDirectory: true)
}
