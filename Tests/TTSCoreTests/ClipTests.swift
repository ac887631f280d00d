import Foundation
import XCTest
@testable import TTSCore

final class BlobHashTests: XCTestCase {
    func testBlobHashOfBytesIsTheirSHA256() {
        var rng = SeededGenerator(seed: 11)
        for count in [0, 1, 44, 1_000, 65_537] {
            let bytes = Data(rng.bytes(count))
            XCTAssertEqual(BlobHash(of: bytes).hex, SHA256.hash(bytes).hex, "\(count) bytes")
        }
        XCTAssertEqual(BlobHash(of: Data()).hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    func testBlobHashOfAWAVIsTheHashOfItsEncodedBytes() {
        let wav = WAVAudio(format: PCMFormat(sampleRate: 24_000), pcm: Data(count: 480))
        XCTAssertEqual(BlobHash(of: wav.encoded()).hex, SHA256.hash(wav.encoded()).hex)
    }

    func testDifferentBytesHaveDifferentBlobHashes() {
        XCTAssertNotEqual(BlobHash(of: Data([0])), BlobHash(of: Data([1])))
        XCTAssertNotEqual(BlobHash(of: Data()), BlobHash(of: Data([0])))
    }

    func testHexParsingAcceptsExactly64HexDigitsAndLowercasesThem() {
        let lower = SHA256.hash("abc").hex
        XCTAssertEqual(BlobHash(hex: lower)?.hex, lower)
        XCTAssertEqual(BlobHash(hex: lower.uppercased())?.hex, lower)
        XCTAssertEqual(BlobHash(hex: lower), BlobHash(of: Data("abc".utf8)))
    }

    func testHexParsingRejectsEverythingElse() {
        let lower = SHA256.hash("abc").hex
        let body63 = String(lower.dropLast())
        let body62 = String(lower.dropLast(2))
        var rejected: [String] = ["", "abc", body63, lower + "0", String(repeating: "g", count: 64)]
        rejected.append(" " + body63)
        rejected.append(body63 + "\n")
        rejected.append("0x" + body62)
        rejected.append(body62 + "\u{E9}")
        rejected.append(body63 + "\u{FF10}")  // full-width zero
        rejected.append("../../" + String(lower.dropFirst(6)))
        for hex in rejected {
            XCTAssertNil(BlobHash(hex: hex), hex.debugDescription)
        }
    }

    func testShortIsTheFirstEightHexDigitsAndDescriptionTheWholeHash() {
        let hash = BlobHash(of: Data("abc".utf8))
        XCTAssertEqual(hash.short, "ba7816bf")
        XCTAssertEqual(hash.description, hash.hex)
        XCTAssertEqual("\(hash)", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }
}

final class ClipTests: XCTestCase {
    private func sampleRequest() throws -> AudioRequest {
        try AudioRequest(text: "Good morning \u{1F305}", voice: "Kore", language: "en-US", engine: "gemini",
                         model: "gemini-2.5-flash-preview-tts", style: "warmly")
            .normalized(maxTextCharacters: 5000)
    }

    func testClipRoundTripsThroughJSON() throws {
        let request = try sampleRequest()
        let wav = WAVAudio(format: PCMFormat(sampleRate: 24_000), pcm: Data(count: 48_000))
        let clip = Clip(key: RequestKey(request), blob: BlobHash(of: wav.encoded()), request: request,
                        bytes: wav.encoded().count, durationMs: wav.durationMs, sampleRate: 24_000,
                        createdAt: Date(timeIntervalSince1970: 1_790_000_000.125),
                        lastUsedAt: Date(timeIntervalSince1970: 1_790_000_360.5), hits: 42)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = try encoder.encode(clip)
        let back = try JSONDecoder().decode(Clip.self, from: json)
        XCTAssertEqual(back, clip)
        XCTAssertEqual(back.durationMs, 1_000)
        XCTAssertEqual(back.createdAt, clip.createdAt)
        // Encoding the decoded clip gives the same JSON: nothing is lost or reordered.
        XCTAssertEqual(try encoder.encode(back), json)
    }

    func testClipFromARequestCopiesItsFieldsAndDefaultsLastUseToCreation() throws {
        let request = try sampleRequest()
        let created = Date(timeIntervalSince1970: 1_800_000_000)
        let clip = Clip(key: RequestKey(request), blob: BlobHash(of: Data([1, 2, 3])), request: request,
                        bytes: 3, durationMs: 0, sampleRate: 24_000, createdAt: created)
        XCTAssertEqual(clip.key, RequestKey(request))
        XCTAssertEqual(clip.text, request.text)
        XCTAssertEqual(clip.voice, "Kore")
        XCTAssertEqual(clip.language, "en-US")
        XCTAssertEqual(clip.engine, "gemini")
        XCTAssertEqual(clip.model, "gemini-2.5-flash-preview-tts")
        XCTAssertEqual(clip.style, "warmly")
        XCTAssertEqual(clip.lastUsedAt, created)
        XCTAssertEqual(clip.hits, 0)
    }

    func testRequestKeyAndBlobHashRoundTripThroughJSON() throws {
        let key = RequestKey(try sampleRequest())
        let blob = BlobHash(of: Data("x".utf8))
        XCTAssertEqual(try JSONDecoder().decode(RequestKey.self, from: JSONEncoder().encode(key)), key)
        XCTAssertEqual(try JSONDecoder().decode(BlobHash.self, from: JSONEncoder().encode(blob)), blob)
    }
}
