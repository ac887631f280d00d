import Foundation
import TTSCore
import XCTest
@testable import TTSServer

final class ZipWriterTests: XCTestCase {
    func testCRC32MatchesTheStandardCheckValue() {
        XCTAssertEqual(CRC32.checksum(Data("123456789".utf8)), 0xCBF4_3926)
        XCTAssertEqual(CRC32.checksum(Data()), 0)
        var split = CRC32()
        split.update(Data("12345".utf8))
        split.update(Data("6789".utf8))
        XCTAssertEqual(split.value, 0xCBF4_3926, "updating in pieces equals one pass")
    }

    func testEntriesRoundTripThroughAnIndependentUnzip() throws {
        let (_, wav) = consoleClip("hello", frames: 20_000)
        let entries: [(String, Data)] = [
            ("hello-3fa4c2d1.wav", wav),
            ("voices/crème-brûlée.wav", Data((0..<70_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })),
            ("empty.txt", Data()),
            ("manifest.csv", Data("file,text\r\nhello-3fa4c2d1.wav,hello\r\n".utf8)),
        ]
        var archive = Data()
        var zip = ZipWriter { archive.append($0) }
        for (name, data) in entries { try zip.add(name, data, modified: Date(timeIntervalSince1970: 1_790_000_000)) }
        try zip.finish()

        let files = try unzipIndependently(archive)
        XCTAssertEqual(Set(files.keys), Set(entries.map(\.0)))
        for (name, data) in entries { XCTAssertEqual(files[name], data, name) }
    }

    func testAnEmptyArchiveIsValid() throws {
        var archive = Data()
        var zip = ZipWriter { archive.append($0) }
        try zip.finish()
        XCTAssertEqual(archive.count, 22, "only the end-of-central-directory record")
        XCTAssertEqual(Array(archive.prefix(4)), [0x50, 0x4B, 0x05, 0x06])
    }

    func testDOSTimeIsUTC() {
        // 2026-12-03 17:04:58 UTC.
        let (time, date) = ZipWriter.dosTime(Date(timeIntervalSince1970: 1_796_317_498))
        XCTAssertEqual(date, UInt16((2026 - 1980) << 9 | 12 << 5 | 3))
        XCTAssertEqual(time, UInt16(17 << 11 | 4 << 5 | 58 / 2))
    }
}
