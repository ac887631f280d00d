import Foundation
import XCTest
import TTSCore
import TTSEngines
import TTSStore
@testable import TTSService

/// The memory tier in front of the local tier: a repeat is answered from memory, and a clip
/// another process removed is never answered from there.
final class MemoryTierServiceTests: XCTestCase {
    private func service(at root: URL, engine: ToneEngine, entries: Int = 100) throws -> SpeechService {
        var engines = EngineRegistry()
        engines.register(engine)
        return SpeechService(engines: engines, local: try LocalTier(layout: StoreLayout(root: root)), memoryEntries: entries)
    }

    private func folder() throws -> URL {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("tts-memory-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: root) }
        return root
    }

    private let request = AudioRequest(text: "remember me", engine: "tone", model: "")

    func testARepeatIsAnsweredFromMemoryAndCountedAsItsOwnTier() async throws {
        let root = try folder(), tone = ToneEngine()
        let service = try service(at: root, engine: tone)
        defer { service.close() }
        let first = try await service.generateOrFetch(request)
        let second = try await service.generateOrFetch(request)
        XCTAssertEqual([first.tier, second.tier], [.engine, .memory])
        XCTAssertEqual(second.clip, first.clip)
        XCTAssertEqual(second.path, first.path)
        XCTAssertEqual(service.metrics.snapshot.memoryHits, 1)
        XCTAssertEqual(tone.calls, 1)
    }

    func testAClipAnotherProcessRemovedIsNotAnsweredFromMemory() async throws {
        let root = try folder(), tone = ToneEngine()
        let service = try service(at: root, engine: tone)
        defer { service.close() }
        let first = try await service.generateOrFetch(request)
        let repeated = try await service.generateOrFetch(request)
        XCTAssertEqual(repeated.tier, .memory)
        // Another process on the same store: its own index connection and its own mapping of
        // the store's generation counter. Its blob is kept (another clip could share it), so
        // only the shared generation can tell this process.
        let other = try LocalTier(layout: StoreLayout(root: root))
        XCTAssertTrue(try other.index.remove(first.clip.key))
        other.close()
        XCTAssertTrue(FileManager.default.fileExists(atPath: first.path.path), "the blob is still there")
        let after = try await service.generateOrFetch(request)
        XCTAssertEqual(after.tier, .engine, "the removed clip is made again, not answered from memory")
        XCTAssertEqual(tone.calls, 2)
    }

    func testZeroEntriesTurnsTheMemoryTierOff() async throws {
        let root = try folder()
        let service = try service(at: root, engine: ToneEngine(), entries: 0)
        defer { service.close() }
        _ = try await service.generateOrFetch(request)
        let repeated = try await service.generateOrFetch(request)
        XCTAssertEqual(repeated.tier, .local)
    }
}
