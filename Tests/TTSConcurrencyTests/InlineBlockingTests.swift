import Foundation
import XCTest
@testable import TTSConcurrency

/// One inline blocking call at a time, process-wide; none on a machine with one core.
final class InlineBlockingTests: XCTestCase {
    func testOneCallAtATimeAndTheSlotIsFreeAgainAfterwards() throws {
        XCTAssertEqual(InlineBlocking.isAvailable, ProcessInfo.processInfo.activeProcessorCount >= 2)
        guard InlineBlocking.isAvailable else {
            XCTAssertNil(InlineBlocking.run { 1 }, "one core: never inline")
            return
        }
        let outer = InlineBlocking.run { () -> Int? in
            XCTAssertTrue(InlineBlocking.isBusy)
            return InlineBlocking.run { 2 }
        }
        XCTAssertEqual(outer, .some(nil), "the outer call ran; the one inside it found the slot taken")
        XCTAssertFalse(InlineBlocking.isBusy)
        XCTAssertEqual(InlineBlocking.run { 3 }, 3)
    }

    func testAThrowingCallFreesTheSlot() {
        guard InlineBlocking.isAvailable else { return }
        struct Failure: Error {}
        XCTAssertThrowsError(try InlineBlocking.run { () throws -> Int in throw Failure() })
        XCTAssertFalse(InlineBlocking.isBusy)
    }
}
