import TTSCore
import XCTest
@testable import TTSServer

final class APIErrorTests: XCTestCase {
    private func object(_ response: ServerResponse) throws -> JSONValue {
        guard case .bytes(let data) = response.body else { throw TTSError(.internal, "an error answer has a body") }
        return try JSONValue.parse(String(decoding: data, as: UTF8.self))
    }

    func testValidationErrorIsA400InEachShape() throws {
        let error = APIError(TTSError.validation("voice", "unknown voice 'Nobody'"))
        XCTAssertEqual(error.status, 400)
        let openAI = try object(error.response(.openAI))["error"]
        XCTAssertEqual(openAI?["type"]?.stringValue, "invalid_request_error")
        XCTAssertEqual(openAI?["param"]?.stringValue, "voice")
        let gemini = try object(error.response(.gemini))["error"]
        XCTAssertEqual(gemini?["status"]?.stringValue, "INVALID_ARGUMENT")
        XCTAssertEqual(gemini?["code"]?.intValue, 400)
        let native = try object(error.response(.native))["error"]
        XCTAssertEqual(native?["kind"]?.stringValue, "validation")
        XCTAssertEqual(native?["field"]?.stringValue, "voice")
    }

    func testUpstreamQuotaCarriesRetryAfterAndEngineAuthIsNotAClient401() {
        let quota = APIError(TTSError(.quota, "quota", retryAfter: 45.2)).response(.openAI)
        XCTAssertEqual(quota.status, 429)
        XCTAssertEqual(quota.headers.first { $0.name == "Retry-After" }?.value, "46")
        XCTAssertEqual(APIError(TTSError(.auth, "the engine's key was refused")).status, 502)
    }
}
