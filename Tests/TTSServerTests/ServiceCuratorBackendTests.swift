import Foundation
import TTSCore
import TTSService
import XCTest
@testable import TTSServer

/// The console's routes over the real service: a store in a temporary folder, espeak-ng in
/// process, Redis off.
final class ServiceCuratorBackendTests: XCTestCase {
    private var root: URL!
    private var runtime: Runtime!
    private var console: ConsoleRoutes!

    override func setUpWithError() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("console-service-\(UUID().uuidString)")
        let configuration = try Configuration.load(environment: [
            "TTS_STORE": root.path, "REDIS_URL": "off", "TTS_ENGINE": "espeak", "HOME": root.path,
            "TTS_CACHE_MAX_BYTES": "10MiB", "TTS_PRICE_PER_CALL": "0.002",
        ])
        runtime = try Runtime(configuration: configuration)
        console = ConsoleRoutes(backend: ServiceCuratorBackend(runtime: runtime))
    }

    override func tearDownWithError() throws {
        runtime?.close()
        if let root { try? FileManager.default.removeItem(at: root) }
    }

    private func say(_ text: String) async throws -> Clip {
        try await runtime.service.generateOrFetch(AudioRequest(text: text, engine: "espeak", model: "")).clip
    }

    func testPinRegenerateAndRemoveGoThroughTheIndex() async throws {
        let clip = try await say("The console pins this line.")
        let key = clip.key.hex

        let pinned = await consoleAnswer(console, "POST", "/v1/clips/\(key)/pin")
        XCTAssertEqual(pinned?.jsonBody?["pinned"], .bool(true))
        XCTAssertTrue(try runtime.service.local.index.isPinned(clip.key))
        let pins = await consoleAnswer(console, "GET", "/v1/pins", query: [("keys", key)])
        XCTAssertEqual(pins?.jsonBody?["pinned"], .array([.string(key)]))

        let made = await consoleAnswer(console, "POST", "/v1/clips/\(key)/regenerate")
        XCTAssertEqual(made?.status, 200)
        XCTAssertEqual(made?.header("X-TTS-Tier"), "engine", "the engine made it again, not the cache")
        XCTAssertEqual(made?.jsonBody?["key"]?.stringValue, key)
        XCTAssertEqual(made?.jsonBody?["pinned"], .bool(true), "a pinned clip stays pinned")
        XCTAssertTrue(try runtime.service.local.index.isPinned(clip.key))

        let wave = await consoleAnswer(console, "GET", "/v1/clips/\(key)/waveform", query: [("points", "64")])
        XCTAssertEqual(wave?.jsonBody?["points"]?.intValue, 64)
        guard case .array(let peaks)? = wave?.jsonBody?["peaks"] else { return XCTFail("no peaks") }
        XCTAssertTrue(peaks.contains { ($0.intValue ?? 1) != 0 }, "speech is not silence")

        let removed = await consoleAnswer(console, "DELETE", "/v1/clips/\(key)")
        XCTAssertEqual(removed?.status, 200)
        XCTAssertNil(try runtime.service.local.index.clip(for: clip.key))
        let again = await consoleAnswer(console, "DELETE", "/v1/clips/\(key)")
        XCTAssertEqual(again?.status, 404)
    }

    func testExportStatsAndVoicesComeFromTheStore() async throws {
        let first = try await say("First line to export.")
        let second = try await say("Second line to export.")
        _ = try await say("First line to export.")  // a local hit

        let body = Data("{\"keys\":[\"\(first.key.hex)\",\"\(second.key.hex)\"]}".utf8)
        let zip = await consoleAnswer(console, "POST", "/v1/export", body: body)
        XCTAssertEqual(zip?.status, 200)
        let files = try unzipIndependently(zip?.bodyData ?? Data())
        let onDisk = try runtime.service.local.verifiedAudio(of: first)
        XCTAssertEqual(files.first { $0.key.hasPrefix("first-line-to-export-") }?.value, onDisk)
        XCTAssertNotNil(files["manifest.csv"])

        let statsAnswer = await consoleAnswer(console, "GET", "/v1/stats")
        let stats = try XCTUnwrap(statsAnswer?.jsonBody)
        XCTAssertEqual(stats["local"]?["clips"]?.intValue, 2)
        XCTAssertEqual(stats["process"]?["hits"]?["memory"]?.intValue, 1)
        XCTAssertEqual(stats["budget"]?["max_bytes"]?.intValue, 10 << 20)
        XCTAssertEqual(stats["health"]?["redis"]?["enabled"], .bool(false))
        guard case .array(let engines)? = stats["health"]?["engines"] else { return XCTFail("no engine health") }
        XCTAssertTrue(engines.contains { $0["engine"]?.stringValue == "espeak" && $0["ready"] == .bool(true) })
        XCTAssertTrue(engines.contains { $0["engine"]?.stringValue == "gemini" && $0["ready"] == .bool(false) }, "no key: not usable")

        let voicesAnswer = await consoleAnswer(console, "GET", "/v1/voices")
        let voices = try XCTUnwrap(voicesAnswer?.jsonBody)
        XCTAssertEqual(voices["engine"]?.stringValue, "espeak")
        guard case .array(let list)? = voices["voices"] else { return XCTFail("no voices") }
        XCTAssertTrue(list.contains { $0["voice"]?.stringValue == "en-us" })
    }
}
