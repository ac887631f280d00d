import Foundation
import XCTest
import TTSCore
import TTSStore
@testable import TTSService

/// LRU eviction under a byte budget, pinning, and blobs shared by several clips.
final class MaintenanceEvictionTests: XCTestCase {
    /// Makes clips oldest-used first: clip i was last used i minutes after the first.
    private func clips(_ fixture: ServiceFixture, _ texts: [String]) async throws -> [Clip] {
        var made: [Clip] = []
        for (i, text) in texts.enumerated() {
            var clip = try await fixture.say(text).clip
            clip.lastUsedAt = Date(timeIntervalSince1970: 1_000_000 + Double(i) * 60)
            try fixture.service.local.index.upsert(clip)
            made.append(clip)
        }
        return made
    }

    private func evictor(_ fixture: ServiceFixture) -> Evictor {
        Evictor(index: fixture.service.local.index, blobs: fixture.service.local.blobs)
    }

    func testEvictionRemovesLeastRecentlyUsedAndStopsAtTheBudget() async throws {
        let fixture = try ServiceFixture.distinct()
        let made = try await clips(fixture, ["a", "b", "c", "d"])
        let size = made[0].bytes  // every tone clip has the same length
        let report = try evictor(fixture).evict(toMaxBytes: 2 * size, dryRun: false)
        XCTAssertEqual(report.evicted.map(\.clip.key), [made[0].key, made[1].key])
        XCTAssertEqual(report.bytesAfter, 2 * size)
        XCTAssertEqual(try fixture.service.local.index.storedBytes(), 2 * size)
        XCTAssertFalse(fixture.service.local.blobs.contains(made[0].blob))
        XCTAssertTrue(fixture.service.local.blobs.contains(made[2].blob))
    }

    func testEvictionNeverRemovesAPinnedClip() async throws {
        let fixture = try ServiceFixture.distinct()
        let made = try await clips(fixture, ["oldest but pinned", "b", "c"])
        XCTAssertTrue(try fixture.service.local.index.setPinned(made[0].key, true))
        let report = try evictor(fixture).evict(toMaxBytes: 0, dryRun: false)
        XCTAssertEqual(Set(report.evicted.map(\.clip.key)), [made[1].key, made[2].key])
        XCTAssertTrue(report.stillOverBudget)
        XCTAssertNotNil(try fixture.service.local.index.clip(for: made[0].key))
        XCTAssertTrue(fixture.service.local.blobs.contains(made[0].blob))
    }

    func testPinSurvivesTheClipBeingStoredAgain() async throws {
        let fixture = try ServiceFixture.distinct()
        let clip = try await fixture.say("pinned").clip
        try fixture.service.local.index.setPinned(clip.key, true)
        try fixture.service.local.index.upsert(clip)
        XCTAssertTrue(try fixture.service.local.index.isPinned(clip.key))
    }

    func testSharedBlobIsDeletedOnlyWithItsLastClip() async throws {
        let (fixture, _) = try sameAudioFixture()
        let made = try await clips(fixture, ["first", "second"])
        XCTAssertEqual(made[0].blob, made[1].blob)
        let first = try evictor(fixture).evict(toMaxBytes: made[0].bytes - 1, dryRun: true)
        XCTAssertEqual(first.evicted.map(\.freedBlob), [false, true], "a dry run counts shared blobs too")
        XCTAssertTrue(try fixture.service.local.index.removeClip(made[0].key)?.blobIsUnreferenced == false)
        XCTAssertTrue(fixture.service.local.blobs.contains(made[0].blob))
        XCTAssertTrue(try fixture.service.local.index.removeClip(made[1].key)?.blobIsUnreferenced == true)
    }

    func testDryRunChangesNothing() async throws {
        let fixture = try ServiceFixture.distinct()
        let made = try await clips(fixture, ["a", "b"])
        let report = try evictor(fixture).evict(toMaxBytes: 0, dryRun: true)
        XCTAssertEqual(report.evicted.count, 2)
        XCTAssertEqual(report.bytesAfter, 0)
        XCTAssertEqual(try fixture.service.local.index.count(.all), 2)
        XCTAssertTrue(fixture.service.local.blobs.contains(made[0].blob))
    }

    func testBudgetIsKeptAfterEachWrite() async throws {
        let fixture = try ServiceFixture.distinct()
        let size = try await fixture.say("measure").clip.bytes
        try fixture.service.local.index.remove(RequestKey(try await fixture.service.prepare(fixture.request("measure"))))
        let budget = CacheBudget(maxBytes: 3 * size)
        let service = fixture.service(budget: budget)
        for i in 0..<6 {
            let generation = try await fixture.say("phrase \(i)", on: service)
            XCTAssertTrue(FileManager.default.fileExists(atPath: generation.path.path), "the clip just written is never evicted")
            XCTAssertLessThanOrEqual(try service.local.index.storedBytes(), 3 * size)
        }
        XCTAssertGreaterThan(service.metrics.snapshot.evictedClips, 0)
        let newest = try await fixture.say("phrase 5", on: service)
        XCTAssertEqual(newest.tier, .local, "the most recently used clip stays")
    }
}
