import Dispatch
import Glibc
import XCTest
import TTSConcurrency

/// The stack of signal handlers: the top one is called, popping brings back the one below.
final class SignalRouterTests: XCTestCase {
    func testTheTopHandlerIsCalledAndPoppingRestoresTheOneBelow() {
        let bottomCalled = DispatchSemaphore(value: 0)
        let topCalled = DispatchSemaphore(value: 0)
        let bottom = SignalRouter.shared.push(SIGUSR1) { bottomCalled.signal() }
        defer { SignalRouter.shared.pop(bottom) }

        let top = SignalRouter.shared.push(SIGUSR1) { topCalled.signal() }
        kill(getpid(), SIGUSR1)
        XCTAssertEqual(topCalled.wait(timeout: .now() + 10), .success, "the handler pushed last gets the signal")
        XCTAssertFalse(SignalRouter.shared.hasArrivedForBottomHandler(SIGUSR1), "a command's handler owned it")

        SignalRouter.shared.pop(top)
        kill(getpid(), SIGUSR1)
        XCTAssertEqual(bottomCalled.wait(timeout: .now() + 10), .success, "after the pop the handler below gets it")
        XCTAssertTrue(SignalRouter.shared.hasArrivedForBottomHandler(SIGUSR1))
        XCTAssertEqual(topCalled.wait(timeout: .now()), .timedOut, "the popped handler is not called again")
    }
}
