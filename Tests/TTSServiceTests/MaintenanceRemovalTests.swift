import Foundation
import XCTest
import TestSupport
import TTSCore
import TTSStore
@testable import TTSService

/// `rm` in both tiers: two stores stand for two machines sharing one Redis.
final class MaintenanceRemovalTests: XCTestCase {
    private var ownServer: RedisTestServer?
    private var prefix = ""

    override func setUp() { prefix = "test-rm-\(UUID().uuidString.prefix(8)):" }
    override func tearDown() { ownServer = nil }

    private func sharedTier() throws -> SharedTier {
        let url: RedisURL
        if let text = ProcessInfo.processInfo.environment["TTS_TEST_REDIS_URL"] {
            url = try RedisURL(parsing: text)
        } else {
            let server = try RedisTestServer()
            ownServer = server
            url = server.url
        }
        return SharedTier(tier: RedisTier(pool: RedisPool(url: url), prefix: prefix))
    }

    func testRemoveDeletesTheClipFromBothTiers() async throws {
        let shared = try sharedTier()
        let a = try ServiceFixture.distinct(shared: shared), b = try ServiceFixture.distinct(shared: shared)
        let made = try await a.say("remove me everywhere")
        let kept = try await a.say("keep me")

        let dry = try await ClipRemover(service: a.service).remove([made.clip.key], dryRun: true)
        XCTAssertEqual(dry.clips.map(\.key), [made.clip.key])
        XCTAssertEqual(dry.sharedRemoved, 1)
        XCTAssertNotNil(try a.service.local.index.clip(for: made.clip.key), "a dry run removes nothing")

        let report = try await ClipRemover(service: a.service).remove([made.clip.key], dryRun: false)
        XCTAssertEqual(report.clips.map(\.key), [made.clip.key])
        XCTAssertEqual(report.freedBlobs, 1)
        XCTAssertEqual(report.sharedRemoved, 1)
        XCTAssertNil(try a.service.local.index.clip(for: made.clip.key))
        XCTAssertFalse(a.service.local.blobs.contains(made.clip.blob))
        let present = try await shared.redisHasClip(made.clip.key)
        XCTAssertEqual(present, false)

        let elsewhere = try await b.say("remove me everywhere")
        XCTAssertEqual(elsewhere.tier, .engine, "the other machine no longer finds it in Redis")
        let stillShared = try await b.say("keep me")
        XCTAssertEqual(stillShared.tier, .redis)
        XCTAssertEqual(stillShared.clip.key, kept.clip.key)
    }

    func testRemoveWithRedisOffRemovesLocallyAndSaysRedisWasNotTouched() async throws {
        let fixture = try ServiceFixture.distinct()
        let made = try await fixture.say("local only")
        let report = try await ClipRemover(service: fixture.service).remove([made.clip.key], dryRun: false)
        XCTAssertEqual(report.clips.count, 1)
        XCTAssertNil(report.sharedRemoved)
    }
}
