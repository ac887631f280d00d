import Foundation
import XCTest
import TTSCore
@testable import TTSStore

/// The index's read window (`ClipIndex.clipInReadWindow`): hot look-ups share one read
/// transaction, and still never miss a clip stored elsewhere, never answer a clip removed
/// elsewhere, never block a write of their own, and never outlive their length when idle.
///
/// "Another process" is a second `LocalTier` on the same store: its own SQLite connection and
/// its own mapping of the generation file, as a second process has.
final class ReadWindowTests: XCTestCase {
    private func tiers(windowLength: Duration, endsIdleWindows: Bool = true) throws -> (reader: LocalTier, other: LocalTier) {
        let layout = StoreLayout(root: try makeTemporaryFolder(self))
        let index = try ClipIndex(url: layout.indexURL, busyTimeoutMs: 5000, hitFlushInterval: ClipIndex.defaultHitFlushInterval,
                                  readWindowLength: windowLength, endsIdleWindows: endsIdleWindows)
        let reader = try LocalTier(index: index, blobs: BlobStore(layout: layout))
        let other = try LocalTier(layout: layout)
        addTeardownBlock {
            reader.close()
            other.close()
        }
        return (reader, other)
    }

    /// Stores `text` with the audio of `seed`: two texts with one seed share one blob.
    @discardableResult
    private func store(_ text: String, seed: UInt8, in local: LocalTier) async throws -> Clip {
        let request = AudioRequest(text: text, voice: "en-us", engine: "espeak", model: "")
        let wav = sampleWAV(seed: seed)
        return try await local.store(wav, for: RequestKey(request), request: request, audio: try WAVAudio.decode(wav))
    }

    func testAClipStoredElsewhereWhileAWindowIsOpenIsFound() async throws {
        let (reader, other) = try tiers(windowLength: .seconds(600))
        let first = try await store("first", seed: 1, in: other)
        XCTAssertNotNil(try reader.located(for: first.key))
        XCTAssertTrue(reader.index.hasOpenReadWindow)

        let second = try await store("second", seed: 2, in: other)
        let windowed = try reader.index.clipInReadWindow(for: second.key)
        XCTAssertNil(windowed.clip, "the window's snapshot predates the second clip")
        XCTAssertFalse(windowed.fresh)
        XCTAssertEqual(try reader.located(for: second.key)?.clip.key, second.key,
                       "a miss in an older window is looked up again as of now")
    }

    func testAClipRemovedElsewhereIsNotAnsweredFromAWindowEvenWhenItsBlobStays() async throws {
        let (reader, other) = try tiers(windowLength: .seconds(600))
        let kept = try await store("kept", seed: 3, in: other)
        let removed = try await store("removed", seed: 3, in: other)
        XCTAssertEqual(kept.blob, removed.blob, "both rows name one blob, so the removal leaves the file")
        XCTAssertNotNil(try reader.located(for: removed.key))
        XCTAssertTrue(reader.index.hasOpenReadWindow)

        XCTAssertNotNil(try other.remove(removed.key))
        XCTAssertTrue(FileManager.default.fileExists(atPath: reader.url(for: kept).path))
        XCTAssertNil(try reader.located(for: removed.key), "the store generation moved: the window ended")
        XCTAssertEqual(try reader.located(for: kept.key)?.clip.key, kept.key)
    }

    func testAWriteOfTheSameIndexEndsTheWindowInsteadOfFailing() async throws {
        let (reader, _) = try tiers(windowLength: .seconds(600))
        let first = try await store("first", seed: 4, in: reader)
        XCTAssertNotNil(try reader.located(for: first.key))
        XCTAssertTrue(reader.index.hasOpenReadWindow)

        let second = try await store("second", seed: 5, in: reader)
        XCTAssertFalse(reader.index.hasOpenReadWindow)
        XCTAssertEqual(try reader.located(for: second.key)?.clip.key, second.key)
        XCTAssertEqual(reader.index.writeTransactions, 2, "two stores; the window's reads commit nothing")
    }

    func testAnIdleWindowEndsByItselfAndThenLetsACheckpointFoldTheWholeLog() async throws {
        let (reader, other) = try tiers(windowLength: .milliseconds(50))
        let first = try await store("first", seed: 6, in: other)
        XCTAssertNotNil(try reader.located(for: first.key))
        XCTAssertTrue(reader.index.hasOpenReadWindow)
        try await store("second", seed: 7, in: other)

        // Bounded: the timer ends the window after 50 ms; allow a slow machine 5 s.
        let deadline = ContinuousClock.now + .seconds(5)
        while reader.index.hasOpenReadWindow && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        XCTAssertFalse(reader.index.hasOpenReadWindow, "no look-up came, and the window ended anyway")
        let checkpoint = try other.index.checkpointPassively()
        XCTAssertGreaterThan(checkpoint.logFrames, 0)
        XCTAssertEqual(checkpoint.checkpointed, checkpoint.logFrames, "no snapshot holds the log back: \(checkpoint)")
    }

