import Foundation
import TTSCore
import XCTest
@testable import TTSServer

final class ConsoleRoutesTests: XCTestCase {
    private let hello = consoleClip("Hello there", level: 16384)
    private let menu = consoleClip("Press one for sales", level: 8192)
    private let absentKey = String(repeating: "ab", count: 32)

    private func routes(_ backend: FakeCurator? = nil, maxExportClips: Int = 1000) -> (ConsoleRoutes, FakeCurator) {
        let backend = backend ?? FakeCurator([hello, menu])
        return (ConsoleRoutes(backend: backend, maxExportClips: maxExportClips), backend)
    }

    private func assertNativeError(_ answer: ServerResponse?, _ status: Int, kind: String? = nil,
                                   file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(answer?.status, status, file: file, line: line)
        XCTAssertEqual(answer?.header("Content-Type"), "application/json", file: file, line: line)
        let error = answer?.jsonBody?["error"]
        XCTAssertNotNil(error?["message"]?.stringValue, "a native error has a message", file: file, line: line)
        if let kind { XCTAssertEqual(error?["kind"]?.stringValue, kind, file: file, line: line) }
    }

    // MARK: - Page

    func testPageAndAssetsAreServedWithTypesValidatorsAndAPolicy() async throws {
        let (console, _) = routes()
        let page = await consoleAnswer(console, "GET", "/")
        XCTAssertEqual(page?.status, 200)
        XCTAssertEqual(page?.header("Content-Type"), "text/html; charset=utf-8")
        let html = String(decoding: page?.bodyData ?? Data(), as: UTF8.self)
        XCTAssertTrue(html.contains("<title>tts-repl console</title>"))
        XCTAssertTrue(html.contains("src=\"/console.js\"") && html.contains("href=\"/console.css\""))
        XCTAssertFalse(html.contains("http://") || html.contains("https://"), "no CDN, no external font")
        XCTAssertTrue(page?.header("Content-Security-Policy")?.contains("default-src 'self'") ?? false)

        let script = await consoleAnswer(console, "GET", "/console.js")
        XCTAssertEqual(script?.header("Content-Type"), "text/javascript; charset=utf-8")
        XCTAssertTrue(String(decoding: script?.bodyData ?? Data(), as: UTF8.self).contains("/v1/clips?"))
        let style = await consoleAnswer(console, "GET", "/console.css")
        XCTAssertEqual(style?.header("Content-Type"), "text/css; charset=utf-8")

        let etag = try XCTUnwrap(script?.header("ETag"))
        let again = await consoleAnswer(console, "GET", "/console.js", headers: [("If-None-Match", etag)])
        XCTAssertEqual(again?.status, 304)
        XCTAssertEqual(again?.bodyLength, 0)
        XCTAssertNotEqual(etag, style?.header("ETag"))

        XCTAssertTrue(ConsoleRoutes.isPublic("/") && ConsoleRoutes.isPublic("/console.js"))
        XCTAssertFalse(ConsoleRoutes.isPublic("/v1/stats") || ConsoleRoutes.isPublic("/v1/clips"))
        let posted = await consoleAnswer(console, "POST", "/")
        XCTAssertEqual(posted?.status, 405)
    }

    func testPathsThatAreNotTheConsolesAreLeftToTheRouter() async {
        let (console, _) = routes()
        let key = hello.0.key.hex
        for (method, path) in [("GET", "/"), ("GET", "/console.css"), ("DELETE", "/v1/clips/\(key)"), ("GET", "/v1/clips/\(key)/waveform"),
                               ("POST", "/v1/clips/\(key)/pin"), ("PUT", "/v1/clips/\(key)/pin"), ("POST", "/v1/export"), ("GET", "/v1/stats"),
                               ("GET", "/v1/voices"), ("GET", "/v1/pins"), ("POST", "/v1/clips/\(key)/regenerate")] {
            XCTAssertTrue(ConsoleRoutes.claims(ServerRequest(method: method, path: path)), "\(method) \(path) is the console's")
        }
        XCTAssertNotNil(ConsoleRoutes.page(ServerRequest(method: "HEAD", path: "/")))
        XCTAssertNil(ConsoleRoutes.page(ServerRequest(method: "GET", path: "/v1/stats")))
        for (method, path) in [("GET", "/v1/clips"), ("GET", "/v1/clips/\(hello.0.key.hex)"), ("POST", "/v1/speech"),
                               ("GET", "/v1/blobs/\(hello.0.blob.hex).wav"), ("GET", "/metrics"), ("POST", "/v1/audio/speech"),
                               ("GET", "/v1/clips/\(hello.0.key.hex)/other")] {
            let answer = await consoleAnswer(console, method, path)
            XCTAssertNil(answer, "\(method) \(path) is not the console's")
            XCTAssertFalse(ConsoleRoutes.claims(ServerRequest(method: method, path: path)), "\(method) \(path) is not claimed")
        }
    }

