import Foundation
import Synchronization
import XCTest
import TTSConcurrency
import TTSCore
@testable import TTSStore

/// The local tier on its own: storing an engine's answer, the look-up's size check and
/// quarantine, a Redis hit stored with deferred durability, the budget after a write.
final class LocalTierTests: XCTestCase {
    private func tier(budget: CacheBudget = CacheBudget(), events: Events? = nil) throws -> LocalTier {
        let root = try makeTemporaryFolder(self)
        return try LocalTier(layout: StoreLayout(root: root), budget: budget, events: events)
    }

    private func store(_ text: String, seed: UInt8, in local: LocalTier) async throws -> Clip {
        let request = AudioRequest(text: text, voice: "en-us", engine: "espeak", model: "")
        let wav = sampleWAV(seed: seed)
        return try await local.store(wav, for: RequestKey(request), request: request, audio: try WAVAudio.decode(wav))
    }

    func testAStoredAnswerIsFoundByItsKeyWithItsFile() async throws {
        let local = try tier()
        defer { local.close() }
        let clip = try await store("Hello", seed: 1, in: local)
        XCTAssertEqual(try local.clip(for: clip.key)?.blob, clip.blob)
        XCTAssertEqual(try local.verifiedAudio(of: clip), sampleWAV(seed: 1))
        XCTAssertEqual(try local.storedClip(named: String(clip.key.hex.prefix(6))).key, clip.key)
    }

    func testALocatedClipCarriesItsBlobFileAsStatSeesIt() async throws {
        let local = try tier()
        defer { local.close() }
        let clip = try await store("Hello", seed: 1, in: local)
        let (found, file) = try XCTUnwrap(try local.located(for: clip.key))
        XCTAssertEqual(found.key, clip.key)
        XCTAssertEqual(file.path, local.url(for: clip).path)
        XCTAssertEqual(file.size, clip.bytes)
        var info = stat()
        XCTAssertEqual(stat(file.path, &info), 0)
        XCTAssertEqual(file.inode, UInt64(info.st_ino), "the inode the memory tier revalidates against")
    }

