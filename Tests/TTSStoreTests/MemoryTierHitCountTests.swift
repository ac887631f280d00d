import Foundation
import TTSCore
import XCTest
@testable import TTSStore

/// Hits answered by the memory tier are counted in their entries and reach the index: at its
/// flush and close, in batches when due, and also for entries dropped before the hand-over.
final class MemoryTierHitCountTests: XCTestCase {
    private func stored(_ text: String, seed: UInt8, root: URL) async throws -> (LocalTier, MemoryTier, Clip) {
        let local = try LocalTier(layout: StoreLayout(root: root))
        let request = AudioRequest(text: text, voice: "en-us", engine: "espeak", model: "")
        let wav = sampleWAV(seed: seed)
        let clip = try await local.store(wav, for: RequestKey(request), request: request, audio: try WAVAudio.decode(wav))
        let memory = MemoryTier(capacity: 4, generation: local.index.generation, blobs: local.blobs, countingHitsFor: local.index)
        memory.remember(clip, path: local.url(for: clip).path)
        return (local, memory, clip)
    }

    private func hit(_ memory: MemoryTier, _ clip: Clip, times: Int) {
        for _ in 0..<times { XCTAssertNotNil(memory.clip(for: clip.key, countingHitAt: .now)) }
    }

    func testHitsCountedInMemoryAreWrittenAtTheIndexsFlush() async throws {
        let (local, memory, clip) = try await stored("counted", seed: 1, root: try makeTemporaryFolder(self))
        defer { local.close() }
        let before = Date()
        hit(memory, clip, times: 3)
        XCTAssertNotNil(memory.clip(for: clip.key), "a look-up without a hit time counts nothing")
        XCTAssertEqual(memory.heldHitCount, 3)
        XCTAssertEqual(local.index.pendingHitCount, 3, "the index counts what its sources hold")
        XCTAssertEqual(try local.index.clip(for: clip.key)?.hits, 0, "held, not written per hit")
        try local.index.flush()
        let row = try XCTUnwrap(try local.index.clip(for: clip.key))
        XCTAssertEqual(row.hits, 3)
        XCTAssertGreaterThanOrEqual(row.lastUsedAt.timeIntervalSince1970, before.timeIntervalSince1970 - 1)
        XCTAssertEqual(memory.heldHitCount, 0)
    }

    func testHitsOfAnEntryDroppedBeforeTheHandOverStillLand() async throws {
        let (local, memory, clip) = try await stored("dropped", seed: 2, root: try makeTemporaryFolder(self))
        defer { local.close() }
        hit(memory, clip, times: 2)
        memory.forget(clip.key)
        memory.remember(clip, path: local.url(for: clip).path)
        hit(memory, clip, times: 1)
        memory.forgetAll()
        try local.index.flush()
        XCTAssertEqual(try local.index.clip(for: clip.key)?.hits, 3)
    }

    func testAFullBatchIsHandedOverWithoutAFlush() async throws {
        let (local, memory, clip) = try await stored("batch", seed: 3, root: try makeTemporaryFolder(self))
        defer { local.close() }
        let commits = local.index.writeTransactions
        hit(memory, clip, times: ClipIndex.hitFlushThreshold)
        XCTAssertEqual(memory.heldHitCount, 0, "due at the threshold: handed to the index")
        // Written in the background; bounded wait.
        let deadline = Date().addingTimeInterval(10)
        while local.index.writeTransactions == commits && Date() < deadline { usleep(5_000) }
        XCTAssertEqual(try local.index.clip(for: clip.key)?.hits, ClipIndex.hitFlushThreshold)
    }

    func testHitsHeldForARemovedClipAreDropped() async throws {
        let (local, memory, clip) = try await stored("removed", seed: 5, root: try makeTemporaryFolder(self))
        defer { local.close() }
        hit(memory, clip, times: 2)
        memory.forget(clip.key)   // one more way of holding them: as a dropped entry's
        memory.remember(clip, path: local.url(for: clip).path)
        hit(memory, clip, times: 1)
        XCTAssertTrue(try local.index.remove(clip.key))
        XCTAssertEqual(memory.heldHitCount, 0)
        try local.index.upsert(clip)
        try local.index.flush()
        XCTAssertEqual(try local.index.clip(for: clip.key)?.hits, 0, "the stored-again clip starts afresh")
    }

    func testHitsHeldForAClipRemovedLikeRmAreDroppedToo() async throws {
        let (local, memory, clip) = try await stored("rm", seed: 6, root: try makeTemporaryFolder(self))
        defer { local.close() }
        hit(memory, clip, times: 3)
        XCTAssertNotNil(try local.remove(clip.key), "the path `rm` and eviction take (ClipIndex.removeClip)")
        XCTAssertEqual(memory.heldHitCount, 0)
        try local.index.upsert(clip)
        try local.index.flush()
        XCTAssertEqual(try local.index.clip(for: clip.key)?.hits, 0)
    }

    func testTheIndexDoesNotKeepItsHitSourcesAlive() throws {
        let root = try makeTemporaryFolder(self)
        var index: ClipIndex? = try ClipIndex(url: StoreLayout(root: root).indexURL)
        var memory: MemoryTier? = MemoryTier(capacity: 4, generation: index!.generation, countingHitsFor: index)
        weak var weakIndex = index, weakMemory = memory
        index?.close()
        index = nil
        memory = nil
        XCTAssertNil(weakMemory)
        XCTAssertNil(weakIndex, "no cycle between the index and the memory tier")
    }

    func testClosingTheIndexWritesTheHeldHits() async throws {
        let root = try makeTemporaryFolder(self)
        let (local, memory, clip) = try await stored("closed", seed: 4, root: root)
        hit(memory, clip, times: 2)
        local.close()
        let reopened = try LocalTier(layout: StoreLayout(root: root))
        defer { reopened.close() }
        XCTAssertEqual(try reopened.index.clip(for: clip.key)?.hits, 2)
    }
}
