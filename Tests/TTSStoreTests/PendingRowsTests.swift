import Foundation
import Synchronization
import XCTest
@testable import TTSStore

/// The timer that writes rows handed in off an answering thread: it waits for the hand-ins to
/// pause, and not longer than `longest` after the first. The rows go to a writer that records
/// the batches instead of an index, so only the timing is under test.
final class PendingRowsTests: XCTestCase {
    /// The sizes of the batches written, in order.
    private final class Batches: Sendable {
        let sizes = Mutex<[Int]>([])
        var count: Int { sizes.withLock { $0.count } }
    }

    private func rows(quiet: Duration, longest: Duration) -> (PendingRows, Batches) {
        let rows = PendingRows(timing: .init(quiet: quiet, longest: longest))
        let batches = Batches()
        rows.writeBatches { writes in
            batches.sizes.withLock { $0.append(writes.count) }
            return writes.map { _ in nil }
        }
        return (rows, batches)
    }

    private func handIn(_ rows: PendingRows, _ n: Int) {
        let clip = sampleClip(text: "row \(n)", blobSeed: UInt8(n % 256), bytes: 100)
        rows.add(clip, write: { _ in }, failed: { _ in })
    }

    /// Hands in a row every 10 ms for `seconds`; returns how many.
    private func handInStream(_ rows: PendingRows, seconds: Double) -> Int {
        let start = Date()
        var n = 0
        while Date().timeIntervalSince(start) < seconds {
            handIn(rows, n)
            n += 1
            usleep(10_000)
        }
        return n
    }

    /// Waits (bounded) until `batches` has `count` batches.
    private func waitFor(_ count: Int, in batches: Batches, seconds: Double = 10) {
        let deadline = Date().addingTimeInterval(seconds)
        while batches.count < count && Date() < deadline { usleep(1_000) }
    }

    /// Rows handed in one after another, closer together than `quiet`, wait through the
    /// timer's first wake-up and are written as one batch once the hand-ins stop.
    func testRowsWaitWhileHandInsGoOnAndAreWrittenTogetherOnceTheyPause() {
        let (rows, batches) = rows(quiet: .milliseconds(400), longest: .seconds(60))
        // The first wake-up (400 ms in) finds the last row 10 ms old and sleeps again, and again.
        let n = handInStream(rows, seconds: 1.0)
        XCTAssertEqual(batches.count, 0, "nothing written while the hand-ins went on")
        XCTAssertEqual(rows.count, n)
        waitFor(1, in: batches)
        rows.settle()  // waits for the batch in flight: its rows leave once it returns
        XCTAssertEqual(batches.sizes.withLock { $0 }, [n], "one batch with every row, once they paused")
        XCTAssertEqual(rows.count, 0)
    }

    /// Hand-ins that never pause are met by a batch `longest` after the first row, not held
    /// for as long as they go on; the rows after it make a batch of their own.
    func testRowsOfAStreamWithoutAPauseAreWrittenNoLaterThanLongest() {
        let (rows, batches) = rows(quiet: .milliseconds(200), longest: .milliseconds(300))
        let n = handInStream(rows, seconds: 1.0)
        XCTAssertGreaterThanOrEqual(batches.count, 1, "written during a stream that never paused")
        waitFor(batches.count + 1, in: batches)
        rows.settle()
        XCTAssertEqual(batches.sizes.withLock { $0.reduce(0, +) }, n, "every row written once")
        XCTAssertEqual(rows.count, 0)
    }

    /// A settle (any other use of the index) writes the rows at once, timer or not, and the
    /// timer that wakes later finds nothing left to write.
    func testASettleWritesTheWaitingRowsBeforeTheTimer() {
        let (rows, batches) = rows(quiet: .milliseconds(500), longest: .seconds(60))
        for n in 0..<3 { handIn(rows, n) }
        rows.settle()
        XCTAssertEqual(batches.sizes.withLock { $0 }, [3])
        usleep(800_000)
        XCTAssertEqual(batches.sizes.withLock { $0 }, [3], "the timer wrote no empty batch")
        handIn(rows, 3)
        waitFor(2, in: batches)
        XCTAssertEqual(batches.sizes.withLock { $0 }, [3, 1], "a row after the settle still gets its timer")
    }
}