    // MARK: - Waveform

    func testWaveformAnswersPeaksAndReadsTheAudioOncePerBlob() async throws {
        let (console, backend) = routes()
        let path = "/v1/clips/\(hello.0.key.hex)/waveform"
        let first = await consoleAnswer(console, "GET", path)
        XCTAssertEqual(first?.status, 200)
        let json = try XCTUnwrap(first?.jsonBody)
        XCTAssertEqual(json["key"]?.stringValue, hello.0.key.hex)
        XCTAssertEqual(json["blob"]?.stringValue, hello.0.blob.hex)
        XCTAssertEqual(json["points"]?.intValue, 200)
        guard case .array(let peaks)? = json["peaks"] else { return XCTFail("no peaks array") }
        XCTAssertEqual(peaks.count, 200)
        XCTAssertEqual(peaks.first, .double(0.5))

        let second = await consoleAnswer(console, "GET", path)
        XCTAssertEqual(second?.jsonBody, json)
        XCTAssertEqual(backend.audioReads, 1, "the second answer comes from the cache")
        let etag = try XCTUnwrap(first?.header("ETag"))
        let unchanged = await consoleAnswer(console, "GET", path, headers: [("If-None-Match", etag)])
        XCTAssertEqual(unchanged?.status, 304)
        XCTAssertEqual(unchanged?.bodyLength, 0)
        let fewer = await consoleAnswer(console, "GET", path, query: [("points", "50")])
        XCTAssertEqual(fewer?.jsonBody?["points"]?.intValue, 50)
        XCTAssertEqual(backend.audioReads, 2)
    }

    func testWaveformRefusesBadPointsAndUnknownOrMalformedKeys() async {
        let (console, _) = routes()
        for points in ["3", "5000", "many"] {
            let answer = await consoleAnswer(console, "GET", "/v1/clips/\(hello.0.key.hex)/waveform", query: [("points", points)])
            assertNativeError(answer, 400, kind: "validation")
            XCTAssertEqual(answer?.jsonBody?["error"]?["field"]?.stringValue, "points")
        }
        assertNativeError(await consoleAnswer(console, "GET", "/v1/clips/\(absentKey)/waveform"), 404, kind: "not_found")
        assertNativeError(await consoleAnswer(console, "GET", "/v1/clips/not-a-key/waveform"), 404)
        assertNativeError(await consoleAnswer(console, "POST", "/v1/clips/\(hello.0.key.hex)/waveform"), 405)
    }

    // MARK: - Curate

    func testPinAndUnpinAnswerTheClipWithItsPin() async throws {
        let (console, backend) = routes()
        let path = "/v1/clips/\(hello.0.key.hex)/pin"
        let pinned = await consoleAnswer(console, "POST", path)
        XCTAssertEqual(pinned?.status, 200)
        XCTAssertEqual(pinned?.jsonBody?["pinned"], .bool(true))
        XCTAssertEqual(pinned?.jsonBody?["text"]?.stringValue, "Hello there")
        XCTAssertEqual(pinned?.jsonBody?["key"]?.stringValue, hello.0.key.hex)
        let pins = await consoleAnswer(console, "GET", "/v1/pins", query: [("keys", "\(hello.0.key.hex),\(menu.0.key.hex)")])
        XCTAssertEqual(pins?.jsonBody?["pinned"], .array([.string(hello.0.key.hex)]))

        let unpinned = await consoleAnswer(console, "DELETE", path)
        XCTAssertEqual(unpinned?.jsonBody?["pinned"], .bool(false))
        let stored = try await backend.clip(for: hello.0.key)
        XCTAssertEqual(stored?.pinned, false)

        assertNativeError(await consoleAnswer(console, "POST", "/v1/clips/\(absentKey)/pin"), 404)
        let wrongVerb = await consoleAnswer(console, "GET", path)
        assertNativeError(wrongVerb, 405)
        XCTAssertEqual(wrongVerb?.header("Allow"), "POST, DELETE")
    }

