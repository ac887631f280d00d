import Foundation
import XCTest
@testable import TTSCore

final class TextNormalizerTests: XCTestCase {
    /// Compares scalars, not Strings: Swift's `==` treats NFC and NFD forms as equal, which
    /// would hide exactly the difference these tests are about.
    private func assertNormalizes(_ input: String, to expected: String, file: StaticString = #filePath, line: UInt = #line) {
        let output = TextNormalizer.normalize(input)
        XCTAssertEqual(scalars(output), scalars(expected),
                       "normalize(\(input.debugDescription)) = \(output.debugDescription)", file: file, line: line)
    }

    // MARK: NFC

    func testDecomposedTextIsComposed() {
        assertNormalizes("cafe\u{301}", to: "caf\u{E9}")
        assertNormalizes("A\u{30A}ngstro\u{308}m", to: "\u{C5}ngstr\u{F6}m")
        assertNormalizes("\u{1100}\u{1161}\u{11A8}", to: "\u{AC01}")  // Hangul jamo → 각
    }

    func testComposedTextIsUnchanged() {
        assertNormalizes("caf\u{E9} na\u{EF}ve", to: "caf\u{E9} na\u{EF}ve")
    }

    func testCanonicalSingletonsAreReplaced() {
        // U+212B ANGSTROM SIGN and U+2126 OHM SIGN are canonically U+00C5 and U+03A9.
        assertNormalizes("5 \u{212B}, 10 \u{2126}", to: "5 \u{C5}, 10 \u{3A9}")
    }

    func testCombiningMarksAreReorderedCanonically() {
        // dot below (ccc 220) sorts before dot above (ccc 230); NFC then composes ṩ.
        assertNormalizes("s\u{307}\u{323}", to: "\u{1E69}")
    }

    func testCompatibilityCharactersAreKept() {
        // NFC, not NFKC: ligatures, full-width letters and superscripts stay as written.
        assertNormalizes("\u{FB01}ne \u{FF21} x\u{B2}", to: "\u{FB01}ne \u{FF21} x\u{B2}")
    }

    // MARK: Whitespace

    func testLeadingAndTrailingWhitespaceIsTrimmed() {
        assertNormalizes("  Hello  ", to: "Hello")
        assertNormalizes("\t\n\r Hello\u{A0}\u{2003}\n", to: "Hello")
    }

    func testMixedWhitespaceRunsCollapseToOneSpace() {
        assertNormalizes("Hello \t\n\r\u{A0}\u{2003}\u{3000}\u{2028}\u{2029}\u{85}\u{B}\u{C} world", to: "Hello world")
        assertNormalizes("a\tb\nc\u{A0}d\u{2003}e", to: "a b c d e")
        assertNormalizes("one  two   three", to: "one two three")
    }

    func testCRLFLineBreaksBecomeOneSpace() {
        assertNormalizes("line one\r\nline two\r\n\r\nline three", to: "line one line two line three")
    }

    func testWhitespaceOnlyBecomesEmpty() {
        for blank in ["", " ", "\t\n", "\u{A0}\u{2003}\u{3000}", "\u{0}\u{7}\u{1F}"] {
            assertNormalizes(blank, to: "")
        }
    }

    // MARK: Control characters

    func testControlCharactersActAsSeparators() {
        assertNormalizes("Hello\u{0}world", to: "Hello world")
        assertNormalizes("bell\u{7}\u{7}ring", to: "bell ring")
        assertNormalizes("a\u{1B}[31mred", to: "a [31mred")
        assertNormalizes("x\u{7F}y\u{80}z\u{9F}w", to: "x y z w")
        assertNormalizes("\u{0}lead and trail\u{1}", to: "lead and trail")
    }

    func testTheUnitSeparatorNeverSurvives() {
        // RequestKey joins fields with U+001F; text must never contain it.
        let output = TextNormalizer.normalize("voice\u{1F}en-US\u{1F}text")
        XCTAssertFalse(output.unicodeScalars.contains("\u{1F}"))
        assertNormalizes("voice\u{1F}en-US\u{1F}text", to: "voice en-US text")
    }

    func testControlCharactersAndWhitespaceTogetherMakeOneSpace() {
        assertNormalizes("a \u{0} \t\u{7}\n b", to: "a b")
    }

    // MARK: Content is kept

