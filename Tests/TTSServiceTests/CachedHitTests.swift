import Foundation
import XCTest
import TTSCore
import TTSEngines
import TTSStore
@testable import TTSService

/// `SpeechService.cachedHit`: a hit answered without suspending, the same answer
/// `generateOrFetch` gives, and nil wherever only `generateOrFetch` can answer.
final class CachedHitTests: XCTestCase {
    private func service(engine: ToneEngine, memoryEntries: Int = 100) throws -> SpeechService {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("tts-cached-hit-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: root) }
        var engines = EngineRegistry()
        engines.register(engine)
        let service = SpeechService(engines: engines, local: try LocalTier(layout: StoreLayout(root: root)), memoryEntries: memoryEntries)
        addTeardownBlock { service.close() }
        return service
    }

    private let request = AudioRequest(text: "Hello   there", engine: "tone", model: "")

    func testAMissIsNilAndCallsNoEngine() throws {
        let tone = ToneEngine()
        tone.resolvesAtOnce = true
        let service = try service(engine: tone)
        XCTAssertNil(try service.cachedHit(request))
        XCTAssertEqual(tone.calls, 0)
    }

    func testAStoredClipIsAnsweredAsGenerateOrFetchAnswersIt() async throws {
        let tone = ToneEngine()
        tone.resolvesAtOnce = true
        let service = try service(engine: tone)
        let made = try await service.generateOrFetch(request)
        let hit = try XCTUnwrap(try service.cachedHit(AudioRequest(text: " Hello there ", engine: "tone", model: "")),
                                "normalized like any request: spacing does not matter")
        XCTAssertEqual(hit.tier, .memory)
        XCTAssertEqual(hit.clip, made.clip)
        XCTAssertEqual(hit.filePath, made.filePath)
        XCTAssertEqual(service.metrics.snapshot.memoryHits, 1, "counted like every hit")
        XCTAssertEqual(tone.calls, 1)
    }

    func testWithTheMemoryTierOffTheLocalTierAnswers() async throws {
        let tone = ToneEngine()
        tone.resolvesAtOnce = true
        let service = try service(engine: tone, memoryEntries: 0)
        let made = try await service.generateOrFetch(request)
        let hit = try XCTUnwrap(try service.cachedHit(request))
        XCTAssertEqual(hit.tier, .local)
        XCTAssertEqual(hit.clip.key, made.clip.key)
    }

    func testAnEngineThatMustWaitToResolveLeavesTheHitToGenerateOrFetch() async throws {
        let tone = ToneEngine()
        let service = try service(engine: tone)
        _ = try await service.generateOrFetch(request)
        XCTAssertNil(try service.cachedHit(request), "the clip is cached, but the request cannot be keyed without waiting")
        let awaited = try await service.generateOrFetch(request)
        XCTAssertEqual(awaited.tier, .memory)
    }

    func testABadRequestIsRefusedAsGenerateOrFetchRefusesIt() throws {
        let tone = ToneEngine()
        tone.resolvesAtOnce = true
        let service = try service(engine: tone)
        var unknownVoice = request
        unknownVoice.voice = "zz"
        for bad in [AudioRequest(text: "   ", engine: "tone", model: ""), unknownVoice] {
            XCTAssertThrowsError(try service.cachedHit(bad)) { error in
                XCTAssertEqual((error as? TTSError)?.kind, .validation, "\(error)")
            }
        }
    }
}
