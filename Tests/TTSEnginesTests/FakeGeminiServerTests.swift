import FakeGeminiServer
import Foundation
import TTSCore
import XCTest
@testable import TTSEngines

/// fake-gemini validates as Google does, answers in each family's format, and serves faults.
final class FakeGeminiServerTests: XCTestCase {
    private let client = CurlHTTPClient()

    private func post(_ server: FakeGeminiServer, model: String = "gemini-2.5-flash-preview-tts", key: String? = primaryKey,
                      _ json: String) async throws -> (status: Int, json: [String: Any]) {
        var headers: [(name: String, value: String)] = [("Content-Type", "application/json")]
        if let key { headers.append(("x-goog-api-key", key)) }
        let response = try await client.send(HTTPRequest(method: "POST", url: server.baseURL + "/v1beta/models/\(model):generateContent",
                                                         headers: headers, body: Data(json.utf8)))
        let object = try JSONSerialization.jsonObject(with: response.body) as? [String: Any] ?? [:]
        return (response.status, object)
    }

    private func googleError(_ json: [String: Any]) -> (status: String, message: String, details: [[String: Any]]) {
        let error = json["error"] as? [String: Any] ?? [:]
        return (error["status"] as? String ?? "", error["message"] as? String ?? "", error["details"] as? [[String: Any]] ?? [])
    }

    private let kore = #"{"contents":[{"parts":[{"text":"Hi there"}]}],"generationConfig":{"responseModalities":["AUDIO"],"speechConfig":{"voiceConfig":{"prebuiltVoiceConfig":{"voiceName":"Kore"}}}}}"#

