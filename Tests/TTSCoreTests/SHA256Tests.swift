import Foundation
import XCTest
@testable import TTSCore

final class SHA256Tests: XCTestCase {
    // MARK: FIPS 180-4 / NIST example vectors

    func testEmptyMessageMatchesFIPSVector() {
        XCTAssertEqual(SHA256.hash("").hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hash(Data()).hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hash([UInt8]()).hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    func testAbcMatchesFIPSVector() {
        XCTAssertEqual(SHA256.hash("abc").hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    func test448BitMessageMatchesFIPSVector() {
        let message = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
        XCTAssertEqual(message.utf8.count * 8, 448)
        XCTAssertEqual(SHA256.hash(message).hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    func test896BitMessageMatchesFIPSVector() {
        let message = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"
        XCTAssertEqual(message.utf8.count * 8, 896)
        XCTAssertEqual(SHA256.hash(message).hex, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1")
    }

    func testOneMillionAsMatchesFIPSVector() {
        let expected = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
        XCTAssertEqual(SHA256.hash(Data(repeating: UInt8(ascii: "a"), count: 1_000_000)).hex, expected)
        // The same million, fed 1000 at a time.
        var hasher = SHA256()
        let thousand = Data(repeating: UInt8(ascii: "a"), count: 1000)
        for _ in 0..<1000 { hasher.update(thousand) }
        XCTAssertEqual(hasher.finalize().hex, expected)
    }

    // MARK: Digest shape

    func testDigestIs32BytesShownAs64LowercaseHex() {
        let digest = SHA256.hash("abc")
        XCTAssertEqual(digest.bytes.count, 32)
        XCTAssertEqual(digest.bytes.first, 0xba)
        XCTAssertEqual(digest.bytes.last, 0xad)
        XCTAssertEqual(digest.hex.count, 64)
        XCTAssertTrue(digest.hex.allSatisfy { "0123456789abcdef".contains($0) })
    }

    func testAllInputFormsAgree() {
        var rng = SeededGenerator(seed: 7)
        let bytes = rng.bytes(300)
        let text = "h\u{E9}llo \u{1F600} w\u{F6}rld"
        XCTAssertEqual(SHA256.hash(bytes), SHA256.hash(Data(bytes)))
        XCTAssertEqual(SHA256.hash(text), SHA256.hash(Array(text.utf8)))
        var hasher = SHA256()
        bytes.withUnsafeBytes { hasher.update($0) }
        XCTAssertEqual(hasher.finalize(), SHA256.hash(bytes))
    }

    // MARK: Streaming

    func testEverySingleSplitPointGivesTheOneShotDigest() {
        var rng = SeededGenerator(seed: 1)
        for length in [0, 1, 55, 56, 63, 64, 65, 127, 128, 129, 200] {
            let message = rng.bytes(length)
            let expected = SHA256.hash(message)
            for split in 0...length {
                var hasher = SHA256()
                hasher.update(Data(message[0..<split]))
                hasher.update(Data(message[split...]))
                XCTAssertEqual(hasher.finalize(), expected, "length \(length), split at \(split)")
            }
        }
    }

    func testTwoSplitPointsAcrossBlockBoundariesGiveTheOneShotDigest() {
        var rng = SeededGenerator(seed: 2)
        let message = rng.bytes(192)
        let expected = SHA256.hash(message)
        for first in stride(from: 0, through: 192, by: 3) {
            for second in stride(from: first, through: 192, by: 5) {
                var hasher = SHA256()
                hasher.update(Data(message[0..<first]))
                hasher.update(Data(message[first..<second]))
                hasher.update(Data(message[second...]))
                XCTAssertEqual(hasher.finalize(), expected, "splits at \(first) and \(second)")
            }
        }
    }

    func testRandomChunkingsIncludingEmptyChunksGiveTheOneShotDigest() {
        let seed: UInt64 = 3
        var rng = SeededGenerator(seed: seed)
        for round in 0..<200 {
            let length = Int.random(in: 0...1000, using: &rng)
            let message = rng.bytes(length)
            var hasher = SHA256()
            var offset = 0
            var pieces = 0
            while offset < length && pieces < 10_000 {
                let take = min(length - offset, Int.random(in: 0...130, using: &rng))
                hasher.update(Data(message[offset..<offset + take]))
                offset += take
                pieces += 1
            }
            XCTAssertEqual(offset, length)
            XCTAssertEqual(hasher.finalize(), SHA256.hash(message), "seed \(seed), round \(round), length \(length)")
        }
    }

    func testByteAtATimeGivesTheOneShotDigest() {
        var rng = SeededGenerator(seed: 4)
        let message = rng.bytes(333)
        var hasher = SHA256()
        for byte in message { hasher.update(Data([byte])) }
        XCTAssertEqual(hasher.finalize(), SHA256.hash(message))
    }

    func testDataSlicesWithNonZeroStartIndexHashTheirOwnBytes() {
        var rng = SeededGenerator(seed: 5)
        let whole = Data(rng.bytes(500))
        let slice = whole[100..<371]  // startIndex 100: must not read from the start of `whole`
        XCTAssertEqual(slice.startIndex, 100)
        XCTAssertEqual(SHA256.hash(slice), SHA256.hash(Array(slice)))
    }

    func testHashersAreValuesSoACopyForksTheStream() {
        var a = SHA256()
        a.update(Data("hello ".utf8))
        var b = a
        a.update(Data("world".utf8))
        b.update(Data("there".utf8))
        XCTAssertEqual(a.finalize(), SHA256.hash("hello world"))
        XCTAssertEqual(b.finalize(), SHA256.hash("hello there"))
    }

    // MARK: Against the system's sha256sum

    func testDigestsMatchSystemSha256sumForEveryLengthUpTo200AndForLargeInputs() throws {
        let tool = try requireTool("sha256sum")
        let dir = try makeTemporaryDirectory(self)
        let seed: UInt64 = 0x5EED
        var rng = SeededGenerator(seed: seed)
        var lengths = Array(0...200)
        lengths += [1_048_575, 1_048_576, 2_000_003, 3 * 1_048_576 + 1]
        var expected: [String: String] = [:]  // file name → our digest
        var names: [String] = []
        for length in lengths {
            let bytes = rng.bytes(length)
            let name = "in-\(length).bin"
            try Data(bytes).write(to: dir.appendingPathComponent(name))
            expected[name] = SHA256.hash(bytes).hex
            names.append(name)
        }
        let result = try runTool(tool, names, in: dir)
        XCTAssertEqual(result.status, 0, result.stderrText)
        var seen = 0
        for line in result.stdoutText.split(separator: "\n") {
            // "<64 hex>  <name>"
            let parts = line.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
            guard parts.count == 2 else { XCTFail("unexpected sha256sum line: \(line)"); continue }
            let name = parts[1].trimmingCharacters(in: CharacterSet(charactersIn: " *"))
            XCTAssertEqual(expected[name], String(parts[0]), "\(name), seed \(seed)")
            seen += 1
        }
        XCTAssertEqual(seen, names.count)
    }
}

final class SHA256BlockFunctionTests: XCTestCase {
    func testABlockFunctionGetsEveryWholeBlockAndThePaddingAndItsStateIsTheDigest() {
        // A stand-in compression that counts blocks and writes the count into H7.
        final class Counter: @unchecked Sendable { var blocks = 0 }
        let counter = Counter()
        let function: SHA256.BlockFunction = { state, _, count in
            counter.blocks += count
            for i in 0..<8 { state[i] = 0 }
            state[7] = UInt32(counter.blocks)
        }
        // 1000 bytes: 15 whole blocks, then 40 bytes + padding + length in one more block.
        var hasher = SHA256(blockFunction: function)
        hasher.update(Data(repeating: 1, count: 999))
        hasher.update(Data([1]))
        XCTAssertEqual(hasher.finalize().hex, String(repeating: "0", count: 56) + "00000010")
        XCTAssertEqual(counter.blocks, 16)
    }

    func testNoBlockFunctionIsThePortableHash() {
        XCTAssertEqual(SHA256.hash(Data("abc".utf8), blockFunction: nil).hex,
                       "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }
}
