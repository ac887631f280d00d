import Foundation
import XCTest
import TTSCore
import TTSStore
@testable import TTSService

final class MaintenanceGarbageTests: XCTestCase {
    private func collector(_ fixture: ServiceFixture) -> GarbageCollector {
        GarbageCollector(index: fixture.service.local.index, blobs: fixture.service.local.blobs)
    }

    func testGCRemovesAnOldOrphanButNotAFreshOne() async throws {
        let fixture = try ServiceFixture.distinct()
        let used = try await fixture.say("in use")
        try StoreSurgery.age(used.path, by: 7200)
        let old = try fixture.service.local.blobs.put(distinctWAV("old orphan"))
        let fresh = try fixture.service.local.blobs.put(distinctWAV("fresh orphan"))
        try StoreSurgery.age(fixture.service.local.blobs.url(for: old), by: 7200)

        let report = try await collector(fixture).collect(dryRun: false, vacuum: false)
        XCTAssertEqual(report.orphanBlobs, [old])
        XCTAssertEqual(report.freshOrphans, 1)
        XCTAssertFalse(fixture.service.local.blobs.contains(old))
        XCTAssertTrue(fixture.service.local.blobs.contains(fresh), "a concurrent writer's blob is kept")
        XCTAssertTrue(fixture.service.local.blobs.contains(used.clip.blob), "a blob a clip uses is never an orphan")
        XCTAssertNotNil(report.checkpoint)
    }

    func testGCRemovesStaleTempFilesAndUnusedConversions() async throws {
        let fixture = try ServiceFixture.distinct()
        let used = try await fixture.say("converted")
        let stale = fixture.layout.tmpURL.appendingPathComponent("x.tmp"), recent = fixture.layout.tmpURL.appendingPathComponent("y.tmp")
        try StoreSurgery.write("stale", to: stale)
        try StoreSurgery.write("recent", to: recent)
        try StoreSurgery.age(stale, by: 7200)
        let gone = String(repeating: "ab", count: 32)
        let unused = fixture.layout.convertedURL.appendingPathComponent("8000-ulaw/ab/ab/\(gone).wav")
        let kept = fixture.layout.convertedURL.appendingPathComponent("8000-ulaw/\(used.clip.blob.hex.prefix(2))/\(used.clip.blob.hex.dropFirst(2).prefix(2))/\(used.clip.blob.hex).wav")
        try StoreSurgery.write("u", to: unused)
        try StoreSurgery.write("k", to: kept)

        let dry = try await collector(fixture).collect(dryRun: true, vacuum: false)
        XCTAssertEqual(dry.staleTempFiles, [stale.path])
        XCTAssertEqual(dry.unusedConversions, [unused.path])
        XCTAssertTrue(FileManager.default.fileExists(atPath: stale.path), "a dry run removes nothing")
        XCTAssertNil(dry.checkpoint)

        let report = try await collector(fixture).collect(dryRun: false, vacuum: true)
        XCTAssertEqual(report.staleTempFiles, [stale.path])
        XCTAssertFalse(FileManager.default.fileExists(atPath: stale.path))
        XCTAssertTrue(FileManager.default.fileExists(atPath: recent.path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: unused.path))
        XCTAssertTrue(FileManager.default.fileExists(atPath: kept.path))
        XCTAssertTrue(report.vacuumed)
        XCTAssertEqual(report.checkpoint?.busy, false)
    }
}