    func testAWindowOpenedWhileTheTimerOfAnEarlierOneIsSetStillEndsByItself() async throws {
        // One timer at a time: the second window is opened 30 ms into the first's timer, so
        // that timer fires while the second is still young and must set itself again.
        let (reader, other) = try tiers(windowLength: .milliseconds(80))
        let first = try await store("first", seed: 10, in: other)
        XCTAssertNotNil(try reader.located(for: first.key))
        try await Task.sleep(for: .milliseconds(30))
        reader.index.endReadWindow()
        XCTAssertNotNil(try reader.located(for: first.key))
        XCTAssertTrue(reader.index.hasOpenReadWindow)

        let deadline = ContinuousClock.now + .seconds(5)
        while reader.index.hasOpenReadWindow && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        XCTAssertFalse(reader.index.hasOpenReadWindow, "the timer set itself again for the second window")
    }

    /// A miss in an older window is looked up again as of now without writing the rows that
    /// wait to be written after their answers: in a run of Redis hits, each hit's miss would
    /// otherwise write the previous hit's row.
    func testTheFreshLookUpAfterAWindowedMissLeavesWaitingRowsWaiting() async throws {
        let (reader, _) = try tiers(windowLength: .seconds(600))
        let first = try await store("first", seed: 11, in: reader)
        XCTAssertNotNil(try reader.located(for: first.key))
        XCTAssertTrue(reader.index.hasOpenReadWindow)
        let wav = sampleWAV(seed: 12)
        let shared = Clip(key: RequestKey(AudioRequest(text: "from redis", voice: "en-us", engine: "espeak", model: "")),
                          blob: BlobHash(of: wav), text: "from redis", voice: "en-us", language: "", engine: "espeak",
                          model: "", style: "", bytes: wav.count, durationMs: 9, sampleRate: 22050,
                          createdAt: Date(), lastUsedAt: Date(), hits: 0)
        // Held for a second: a look-up that waited for the row would come back after the
        // release, with the row written.
        reader.index.pendingRows.holdWrites()
        DispatchQueue.global().asyncAfter(deadline: .now() + .seconds(1)) { reader.index.pendingRows.resumeWrites() }
        _ = try reader.store(RedisHit(clip: shared, audio: wav))
        XCTAssertEqual(reader.index.pendingRows.count, 1)
        let absent = RequestKey(AudioRequest(text: "nowhere", voice: "en-us", engine: "espeak", model: ""))
        XCTAssertNil(try reader.located(for: absent), "a miss in the window, then as of now")
        XCTAssertEqual(reader.index.pendingRows.count, 1, "the waiting row was neither written nor waited for")
        XCTAssertEqual(try reader.located(for: shared.key)?.clip.key, shared.key, "found among the waiting rows")
    }

    func testAWindowEndsOnceItIsAsOldAsItsLengthAtTheNextLookUp() async throws {
        // No timer here: only the look-up can end the old window.
        let (reader, other) = try tiers(windowLength: .milliseconds(30), endsIdleWindows: false)
        let first = try await store("first", seed: 8, in: other)
        XCTAssertNotNil(try reader.located(for: first.key))
        let second = try await store("second", seed: 9, in: other)
        try await Task.sleep(for: .milliseconds(60))
        XCTAssertTrue(reader.index.hasOpenReadWindow, "no timer ended it")
        let windowed = try reader.index.clipInReadWindow(for: second.key)
        XCTAssertTrue(windowed.fresh)
        XCTAssertEqual(windowed.clip?.key, second.key)
    }
}

private extension ClipIndex {
    /// `PRAGMA wal_checkpoint(PASSIVE)`: folds what no reader's snapshot still needs, waiting
    /// for nobody; says how many frames the log has and how many it folded.
    func checkpointPassively() throws -> (logFrames: Int, checkpointed: Int) {
        try withDatabase { database, _ in
            try database.prepare("PRAGMA wal_checkpoint(PASSIVE)").firstRow { ($0.int(at: 1), $0.int(at: 2)) } ?? (0, 0)
        }
    }
}
