import TTSCore
import XCTest
@testable import tts_repl

/// How a command line is cut into its command word and the text after it, and into words:
/// the ASCII fast path must give exactly what the Unicode path gives, and step aside where
/// only Unicode can tell.
final class TokenizerTests: XCTestCase {
    func testHeadAndRestCutsAtTheFirstRunOfWhitespace() {
        XCTAssertTrue(Tokenizer.headAndRest("say hello world") == ("say", "hello world"))
        XCTAssertTrue(Tokenizer.headAndRest("  say \t  don't panic  ") == ("say", "don't panic  "))
        XCTAssertTrue(Tokenizer.headAndRest("stats") == ("stats", ""))
        XCTAssertTrue(Tokenizer.headAndRest("   ") == ("", ""))
        XCTAssertTrue(Tokenizer.headAndRest("") == ("", ""))
        XCTAssertTrue(Tokenizer.headAndRest("say\r\nnext") == ("say", "next"))
    }

    func testNonASCIITextAfterTheCommandWordIsKeptAsWritten() {
        XCTAssertTrue(Tokenizer.headAndRest("say Grüße aus Köln") == ("say", "Grüße aus Köln"))
        XCTAssertTrue(Tokenizer.headAndRest("say 日本語です") == ("say", "日本語です"))
    }

    func testUnicodeWhitespaceSeparatesAsASCIIWhitespaceDoes() {
        // U+3000 (ideographic space) and U+00A0 are whitespace to Character too.
        XCTAssertTrue(Tokenizer.headAndRest("say\u{3000}hello") == ("say", "hello"))
        XCTAssertTrue(Tokenizer.headAndRest("say \u{3000} hello") == ("say", "hello"))
        XCTAssertTrue(Tokenizer.headAndRest("\u{00A0}say hello") == ("say", "hello"))
        XCTAssertNil(Tokenizer.asciiHeadAndRest("say\u{3000}hello"), "the ASCII path must not guess at U+3000")
        XCTAssertNil(Tokenizer.asciiHeadAndRest("say \u{3000} hello"))
    }

    func testTheASCIIPathAgreesWithTheUnicodePathWhereItAnswers() {
        let lines = ["say hello", " say  hello ", "say\thello\tthere", "play", "say  é", "ls --json",
                     "say don't \"quote\"", "say \u{301}accent", "x\u{0B}y", "say\u{0C}form feed"]
        for line in lines {
            let unicode = Tokenizer.unicodeHeadAndRest(line)
            if let ascii = Tokenizer.asciiHeadAndRest(line) {
                XCTAssertTrue(ascii == unicode, "\(line.debugDescription): \(ascii) vs \(unicode)")
            }
            XCTAssertTrue(Tokenizer.headAndRest(line) == unicode, line.debugDescription)
        }
        XCTAssertNotNil(Tokenizer.asciiHeadAndRest("say Grüße"), "non-ASCII text past the cut's first byte stays on the fast path")
        XCTAssertNil(Tokenizer.asciiHeadAndRest("say  é"), "the first byte after the cut could begin a Unicode space")
        XCTAssertNil(Tokenizer.asciiHeadAndRest("say \u{301}accent"), "a combining mark joins the space before it")
    }

    func testSplitGroupsQuotesAndEscapes() throws {
        XCTAssertEqual(try Tokenizer.split(#"a "b c" 'd e' f\ g"#), ["a", "b c", "d e", "f g"])
        XCTAssertEqual(try Tokenizer.split(#""say \"hi\"" 'it\s'"#), [#"say "hi""#, #"it\s"#])
        XCTAssertEqual(try Tokenizer.split("a\u{3000}b"), ["a", "b"])
        XCTAssertEqual(try Tokenizer.split(#""" x"#), ["", "x"])
        XCTAssertThrowsError(try Tokenizer.split(#"say "open"#))
    }

    func testUTF8CheckFindsTheFirstBadByteAfterASCII() {
        XCTAssertNil(UTF8Check.firstInvalidByte(in: Array("plain ascii".utf8)))
        XCTAssertNil(UTF8Check.firstInvalidByte(in: Array("Grüße".utf8)))
        XCTAssertEqual(UTF8Check.firstInvalidByte(in: [0x61, 0x62, 0xE9, 0x63]), 2)
        XCTAssertEqual(UTF8Check.firstInvalidByte(in: [0xFF]), 0)
        XCTAssertEqual(UTF8Check.firstInvalidByte(in: ("ab".utf8 + [0xC3]).lazy.map { $0 }), 2,
                       "a sequence without contiguous storage takes the scalar parser")
    }
}
