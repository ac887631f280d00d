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

/// The streaming transfer: body pieces handed on as they arrive.
final class HTTPStreamingTests: XCTestCase {
    private func streamRequest(_ server: FakeGeminiServer) -> HTTPRequest {
        let body = #"{"contents":[{"parts":[{"text":"Streamed hello"}]}],"generationConfig":{"responseModalities":["AUDIO"],"speechConfig":{"voiceConfig":{"prebuiltVoiceConfig":{"voiceName":"Kore"}}}}}"#
        return HTTPRequest(method: "POST", url: server.baseURL + "/v1beta/models/gemini-3.1-flash-tts-preview:streamGenerateContent?alt=sse",
                           headers: [("x-goog-api-key", primaryKey), ("Content-Type", "application/json")], body: Data(body.utf8))
    }

    func testTheFirstEventArrivesWhileTheServerIsStillHoldingTheRest() async throws {
        // Events a second apart: a client that waited for the whole body would see them all.
        let server = try startFakeGemini(.init(streamChunkBytes: 4_000, chunkDelayMs: 1_000))
        let response = try await CurlHTTPClient().stream(streamRequest(server))
        XCTAssertEqual(response.status, 200)
        var parser = EventStreamParser()
        var events: [Data] = []
        for try await piece in response.body {
            events += parser.push(piece)
            if !events.isEmpty { break }  // stops reading: the transfer is aborted
        }
        XCTAssertEqual(events.count, 1)
        XCTAssertLessThan(server.counters().streamEventsSent, 3, "the body was buffered whole before it was handed on")
    }

    func testAnErrorStatusArrivesWithItsBody() async throws {
        let server = try startFakeGemini()
        server.inject(FaultSpec(.status(503)))
        let response = try await CurlHTTPClient().stream(streamRequest(server))
        XCTAssertEqual(response.status, 503)
        var body = Data()
        for try await piece in response.body { body.append(piece) }
        XCTAssertTrue(String(decoding: body, as: UTF8.self).contains("UNAVAILABLE"))
    }

    func testACutConnectionEndsTheBodyWithATransportFailure() async throws {
        let server = try startFakeGemini(.init(streamChunkBytes: 4_000))
        server.inject(FaultSpec(.shape("stream-cut"), afterChunks: 1))
        let response = try await CurlHTTPClient().stream(streamRequest(server))
        do {
            for try await _ in response.body {}
            XCTFail("a body cut before its closing chunk must fail")
        } catch let failure as HTTPFailure {
            XCTAssertEqual(failure.reason, .transport)
        }
    }
}