    func testCaseIsKept() {
        assertNormalizes("US us Us uS", to: "US us Us uS")
        assertNormalizes("\u{130}STANBUL \u{DF}", to: "\u{130}STANBUL \u{DF}")
    }

    func testPunctuationIsKept() {
        assertNormalizes("Wait... what?! (yes) \"quoted\" \u{2014} done.", to: "Wait... what?! (yes) \"quoted\" \u{2014} done.")
    }

    func testEmojiSequencesAreUntouched() {
        let family = "\u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467}"   // ZWJ sequence
        let flag = "\u{1F1E9}\u{1F1EA}"                              // regional indicators
        let skin = "\u{1F44D}\u{1F3FD}"                              // modifier
        let keycap = "1\u{FE0F}\u{20E3}"                             // variation selector + keycap
        let text = "\(family) \(flag) \(skin) \(keycap) \u{2764}\u{FE0F}"
        assertNormalizes(text, to: text)
    }

    func testRightToLeftTextAndMarksAreUntouched() {
        let arabic = "\u{645}\u{631}\u{62D}\u{628}\u{627} \u{628}\u{627}\u{644}\u{639}\u{627}\u{644}\u{645}"
        let hebrew = "\u{5E9}\u{5DC}\u{5D5}\u{5DD}"
        assertNormalizes(arabic, to: arabic)
        assertNormalizes("\u{200F}\(hebrew)\u{200E} ok", to: "\u{200F}\(hebrew)\u{200E} ok")  // RLM/LRM are format, not control
    }

    func testCJKIsUntouched() {
        for text in ["\u{4F60}\u{597D}\u{4E16}\u{754C}", "\u{3053}\u{3093}\u{306B}\u{3061}\u{306F}", "\u{C548}\u{B155}\u{D558}\u{C138}\u{C694}"] {
            assertNormalizes(text, to: text)
        }
        // An ideographic space between CJK words is whitespace like any other.
        assertNormalizes("\u{4F60}\u{597D}\u{3000}\u{4E16}\u{754C}", to: "\u{4F60}\u{597D} \u{4E16}\u{754C}")
    }

    // MARK: Idempotence and properties

    func testNormalizingTwiceEqualsNormalizingOnce() {
        let samples = [
            "  Hello \t world ", "cafe\u{301}", "a\u{0}\u{301}b", " \u{301}x", "\u{1100}\u{0}\u{1161}",
            "\u{1F468}\u{200D}\u{1F469}", "x\u{A0}\u{A0}y", "s\u{307}\u{323}", "\u{212B}",
        ]
        for sample in samples {
            let once = TextNormalizer.normalize(sample)
            XCTAssertEqual(scalars(TextNormalizer.normalize(once)), scalars(once), sample.debugDescription)
        }
    }

    /// A pool that mixes the troublemakers: every kind of whitespace, controls, combining marks
    /// that compose (and reorder) with their neighbours, Hangul jamo, ZWJ, RTL and CJK.
    private static let pool: [Unicode.Scalar] = {
        var list: [Unicode.Scalar] = []
        for v: UInt32 in [0x20, 0x09, 0x0A, 0x0D, 0x0B, 0x0C, 0x85, 0xA0, 0x1680, 0x2003, 0x2028, 0x2029, 0x202F, 0x3000,
                          0x00, 0x07, 0x1B, 0x1F, 0x7F, 0x9F,
                          0x61, 0x41, 0x65, 0x45, 0x6F, 0x73, 0x55, 0x7A, 0x2E, 0x2C, 0x21,
                          0x301, 0x308, 0x323, 0x307, 0x30A, 0x327,
                          0xE9, 0xC5, 0x212B, 0x2126, 0x1E69,
                          0x1100, 0x1161, 0x11A8, 0xAC00,
                          0x200D, 0x200B, 0x200E, 0x200F, 0xFE0F, 0xFEFF,
                          0x1F468, 0x1F469, 0x1F3FD, 0x1F1E9, 0x1F1EA,
                          0x645, 0x628, 0x5D0, 0x4F60, 0x597D, 0x3053] {
            list.append(Unicode.Scalar(v)!)
        }
        return list
    }()

