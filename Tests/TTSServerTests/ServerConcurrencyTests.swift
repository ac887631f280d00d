import Foundation
import XCTest
import TTSCore
import TTSEngines
@testable import TTSServer

/// Misses never hold a server thread: hits are answered while they wait; a miss past the
/// bound is a 503; a stop lets requests in flight finish, and refuses new ones.
final class ServerConcurrencyTests: XCTestCase {
    func testHitsAreAnsweredWhileMissesWaitOnTheEngine() async throws {
        try await withServer { server in
            let hit = try await server.post("/v1/speech", #"{"text": "cached already"}"#)
            XCTAssertEqual(hit.status, 200)
            // More misses than the daemon has threads (2), each held by the engine.
            let misses = (0..<6).map { i in
                Task { try await server.post("/v1/speech", #"{"text": "miss \#(i)", "engine": "gate"}"#) }
            }
            await server.eventually("six misses held by the engine") { server.gate.waiting == 6 }
            for _ in 0..<3 {
                let again = try await server.post("/v1/speech", #"{"text": "cached already"}"#)
                XCTAssertEqual(again.header("X-TTS-Tier"), "local")
                let blob = try await server.get(try XCTUnwrap(hit.header("Content-Location")))
                XCTAssertEqual(blob.status, 200)
            }
            XCTAssertEqual(server.gate.waiting, 6, "a miss finished before the engine was released")
            server.gate.open()
            for miss in misses {
                let answer = try await miss.value
                XCTAssertEqual(answer.status, 200, answer.text)
                XCTAssertEqual(answer.header("X-TTS-Tier"), "engine")
            }
        }
    }

    func testAMissWaitingPastTheBoundIs503WithRetryAfterAndTheRetryIsServed() async throws {
        try await withServer(ServerFixture.Options(missTimeout: .milliseconds(200))) { server in
            let waited = try await server.post("/v1/speech", #"{"text": "slow one", "engine": "gate"}"#)
            XCTAssertEqual(waited.status, 503, waited.text)
            XCTAssertEqual(waited.header("Retry-After"), "5")
            XCTAssertTrue(waited.json?["error"]?["message"]?.stringValue?.contains("ask again") == true, waited.text)
            XCTAssertEqual(server.gate.waiting, 1, "the generation must go on after the client's answer")
            server.gate.open()
            await server.eventually("the clip stored") {
                (try? server.backend.clips(ClipQuery()).count) == 1
            }
            let retry = try await server.post("/v1/speech", #"{"text": "slow one", "engine": "gate"}"#)
            XCTAssertEqual(retry.status, 200)
            XCTAssertEqual(retry.header("X-TTS-Tier"), "local")
            XCTAssertEqual(server.gate.calls, 1)
        }
    }

    func testStopFinishesTheRequestInFlightAndRefusesNewConnections() async throws {
        try await withServer { server in
            let inFlight = Task { try await server.post("/v1/speech", #"{"text": "finish me", "engine": "gate"}"#) }
            await server.eventually("the request reached the engine") { server.gate.waiting == 1 }
            let stopping = Task { await server.stop(grace: .seconds(60)) }
            var refused = false
            for _ in 0..<500 where !refused {
                do {
                    _ = try await server.get("/healthz")
                    try await Task.sleep(for: .milliseconds(10))
                } catch let failure as HTTPFailure {
                    refused = failure.reason == .couldNotConnect
                }
            }
            XCTAssertTrue(refused, "new connections were still accepted while stopping")
            XCTAssertEqual(server.server.requestsInFlight, 1)
            server.gate.open()
            let answer = try await inFlight.value
            XCTAssertEqual(answer.status, 200, answer.text)
            XCTAssertEqual(answer.header("X-TTS-Tier"), "engine")
            let drained = await stopping.value
            XCTAssertTrue(drained)
        }
    }

    func testARequestStillWaitingAfterTheGraceIsAnswered503() async throws {
        try await withServer { server in
            let stuck = Task { try await server.post("/v1/speech", #"{"text": "never done", "engine": "gate"}"#) }
            await server.eventually("the request reached the engine") { server.gate.waiting == 1 }
            let drained = await server.stop(grace: .milliseconds(100))
            XCTAssertFalse(drained)
            let answer = try await stuck.value
            XCTAssertEqual(answer.status, 503, answer.text)
        }
    }
}
