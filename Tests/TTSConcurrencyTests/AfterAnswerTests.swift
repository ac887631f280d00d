import Foundation
import Synchronization
import XCTest
@testable import TTSConcurrency

/// Work left for after an answer runs on the answering thread, after the answer, in order; a
/// thread that answers nobody takes none.
final class AfterAnswerTests: XCTestCase {
    func testWorkLeftInsideRunsAfterTheAnswerOnTheSameThreadInOrder() {
        var events: [String] = []
        let thread = pthread_self()
        var threadsMatch = true
        AfterAnswer.answering({ () -> Int in
            XCTAssertTrue(AfterAnswer.later { events.append("first"); threadsMatch = threadsMatch && pthread_equal(pthread_self(), thread) != 0 })
            XCTAssertTrue(AfterAnswer.later { events.append("second") })
            events.append("body")
            return 42
        }, then: { value in
            events.append("answer \(value)")
        })
        XCTAssertEqual(events, ["body", "answer 42", "first", "second"])
        XCTAssertTrue(threadsMatch)
    }

    func testOutsideAnAnswerNothingIsTaken() {
        var ran = false
        XCTAssertFalse(AfterAnswer.later { ran = true })
        AfterAnswer.answering({ () }, then: { _ in })
        XCTAssertFalse(AfterAnswer.later { ran = true }, "the answer is over: its thread answers nobody now")
        XCTAssertFalse(ran)
    }

    func testBlockingRunAnswersBeforeTheWorkItsBodyLeft() async throws {
        let order = Mutex<[String]>([])
        let value = try await Blocking.run { () -> Int in
            _ = AfterAnswer.later {
                // The caller was resumed first: give it time to record that it was.
                let deadline = Date().addingTimeInterval(5)
                while order.withLock({ !$0.contains("resumed") }) && Date() < deadline { usleep(1_000) }
                order.withLock { $0.append("left work") }
            }
            return 7
        }
        order.withLock { $0.append("resumed") }
        let deadline = ContinuousClock.now + .seconds(5)
        while order.withLock({ $0.count < 2 }) && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        XCTAssertEqual(value, 7)
        XCTAssertEqual(order.withLock { $0 }, ["resumed", "left work"])
    }
}
