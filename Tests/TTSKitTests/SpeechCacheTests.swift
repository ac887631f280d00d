import Foundation
import XCTest
import TTSKit

/// The library's surface, used as an application would: only `import TTSKit`, espeak-ng, a
/// store in a temporary folder.
final class SpeechCacheTests: XCTestCase {
    private var root: URL!
    private var cache: SpeechCache!

    override func setUpWithError() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("ttskit-\(UUID().uuidString)")
        cache = try SpeechCache.openFromEnvironment(
            overrides: ["TTS_STORE": root.appendingPathComponent("store").path, "TTS_ENGINE": "espeak",
                        "TTS_VOICE": "en-us", "REDIS_URL": "off"],
            dotEnv: root.appendingPathComponent("no.env"))
    }

    override func tearDownWithError() throws {
        cache?.close()
        try? FileManager.default.removeItem(at: root)
    }

    func testRepeatIsServedFromMemoryAndFoundByKey() async throws {
        let first = try await cache.speak(cache.request("Hello from the library"))
        XCTAssertEqual(first.tier, .engine)
        XCTAssertTrue(FileManager.default.fileExists(atPath: first.url.path))
        let second = try await cache.speak(cache.request("Hello from the library"))
        XCTAssertEqual(second.tier, .memory, "an open cache remembers what it answered")
        XCTAssertEqual(second.clip.key, first.clip.key)
        XCTAssertEqual(try cache.clip(forKey: first.clip.key)?.text, "Hello from the library")
        XCTAssertEqual(cache.url(for: second.clip), first.url)
    }

    func testAnInvalidRequestIsAValidationError() async {
        do {
            _ = try await cache.speak(cache.request("   "))
            XCTFail("empty text was accepted")
        } catch let error as TTSError {
            XCTAssertEqual(error.kind, .validation)
        } catch {
            XCTFail("not a TTSError: \(error)")
        }
    }

    func testPrewarmMakesEachDistinctRequestOnceThenExportAndStatsSeeThem() async throws {
        let texts = ["One", "Two", "One"]
        let seen = Progress()
        let result = try await cache.prewarm(texts.map(cache.request)) { seen.last = $0 }
        XCTAssertEqual(result.unique, 2)
        XCTAssertEqual(result.generated, 2)
        XCTAssertEqual(result.failed, 0)
        XCTAssertEqual(seen.last?.done, 2)

        let again = try await cache.prewarm(texts.map(cache.request))
        XCTAssertEqual(again.cached, 2, "the second run finds both in the store")

        let out = root.appendingPathComponent("out")
        let written = try await cache.export(.matching(text: "One"), to: out)
        XCTAssertEqual(written.exported, 1)
        let wavs = try FileManager.default.contentsOfDirectory(atPath: out.path).filter { $0.hasSuffix(".wav") }
        XCTAssertEqual(wavs.count, 1)
        XCTAssertTrue(wavs.first?.hasPrefix("one-") == true, "\(wavs)")
        let rerun = try await cache.export(.all, to: out)
        XCTAssertEqual(rerun.planned, 2)
        XCTAssertEqual(rerun.skipped, 1, "the file already there is left alone")

        let stats = try await cache.stats()
        XCTAssertEqual(stats.clips, 2)
        XCTAssertGreaterThan(stats.bytes, 0)
    }
}

private final class Progress: @unchecked Sendable {
    /// Written by the prewarm's progress callback, read after it returned.
    var last: PrewarmProgress?
}