    func testPinsRefusesWhatIsNotAKey() async {
        let (console, _) = routes()
        assertNativeError(await consoleAnswer(console, "GET", "/v1/pins", query: [("keys", "abc")]), 400)
        let empty = await consoleAnswer(console, "GET", "/v1/pins")
        XCTAssertEqual(empty?.jsonBody?["pinned"], .array([]))
    }

    func testDeleteRemovesAtOnceAndASecondDeleteFindsNothing() async throws {
        let (console, backend) = routes()
        let path = "/v1/clips/\(menu.0.key.hex)"
        let removed = await consoleAnswer(console, "DELETE", path)
        XCTAssertEqual(removed?.status, 200, "the API asks for no confirmation: the page does")
        XCTAssertEqual(removed?.jsonBody?["removed"], .bool(true))
        XCTAssertEqual(removed?.jsonBody?["key"]?.stringValue, menu.0.key.hex)
        let gone = try await backend.clip(for: menu.0.key)
        XCTAssertNil(gone)
        assertNativeError(await consoleAnswer(console, "DELETE", path), 404)
        assertNativeError(await consoleAnswer(console, "DELETE", "/v1/clips/3fa4c2d1"), 404)
        XCTAssertEqual(backend.state.withLock { $0.removed }, [menu.0.key, menu.0.key], "a malformed key never reaches the backend")
    }

    func testRegenerateAnswersTheNewClipWithItsTier() async throws {
        let (console, backend) = routes()
        _ = await consoleAnswer(console, "POST", "/v1/clips/\(hello.0.key.hex)/pin")
        _ = await consoleAnswer(console, "GET", "/v1/clips/\(hello.0.key.hex)/waveform")
        let made = await consoleAnswer(console, "POST", "/v1/clips/\(hello.0.key.hex)/regenerate")
        XCTAssertEqual(made?.status, 200)
        XCTAssertEqual(made?.header("X-TTS-Tier"), "engine")
        XCTAssertEqual(made?.tier, "engine")
        let json = try XCTUnwrap(made?.jsonBody)
        XCTAssertEqual(json["tier"]?.stringValue, "engine")
        XCTAssertEqual(json["pinned"], .bool(true))
        XCTAssertNotEqual(json["blob"]?.stringValue, hello.0.blob.hex, "new audio")

        // The waveform follows the new blob.
        let wave = await consoleAnswer(console, "GET", "/v1/clips/\(hello.0.key.hex)/waveform")
        XCTAssertEqual(wave?.jsonBody?["blob"]?.stringValue, json["blob"]?.stringValue)
        XCTAssertEqual(backend.audioReads, 2)

        assertNativeError(await consoleAnswer(console, "POST", "/v1/clips/\(absentKey)/regenerate"), 404)
    }

    func testARegenerationTheBackendRefusesIsANativeValidationError() async {
        let backend = FakeCurator([hello], regenerateError: TTSError.validation("key", "made from a dialogue with named speakers"))
        let (console, _) = routes(backend)
        let answer = await consoleAnswer(console, "POST", "/v1/clips/\(hello.0.key.hex)/regenerate")
        assertNativeError(answer, 400, kind: "validation")
        XCTAssertEqual(answer?.jsonBody?["error"]?["field"]?.stringValue, "key")
    }

    // MARK: - Export

