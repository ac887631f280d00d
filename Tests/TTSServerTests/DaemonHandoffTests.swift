import Foundation
import Glibc
import Synchronization
import XCTest
import TTSEngines
@testable import TTSServer

/// Records the thread each step of an exchange runs on. `/wait` waits before answering.
private final class ThreadRecorder: HTTPExchangeHandler {
    let seen = Mutex<[String: pthread_t]>([:])

    func answerAtOnce(_ request: ServerRequest) -> ServerResponse? {
        seen.withLock { $0["\(request.path) at once"] = pthread_self() }
        return nil
    }

    func respond(_ request: ServerRequest) async -> ServerResponse {
        seen.withLock { $0["\(request.path) respond"] = pthread_self() }
        if request.path == "/wait" {
            try? await Task.sleep(for: .milliseconds(20))
            seen.withLock { $0["/wait resumed"] = pthread_self() }
        }
        return ServerResponse(status: 200, body: .bytes(Data("answered \(request.path)".utf8)))
    }

    func bodyTooLarge(_ request: ServerRequest, limit: Int) -> ServerResponse { ServerResponse(status: 413) }
    func finished(_ exchange: FinishedExchange) {}
}

final class DaemonHandoffTests: XCTestCase {
    func testAnAnswerThatNeedsNoWaitIsMadeOnTheDaemonThreadAndOneThatWaitsStillArrives() async throws {
        let recorder = ThreadRecorder()
        let daemon = try HTTPDaemon(HTTPDaemonConfiguration(address: try ListenAddress(parsing: "127.0.0.1:0")), handler: recorder)
        let client = CurlHTTPClient(configuration: HTTPClientConfiguration(totalTimeout: .seconds(30)))
        let base = "http://127.0.0.1:\(daemon.address.port)"

        let now = try await client.send(HTTPRequest(url: base + "/now"))
        XCTAssertEqual(now.status, 200)
        XCTAssertEqual(String(decoding: now.body, as: UTF8.self), "answered /now")
        let threads = recorder.seen.withLock { $0 }
        let early = try XCTUnwrap(threads["/now at once"]), answered = try XCTUnwrap(threads["/now respond"])
        // A cached answer takes no hop through the cooperative pool, which misses' work shares.
        XCTAssertNotEqual(pthread_equal(early, answered), 0, "respond ran on another thread than the daemon's")

        let waited = try await client.send(HTTPRequest(url: base + "/wait"))
        XCTAssertEqual(waited.status, 200)
        XCTAssertEqual(String(decoding: waited.body, as: UTF8.self), "answered /wait")
        XCTAssertNotNil(recorder.seen.withLock { $0["/wait resumed"] })
        XCTAssertEqual(daemon.requestsInFlight, 0)
        let drained = await daemon.stop(grace: .seconds(5))
        XCTAssertTrue(drained)
    }
}
