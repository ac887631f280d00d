import FakeGeminiServer
import Foundation
import TTSCore
import XCTest
@testable import TTSEngines

/// The libcurl client against fake-gemini on loopback.
final class HTTPClientTests: XCTestCase {
    private func generateRequest(_ server: FakeGeminiServer, text: String = "Hello there", timeout: Duration? = nil) -> HTTPRequest {
        let body = #"{"contents":[{"parts":[{"text":"\#(text)"}]}],"generationConfig":{"responseModalities":["AUDIO"]}}"#
        return HTTPRequest(method: "POST", url: server.baseURL + "/v1beta/models/gemini-2.5-flash-preview-tts:generateContent",
                           headers: [("x-goog-api-key", primaryKey), ("Content-Type", "application/json")],
                           body: Data(body.utf8), timeout: timeout)
    }

    private func failure(_ client: CurlHTTPClient, _ request: HTTPRequest) async -> HTTPFailure? {
        do {
            let response = try await client.send(request)
            XCTFail("expected a failure, got HTTP \(response.status)")
            return nil
        } catch let failure as HTTPFailure {
            XCTAssertFalse(failure.detail.contains(primaryKey))
            return failure
        } catch {
            XCTFail("expected an HTTPFailure, got \(error)")
            return nil
        }
    }

    func testSequentialRequestsReuseOneConnection() async throws {
        let server = try startFakeGemini()
        let client = CurlHTTPClient()
        for _ in 0..<5 {
            let response = try await client.send(generateRequest(server))
            XCTAssertEqual(response.status, 200)
        }
        XCTAssertEqual(server.counters().connections, 1)
    }

    /// On a two-core machine a Dispatch-backed client ran about three transfers at a time.
    func testConcurrentTransfersAreAllInFlightAtOnce() async throws {
        let server = try startFakeGemini(.init(latencyMs: 1_000))
        let client = CurlHTTPClient()
        try await withThrowingTaskGroup(of: Int.self) { group in
            for index in 0..<8 {
                let request = generateRequest(server, text: "Overlap \(index)")
                group.addTask { try await client.send(request).status }
            }
            for try await status in group { XCTAssertEqual(status, 200) }
        }
        XCTAssertEqual(server.counters().peakConcurrentRequests, 8)
        XCTAssertEqual(server.counters().connections, 8)
    }

    func testGetReturnsStatusAndBody() async throws {
        let server = try startFakeGemini()
        let response = try await CurlHTTPClient().send(HTTPRequest(url: server.baseURL + "/__control/counters"))
        XCTAssertEqual(response.status, 200)
        XCTAssertNotNil(try JSONSerialization.jsonObject(with: response.body) as? [String: Any])
    }

    func testErrorStatusesAreResponsesNotFailures() async throws {
        let server = try startFakeGemini()
        let response = try await CurlHTTPClient().send(HTTPRequest(method: "POST", url: server.baseURL + "/v1beta/models/nope:generateContent",
                                                                   headers: [("x-goog-api-key", primaryKey)], body: Data("{}".utf8)))
        XCTAssertEqual(response.status, 404)
    }

    func testBodyLargerThanTheLimitIsAborted() async throws {
        let server = try startFakeGemini()
        let client = CurlHTTPClient(configuration: HTTPClientConfiguration(maxBodyBytes: 10_000))
        let failure = await failure(client, generateRequest(server, text: String(repeating: "long text ", count: 20)))
        XCTAssertEqual(failure?.reason, .bodyTooLarge)
        // The client stays usable after an aborted transfer.
        let small = try await client.send(HTTPRequest(url: server.baseURL + "/__control/counters"))
        XCTAssertEqual(small.status, 200)
    }

    func testSilentServerTimesOut() async throws {
        let server = try startFakeGemini()
        server.inject(FaultSpec(.shape("hang")))
        let failure = await failure(CurlHTTPClient(), generateRequest(server, timeout: .milliseconds(200)))
        XCTAssertEqual(failure?.reason, .timedOut)
    }

    func testClosedPortFailsToConnect() async throws {
        let server = try startFakeGemini()
        let url = server.baseURL
        server.stop()
        let failure = await failure(CurlHTTPClient(), HTTPRequest(url: url + "/__control/counters"))
        XCTAssertEqual(failure?.reason, .couldNotConnect)
    }

    func testCancellingTheTaskStopsAHangingTransfer() async throws {
        let server = try startFakeGemini()
        server.inject(FaultSpec(.shape("hang")))
        let client = CurlHTTPClient()
        let request = generateRequest(server, timeout: .seconds(60))
        let call = Task { try await client.send(request) }
        for _ in 0..<500 where server.counters().requests == 0 {
            try await Task.sleep(for: .milliseconds(10))
        }
        call.cancel()
        do {
            _ = try await call.value
            XCTFail("a cancelled transfer returned a response")
        } catch let failure as HTTPFailure {
            XCTAssertEqual(failure.reason, .cancelled)
        }
    }

    func testCancelledTaskDoesNotStartATransfer() async throws {
        let server = try startFakeGemini()
        let client = CurlHTTPClient()
        let request = generateRequest(server)
        let call = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await client.send(request)
        }
        do {
            _ = try await call.value
            XCTFail("a cancelled task sent a request")
        } catch let failure as HTTPFailure {
            XCTAssertEqual(failure.reason, .cancelled)
        }
        XCTAssertEqual(server.counters().requests, 0)
    }
}
