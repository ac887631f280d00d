import Foundation
import XCTest
import TTSCore
import TTSStore
@testable import TTSService

/// `verify` and the damage checks of the normal data path.
final class MaintenanceVerifyTests: XCTestCase {
    private func verifier(_ fixture: ServiceFixture) -> StoreVerifier {
        StoreVerifier(index: fixture.service.local.index, blobs: fixture.service.local.blobs)
    }

    func testCleanStoreVerifiesClean() async throws {
        let fixture = try ServiceFixture.distinct()
        try await fixture.say("one")
        try await fixture.say("two")
        let report = try await verifier(fixture).verify(repair: false, sample: nil)
        XCTAssertTrue(report.isClean, "\(report.problems)")
        XCTAssertEqual(report.checkedClips, 2)
        XCTAssertEqual(report.checkedBlobs, 2)
    }

    func testFlippedByteIsFoundByVerify() async throws {
        let fixture = try ServiceFixture.distinct()
        let made = try await fixture.say("a byte will flip")
        try await fixture.say("untouched")
        try StoreSurgery.flipByte(in: made.path)
        let report = try await verifier(fixture).verify(repair: false, sample: nil)
        XCTAssertEqual(report.problems.map(\.kind), [.corruptBlob])
        XCTAssertEqual(report.problems.first?.keys, [made.clip.key])
        XCTAssertTrue(FileManager.default.fileExists(atPath: made.path.path), "without --repair nothing changes")
    }

    func testFlippedByteIsCaughtByAHashingReadAndRegenerated() async throws {
        let fixture = try ServiceFixture.distinct()
        let made = try await fixture.say("read me back")
        let good = try Data(contentsOf: made.path)
        try StoreSurgery.flipByte(in: made.path)
        // A plain hit only compares sizes: the same size passes.
        let hit = try await fixture.say("read me back")
        XCTAssertEqual(hit.tier, .local)
        // A read that hashes (export, play, publishing) finds it, quarantines it, regenerates.
        let (clip, audio) = try await fixture.service.audio(for: made.clip)
        XCTAssertEqual(audio, good)
        XCTAssertEqual(clip.key, made.clip.key)
        XCTAssertEqual(fixture.tone.calls, 2)
        XCTAssertEqual(try Data(contentsOf: made.path), good, "the blob is whole again")
        let quarantine = try FileManager.default.contentsOfDirectory(atPath: fixture.layout.quarantineURL.path)
        XCTAssertEqual(quarantine, [made.clip.blob.hex + ".wav"])
        XCTAssertEqual(fixture.service.metrics.snapshot.corruptBlobs, 1)
        let report = try await verifier(fixture).verify(repair: false, sample: nil)
        XCTAssertTrue(report.isClean)
    }

    func testBlobOfTheWrongSizeIsAMissOnAPlainHit() async throws {
        let fixture = try ServiceFixture.distinct()
        let made = try await fixture.say("cut short")
        try StoreSurgery.truncate(made.path, by: 10)
        let again = try await fixture.say("cut short")
        XCTAssertEqual(again.tier, .engine, "a damaged blob is not served")
        XCTAssertEqual(try Data(contentsOf: again.path).count, made.clip.bytes)
        XCTAssertTrue(FileManager.default.fileExists(atPath: fixture.layout.quarantineURL.appendingPathComponent(made.clip.blob.hex + ".wav").path))
    }

