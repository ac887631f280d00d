import XCTest
@testable import TTSCore

final class TTSErrorTests: XCTestCase {
    func testOnlyAPIAndQuotaErrorsAreTransient() {
        let transient: Set<TTSError.Kind> = [.api, .quota]
        for kind in TTSError.Kind.allCases {
            XCTAssertEqual(TTSError(kind, "x").isTransient, transient.contains(kind), "\(kind)")
        }
        XCTAssertEqual(TTSError.Kind.allCases.count, 9, "a new kind needs a decision here on whether it is transient")
    }

    func testDescriptionNamesTheKindAndCarriesTheMessage() {
        for kind in TTSError.Kind.allCases {
            let error = TTSError(kind, "the disk is full: free space in ~/.cache/tts-repl and retry")
            XCTAssertTrue(error.description.contains(kind.rawValue), error.description)
            XCTAssertTrue(error.description.contains("the disk is full: free space in ~/.cache/tts-repl and retry"))
            XCTAssertEqual(error.description, "\(kind.rawValue) error: \(error.message)")
            XCTAssertEqual("\(error)", error.description)
        }
    }

    func testKindRawValuesAreStable() {
        // Raw values appear in --json output and logs; renaming one is a breaking change.
        XCTAssertEqual(TTSError.Kind.allCases.map(\.rawValue),
                       ["validation", "api", "quota", "auth", "content", "store", "config", "cancelled", "internal"])
    }

    func testConvenienceConstructorsSetKindAndField() {
        let validation = TTSError.validation("language", "bad tag")
        XCTAssertEqual(validation.kind, .validation)
        XCTAssertEqual(validation.field, "language")
        XCTAssertEqual(validation.message, "bad tag")
        XCTAssertEqual(TTSError.store("disk").kind, .store)
        XCTAssertNil(TTSError.store("disk").field)
        XCTAssertEqual(TTSError.config("flag").kind, .config)
    }

    func testQuotaErrorsCarryTheAskedDelayAndStatus() {
        let error = TTSError(.quota, "rate limited", retryAfter: 12.5, httpStatus: 429)
        XCTAssertEqual(error.retryAfter, 12.5)
        XCTAssertEqual(error.httpStatus, 429)
        XCTAssertTrue(error.isTransient)
        XCTAssertNil(TTSError(.api, "reset").retryAfter)
    }

    func testErrorsCompareByAllTheirFields() {
        XCTAssertEqual(TTSError(.api, "a", httpStatus: 503), TTSError(.api, "a", httpStatus: 503))
        XCTAssertNotEqual(TTSError(.api, "a", httpStatus: 503), TTSError(.api, "a", httpStatus: 500))
        XCTAssertNotEqual(TTSError(.api, "a"), TTSError(.quota, "a"))
        XCTAssertNotEqual(TTSError.validation("text", "m"), TTSError.validation("voice", "m"))
    }

    func testAThrownTTSErrorCanBeCaughtAsAnError() {
        func fail() throws { throw TTSError(.auth, "key rejected: set GEMINI_API_KEY to a valid key") }
        XCTAssertThrowsError(try fail()) { error in
            XCTAssertEqual((error as? TTSError)?.kind, .auth)
            XCTAssertFalse((error as? TTSError)?.isTransient ?? true)
        }
    }
}
