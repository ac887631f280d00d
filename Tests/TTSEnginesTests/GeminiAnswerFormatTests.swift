import Foundation
import TTSCore
import XCTest
@testable import TTSEngines

/// Audio Gemini sends in a format tts-repl cannot read, or with parameters no audio has, is a
/// content error: never wrapped as PCM and stored, never retried, the mimeType named.
final class GeminiAnswerFormatTests: XCTestCase {
    private func answer(mimeType: String, bytes: Data = Data(count: 4800)) -> Data {
        let body: [String: Any] = ["candidates": [["content": ["role": "model", "parts": [["inlineData": [
            "mimeType": mimeType, "data": bytes.base64EncodedString()]]]], "finishReason": "STOP"]]]
        return try! JSONSerialization.data(withJSONObject: body)
    }

    private func interpret(_ body: Data) -> Result<Data, AttemptFailure> {
        let request = AudioRequest(text: "Have a wonderful day!", voice: "Kore", engine: "gemini", model: "m")
        return GeminiAnswer.interpret(HTTPResponse(status: 200, body: body), label: RequestLabel(request), key: "k")
    }

    private func assertRefused(_ mimeType: String, file: StaticString = #filePath, line: UInt = #line) {
        switch interpret(answer(mimeType: mimeType)) {
        case .success:
            XCTFail("\(mimeType) was accepted as audio", file: file, line: line)
        case .failure(let failure):
            XCTAssertEqual(failure.error.kind, .content, failure.error.message, file: file, line: line)
            XCTAssertEqual(failure.next, .stop, "not retried", file: file, line: line)
            XCTAssertTrue(failure.error.message.contains("\"\(mimeType)\""), failure.error.message, file: file, line: line)
        }
    }

    func testUnknownMimeTypeIsAContentErrorNamingIt() {
        for mimeType in ["audio/mpeg", "audio/ogg; codecs=opus", "text/plain", ""] { assertRefused(mimeType) }
    }

    func testImpossibleParametersAreAContentError() {
        for mimeType in ["audio/L16;codec=pcm;rate=0", "audio/L16;rate=24000;channels=0", "audio/L16;rate=99999999",
                         "audio/L16;rate=-5", "audio/L16;rate=fast", "audio/l16; rate=24000; channels=40"] {
            assertRefused(mimeType)
        }
    }

    func testKnownShapesStillDecode() throws {
        for (mimeType, rate) in [("audio/L16;codec=pcm;rate=24000", 24_000), ("audio/l16; rate=16000; channels=1", 16_000),
                                 ("audio/pcm", 24_000)] {
            let wav = try interpret(answer(mimeType: mimeType)).get()
            XCTAssertEqual(try WAVAudio.decode(wav).format.sampleRate, rate, mimeType)
        }
        let riff = WAVAudio(format: PCMFormat(sampleRate: 24_000), pcm: Data(count: 480)).encoded()
        XCTAssertEqual(try interpret(answer(mimeType: "audio/wav", bytes: riff)).get(), riff)
    }
}
