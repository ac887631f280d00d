import Foundation
import XCTest
import TTSCore
import TTSEngines
import TestSupport
@testable import TTSServer

/// `/metrics`, `/healthz`, `/readyz`; tokens; limits and the 404/405 answers.
final class OperationsAndAccessTests: XCTestCase {
    func testMetricsCountRequestsByRouteAndStatusBesideTheServiceFamilies() async throws {
        try await withServer { server in
            _ = try await server.post("/v1/speech", #"{"text": "counted"}"#)
            _ = try await server.get("/nowhere")
            let answer = try await server.get("/metrics")
            XCTAssertEqual(answer.status, 200)
            XCTAssertTrue(answer.header("Content-Type")?.hasPrefix("text/plain; version=0.0.4") == true)
            let text = try PrometheusText(parsing: answer.text)
            XCTAssertEqual(text.value("tts_http_requests_total", ["route": "speech", "status": "200"]), 1)
            XCTAssertEqual(text.value("tts_http_requests_total", ["route": "not_found", "status": "404"]), 1)
            XCTAssertEqual(text.value("tts_http_request_duration_seconds_count", ["route": "speech"]), 1)
            XCTAssertEqual(text.value("tts_requests_total", ["tier": "engine"]), 1)
            XCTAssertEqual(text.value("tts_store_clips"), 1)
        }
    }

    func testHealthzIsAliveAndReadyzNamesWhatIsNotReady() async throws {
        try await withServer { server in
            let health = try await server.get("/healthz")
            XCTAssertEqual(health.status, 200)
            XCTAssertEqual(health.json?["status"]?.stringValue, "ok")
            let ready = try await server.get("/readyz")
            XCTAssertEqual(ready.status, 200, ready.text)
            XCTAssertEqual(ready.json?["ready"], .bool(true))
            guard case .array(let checks)? = ready.json?["checks"] else { return XCTFail(ready.text) }
            XCTAssertEqual(checks.compactMap { $0["check"]?.stringValue }, ["store", "index", "redis", "engine"])
        }
        try await withServer(ServerFixture.Options(defaultEngine: "gemini", geminiUnavailable: true)) { server in
            let ready = try await server.get("/readyz")
            XCTAssertEqual(ready.status, 503)
            XCTAssertEqual(ready.json?["ready"], .bool(false))
            XCTAssertTrue(ready.json?["reason"]?.stringValue?.hasPrefix("engine: the gemini engine needs an API key") == true, ready.text)
            XCTAssertNotNil(ready.header("Retry-After"))
        }
    }

    func testTokensAreCheckedOnEveryRouteAndRefusedInEachAPIsShape() async throws {
        let token = "serve-token-0123456789"
        try await withServer(ServerFixture.Options(tokens: ["other-token-abcdefgh", token])) { server in
            let bare = try await server.post("/v1/speech", #"{"text": "secret"}"#)
            XCTAssertEqual(bare.status, 401)
            XCTAssertEqual(bare.json?["error"]?["kind"]?.stringValue, "auth")
            XCTAssertEqual(bare.header("WWW-Authenticate"), "Bearer")
            let wrong = try await server.post("/v1/speech", #"{"text": "secret"}"#, headers: [("Authorization", "Bearer \(token)x")])
            XCTAssertEqual(wrong.status, 401)
            let bearer = try await server.post("/v1/speech", #"{"text": "secret"}"#, headers: [("Authorization", "Bearer \(token)")])
            XCTAssertEqual(bearer.status, 200, bearer.text)
            let google = try await server.get(try XCTUnwrap(bearer.header("Content-Location")), headers: [("x-goog-api-key", token)])
            XCTAssertEqual(google.status, 200)
            let blob = try await server.get(try XCTUnwrap(bearer.header("Content-Location")))
            XCTAssertEqual(blob.status, 401)

            let openAI = try await server.post("/v1/audio/speech", #"{"model": "tts-1", "input": "x", "voice": "alloy"}"#)
            XCTAssertEqual(openAI.status, 401)
            XCTAssertEqual(openAI.json?["error"]?["type"]?.stringValue, "authentication_error")
            XCTAssertEqual(openAI.json?["error"]?["code"]?.stringValue, "invalid_api_key")
            let gemini = try await server.post("/v1beta/models/gemini-3.8-flash-tts:generateContent", "{}",
                                               headers: [("x-goog-api-key", "guess")])
            XCTAssertEqual(gemini.status, 401)
            XCTAssertEqual(gemini.json?["error"]?["status"]?.stringValue, "UNAUTHENTICATED")

            let probe = try await server.get("/healthz"), scrape = try await server.get("/metrics")
            XCTAssertEqual(probe.status, 200)
            XCTAssertEqual(scrape.status, 401)

            await server.eventually("access log written") {
                ((try? String(contentsOf: server.logURL, encoding: .utf8)) ?? "").contains("\"path\":\"/metrics\"")
            }
            let log = try String(contentsOf: server.logURL, encoding: .utf8)
            XCTAssertFalse(log.contains(token), "a token reached the log")
            XCTAssertFalse(log.contains("guess"), "a presented key reached the log")
        }
    }

    func testWithoutTokensOnlyLoopbackIsServedUnlessInsecureIsAsked() async throws {
        try await withServer { fixture in
            var open = ServerConfiguration(listen: try ListenAddress(parsing: "0.0.0.0:0"))
            XCTAssertThrowsError(try SpeechServer(open, backend: fixture.backend, logger: .disabled)) { error in
                XCTAssertEqual((error as? TTSError)?.kind, .config)
                XCTAssertTrue((error as? TTSError)?.message.contains("TTS_SERVE_TOKENS") == true)
            }
            open.allowInsecureNoAuth = true
            let insecure = try SpeechServer(open, backend: fixture.backend, logger: .disabled)
            XCTAssertEqual(insecure.address.host, "0.0.0.0")
            XCTAssertNotEqual(insecure.address.port, 0)
            await insecure.stop(grace: .zero)
        }
    }

    func testBodiesPastTheLimitAre413AndUnknownPathsAndMethodsAreRefusedInShape() async throws {
        try await withServer { server in
            let big = #"{"text": ""# + String(repeating: "a", count: 70_000) + #""}"#
            let declared = try await server.post("/v1/speech", big)
            XCTAssertEqual(declared.status, 413)
            XCTAssertTrue(declared.json?["error"]?["message"]?.stringValue?.contains("64 KiB") == true, declared.text)
            let chunked = try await server.post("/v1/audio/speech", big, headers: [("Transfer-Encoding", "chunked")])
            XCTAssertEqual(chunked.status, 413)
            XCTAssertEqual(chunked.json?["error"]?["type"]?.stringValue, "invalid_request_error")
            // The server still answers after refusing.
            let small = try await server.post("/v1/speech", #"{"text": "small"}"#)
            XCTAssertEqual(small.status, 200)

            let missing = try await server.get("/v2/nothing")
            XCTAssertEqual(missing.status, 404)
            XCTAssertEqual(missing.json?["error"]?["kind"]?.stringValue, "not_found")
            let geminiMissing = try await server.post("/v1beta/models/x:countTokens", "{}")
            XCTAssertEqual(geminiMissing.status, 404)
            XCTAssertEqual(geminiMissing.json?["error"]?["status"]?.stringValue, "NOT_FOUND")
            let wrongMethod = try await server.get("/v1/speech")
            XCTAssertEqual(wrongMethod.status, 405)
            XCTAssertEqual(wrongMethod.header("Allow"), "POST")
            // The Gemini face is plugged in: a body that asks for nothing is its 400, in its shape.
            let empty = try await server.post("/v1/models/gemini-2.5-flash-preview-tts:streamGenerateContent", "{}")
            XCTAssertEqual(empty.status, 400)
            XCTAssertEqual(empty.json?["error"]?["status"]?.stringValue, "INVALID_ARGUMENT")
        }
    }
}