    func testABlobOfTheWrongSizeIsQuarantinedAndIsAMiss() async throws {
        let events = Events()
        let local = try tier(events: events)
        defer { local.close() }
        let clip = try await store("Hello", seed: 1, in: local)
        let url = local.url(for: clip)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: url.path)
        try Data(sampleWAV(seed: 1).prefix(100)).write(to: url)
        XCTAssertNil(try local.clip(for: clip.key))
        XCTAssertFalse(FileManager.default.fileExists(atPath: url.path), "the damaged file left the blob folder")
        XCTAssertEqual(events.corrupt.withLock { $0 }, 1)
    }

    func testARedisHitIsStoredWithItsFlushDeferred() async throws {
        let local = try tier()
        defer { local.close() }
        let wav = sampleWAV(seed: 7)
        let clip = sampleClip(blobSeed: 7, bytes: wav.count)
        let fill = try local.store(RedisHit(clip: clip, audio: wav))
        let stored = await local.finish(fill)
        XCTAssertEqual(stored?.key, clip.key)
        XCTAssertEqual(local.pendingFlushCount, 1)
        XCTAssertEqual(try local.flush(), 1)
        XCTAssertEqual(try local.clip(for: clip.key)?.blob, clip.blob)
    }

    /// The row of a Redis hit is written after the hit is answered: meanwhile the local tier
    /// finds the clip anyway (the index alone does not), and afterwards the index has it.
    func testARedisHitsRowIsFoundBeforeItIsWrittenAndWrittenAfter() async throws {
        let local = try tier()
        defer { local.close() }
        let wav = sampleWAV(seed: 9)
        let clip = sampleClip(blobSeed: 9, bytes: wav.count)
        local.index.pendingRows.holdWrites()
        let fill = try local.store(RedisHit(clip: clip, audio: wav))
        XCTAssertEqual(local.index.clipAfterAnswer(for: clip.key)?.blob, clip.blob, "the row waits")
        XCTAssertEqual(try local.clip(for: clip.key)?.blob, clip.blob, "found while its row waits")
        XCTAssertEqual(local.index.pendingRows.count, 1)
        // Any other use of the index waits for the row: released while it waits.
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(50)) { local.index.pendingRows.resumeWrites() }
        XCTAssertEqual(try local.index.clipsWithBlobNotDurable().map(\.key), [clip.key])
        XCTAssertEqual(try local.index.clip(for: clip.key)?.blob, clip.blob)
        XCTAssertEqual(local.index.pendingRows.count, 0)
        let finished = await local.finish(fill)
        XCTAssertEqual(finished?.key, clip.key)
    }

    /// A Redis hit stored on a thread that is answering someone (a Redis connection's) leaves
    /// its row to that thread, right after the answer: no other thread is woken for it.
    func testARedisHitsRowIsWrittenByTheAnsweringThreadAfterTheAnswer() throws {
        let local = try tier()
        defer { local.close() }
        let wav = sampleWAV(seed: 12)
        let clip = sampleClip(blobSeed: 12, bytes: wav.count)
        var waitingAtAnswer = -1
        AfterAnswer.answering({ Result { try local.store(RedisHit(clip: clip, audio: wav)) } }, then: { _ in
            waitingAtAnswer = local.index.pendingRows.count
        })
        XCTAssertEqual(waitingAtAnswer, 1, "the row waited while the caller was answered")
        XCTAssertEqual(local.index.pendingRows.count, 0, "written on this thread before `answering` returned")
        XCTAssertEqual(try local.index.clipsWithBlobNotDurable().map(\.key), [clip.key])
    }

    /// Redis hits stored in `local` on this thread, one per seed; their rows are left waiting.
    private func storeRedisHits(in local: LocalTier, text: String, seeds: Range<UInt8>) throws -> [Clip] {
        try seeds.map { seed in
            let wav = sampleWAV(seed: seed)
            let clip = sampleClip(text: "\(text) \(seed)", blobSeed: seed, bytes: wav.count)
            _ = try local.store(RedisHit(clip: clip, audio: wav))
            return clip
        }
    }

    /// Rows handed in by a thread that answers nobody (a hit run on its caller's thread) are
    /// written together by one timer, soon, with nothing else touching the index.
    func testRowsHandedInOffAnAnsweringThreadAreWrittenSoonByOneTimer() throws {
        let local = try tier()
        defer { local.close() }
        let clips = try storeRedisHits(in: local, text: "batch", seeds: UInt8(20)..<23)
        XCTAssertEqual(local.index.pendingRows.count, 3)
        let deadline = Date().addingTimeInterval(5)
        while local.index.pendingRows.count > 0 && Date() < deadline { usleep(1_000) }
        XCTAssertEqual(local.index.pendingRows.count, 0, "written without a settle")
        XCTAssertEqual(Set(try local.index.clipsWithBlobNotDurable().map(\.key)), Set(clips.map(\.key)))
    }

    /// The rows written together share one write transaction: a batch does not hold the
    /// index (against the next hits' look-ups) for one commit per row.
    func testRowsWrittenTogetherAreOneWriteTransaction() throws {
        let local = try tier()
        defer { local.close() }
        local.index.pendingRows.holdWrites()
        let clips = try storeRedisHits(in: local, text: "together", seeds: UInt8(30)..<34)
        let before = local.index.writeTransactions
        local.index.pendingRows.resumeWrites()
        local.index.pendingRows.settle()
        XCTAssertEqual(local.index.writeTransactions - before, 1)
        XCTAssertEqual(Set(try local.index.clipsWithBlobNotDurable().map(\.key)), Set(clips.map(\.key)))
    }

    /// A batch of rows is written on a connection of its own: the hot look-up (the next hits'
    /// local miss, or a hit) goes on while the batch's transaction is open, instead of waiting
    /// for it to commit.
    func testTheHotLookUpGoesOnWhileABatchOfRowsIsBeingWritten() throws {
        let local = try tier()
        defer { local.close() }
        let stored = sampleClip(text: "already stored", blobSeed: 60, bytes: 100)
        try local.index.upsert(stored)
        let waiting = sampleClip(text: "written after its answer", blobSeed: 61, bytes: 100)
        let inTransaction = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0)
        local.index.writeAfterAnswer(waiting, write: { rows in
            try rows.upsert(waiting, blobIsDurable: true)
            inTransaction.signal()
            release.wait()
        }, failed: { _ in })
        XCTAssertEqual(inTransaction.wait(timeout: .now() + 10), .success, "the batch timer began the write")
        let lookedUp = DispatchSemaphore(value: 0)
        let found = Mutex<Clip?>(nil)
        DispatchQueue.global().async {
            found.withLock { $0 = try? local.index.clipInReadWindow(for: stored.key).clip }
            lookedUp.signal()
        }
        let answered = lookedUp.wait(timeout: .now() + 5)
        release.signal()
        XCTAssertEqual(answered, .success, "the look-up answered while the batch was still open")
        if answered != .success { lookedUp.wait() }
        XCTAssertEqual(found.withLock { $0 }?.key, stored.key)
        local.index.pendingRows.settle()
        XCTAssertEqual(try local.index.clip(for: waiting.key)?.key, waiting.key, "and the batch committed after it")
    }

    /// A rebuild closes the index and opens the new file: the rows written after their
    /// answers, and the hit counts, go on being written there (they were refused as "closed"
    /// when the writers' connections stayed closed).
    func testRowsAndHitCountsAreWrittenAfterARebuild() throws {
        let local = try tier()
        defer { local.close() }
        let before = try storeRedisHits(in: local, text: "before the rebuild", seeds: UInt8(70)..<71)
        local.index.pendingRows.settle()
        local.index.recordHit(before[0].key)
        try local.index.flush()
        let damaged = try local.index.rebuild(with: local.index.salvageRows())
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: damaged.path + suffix) } }
        let after = try storeRedisHits(in: local, text: "after the rebuild", seeds: UInt8(71)..<72)
        local.index.pendingRows.settle()
        XCTAssertEqual(try local.index.clip(for: after[0].key)?.key, after[0].key, "the hit's row is in the new file")
        XCTAssertEqual(local.index.pendingRows.count, 0)
        let hits = try XCTUnwrap(local.index.clip(for: before[0].key)).hits
        local.index.hitWriter.submit([before[0].key: ClipIndex.PendingHit(count: 2, lastUsed: Date())], count: 2)
        try local.index.flush()
        XCTAssertEqual(try local.index.clip(for: before[0].key)?.hits, hits + 2, "hit counts reach the new file")
    }

    /// A row whose write fails is dropped alone, with what it wrote before failing; the others
    /// of its batch are written, and only the failed one is reported.
    func testARowThatFailsInABatchIsDroppedAloneWithItsPartialWrites() throws {
        struct Refused: Error {}
        let local = try tier()
        defer { local.close() }
        let clips = (UInt8(40)..<43).map { sampleClip(text: "row \($0)", blobSeed: $0, bytes: 100) }
        let dropped = Mutex<[RequestKey]>([])
        local.index.pendingRows.holdWrites()
        for (i, clip) in clips.enumerated() {
            local.index.writeAfterAnswer(clip, write: { rows in
                try rows.upsert(clip, blobIsDurable: true)
                if i == 1 { throw Refused() }
            }, failed: { _ in dropped.withLock { $0.append(clip.key) } })
        }
        local.index.pendingRows.resumeWrites()
        local.index.pendingRows.settle()
        XCTAssertEqual(dropped.withLock { $0 }, [clips[1].key])
        XCTAssertNotNil(try local.index.clip(for: clips[0].key))
        XCTAssertNil(try local.index.clip(for: clips[1].key), "its upsert rolled back with it")
        XCTAssertNotNil(try local.index.clip(for: clips[2].key))
        XCTAssertEqual(local.index.pendingRows.count, 0)
    }

    /// A row waiting after its answer keeps its index: an index let go without `close()` is
    /// freed once the row is written (and closes then), not before with the row dropped.
    func testAnIndexLetGoWhileARowWaitsIsFreedAfterWritingIt() throws {
        let url = try makeTemporaryFolder(self).appendingPathComponent("index.sqlite")
        let clip = sampleClip(text: "kept", blobSeed: 50, bytes: 100)
        weak var released: ClipIndex?
        do {
            let index = try ClipIndex(url: url)
            released = index
            index.writeAfterAnswer(clip, write: { rows in try rows.upsert(clip, blobIsDurable: true) }, failed: { _ in })
        }
        let deadline = Date().addingTimeInterval(10)
        while released != nil && Date() < deadline { usleep(1_000) }
        XCTAssertNil(released, "freed once its row was written")
        let reopened = try ClipIndex(url: url)
        defer { reopened.close() }
        XCTAssertEqual(try reopened.clip(for: clip.key)?.key, clip.key)
    }

    /// A flush right after a Redis hit flushes its blob too, though the blob joins the sync
    /// queue only with its row (written after the answer).
    func testAFlushRightAfterARedisHitFlushesItsBlob() throws {
        let local = try tier()
        defer { local.close() }
        let wav = sampleWAV(seed: 24)
        let clip = sampleClip(text: "flushed at once", blobSeed: 24, bytes: wav.count)
        _ = try local.store(RedisHit(clip: clip, audio: wav))
        XCTAssertEqual(local.index.pendingRows.count, 1, "its row waits for the batch timer")
        try local.flush()
        XCTAssertEqual(local.pendingFlushCount, 0)
        XCTAssertEqual(try local.index.clipsWithBlobNotDurable(), [], "flushed and marked durable by the flush itself")
    }

    /// `rm` right after a Redis hit waits for the hit's row (as every use of the index but the
    /// hot look-up does), so the row cannot come back after the removal.
    func testRemovingARedisHitRightAwayLeavesNoRowBehind() throws {
        let local = try tier()
        defer { local.close() }
        let wav = sampleWAV(seed: 10)
        let clip = sampleClip(blobSeed: 10, bytes: wav.count)
        local.index.pendingRows.holdWrites()
        _ = try local.store(RedisHit(clip: clip, audio: wav))
        // Released from another thread while `remove` is already waiting.
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(50)) { local.index.pendingRows.resumeWrites() }
        XCTAssertEqual(try local.remove(clip.key)?.clip.key, clip.key)
        XCTAssertNil(try local.index.clip(for: clip.key))
        XCTAssertNil(try local.clip(for: clip.key))
    }

    /// Closing writes the rows still waiting before the index closes.
    func testCloseWritesTheRowsStillWaiting() throws {
        let root = try makeTemporaryFolder(self)
        let local = try LocalTier(layout: StoreLayout(root: root))
        let wav = sampleWAV(seed: 11)
        let clip = sampleClip(blobSeed: 11, bytes: wav.count)
        local.index.pendingRows.holdWrites()
        _ = try local.store(RedisHit(clip: clip, audio: wav))
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(50)) { local.index.pendingRows.resumeWrites() }
        local.close()
        let reopened = try LocalTier(layout: StoreLayout(root: root))
        defer { reopened.close() }
        XCTAssertEqual(try reopened.index.clip(for: clip.key)?.blob, clip.blob)
    }

    func testAudioThatIsNotTheNamedBlobIsNotStored() throws {
        let local = try tier()
        defer { local.close() }
        let clip = sampleClip(blobSeed: 7)
        guard case .mismatch = try local.store(RedisHit(clip: clip, audio: sampleWAV(seed: 8))) else {
            return XCTFail("bytes that hash to another blob were accepted")
        }
        XCTAssertNil(try local.row(for: clip.key))
    }

    func testAudioThatIsTheNamedBlobButNotAUsableWAVIsNotStored() throws {
        let local = try tier()
        defer { local.close() }
        // 12 bits per sample: the header parses as RIFF, but `WAVAudio.decode` refuses it.
        var bytes = [UInt8](sampleWAV(seed: 7))
        bytes[34] = 12
        let wav = Data(bytes)
        XCTAssertThrowsError(try WAVAudio.decode(wav))
        var clip = sampleClip(blobSeed: 7, bytes: wav.count)
        clip.blob = BlobHash(of: wav)
        guard case .mismatch = try local.store(RedisHit(clip: clip, audio: wav)) else {
            return XCTFail("a WAV that does not parse was stored")
        }
        XCTAssertNil(try local.row(for: clip.key))
        XCTAssertFalse(local.blobs.contains(clip.blob), "nothing was written under the blob's name")
    }

    func testAWriteOverTheBudgetEvictsAnOlderClipAndSparesTheNewOne() async throws {
        let events = Events()
        let oneClip = sampleWAV(seed: 1).count
        let local = try tier(budget: CacheBudget(maxBytes: oneClip * 2 + oneClip / 2), events: events)
        defer { local.close() }
        let first = try await store("One", seed: 1, in: local)
        let second = try await store("Two", seed: 2, in: local)
        let third = try await store("Three", seed: 3, in: local)
        let left = try [first, second].filter { try local.row(for: $0.key) != nil }
        XCTAssertEqual(left.count, 1, "one older clip was evicted to fit the budget")
        XCTAssertEqual(try local.count(matching: ClipFilter()), 2)
        XCTAssertNotNil(try local.row(for: third.key), "the clip just written is never evicted")
        XCTAssertGreaterThan(events.evicted.withLock { $0 }, 0)
    }
}

private final class Events: LocalTierEvents {
    /// Guards the count of corrupt blobs reported.
    let corrupt = Mutex(0)
    /// Guards the count of clips reported evicted.
    let evicted = Mutex(0)
    func recordCorruptBlob() { corrupt.withLock { $0 += 1 } }
    func recordEviction(clips: Int, bytes: Int) { evicted.withLock { $0 += clips } }
}
