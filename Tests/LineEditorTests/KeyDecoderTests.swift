import XCTest
@testable import LineEditor

final class KeyDecoderTests: XCTestCase {
    private func decode(_ text: String) -> [Key] {
        var decoder = KeyDecoder()
        return decoder.feed(Array(text.utf8))
    }

    func testCRLFIsOneEnter() {
        XCTAssertEqual(decode("a\r\nb\n\n"), [.character("a"), .enter, .character("b"), .enter, .enter])
    }

    func testC1ControlIsNotText() {
        XCTAssertEqual(decode("\u{85}x"), [.unknown, .character("x")])
    }

    func testPrintableAndControlBytes() {
        XCTAssertEqual(decode("a\r\t\u{7f}\u{8}\u{1}\u{12}"),
                       [.character("a"), .enter, .tab, .backspace, .backspace, .control("a"), .control("r")])
    }

    func testUTF8SplitAcrossReadsMakesOneCharacter() {
        var decoder = KeyDecoder()
        let bytes = Array("日👍".utf8)  // 3 + 4 bytes
        var keys: [Key] = []
        for byte in bytes { keys += decoder.feed([byte]) }
        XCTAssertEqual(keys, [.character("日"), .character("👍")])
    }

    /// Issue 15, item 5: a byte that is not UTF-8 is refused, never U+FFFD (which would give
    /// `caf\xe9` and `caf\xe8` one key).
    func testInvalidUTF8IsRefusedNotReplaced() {
        var decoder = KeyDecoder()
        XCTAssertEqual(decoder.feed([0xE6, 0x41, 0xFF, 0xE9]),
                       [.invalidUTF8(byte: 0xE6, offset: 0), .character("A"), .invalidUTF8(byte: 0xFF, offset: 0)])
        // 0xE9 may start a 3-byte character: refused when the next byte says it does not.
        XCTAssertEqual(decoder.feed([0x20]), [.invalidUTF8(byte: 0xE9, offset: 0), .character(" ")])
        // A surrogate encoded in UTF-8 (ED A0 80) is not a character either.
        XCTAssertEqual(decoder.feed([0xED, 0xA0, 0x80]), [.invalidUTF8(byte: 0xED, offset: 0)])
        XCTAssertEqual(decoder.feed(Array("é".utf8)), [.character("é")])
        // A start byte typed last: the pause that ends a lone ESC refuses it too.
        XCTAssertEqual(decoder.feed([0xE9]), [])
        XCTAssertTrue(decoder.isWaitingForMore)
        XCTAssertEqual(decoder.flush(), [.invalidUTF8(byte: 0xE9, offset: 0)])
    }

    func testAPasteWithABadByteIsRefusedWholeWithItsOffset() {
        var decoder = KeyDecoder()
        let paste = Array("\u{1b}[200~".utf8) + Array("say caf".utf8) + [0xE9] + Array("\u{1b}[201~".utf8)
        XCTAssertEqual(decoder.feed(paste), [.invalidUTF8(byte: 0xE9, offset: 7)])
    }

    func testArrowsHomeEndDeleteInAllForms() {
        XCTAssertEqual(decode("\u{1b}[A\u{1b}[B\u{1b}[C\u{1b}[D"), [.up, .down, .right, .left])
        XCTAssertEqual(decode("\u{1b}[H\u{1b}[1~\u{1b}OH\u{1b}[7~"), [.home, .home, .home, .home])
        XCTAssertEqual(decode("\u{1b}[F\u{1b}[4~\u{1b}OF\u{1b}[8~"), [.end, .end, .end, .end])
        XCTAssertEqual(decode("\u{1b}[3~\u{1b}OA"), [.delete, .up])
    }

    func testWordMovesFromAltAndCtrlArrows() {
        XCTAssertEqual(decode("\u{1b}b\u{1b}f\u{1b}[1;5D\u{1b}[1;5C\u{1b}[1;3D"),
                       [.wordLeft, .wordRight, .wordLeft, .wordRight, .wordLeft])
    }

    func testSequenceSplitAcrossReads() {
        var decoder = KeyDecoder()
        XCTAssertEqual(decoder.feed([0x1B]), [])
        XCTAssertTrue(decoder.isWaitingForMore)
        XCTAssertEqual(decoder.feed(Array("[3".utf8)), [])
        XCTAssertEqual(decoder.feed(Array("~x".utf8)), [.delete, .character("x")])
    }

    func testLoneEscapeIsReportedOnFlush() {
        var decoder = KeyDecoder()
        XCTAssertEqual(decoder.feed([0x1B]), [])
        XCTAssertEqual(decoder.flush(), [.escape])
        XCTAssertEqual(decoder.flush(), [])
        XCTAssertEqual(decode("\u{1b}\u{1b}[D"), [.escape, .left])
    }

    func testUnknownSequenceIsIgnoredNotTyped() {
        XCTAssertEqual(decode("\u{1b}[15~a"), [.unknown, .character("a")])
    }

    func testBracketedPasteArrivesWhole() {
        var decoder = KeyDecoder()
        var keys = decoder.feed(Array("\u{1b}[200~say one\r\nsay\u{1b}".utf8))
        XCTAssertEqual(keys, [])
        XCTAssertFalse(decoder.isWaitingForMore, "an ESC inside a paste must not time out into .escape")
        XCTAssertEqual(decoder.flush(), [])
        keys = decoder.feed(Array(" \u{1b}[A\ttwo\r\u{1b}[201~z".utf8))
        XCTAssertEqual(keys, [.paste("say one\nsay [A two\n"), .character("z")], "control bytes in a paste are dropped")
    }
}