    func testExportIsAZipOfTheWAVsAndAManifest() async throws {
        let (console, _) = routes()
        let body = Data("{\"keys\":[\"\(hello.0.key.hex)\",\"\(menu.0.key.hex)\",\"\(hello.0.key.hex)\"]}".utf8)
        let answer = await consoleAnswer(console, "POST", "/v1/export", body: body)
        XCTAssertEqual(answer?.status, 200)
        XCTAssertEqual(answer?.header("Content-Type"), "application/zip")
        XCTAssertTrue(answer?.header("Content-Disposition")?.hasPrefix("attachment; filename=\"tts-clips-") ?? false)

        let files = try unzipIndependently(answer?.bodyData ?? Data())
        XCTAssertEqual(files.count, 3, "two clips (the repeated key once) and the manifest: \(files.keys.sorted())")
        let helloName = try XCTUnwrap(files.keys.first { $0.hasPrefix("hello-there-") && $0.hasSuffix(".wav") })
        XCTAssertEqual(files[helloName], hello.1)
        XCTAssertEqual(files.first { $0.key.hasPrefix("press-one-for-sales-") }?.value, menu.1)

        let manifest = String(decoding: try XCTUnwrap(files["manifest.csv"]), as: UTF8.self)
        let rows = manifest.split(separator: "\r\n").map(String.init)
        XCTAssertEqual(rows.first, "file,text,voice,language,engine,model,duration_ms,sample_rate,bytes,sha256,key,encoding,bitrate")
        XCTAssertEqual(rows.count, 3)
        XCTAssertTrue(rows[1].hasPrefix("\(helloName),Hello there,en-us,en-US,espeak,,100,8000,\(hello.1.count),\(hello.0.blob.hex),\(hello.0.key.hex)"))
    }

    func testExportRefusesEmptyMalformedUnknownAndOversizedSelections() async {
        let (console, _) = routes(maxExportClips: 1)
        let cases: [(String, Int)] = [
            ("{\"keys\":[]}", 400), ("not json", 400), ("{\"keys\":[\"abc\"]}", 400), ("{\"keys\":[7]}", 400),
            ("{\"keys\":[\"\(absentKey)\"]}", 404),
            ("{\"keys\":[\"\(hello.0.key.hex)\",\"\(menu.0.key.hex)\"]}", 413),
        ]
        for (body, status) in cases {
            assertNativeError(await consoleAnswer(console, "POST", "/v1/export", body: Data(body.utf8)), status)
        }
        assertNativeError(await consoleAnswer(console, "GET", "/v1/export"), 405)
    }

    // MARK: - Stats and voices

    func testStatsAndVoicesAnswerTheBackendsFigures() async throws {
        let (console, backend) = routes()
        let stats = await consoleAnswer(console, "GET", "/v1/stats")
        XCTAssertEqual(stats?.status, 200)
        XCTAssertEqual(stats?.jsonBody?["local"]?["clips"]?.intValue, 2)
        XCTAssertEqual(stats?.header("Cache-Control"), "no-store")

        let voices = await consoleAnswer(console, "GET", "/v1/voices", query: [("engine", "gemini")])
        let json = try XCTUnwrap(voices?.jsonBody)
        XCTAssertEqual(json["engine"]?.stringValue, "gemini")
        XCTAssertEqual(json["engines"], .array(["espeak", "gemini"]))
        XCTAssertEqual(json["defaults"]?["engine"]?.stringValue, "espeak")
        guard case .array(let list)? = json["voices"], let first = list.first else { return XCTFail("no voices") }
        XCTAssertEqual(first["voice"]?.stringValue, "Kore")
        XCTAssertEqual(first["languages"], .array(["en-US"]))
        XCTAssertEqual(first["description"]?.stringValue, "test voice")

        _ = await consoleAnswer(console, "GET", "/v1/voices", query: [("engine", "")])
        XCTAssertEqual(backend.state.withLock { $0.voiceQueries }, ["gemini", nil], "an empty engine means the default")
        assertNativeError(await consoleAnswer(console, "GET", "/v1/voices", query: [("engine", "nope")]), 400, kind: "validation")
        assertNativeError(await consoleAnswer(console, "DELETE", "/v1/stats"), 405)
    }
}
