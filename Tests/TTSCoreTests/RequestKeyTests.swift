import XCTest
@testable import TTSCore

final class RequestKeyTests: XCTestCase {
    private func request(_ text: String, voice: String = "en-us", language: String = "") throws -> AudioRequest {
        try AudioRequest(text: text, voice: voice, language: language, engine: "espeak", model: "espeak-ng")
            .normalized(maxTextCharacters: 5000)
    }

    func testWhitespaceRunsShareAKey() throws {
        XCTAssertEqual(RequestKey(try request("Hello world")), RequestKey(try request("  Hello \t\n  world ")))
    }

    func testCaseChangesTheKey() throws {
        XCTAssertNotEqual(RequestKey(try request("US")), RequestKey(try request("us")))
    }

    func testNFCAndNFDShareAKey() throws {
        XCTAssertEqual(RequestKey(try request("caf\u{E9}")), RequestKey(try request("cafe\u{301}")))
    }

    func testEveryFieldChangesTheKey() throws {
        let base = try request("Hi")
        var variants = [base]
        var v = base; v.voice = "de"; variants.append(v)
        v = base; v.language = "en-GB"; variants.append(v)
        v = base; v.engine = "gemini"; variants.append(v)
        v = base; v.model = "other"; variants.append(v)
        v = base; v.style = "cheerfully"; variants.append(v)
        v = base; v.speakers = [SpeakerVoice(name: "Joe", voice: "Kore")]; variants.append(v)
        XCTAssertEqual(Set(variants.map(RequestKey.init)).count, variants.count)
    }

    func testKeyIsSHA256OfTheDocumentedCanonicalForm() throws {
        let r = try request("Hello world", language: "en-US")
        XCTAssertEqual(RequestKey.canonicalForm(of: r), "tts/v1\u{1F}espeak\u{1F}espeak-ng\u{1F}en-us\u{1F}en-US\u{1F}Hello world")
        XCTAssertEqual(RequestKey(r).hex, SHA256.hash(RequestKey.canonicalForm(of: r)).hex)
        XCTAssertEqual(RequestKey(r).hex.count, 64)
    }

    func testHexParsing() {
        XCTAssertNil(RequestKey(hex: "abc"))
        XCTAssertNil(RequestKey(hex: String(repeating: "g", count: 64)))
        XCTAssertEqual(RequestKey(hex: String(repeating: "A", count: 64))?.hex, String(repeating: "a", count: 64))
    }
}

/// The key hashes canonical bytes written straight into a buffer; they must be the UTF-8 of the
/// documented canonical form for every request shape, or existing keys would move.
final class RequestKeyCanonicalBytesTests: XCTestCase {
    func testCanonicalBytesAreTheUTF8OfTheCanonicalForm() {
        var rng = SeededGenerator(seed: 0x4E7)
        let words = ["", "a", "Kore", "en-us", "caf\u{E9}", "\u{1F44B}", "x y", "style", "gemini-2.5-flash"]
        for round in 0..<2_000 {
            let pick = { words.randomElement(using: &rng)! }
            var speakers: [SpeakerVoice] = []
            for _ in 0..<Int.random(in: 0...2, using: &rng) { speakers.append(SpeakerVoice(name: pick(), voice: pick())) }
            let request = AudioRequest(text: pick(), voice: pick(), language: pick(), engine: pick(), model: pick(),
                                       style: pick(), speakers: speakers)
            XCTAssertEqual(RequestKey.canonicalBytes(of: request), Array(RequestKey.canonicalForm(of: request).utf8), "round \(round)")
            XCTAssertEqual(RequestKey(request).hex, SHA256.hash(RequestKey.canonicalForm(of: request)).hex, "round \(round)")
        }
    }

    func testKnownKeyDoesNotMove() throws {
        // sha256sum of the canonical form `tts/v1 ␟ espeak ␟ espeak-ng ␟ en-us ␟ ␟ bench phrase 7`.
        let request = AudioRequest(text: "bench phrase 7", voice: "en-us", engine: "espeak", model: "espeak-ng")
        XCTAssertEqual(RequestKey(request).hex, "34b38c7692ba2f03d610c6a7280866dadc15494a7f0413ca09147371377d5366")
    }
}

final class RequestKeyDecodingTests: XCTestCase {
    private func decode(_ json: String) throws -> RequestKey {
        try JSONDecoder().decode(RequestKey.self, from: Data(json.utf8))
    }

    func testDecodingKeepsTheEncodedShape() throws {
        let key = RequestKey(hex: String(repeating: "ab", count: 32))!
        let json = String(decoding: try JSONEncoder().encode(key), as: UTF8.self)
        XCTAssertEqual(json, "{\"hex\":\"\(key.hex)\"}")
        XCTAssertEqual(try decode(json), key)
    }

