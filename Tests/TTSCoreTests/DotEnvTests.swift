import XCTest
@testable import TTSCore

final class DotEnvTests: XCTestCase {
    /// A quoted value followed by a comment used to keep its quotes (and the comment).
    func testQuotedValueFollowedByACommentLosesItsQuotes() throws {
        let values = try DotEnv.parse("""
            A="quoted value" # the voice we like
            B='a # b'   # single quotes keep the hash
            C="say \\"hi\\"" #c
            D=plain # note
            E="no comment"
            """)
        XCTAssertEqual(values["A"], "quoted value")
        XCTAssertEqual(values["B"], "a # b")
        XCTAssertEqual(values["C"], "say \"hi\"")
        XCTAssertEqual(values["D"], "plain")
        XCTAssertEqual(values["E"], "no comment")
    }

    func testTextAfterAClosingQuoteThatIsNotACommentIsRefused() {
        XCTAssertThrowsError(try DotEnv.parse("A=\"x\" junk")) { error in
            XCTAssertEqual((error as? TTSError)?.kind, .config)
            XCTAssertTrue((error as? TTSError)?.message.contains(".env:1") ?? false)
        }
    }
}