    func testPropertiesHoldForRandomStrings() {
        let seed: UInt64 = 0xC0FFEE
        var rng = SeededGenerator(seed: seed)
        for round in 0..<2_000 {
            var view = String.UnicodeScalarView()
            for _ in 0..<Int.random(in: 0...24, using: &rng) {
                view.append(Self.pool.randomElement(using: &rng)!)
            }
            let input = String(view)
            let output = TextNormalizer.normalize(input)
            let out = Array(output.unicodeScalars)
            let label = "seed \(seed), round \(round): \(input.debugDescription) → \(output.debugDescription)"

            XCTAssertEqual(scalars(TextNormalizer.normalize(output)), scalars(output), "idempotent; \(label)")
            XCTAssertEqual(scalars(output.precomposedStringWithCanonicalMapping), scalars(output), "NFC; \(label)")
            XCTAssertNotEqual(out.first, " ", "no leading space; \(label)")
            XCTAssertNotEqual(out.last, " ", "no trailing space; \(label)")
            XCTAssertFalse(output.contains("  "), "no double space; \(label)")
            XCTAssertFalse(out.contains { $0 != " " && $0.properties.isWhitespace }, "only U+0020 as whitespace; \(label)")
            XCTAssertFalse(out.contains { $0.properties.generalCategory == .control }, "no controls; \(label)")

            // Nothing but separators was removed or added: the NFC input without separators equals
            // the output without its spaces.
            let isSeparator: (Unicode.Scalar) -> Bool = {
                $0.properties.isWhitespace || $0.properties.generalCategory == .control
                    || [0xFEFF, 0x200B, 0x2060].contains($0.value)  // byte-order mark, zero-width spaces
            }
            let kept = input.precomposedStringWithCanonicalMapping.unicodeScalars.filter { !isSeparator($0) }
            let content = out.filter { $0 != " " }
            XCTAssertEqual(kept.map(\.value), content.map(\.value), "content kept; \(label)")
        }
    }

    // MARK: The ASCII fast path

    func testCanonicalASCIIIsRecognisedOnlyWhenNothingWouldChange() {
        for text in ["", "a", "Hello world", "bench phrase 42", "Wait... what?! (yes) \"q\" ~{}|"] {
            XCTAssertTrue(TextNormalizer.isCanonicalASCII(text), text.debugDescription)
        }
        for text in [" ", " a", "a ", "a  b", "a\tb", "a\nb", "a\u{7F}b", "a\u{0}b", "caf\u{E9}", "e\u{301}", "a\u{A0}b"] {
            XCTAssertFalse(TextNormalizer.isCanonicalASCII(text), text.debugDescription)
        }
    }

    /// Random strings, mostly ASCII (so the fast path is taken often) with the troublemakers of
    /// `pool` mixed in: `normalize` gives exactly what the general path gives, and for ASCII
    /// input the fast path is taken exactly when the general path would change nothing.
    func testFastPathMatchesTheGeneralPathOnRandomStrings() {
        let seed: UInt64 = 0xA5C11
        var rng = SeededGenerator(seed: seed)
        let ascii = (0x00...0x7F).map { Unicode.Scalar(UInt8($0)) }
        var fastPathTaken = 0
        for round in 0..<4_000 {
            var view = String.UnicodeScalarView()
            let exotic = round % 4 == 0
            for _ in 0..<Int.random(in: 0...24, using: &rng) {
                switch Int.random(in: 0..<10, using: &rng) {
                case 0: view.append(exotic ? Self.pool.randomElement(using: &rng)! : " ")
                case 1: view.append(ascii.randomElement(using: &rng)!)
                case 2: view.append(" ")
                default: view.append(Unicode.Scalar(UInt8.random(in: 0x21...0x7E, using: &rng)))
                }
            }
            let input = String(view)
            let general = TextNormalizer.normalizeScalars(input)
            let label = "seed \(seed), round \(round): \(input.debugDescription)"
            XCTAssertEqual(scalars(TextNormalizer.normalize(input)), scalars(general), label)
            if input.unicodeScalars.allSatisfy(\.isASCII) {
                XCTAssertEqual(TextNormalizer.isCanonicalASCII(input), scalars(general) == scalars(input), label)
            }
            if TextNormalizer.isCanonicalASCII(input) { fastPathTaken += 1 }
        }
        XCTAssertGreaterThan(fastPathTaken, 500, "the inputs should exercise the fast path")
    }
}
