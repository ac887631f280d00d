import Foundation
import TTSCore
import XCTest
@testable import TTSStore

/// The shared tier and `LocalTier.store(_: RedisHit)` refuse a WAV that does not parse by its
/// header alone (no decode, no copy of the samples): `WAVHeader` must accept exactly the files
/// `WAVAudio.decode` accepts, and read the same format from them.
final class WAVHeaderTests: XCTestCase {
    private static func le16(_ v: Int) -> [UInt8] { [UInt8(v & 0xff), UInt8((v >> 8) & 0xff)] }
    private static func le32(_ v: Int) -> [UInt8] { le16(v & 0xffff) + le16((v >> 16) & 0xffff) }

    private static func chunk(_ id: String, _ body: [UInt8]) -> [UInt8] {
        Array(id.utf8) + le32(body.count) + body + (body.count % 2 == 1 ? [0] : [])
    }

    private static func fmt(tag: Int = 1, channels: Int = 1, rate: Int = 22_050, bits: Int = 16, extra: [UInt8] = []) -> [UInt8] {
        let align = channels * bits / 8
        return chunk("fmt ", le16(tag) + le16(channels) + le32(rate) + le32(rate * align) + le16(align) + le16(bits) + extra)
    }

    private static func file(_ chunks: [[UInt8]]) -> [UInt8] {
        let body = Array("WAVE".utf8) + chunks.flatMap { $0 }
        return Array("RIFF".utf8) + le32(body.count) + body
    }

    /// Valid files of several shapes: canonical, extensible, a chunk before `fmt `, 8-bit with
    /// an odd data size and its pad byte, stereo 24-bit.
    private static let valid: [[UInt8]] = {
        let pcm = (0..<64).map { UInt8(truncatingIfNeeded: $0 &* 37) }
        let guidTail: [UInt8] = [0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71]
        let extensible = le16(22) + le16(24) + le32(3) + le16(1) + guidTail
        return [
            file([fmt(), chunk("data", pcm)]),
            file([fmt(tag: 0xFFFE, channels: 2, rate: 48_000, bits: 24, extra: extensible), chunk("data", Array(pcm.prefix(60)))]),
            file([chunk("LIST", Array("INFOtest".utf8)), fmt(), chunk("fact", le32(32)), chunk("data", pcm)]),
            file([fmt(bits: 8), chunk("data", Array(pcm.prefix(33)))]),
            file([fmt(channels: 2, rate: 44_100, bits: 32), chunk("data", pcm)]),
        ]
    }()

    private func assertAgrees(_ bytes: [UInt8], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        let data = Data(bytes)
        let header = WAVHeader(data)
        let decoded = try? WAVAudio.decode(data)
        XCTAssertEqual(header != nil, decoded != nil,
                       "\(what): WAVHeader \(header == nil ? "refuses" : "accepts"), WAVAudio.decode \(decoded == nil ? "refuses" : "accepts")",
                       file: file, line: line)
        if let header, let decoded {
            XCTAssertEqual(header.sampleRate, decoded.format.sampleRate, what, file: file, line: line)
            XCTAssertEqual(header.channels, decoded.format.channels, what, file: file, line: line)
            XCTAssertEqual(header.bitsPerSample, decoded.format.bitsPerSample, what, file: file, line: line)
            XCTAssertEqual(header.dataBytes, decoded.pcm.count, what, file: file, line: line)
            XCTAssertEqual(header.durationMs, decoded.durationMs, what, file: file, line: line)
        }
    }

    func testTheValidShapesAreAcceptedWithTheirFormat() {
        for (i, bytes) in WAVHeaderTests.valid.enumerated() {
            XCTAssertNotNil(WAVHeader(Data(bytes)), "shape \(i)")
            assertAgrees(bytes, "shape \(i)")
        }
    }

    /// Every header byte set to values that break it in different ways (zero, all ones, one
    /// more, one less, a tag letter), then every truncation: both readers agree on each.
    func testEveryMutatedOrCutHeaderIsAcceptedOrRefusedByBothReaders() {
        var refused = 0
        for (i, original) in WAVHeaderTests.valid.enumerated() {
            let headerLength = min(original.count, 90)
            for position in 0..<headerLength {
                for value in Set([0, 0xFF, Int(original[position]) + 1, Int(original[position]) - 1, 0x41]) {
                    var bytes = original
                    bytes[position] = UInt8(truncatingIfNeeded: value)
                    assertAgrees(bytes, "shape \(i), byte \(position) = \(value)")
                    if WAVHeader(Data(bytes)) == nil { refused += 1 }
                }
            }
            for length in 0..<original.count {
                assertAgrees(Array(original.prefix(length)), "shape \(i) cut to \(length) bytes")
            }
        }
        XCTAssertGreaterThan(refused, 100, "the mutations include many files both must refuse")
    }

    func testADataSliceIsReadAsTheSliceNotItsParent() {
        let bytes = [UInt8](repeating: 0xEE, count: 7) + WAVHeaderTests.valid[0]
        let slice = Data(bytes)[7...]
        XCTAssertEqual(WAVHeader(slice)?.dataBytes, 64)
    }
}