    func testRepairLeavesAStoreThatVerifiesClean() async throws {
        let fixture = try ServiceFixture.distinct()
        let flipped = try await fixture.say("flipped")
        let vanished = try await fixture.say("vanished")
        let kept = try await fixture.say("kept")
        let notWAV = try await fixture.say("not a wav")
        try StoreSurgery.flipByte(in: flipped.path)
        try FileManager.default.removeItem(at: vanished.path)
        // A file whose name is its hash but whose bytes are no WAV: replace the blob by
        // garbage named after the garbage's own hash, and point the row at it.
        let garbage = Data(repeating: 7, count: notWAV.clip.bytes)
        let garbageHash = try fixture.service.local.blobs.put(garbage)
        var wrong = notWAV.clip
        wrong.blob = garbageHash
        try fixture.service.local.index.upsert(wrong)
        let stray = fixture.layout.tmpURL.appendingPathComponent("leftover.tmp")
        try StoreSurgery.write("half a blob", to: stray)
        try StoreSurgery.age(stray, by: 120)

        let before = try await verifier(fixture).verify(repair: true, sample: nil)
        XCTAssertEqual(Set(before.problems.map(\.kind)), [.corruptBlob, .missingBlob, .invalidAudio])
        XCTAssertEqual(Set(before.droppedRows), [flipped.clip.key, vanished.clip.key, notWAV.clip.key])
        XCTAssertEqual(before.quarantined.count, 2)
        XCTAssertEqual(before.removedTempFiles, [stray.path])

        let after = try await verifier(fixture).verify(repair: false, sample: nil)
        XCTAssertTrue(after.isClean, "\(after.problems)")
        XCTAssertTrue(after.strayTempFiles.isEmpty)
        XCTAssertNotNil(try fixture.service.local.index.clip(for: kept.clip.key))
        let regenerated = try await fixture.say("flipped")
        XCTAssertEqual(regenerated.tier, .engine, "a dropped clip is regenerated when asked for")
    }

    func testRowThatDisagreesWithItsBlobIsReported() async throws {
        let fixture = try ServiceFixture.distinct()
        var clip = try await fixture.say("row lies").clip
        clip.bytes += 1
        try fixture.service.local.index.upsert(clip)
        let report = try await verifier(fixture).verify(repair: true, sample: nil)
        XCTAssertEqual(report.problems.map(\.kind), [.rowMismatch])
        XCTAssertEqual(report.droppedRows, [clip.key])
        XCTAssertTrue(report.quarantined.isEmpty, "the blob itself is sound")
    }

    func testRowWhoseDurationDisagreesWithItsBlobIsReported() async throws {
        let fixture = try ServiceFixture.distinct()
        var clip = try await fixture.say("a short phrase").clip
        clip.durationMs = 60_000
        try fixture.service.local.index.upsert(clip)
        let report = try await verifier(fixture).verify(repair: false, sample: nil)
        XCTAssertEqual(report.problems.map(\.kind), [.rowMismatch])
        XCTAssertTrue(report.problems.first?.detail.contains("60000 ms") == true, report.problems.first?.detail ?? "")
    }

    /// Issue 15, item 1: another phrase's text written into a row (as a poisoned shared entry
    /// once could) must not verify clean, and `--repair` drops the row, not the sound blob.
    func testRowWhoseRequestKeysElsewhereIsReportedAndDroppedByRepair() async throws {
        let fixture = try ServiceFixture.distinct()
        var clip = try await fixture.say("the phrase that was asked for").clip
        let other = try await fixture.say("another phrase entirely")
        clip.text = "another phrase entirely"
        try fixture.service.local.index.upsert(clip)
        let found = try await verifier(fixture).verify(repair: false, sample: nil)
        XCTAssertEqual(found.problems.map(\.kind), [.keyMismatch])
        XCTAssertEqual(found.problems.first?.keys, [clip.key])
        XCTAssertFalse(found.isClean)

        let repaired = try await verifier(fixture).verify(repair: true, sample: nil)
        XCTAssertEqual(repaired.droppedRows, [clip.key])
        XCTAssertTrue(repaired.quarantined.isEmpty, "the audio is sound; only the row lied")
        XCTAssertNil(try fixture.service.local.row(for: clip.key))
        XCTAssertNotNil(try fixture.service.local.row(for: other.clip.key), "the honest row stays")
        let after = try await verifier(fixture).verify(repair: false, sample: nil)
        XCTAssertTrue(after.isClean, "\(after.problems)")
    }

    func testOrphanBlobIsNotedButNotAProblem() async throws {
        let fixture = try ServiceFixture.distinct()
        try fixture.service.local.blobs.put(distinctWAV("nobody's"))
        let report = try await verifier(fixture).verify(repair: false, sample: nil)
        XCTAssertTrue(report.isClean)
        XCTAssertEqual(report.orphanBlobs.count, 1)
    }

    func testSampleChecksAtMostN() async throws {
        let fixture = try ServiceFixture.distinct()
        for i in 0..<5 { try await fixture.say("clip \(i)") }
        let report = try await verifier(fixture).verify(repair: false, sample: 2)
        XCTAssertEqual(report.checkedClips, 2)
        XCTAssertTrue(report.sampled)
    }
}
