import Foundation
import XCTest
@testable import TTSCore

/// The minimum level: its order, and a change made live (`config reload`) filtering the lines.
final class LoggerLevelTests: XCTestCase {
    func testLevelsAreOrderedBySeverityAndRoundTripTheirRank() {
        XCTAssertEqual(LogLevel.allCases.sorted(), [.debug, .info, .warn, .error])
        XCTAssertTrue(LogLevel.debug < .info && LogLevel.info < .warn && LogLevel.warn < .error)
        XCTAssertFalse(LogLevel.error < .error)
        for level in LogLevel.allCases { XCTAssertEqual(LogLevel(rank: level.rank), level) }
    }

    func testOnlyLinesAtOrAboveTheMinimumAreWrittenAndTheMinimumChangesLive() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("levels-\(UUID().uuidString).log")
        defer { try? FileManager.default.removeItem(at: file) }
        let logger = Logger(file: file, level: .warn)
        XCTAssertEqual(logger.minimumLevel, .warn)
        logger.info("quiet")
        logger.error("loud")
        logger.minimumLevel = .debug
        XCTAssertEqual(logger.minimumLevel, .debug)
        logger.debug("now-heard")
        let text = try String(contentsOf: file, encoding: .utf8)
        XCTAssertFalse(text.contains("quiet"), text)
        XCTAssertTrue(text.contains("loud"), text)
        XCTAssertTrue(text.contains("now-heard"), text)
    }
}
