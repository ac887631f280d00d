import Foundation
import XCTest
@testable import TTSCore

final class UTCTimestampTests: XCTestCase {
    private let formatter = ISO8601DateFormatter()

    private func assertMatchesFormatter(_ seconds: Double, file: StaticString = #filePath, line: UInt = #line) {
        let date = Date(timeIntervalSince1970: seconds)
        XCTAssertEqual(UTCTimestamp.string(from: date), formatter.string(from: date),
                       "Unix time \(seconds)", file: file, line: line)
    }

    func testKnownInstantsAreWrittenToTheSecondInUTC() {
        XCTAssertEqual(UTCTimestamp.string(from: Date(timeIntervalSince1970: 0)), "1970-01-01T00:00:00Z")
        XCTAssertEqual(UTCTimestamp.string(from: Date(timeIntervalSince1970: 951_782_400)), "2000-02-29T00:00:00Z")
        XCTAssertEqual(UTCTimestamp.string(from: Date(timeIntervalSince1970: 1_700_000_000.25)), "2023-11-14T22:13:20Z")
        XCTAssertEqual(UTCTimestamp.string(from: Date(timeIntervalSince1970: -1)), "1969-12-31T23:59:59Z")
        XCTAssertEqual(UTCTimestamp.string(from: Date(timeIntervalSince1970: 253_402_300_799)), "9999-12-31T23:59:59Z")
    }

    func testFractionsRoundToTheNearestMillisecondFirstLikeTheFormatter() {
        XCTAssertEqual(UTCTimestamp.string(from: Date(timeIntervalSince1970: 1.9994)), "1970-01-01T00:00:01Z")
        XCTAssertEqual(UTCTimestamp.string(from: Date(timeIntervalSince1970: 1.9996)), "1970-01-01T00:00:02Z")
        XCTAssertEqual(UTCTimestamp.string(from: Date(timeIntervalSince1970: -0.0006)), "1969-12-31T23:59:59Z")
        for seconds in [1.9994, 1.9995, 1.9996, -0.0004, -0.0005, -0.0006, -0.5, -86_400.5] {
            assertMatchesFormatter(seconds)
        }
    }

    func testLeapYearsAndCenturyRulesMatchTheFormatter() {
        // 1 March and 28/29 February around years divisible by 4, 100 and 400.
        for year in [1600, 1700, 1900, 1968, 1999, 2000, 2024, 2100, 2400, 9996] {
            var components = DateComponents()
            components.year = year
            components.month = 3
            components.day = 1
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = TimeZone(identifier: "UTC")!
            let march = calendar.date(from: components)!.timeIntervalSince1970
            for offset in [-86_401.0, -86_400, -1, 0, 1, 86_399] { assertMatchesFormatter(march + offset) }
        }
    }

    func testRandomInstantsMatchTheFormatter() {
        var generator = SeededGenerator(seed: 0x15_0860_1)
        for _ in 0..<4_000 {
            // Anywhere from 1600 to 9999, at any fraction of a second.
            assertMatchesFormatter(Double.random(in: -11_676_096_000 ... 253_402_300_799.999, using: &generator))
        }
        for _ in 0..<4_000 {
            // Within a millisecond of a whole second, where rounding decides the second.
            let second = Double(Int.random(in: 0...4_102_444_800, using: &generator))
            assertMatchesFormatter(second + Double.random(in: -0.001...0.001, using: &generator))
        }
    }

    func testInstantsOutsideFourDigitGregorianYearsAreLeftToTheFormatter() {
        // The formatter uses the Julian calendar before 1582 and writes five-digit years.
        for seconds in [-62_135_596_801.0, -12_220_156_801, -11_676_096_000.0005, 253_402_300_800, 1e13, .infinity, -.infinity, .nan] {
            assertMatchesFormatter(seconds)
        }
    }
}
