import XCTest
@testable import LineEditor

final class DisplayWidthTests: XCTestCase {
    func testASCIIIsOneColumnEach() {
        XCTAssertEqual(DisplayWidth.of("hello"), 5)
    }

    func testCJKIsTwoColumnsEach() {
        XCTAssertEqual(DisplayWidth.of("日本語"), 6)
        XCTAssertEqual(DisplayWidth.of("한국"), 4)
        XCTAssertEqual(DisplayWidth.of("ＡＢ"), 4)
    }

    func testEmojiWithSkinToneIsOneClusterOfTwoColumns() {
        XCTAssertEqual("👍🏽".count, 1)
        XCTAssertEqual(DisplayWidth.of("👍🏽"), 2)
        XCTAssertEqual(DisplayWidth.of("❤️"), 2, "U+FE0F asks for emoji presentation")
    }

    func testCombiningMarkTakesNoColumn() {
        XCTAssertEqual(DisplayWidth.of("e\u{301}"), 1)
        XCTAssertEqual(DisplayWidth.of(Unicode.Scalar(0x301)!), 0)
    }

    func testZWJFamilyIsTwoColumns() {
        let family = "👨\u{200D}👩\u{200D}👧\u{200D}👦"
        XCTAssertEqual(family.count, 1)
        XCTAssertEqual(DisplayWidth.of(family), 2)
        XCTAssertEqual(DisplayWidth.of(Unicode.Scalar(0x200D)!), 0)
    }

    func testANSIColourInPromptTakesNoColumn() {
        XCTAssertEqual(DisplayWidth.of("\u{1b}[1;32mtts\u{1b}[0m> "), 5)
    }
}

final class LineRendererTests: XCTestCase {
    func testShortLineWithHint() {
        XCTAssertEqual(LineRenderer.render(prompt: "> ", text: "say", cursor: 3, hint: " <text>", columns: 80),
                       "\r> say\u{1b}[90m <text>\u{1b}[0m\u{1b}[0K\r\u{1b}[5C")
    }

    func testHintWithoutColourAndOnlyAtEnd() {
        XCTAssertEqual(LineRenderer.render(prompt: "> ", text: "say", cursor: 3, hint: "!", columns: 80, colour: false),
                       "\r> say!\u{1b}[0K\r\u{1b}[5C")
        XCTAssertEqual(LineRenderer.render(prompt: "> ", text: "say", cursor: 1, hint: "!", columns: 80),
                       "\r> say\u{1b}[0K\r\u{1b}[3C")
    }

    func testLongLineScrollsSoCursorStaysVisible() {
        // 10 columns, prompt 2: the cursor at the end of 20 characters stays on screen, in the last column (9).
        let text = "abcdefghijklmnopqrst"
        XCTAssertEqual(LineRenderer.render(prompt: "> ", text: text, cursor: 20, columns: 10),
                       "\r> nopqrst\u{1b}[0K\r\u{1b}[9C")
        // Cursor back at the start: the line is shown from its start, cut at the edge.
        XCTAssertEqual(LineRenderer.render(prompt: "> ", text: text, cursor: 0, columns: 10),
                       "\r> abcdefgh\u{1b}[0K\r\u{1b}[2C")
    }

    func testWideCharactersScrollByColumns() {
        // Prompt 2 + five wide chars = 12 columns in a 9-column terminal.
        XCTAssertEqual(LineRenderer.render(prompt: "> ", text: "日本語日本", cursor: 5, columns: 9),
                       "\r> 語日本\u{1b}[0K\r\u{1b}[8C")
    }

    func testColouredPromptPositionsCursorByVisibleWidth() {
        XCTAssertEqual(LineRenderer.render(prompt: "\u{1b}[32m>\u{1b}[0m ", text: "日", cursor: 1, columns: 80),
                       "\r\u{1b}[32m>\u{1b}[0m 日\u{1b}[0K\r\u{1b}[4C")
    }
}