    func testDecodingLowercasesLikeInitHex() throws {
        XCTAssertEqual(try decode("{\"hex\":\"\(String(repeating: "AB", count: 32))\"}").hex, String(repeating: "ab", count: 32))
    }

    func testDecodingRejectsWhatInitHexRejects() {
        // A record from Redis or disk is input like any other: a key that is not 64 hex digits
        // (here one that would climb out of a directory if used in a file name) must not load.
        for bad in ["", "abc", String(repeating: "g", count: 64), "../../" + String(repeating: "a", count: 58)] {
            XCTAssertThrowsError(try decode("{\"hex\":\"\(bad)\"}"), bad) { error in
                guard case DecodingError.dataCorrupted = error else { return XCTFail("\(error)") }
            }
        }
    }
}

final class CanonicalFormTests: XCTestCase {
    private func key(_ text: String, language: String) throws -> RequestKey {
        RequestKey(try AudioRequest(text: text, voice: "v", language: language, engine: "espeak", model: "m")
            .normalized(maxTextCharacters: 100))
    }

    func testLanguageCaseIsCanonicalBeforeKeying() throws {
        XCTAssertEqual(try key("Hi", language: "EN-us"), try key("Hi", language: "en-US"))
        XCTAssertEqual(LanguageTag.canonicalCase("zh-hans-cn"), "zh-Hans-CN")
        XCTAssertEqual(LanguageTag.canonicalCase("EN-US-X-TWAIN"), "en-US-x-twain")
        XCTAssertEqual(LanguageTag.canonicalCase("es-419"), "es-419")
        XCTAssertEqual(LanguageTag.canonicalCase("de-CH-1901"), "de-CH-1901")
    }

    func testByteOrderMarkAndZeroWidthSpaceDoNotChangeTheKey() throws {
        XCTAssertEqual(try key("\u{FEFF}Hello\u{200B} world", language: ""), try key("Hello world", language: ""))
        XCTAssertEqual(TextNormalizer.normalize("a\u{200D}b"), "a\u{200D}b", "zero-width joiner is kept")
    }

    func testBlobHashFromJSONIsValidated() throws {
        let bad = Data(#"{"hex":"../../etc/passwd"}"#.utf8)
        XCTAssertThrowsError(try JSONDecoder().decode(BlobHash.self, from: bad))
        let good = Data("{\"hex\":\"\(String(repeating: "AB", count: 32))\"}".utf8)
        XCTAssertEqual(try JSONDecoder().decode(BlobHash.self, from: good).hex, String(repeating: "ab", count: 32))
    }
}

/// `RequestKey` and `BlobHash` hash the first 16 digits of their text (`DigestPrefix`).
final class DigestPrefixHashingTests: XCTestCase {
    func testKeysThatShareTheirFirstSixteenDigitsHashAlikeAndStayApartInADictionary() throws {
        let prefix = String(repeating: "ab", count: 8)
        let a = try XCTUnwrap(RequestKey(hex: prefix + String(repeating: "0", count: 48)))
        let b = try XCTUnwrap(RequestKey(hex: prefix + String(repeating: "1", count: 48)))
        XCTAssertNotEqual(a, b)
        XCTAssertEqual(a.hashValue, b.hashValue, "only the first 16 digits are hashed")
        let byKey: [RequestKey: Int] = [a: 1, b: 2]
        XCTAssertEqual(byKey[a], 1)
        XCTAssertEqual(byKey[b], 2)
        let blobA = try XCTUnwrap(BlobHash(hex: a.hex)), blobB = try XCTUnwrap(BlobHash(hex: b.hex))
        XCTAssertEqual(blobA.hashValue, blobB.hashValue)
        XCTAssertEqual(Set([blobA, blobB, blobA]).count, 2)
    }

    func testEachOfTheFirstSixteenDigitsReachesTheHash() throws {
        let zeros = String(repeating: "0", count: 64)
        let base = try XCTUnwrap(RequestKey(hex: zeros))
        for position in 0..<16 {
            var digits = Array(zeros)
            digits[position] = "f"
            let moved = try XCTUnwrap(RequestKey(hex: String(digits)))
            XCTAssertNotEqual(moved.hashValue, base.hashValue, "digit \(position + 1) is hashed")
        }
    }

    func testKeysThatDifferEarlyHashApart() throws {
        let keys = (0..<64).map { RequestKey(AudioRequest(text: "phrase \($0)", engine: "espeak", model: "")) }
        XCTAssertEqual(Set(keys.map(\.hashValue)).count, 64)
        let same = RequestKey(AudioRequest(text: "phrase 3", engine: "espeak", model: ""))
        XCTAssertEqual(same.hashValue, keys[3].hashValue)
    }
}
