import Foundation
import Synchronization
import XCTest
@testable import tts_repl

/// Shutdown and the commands that answer at once (a cached `say`): one is waited for before the
/// store closes, and none starts once shutdown has begun.
final class CommandRunnerTests: XCTestCase {
    func testShutdownWaitsForAnAnswerAtOnceThatIsRunning() throws {
        let runner = CommandRunner(handlingInterrupts: false)
        let entered = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0)
        let answered = Atomic(false), stopped = Atomic(false)
        let answering = Thread {
            runner.runAtOnce {
                entered.signal()
                release.wait()
                answered.store(true, ordering: .sequentiallyConsistent)
            }
        }
        answering.start()
        XCTAssertEqual(entered.wait(timeout: .now() + 10), .success)
        let stopping = Thread {
            XCTAssertTrue(runner.stopCommands(waitingUpTo: .seconds(10)), "a command was running")
            stopped.store(true, ordering: .sequentiallyConsistent)
        }
        stopping.start()
        usleep(100_000)
        XCTAssertFalse(stopped.load(ordering: .sequentiallyConsistent), "shutdown went on while the answer ran")
        release.signal()
        let deadline = Date().addingTimeInterval(10)
        while !stopped.load(ordering: .sequentiallyConsistent) && Date() < deadline { usleep(5_000) }
        XCTAssertTrue(stopped.load(ordering: .sequentiallyConsistent))
        XCTAssertTrue(answered.load(ordering: .sequentiallyConsistent), "the answer finished before shutdown went on")
    }

    func testNoAnswerAtOnceStartsOnceShutdownHasBegun() throws {
        let runner = CommandRunner(handlingInterrupts: false)
        XCTAssertFalse(runner.stopCommands(waitingUpTo: .seconds(1)), "nothing was running")
        let ran = Atomic(false)
        // The refused caller parks for good, as the input thread does while the process exits;
        // this thread is left parked.
        Thread { runner.runAtOnce { ran.store(true, ordering: .sequentiallyConsistent) } }.start()
        usleep(200_000)
        XCTAssertFalse(ran.load(ordering: .sequentiallyConsistent), "a command began after shutdown had")
    }
}