    func testSnakeCaseFieldsAreAccepted() async throws {
        let server = try startFakeGemini()
        let snake = #"{"contents":[{"parts":[{"text":"Hi"}]}],"generation_config":{"response_modalities":["AUDIO"],"speech_config":{"voice_config":{"prebuilt_voice_config":{"voice_name":"Puck"}}}}}"#
        let (status, _) = try await post(server, snake)
        XCTAssertEqual(status, 200)
        XCTAssertTrue(server.logLines().contains(#""voice":"Puck""#), server.logLines())
    }

    func testEachFamilyAnswersInItsOwnAudioFormat() async throws {
        let server = try startFakeGemini()
        let expected = ["gemini-2.5-flash-preview-tts": "audio/L16;codec=pcm;rate=24000",
                        "gemini-2.5-pro-preview-tts": "audio/L16;codec=pcm;rate=24000",
                        "gemini-3.1-flash-tts-preview": "audio/l16; rate=24000; channels=1",
                        "gemini-3.8-flash-tts": "audio/wav", "gemini-3.8-flash-lite-tts": "audio/wav"]
        for (model, mimeType) in expected {
            let (status, json) = try await post(server, model: model, kore)
            XCTAssertEqual(status, 200, model)
            let candidate = (json["candidates"] as? [[String: Any]])?.first
            XCTAssertEqual(candidate?["finishReason"] as? String, "STOP")
            let inline = ((candidate?["content"] as? [String: Any])?["parts"] as? [[String: Any]])?.first?["inlineData"] as? [String: Any]
            XCTAssertEqual(inline?["mimeType"] as? String, mimeType, model)
            let bytes = try XCTUnwrap(Data(base64Encoded: inline?["data"] as? String ?? ""))
            XCTAssertEqual(bytes.starts(with: Array("RIFF".utf8)), mimeType == "audio/wav", model)
        }
    }

    func testAudioIsDeterministicPerTextAndVoiceAndLastsSixtyMillisecondsPerCharacter() {
        let first = FakeAudioProbe.pcm(text: "Hello", voice: "Kore")
        XCTAssertEqual(first, FakeAudioProbe.pcm(text: "Hello", voice: "Kore"))
        XCTAssertNotEqual(first, FakeAudioProbe.pcm(text: "Hello", voice: "Puck"))
        XCTAssertNotEqual(first, FakeAudioProbe.pcm(text: "Hallo", voice: "Kore"))
        XCTAssertEqual(first.count, 5 * 60 * 24 * 2)
    }

    func testMissingAudioModalityIs400() async throws {
        let server = try startFakeGemini()
        let (status, json) = try await post(server, #"{"contents":[{"parts":[{"text":"Hi"}]}]}"#)
        XCTAssertEqual(status, 400)
        XCTAssertEqual(googleError(json).status, "INVALID_ARGUMENT")
        XCTAssertTrue(googleError(json).message.contains("response modalities"))
    }

    func testUnknownVoiceIs400AndGemini31RequiresAVoice() async throws {
        let server = try startFakeGemini()
        let (status, json) = try await post(server, kore.replacingOccurrences(of: "Kore", with: "Bob"))
        XCTAssertEqual(status, 400)
        XCTAssertTrue(googleError(json).message.contains("Voice name Bob is not supported"))
        let noVoice = #"{"contents":[{"parts":[{"text":"Hi"}]}],"generationConfig":{"responseModalities":["AUDIO"]}}"#
        let (legacy, _) = try await post(server, model: "gemini-3.1-flash-tts-preview", noVoice)
        XCTAssertEqual(legacy, 400)
        let (current, _) = try await post(server, model: "gemini-3.8-flash-tts", noVoice)
        XCTAssertEqual(current, 200)
    }

    func testUnknownModelIs404WithGooglesMessage() async throws {
        let server = try startFakeGemini()
        let (status, json) = try await post(server, model: "gemini-1.0-tts", kore)
        XCTAssertEqual(status, 404)
        XCTAssertEqual(googleError(json).status, "NOT_FOUND")
        XCTAssertTrue(googleError(json).message.hasPrefix(
            "models/gemini-1.0-tts is not found for API version v1beta, or is not supported for generateContent."))
    }

    func testMissingKeyIs403AndInvalidKeyIs400WithApiKeyInvalid() async throws {
        let server = try startFakeGemini(.init(invalidKeys: [secondKey]))
        let (missing, missingJSON) = try await post(server, key: nil, kore)
        XCTAssertEqual(missing, 403)
        XCTAssertEqual(googleError(missingJSON).status, "PERMISSION_DENIED")
        let (invalid, invalidJSON) = try await post(server, key: secondKey, kore)
        XCTAssertEqual(invalid, 400)
        XCTAssertEqual(googleError(invalidJSON).details.first?["reason"] as? String, "API_KEY_INVALID")
    }

    func testPerKeyRateLimitAnswers429WithRetryInfo() async throws {
        let server = try startFakeGemini(.init(rpmPerKey: 2))
        for _ in 0..<2 {
            let (status, _) = try await post(server, kore)
            XCTAssertEqual(status, 200)
        }
        let (limited, json) = try await post(server, kore)
        XCTAssertEqual(limited, 429)
        XCTAssertEqual(googleError(json).status, "RESOURCE_EXHAUSTED")
        let retryInfo = googleError(json).details.first { ($0["@type"] as? String)?.hasSuffix("RetryInfo") ?? false }
        let delay = try XCTUnwrap((retryInfo?["retryDelay"] as? String)?.dropLast()).flatMap { Double($0) }
        XCTAssertGreaterThan(delay ?? 0, 0)
        XCTAssertLessThanOrEqual(delay ?? 99, 60)
        let (otherKey, _) = try await post(server, key: secondKey, kore)
        XCTAssertEqual(otherKey, 200, "the limit is per key")
    }

    func testControlEndpointsInjectFaultsAndReportLogAndCounters() async throws {
        let server = try startFakeGemini()
        let fault = try await client.send(HTTPRequest(method: "POST", url: server.baseURL + "/__control/fault",
                                                      body: Data(#"{"status":500,"count":2}"#.utf8)))
        XCTAssertEqual(fault.status, 200)
        var statuses: [Int] = []
        for _ in 0..<3 { statuses.append(try await post(server, kore).status) }
        XCTAssertEqual(statuses, [500, 500, 200])

        let log = try await client.send(HTTPRequest(url: server.baseURL + "/__control/log"))
        let lines = String(decoding: log.body, as: UTF8.self).split(separator: "\n")
        XCTAssertEqual(lines.count, 3)
        let entry = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(lines[2].utf8)) as? [String: Any])
        XCTAssertEqual(entry["path"] as? String, "/v1beta/models/gemini-2.5-flash-preview-tts:generateContent")
        XCTAssertEqual(entry["model"] as? String, "gemini-2.5-flash-preview-tts")
        XCTAssertEqual(entry["voice"] as? String, "Kore")
        XCTAssertEqual(entry["keySuffix"] as? String, String(primaryKey.suffix(4)))
        XCTAssertFalse(String(decoding: log.body, as: UTF8.self).contains(primaryKey), "the log never holds a key")

        let counters = try await client.send(HTTPRequest(url: server.baseURL + "/__control/counters"))
        let decoded = try JSONDecoder().decode(FakeGeminiServer.Counters.self, from: counters.body)
        XCTAssertEqual(decoded.requests, 3)
        XCTAssertEqual(decoded.succeeded, 1)
        XCTAssertEqual(decoded.failed, 2)
        XCTAssertEqual(decoded.faultsServed, 2)
        XCTAssertEqual(decoded.peakConcurrentRequests, 1, "one call at a time")
    }

    func testBadFaultRequestIsRefusedInGooglesShape() async throws {
        let server = try startFakeGemini()
        let response = try await client.send(HTTPRequest(method: "POST", url: server.baseURL + "/__control/fault",
                                                         body: Data(#"{"shape":"meltdown"}"#.utf8)))
        XCTAssertEqual(response.status, 400)
        let json = try JSONSerialization.jsonObject(with: response.body) as? [String: Any] ?? [:]
        XCTAssertTrue(googleError(json).message.contains("unknown fault 'meltdown'"))
    }

    func testFaultFlagsParse() throws {
        XCTAssertEqual(try FaultSpec(flag: "500:2"), FaultSpec(.status(500), count: 2))
        XCTAssertEqual(try FaultSpec(flag: "hang"), FaultSpec(.shape("hang")))
        XCTAssertEqual(try FaultSpec(flag: "per-day-429:*"), FaultSpec(.shape("per-day-429"), count: nil))
        XCTAssertEqual(try FaultSpec(flag: "429:1:45.5s"), FaultSpec(.status(429), count: 1, retryDelay: "45.5s"))
        XCTAssertThrowsError(try FaultSpec(flag: "meltdown"))
        XCTAssertThrowsError(try FaultSpec(flag: "500:zero"))
    }

    func testExecutableServesOnThePortItWritesToThePortFile() async throws {
        let binary = Bundle.main.bundleURL.appendingPathComponent("fake-gemini")
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: binary.path), "build fake-gemini first: \(binary.path)")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fake-gemini-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let portFile = directory.appendingPathComponent("port")
        let process = Process()
        process.executableURL = binary
        process.arguments = ["--port", "0", "--port-file", portFile.path, "--fault", "503:1"]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        defer { process.terminate(); process.waitUntilExit() }
        var port: Int?
        for _ in 0..<500 where port == nil {
            port = (try? String(contentsOf: portFile, encoding: .utf8)).flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            if port == nil { try await Task.sleep(for: .milliseconds(10)) }
        }
        let base = "http://127.0.0.1:\(try XCTUnwrap(port, "no port file written"))"
        let url = base + "/v1beta/models/gemini-3.8-flash-tts:generateContent"
        let request = HTTPRequest(method: "POST", url: url, headers: [("x-goog-api-key", primaryKey)], body: Data(kore.utf8))
        let first = try await client.send(request)
        let second = try await client.send(request)
        XCTAssertEqual([first.status, second.status], [503, 200], "the --fault flag applies to the first request")
    }
}

/// Reaches fake-gemini's audio through its public answer, so the test sees what clients see.
private enum FakeAudioProbe {
    static func pcm(text: String, voice: String) -> Data {
        let server = try! FakeGeminiServer()
        defer { server.stop() }
        let semaphore = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result = Data()
        Task {
            let body = #"{"contents":[{"parts":[{"text":"\#(text)"}]}],"generationConfig":{"responseModalities":["AUDIO"],"speechConfig":{"voiceConfig":{"prebuiltVoiceConfig":{"voiceName":"\#(voice)"}}}}}"#
            let response = try await CurlHTTPClient().send(HTTPRequest(method: "POST", url: server.baseURL + "/v1beta/models/gemini-2.5-flash-preview-tts:generateContent",
                                                                       headers: [("x-goog-api-key", primaryKey)], body: Data(body.utf8)))
            let json = try JSONSerialization.jsonObject(with: response.body) as? [String: Any]
            let inline = (((json?["candidates"] as? [[String: Any]])?.first?["content"] as? [String: Any])?["parts"] as? [[String: Any]])?.first?["inlineData"] as? [String: Any]
            result = Data(base64Encoded: inline?["data"] as? String ?? "") ?? Data()
            semaphore.signal()
        }
        semaphore.wait()
        return result
    }
}
