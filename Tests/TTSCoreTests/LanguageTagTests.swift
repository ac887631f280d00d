import XCTest
@testable import TTSCore

final class LanguageTagTests: XCTestCase {
    func testWellFormedTagsAreAccepted() {
        let valid = [
            "en", "en-US", "zh-Hans-CN", "sr-Latn-RS", "de-CH-1901", "es-419", "x-private", "en-US-x-twain",
            "sl-rozaj-biske", "ja-JP-u-ca-japanese", "yue",
            // More shapes from RFC 5646 §2.1 and its appendix A.
            "de", "fr", "ja", "pt-BR", "zh-Hant", "zh-yue-HK", "sgn-ase", "hy-Latn-IT-arevela",
            "de-DE-u-co-phonebk", "en-a-bbb-x-a-ccc", "qaa-Qaaa-QM-x-southern", "en-US-u-islamcal",
            "sl-IT-nedis", "de-Qaaa", "sr-Latn-419", "en-x-a-bb-ccc",
            "abcde", "abcdefgh",           // 5–8 letter registered languages
            "zh-min-nan-Hant-CN", "zh-min-nan-hak-Hant",  // up to three extlangs
        ]
        for tag in valid {
            XCTAssertTrue(LanguageTag.isWellFormed(tag), "\(tag) is well-formed")
        }
    }

    func testTagsAreCaseInsensitive() {
        for tag in ["EN", "en-us", "EN-us", "ZH-hANS-cn", "X-PRIVATE", "en-US-X-Twain", "JA-jp-U-CA-Japanese"] {
            XCTAssertTrue(LanguageTag.isWellFormed(tag), tag)
        }
    }

    func testMalformedTagsAreRejected() {
        let invalid = [
            "e", "en_US", "en--US", "toolongtag1", "123", "en-US-", "-en", "en-a", "en-a-bbb-a-ccc",
            "\u{1F1FA}\u{1F1F8}", "\u{1F600}", "en-\u{1F600}",
            // More mistakes people make.
            "", "-", "x", "x-", "en-x", "en-x-", "en-US-x-toolongsubtag", "en US", " en", "en ", "en-US ",
            "e\u{301}n", "\u{E9}n", "en-\u{C9}S", "de-DE-u", "en-a-b", "en-u-x-foo",
            "1en", "en-U5", "en-12", "en-1234a-", "en-US-Latn", "en-419-US",
            "abcdefghi", "en-abcdefghi", "zh-min-nan-hak-yue-Hant",  // four extlangs
            "en.US", "en/US", "en-US-\u{0}",
        ]
        for tag in invalid {
            XCTAssertFalse(LanguageTag.isWellFormed(tag), "\(tag.debugDescription) is malformed")
        }
    }

    func testDuplicateSingletonsAreRejectedInAnyCase() {
        XCTAssertFalse(LanguageTag.isWellFormed("en-a-bbb-a-ccc"))
        XCTAssertFalse(LanguageTag.isWellFormed("en-a-bbb-A-ccc"))
        XCTAssertTrue(LanguageTag.isWellFormed("en-a-bbb-b-ccc"))
    }

    func testSubtagLengthLimitsAreExact() {
        XCTAssertTrue(LanguageTag.isWellFormed("en-" + String(repeating: "a", count: 8)))   // variant of 8
        XCTAssertFalse(LanguageTag.isWellFormed("en-" + String(repeating: "a", count: 9)))
        XCTAssertTrue(LanguageTag.isWellFormed("x-" + String(repeating: "z", count: 8)))
        XCTAssertFalse(LanguageTag.isWellFormed("x-" + String(repeating: "z", count: 9)))
        XCTAssertTrue(LanguageTag.isWellFormed("de-1901"))     // digit + 3 alphanumerics
        XCTAssertFalse(LanguageTag.isWellFormed("de-a901"))    // 4 characters must start with a digit
    }
}
