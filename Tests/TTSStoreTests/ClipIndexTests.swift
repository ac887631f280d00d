import Foundation
import Synchronization
import TTSCore
import XCTest
@testable import TTSStore

final class ClipIndexTests: XCTestCase {
    private func makeIndexURL() throws -> URL {
        try makeTemporaryFolder(self).appendingPathComponent("store/index.sqlite")
    }

    // MARK: Opening and migrations

    func testFreshIndexIsAtTheLatestSchemaVersion() throws {
        let index = try ClipIndex(url: try makeIndexURL())
        XCTAssertEqual(try index.schemaVersion, ClipIndex.latestSchemaVersion)
        XCTAssertGreaterThan(ClipIndex.latestSchemaVersion, 0)
    }

    func testReopeningKeepsTheVersionAndTheData() throws {
        let url = try makeIndexURL()
        let clip = sampleClip()
        do {
            let index = try ClipIndex(url: url)
            try index.upsert(clip)
            index.close()
        }
        let reopened = try ClipIndex(url: url)
        XCTAssertEqual(try reopened.schemaVersion, ClipIndex.latestSchemaVersion)
        XCTAssertEqual(try reopened.clip(for: clip.key), clip)
    }

    func testIndexUsesWriteAheadLogging() throws {
        let url = try makeIndexURL()
        let index = try ClipIndex(url: url)
        try index.upsert(sampleClip())
        let database = try SQLiteDatabase(path: url.path, busyTimeoutMs: 1000)
        XCTAssertEqual(try database.prepare("PRAGMA journal_mode").firstRow { $0.text(at: 0) }, "wal")
    }

    func testIndexFromANewerVersionIsRefusedAndLeftUnchanged() throws {
        let url = try makeIndexURL()
        try ClipIndex(url: url).close()
        let future = ClipIndex.latestSchemaVersion + 5
        do {
            let database = try SQLiteDatabase(path: url.path, busyTimeoutMs: 1000)
            try database.execute("PRAGMA user_version = \(future)")
        }
        assertThrowsTTSError(.store, containing: ["schema version \(future)", "Upgrade tts-repl", url.path]) {
            _ = try ClipIndex(url: url)
        }
        let database = try SQLiteDatabase(path: url.path, busyTimeoutMs: 1000)
        XCTAssertEqual(try ClipIndexSchema.userVersion(database), future)
    }

    func testGarbageFileIsAClearStoreError() throws {
        let url = try makeIndexURL()
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(String(repeating: "this is not a database. ", count: 400).utf8).write(to: url)
        assertThrowsTTSError(.store, containing: ["SQLITE_NOTADB", "not a SQLite database", url.path]) {
            _ = try ClipIndex(url: url)
        }
    }

    func testSQLiteFileOfAnotherProgramIsRefusedAndLeftUnchanged() throws {
        let url = try makeIndexURL()
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        do {
            let database = try SQLiteDatabase(path: url.path, busyTimeoutMs: 1000)
            try database.execute("CREATE TABLE contacts (name TEXT)")
        }
        assertThrowsTTSError(.store, containing: ["another program", "not a tts-repl index"]) {
            _ = try ClipIndex(url: url)
        }
        let database = try SQLiteDatabase(path: url.path, busyTimeoutMs: 1000)
        XCTAssertEqual(try database.prepare("SELECT group_concat(name) FROM sqlite_master").firstRow { $0.text(at: 0) }, "contacts")
        XCTAssertEqual(try database.prepare("PRAGMA journal_mode").firstRow { $0.text(at: 0) }, "delete")
    }

    // MARK: Reading and writing clips

    func testUpsertThenLookupReturnsEveryField() throws {
        let index = try ClipIndex(url: try makeIndexURL())
        var clip = sampleClip(text: "Grüß dich, 世界 — \"quoted\" 'single'", voice: "Kore", language: "de-DE",
                              engine: "gemini", model: "gemini-2.5-flash-preview-tts", style: "cheerfully",
                              blobSeed: 8, bytes: 123_456, createdAt: 1_650_000_000.75, hits: 3)
        clip.durationMs = 2_718
        clip.sampleRate = 24_000
        clip.lastUsedAt = Date(timeIntervalSince1970: 1_750_000_000.125)
        try index.upsert(clip)
        XCTAssertEqual(try index.clip(for: clip.key), clip)
    }

    func testEmptyStringsStayEmptyText() throws {
        let index = try ClipIndex(url: try makeIndexURL())
        let clip = sampleClip(language: "", style: "")
        try index.upsert(clip)
        XCTAssertEqual(try index.clip(for: clip.key), clip)
        XCTAssertEqual(try index.count(ClipFilter(language: "")), 1)
    }

    func testUnknownKeyGivesNil() throws {
        let index = try ClipIndex(url: try makeIndexURL())
        try index.upsert(sampleClip())
        XCTAssertNil(try index.clip(for: RequestKey(hex: String(repeating: "0", count: 64))!))
    }

    func testUpsertReplacesTheRowWithTheSameKey() throws {
        let index = try ClipIndex(url: try makeIndexURL())
        var clip = sampleClip()
        try index.upsert(clip)
        clip.blob = BlobHash(of: sampleWAV(seed: 77))
        clip.bytes = 999
        try index.upsert(clip)
        XCTAssertEqual(try index.clip(for: clip.key), clip)
        XCTAssertEqual(try index.count(.all), 1)
    }

    // MARK: Blobs not yet durable

    func testRowsWhoseBlobIsNotDurableAreListedUntilMarked() throws {
        let index = try ClipIndex(url: try makeIndexURL())
        let deferred = sampleClip(text: "deferred", blobSeed: 2)
        let durable = sampleClip(text: "durable", blobSeed: 3)
        try index.upsert(deferred, blobIsDurable: false)
        try index.upsert(durable)
        XCTAssertEqual(try index.clipsWithBlobNotDurable(), [deferred])
        XCTAssertEqual(try index.clip(for: deferred.key), deferred, "the row serves hits meanwhile")
        try index.markDurable([(deferred.key, deferred.blob)])
        XCTAssertEqual(try index.clipsWithBlobNotDurable(), [])
    }

    func testMarkingDurableLeavesARowThatNowNamesAnotherBlob() throws {
        let index = try ClipIndex(url: try makeIndexURL())
        var clip = sampleClip(blobSeed: 4)
        let oldBlob = clip.blob
        try index.upsert(clip, blobIsDurable: false)
        clip.blob = BlobHash(of: sampleWAV(seed: 5))
        try index.upsert(clip, blobIsDurable: false)
        try index.markDurable([(clip.key, oldBlob)])
        XCTAssertEqual(try index.clipsWithBlobNotDurable(), [clip])
    }

    func testHasDurableClipForBlobCountsOnlyDurableRows() throws {
        let index = try ClipIndex(url: try makeIndexURL())
        let clip = sampleClip(blobSeed: 7)
        XCTAssertFalse(try index.hasDurableClip(forBlob: clip.blob))
        try index.upsert(clip, blobIsDurable: false)
        XCTAssertFalse(try index.hasDurableClip(forBlob: clip.blob))
        try index.markDurable([(clip.key, clip.blob)])
        XCTAssertTrue(try index.hasDurableClip(forBlob: clip.blob))
    }

    func testMarkingDurableSkipsBlobsTheCheckRejects() throws {
        let index = try ClipIndex(url: try makeIndexURL())
        let kept = sampleClip(text: "kept", blobSeed: 8), replaced = sampleClip(text: "replaced", blobSeed: 9)
        try index.upsert([kept, replaced], blobIsDurable: false)
        let marked = try index.markDurable([(kept.key, kept.blob), (replaced.key, replaced.blob)]) { $0 == kept.blob }
        XCTAssertEqual(marked, 1)
        XCTAssertEqual(try index.clipsWithBlobNotDurable(), [replaced])
    }

    func testADurableUpsertClearsTheMark() throws {
        let index = try ClipIndex(url: try makeIndexURL())
        let clip = sampleClip(blobSeed: 6)
        try index.upsert(clip, blobIsDurable: false)
        try index.upsert(clip)
        XCTAssertEqual(try index.clipsWithBlobNotDurable(), [])
    }

    func testAnIndexOfTheEarlierSchemaIsMigratedWithItsRowsDurable() throws {
        let url = try makeIndexURL()
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        let clip = sampleClip()
        do {
            let database = try SQLiteDatabase(path: url.path, busyTimeoutMs: 1000)
            for migration in ClipIndexSchema.migrations.prefix(2) { try database.execute(migration.sql) }
            try database.execute("PRAGMA user_version = 2")
            try database.execute("""
                INSERT INTO clips (key, blob, text, voice, language, engine, model, style, bytes, duration_ms, sample_rate,
                    created_at, last_used_at, hits) VALUES ('\(clip.key.hex)', '\(clip.blob.hex)', 'Hello world', 'en-us',
                    'en-US', 'espeak', 'espeak-ng', '', 844, 9, 22050, 1700000000.25, 1700000000.75, 0)
                """)
            database.close()
        }
        let index = try ClipIndex(url: url)
        XCTAssertEqual(try index.schemaVersion, ClipIndex.latestSchemaVersion)
        XCTAssertEqual(try index.clip(for: clip.key), clip)
        XCTAssertEqual(try index.clipsWithBlobNotDurable(), [])
    }

    func testADialogueClipKeepsItsSpeakers() throws {
        let index = try ClipIndex(url: try makeIndexURL())
        var clip = sampleClip(text: "Joe: Hi\nJane: Hello", blobSeed: 9)
        clip.speakers = [SpeakerVoice(name: "Joe", voice: "Kore"), SpeakerVoice(name: "Jane", voice: "Puck")]
        try index.upsert(clip)
        XCTAssertEqual(try index.clip(for: clip.key)?.speakers, clip.speakers)
        XCTAssertEqual(try index.clip(for: clip.key)?.request, clip.request)
    }

    func testBatchUpsertStoresAll() throws {
        let index = try ClipIndex(url: try makeIndexURL())
        let clips = (0..<50).map { sampleClip(text: "phrase \($0)", blobSeed: UInt8($0)) }
        try index.upsert(clips)
        XCTAssertEqual(try index.count(.all), 50)
        XCTAssertEqual(try index.clip(for: clips[17].key), clips[17])
    }

    func testClipsForBlobListsEveryClipSharingIt() throws {
        let index = try ClipIndex(url: try makeIndexURL())
        let a = sampleClip(text: "one", blobSeed: 1, createdAt: 1_000)
        let b = sampleClip(text: "two", blobSeed: 1, createdAt: 2_000)
        let c = sampleClip(text: "three", blobSeed: 2)
        try index.upsert([a, b, c])
        XCTAssertEqual(try index.clips(forBlob: a.blob), [b, a])
        XCTAssertEqual(try index.clips(forBlob: BlobHash(of: sampleWAV(seed: 200))), [])
    }

    func testRemoveDeletesOnlyThatClip() throws {
        let index = try ClipIndex(url: try makeIndexURL())
        let a = sampleClip(text: "a"), b = sampleClip(text: "b")
        try index.upsert([a, b])
        XCTAssertTrue(try index.remove(a.key))
        XCTAssertFalse(try index.remove(a.key))
        XCTAssertNil(try index.clip(for: a.key))
        XCTAssertEqual(try index.clip(for: b.key), b)
    }

    func testTotalsCountASharedBlobOnce() throws {
        let index = try ClipIndex(url: try makeIndexURL())
        let empty = try index.usage()
        XCTAssertTrue((empty.clips, empty.blobs, empty.bytes) == (0, 0, 0))
        try index.upsert([sampleClip(text: "a", blobSeed: 1, bytes: 1000),
                          sampleClip(text: "b", blobSeed: 1, bytes: 1000),
                          sampleClip(text: "c", blobSeed: 2, bytes: 300)])
        let totals = try index.usage()
        XCTAssertEqual(totals.clips, 3)
        XCTAssertEqual(totals.blobs, 2)
        XCTAssertEqual(totals.bytes, 1300)
    }

    // MARK: Filters and paging

    private func filterFixture() throws -> (ClipIndex, [String: Clip]) {
        let index = try ClipIndex(url: try makeIndexURL())
        let clips: [String: Clip] = [
            "espeakHello": sampleClip(text: "Hello there", voice: "en-us", language: "en-US", engine: "espeak", model: "espeak-ng", createdAt: 1),
            "espeakBonjour": sampleClip(text: "Bonjour", voice: "fr", language: "fr-FR", engine: "espeak", model: "espeak-ng", createdAt: 2),
            "geminiHello": sampleClip(text: "HELLO world", voice: "Kore", language: "en-US", engine: "gemini", model: "flash", createdAt: 3),
            "geminiPro": sampleClip(text: "Good morning", voice: "Kore", language: "en-US", engine: "gemini", model: "pro", createdAt: 4),
            "geminiPuck": sampleClip(text: "hello again", voice: "Puck", language: "en-GB", engine: "gemini", model: "flash", createdAt: 5),
        ]
        try index.upsert(Array(clips.values))
        return (index, clips)
    }

    private func texts(_ index: ClipIndex, _ filter: ClipFilter) throws -> Set<String> {
        Set(try index.list(filter, limit: 100, offset: 0).map(\.text))
    }

    func testEachFilterMatchesExactly() throws {
        let (index, _) = try filterFixture()
        XCTAssertEqual(try texts(index, ClipFilter(voice: "Kore")), ["HELLO world", "Good morning"])
        XCTAssertEqual(try texts(index, ClipFilter(language: "en-US")), ["Hello there", "HELLO world", "Good morning"])
        XCTAssertEqual(try texts(index, ClipFilter(engine: "espeak")), ["Hello there", "Bonjour"])
        XCTAssertEqual(try texts(index, ClipFilter(model: "flash")), ["HELLO world", "hello again"])
        XCTAssertEqual(try texts(index, ClipFilter(textContains: "hello")), ["Hello there", "HELLO world", "hello again"])
        XCTAssertEqual(try texts(index, ClipFilter(voice: "kore")), [], "voice matches case-sensitively")
        XCTAssertEqual(try texts(index, .all).count, 5)
    }

    func testFiltersCombineWithAnd() throws {
        let (index, _) = try filterFixture()
        XCTAssertEqual(try texts(index, ClipFilter(engine: "gemini", textContains: "HeLLo")), ["HELLO world", "hello again"])
        XCTAssertEqual(try texts(index, ClipFilter(voice: "Kore", language: "en-US", engine: "gemini", model: "flash", textContains: "world")), ["HELLO world"])
        XCTAssertEqual(try texts(index, ClipFilter(voice: "Kore", model: "espeak-ng")), [])
        XCTAssertEqual(try index.count(ClipFilter(engine: "gemini", model: "flash")), 2)
    }

    func testClipsMatchingReturnsEveryMatchingClipAndNoOther() throws {
        let (index, clips) = try filterFixture()
        XCTAssertEqual(Set(try index.clips(matching: .all).map(\.key)), Set(clips.values.map(\.key)))
        XCTAssertEqual(Set(try index.clips(matching: ClipFilter(engine: "gemini", textContains: "HeLLo")).map(\.text)),
                       ["HELLO world", "hello again"])
        XCTAssertEqual(try index.clips(matching: ClipFilter(voice: "Kore", model: "espeak-ng")), [])
        XCTAssertEqual(try index.clips(matching: ClipFilter(voice: "Puck")), [clips["geminiPuck"]!], "the whole row is decoded")
    }

    func testCountMatchesTheFilter() throws {
        let (index, _) = try filterFixture()
        XCTAssertEqual(try index.count(.all), 5)
        XCTAssertEqual(try index.count(ClipFilter(voice: "Kore")), 2)
        XCTAssertEqual(try index.count(ClipFilter(textContains: "nothing like this")), 0)
    }

    func testTextFilterTreatsWildcardsAndQuotesLiterally() throws {
        let index = try ClipIndex(url: try makeIndexURL())
        let samples = ["100% sure", "100 percent sure", "snake_case", "snakeXcase", "it's \"quoted\"",
                       "its quoted", "back\\slash", "Café au lait"]
        try index.upsert(samples.map { sampleClip(text: $0) })
        XCTAssertEqual(try texts(index, ClipFilter(textContains: "%")), ["100% sure"])
        XCTAssertEqual(try texts(index, ClipFilter(textContains: "0% s")), ["100% sure"])
        XCTAssertEqual(try texts(index, ClipFilter(textContains: "_")), ["snake_case"])
        XCTAssertEqual(try texts(index, ClipFilter(textContains: "'s \"")), ["it's \"quoted\""])
        XCTAssertEqual(try texts(index, ClipFilter(textContains: "\\")), ["back\\slash"])
        XCTAssertEqual(try texts(index, ClipFilter(textContains: "'; DROP TABLE clips; --")), [])
        XCTAssertEqual(try texts(index, ClipFilter(textContains: "CAFÉ")), ["Café au lait"], "case folding covers non-ASCII letters")
        XCTAssertEqual(try index.count(.all), samples.count)
    }

    func testListPagesNewestFirst() throws {
        let index = try ClipIndex(url: try makeIndexURL())
        let clips = (0..<7).map { sampleClip(text: "clip \($0)", createdAt: Double(1_000 + $0)) }
        try index.upsert(clips.shuffled())
        let newestFirst = clips.reversed().map(\.text)
        XCTAssertEqual(try index.list(.all, limit: 3, offset: 0).map(\.text), Array(newestFirst[0..<3]))
        XCTAssertEqual(try index.list(.all, limit: 3, offset: 3).map(\.text), Array(newestFirst[3..<6]))
        XCTAssertEqual(try index.list(.all, limit: 3, offset: 6).map(\.text), Array(newestFirst[6...]))
        XCTAssertEqual(try index.list(.all, limit: 3, offset: 9), [])
        XCTAssertEqual(try index.list(.all, limit: -1, offset: 0).count, 7)
    }

    func testClipsCreatedAtTheSameTimeAreOrderedByKey() throws {
        let index = try ClipIndex(url: try makeIndexURL())
        let clips = (0..<4).map { sampleClip(text: "same time \($0)", createdAt: 5_000) }
        try index.upsert(clips)
        XCTAssertEqual(try index.list(.all, limit: 10, offset: 0).map(\.key), clips.map(\.key).sorted())
    }

    // MARK: Hits

    func testHitsAreBufferedUntilFlushed() throws {
        let url = try makeIndexURL()
        let index = try ClipIndex(url: url)
        let a = sampleClip(text: "a", createdAt: 1_000), b = sampleClip(text: "b", createdAt: 1_000)
        try index.upsert([a, b])
        index.recordHit(a.key, at: Date(timeIntervalSince1970: 3_000))
        index.recordHit(a.key, at: Date(timeIntervalSince1970: 5_000))
        index.recordHit(a.key, at: Date(timeIntervalSince1970: 4_000))
        index.recordHit(b.key, at: Date(timeIntervalSince1970: 2_000))
        XCTAssertEqual(index.pendingHitCount, 4)
        XCTAssertEqual(try index.clip(for: a.key)?.hits, 0, "no write per hit")

        try index.flush()
        XCTAssertEqual(index.pendingHitCount, 0)
        XCTAssertEqual(try index.clip(for: a.key)?.hits, 3)
        XCTAssertEqual(try index.clip(for: a.key)?.lastUsedAt, Date(timeIntervalSince1970: 5_000))
        XCTAssertEqual(try index.clip(for: b.key)?.hits, 1)
        XCTAssertEqual(try index.clip(for: b.key)?.lastUsedAt, Date(timeIntervalSince1970: 2_000))
        index.close()

        let reopened = try ClipIndex(url: url)
        XCTAssertEqual(try reopened.clip(for: a.key)?.hits, 3)
        XCTAssertEqual(try reopened.clip(for: a.key)?.lastUsedAt, Date(timeIntervalSince1970: 5_000))
    }

    func testAnOlderHitDoesNotMoveLastUsedBack() throws {
        let index = try ClipIndex(url: try makeIndexURL())
        let clip = sampleClip(createdAt: 9_000)  // last used 9000.5
        try index.upsert(clip)
        index.recordHit(clip.key, at: Date(timeIntervalSince1970: 100))
        try index.flush()
        XCTAssertEqual(try index.clip(for: clip.key)?.lastUsedAt, clip.lastUsedAt)
        XCTAssertEqual(try index.clip(for: clip.key)?.hits, 1)
    }

    func testHitsFlushByThemselvesAtTheThreshold() throws {
        let index = try ClipIndex(url: try makeIndexURL())
        let clip = sampleClip()
        try index.upsert(clip)
        for _ in 0..<ClipIndex.hitFlushThreshold - 1 { index.recordHit(clip.key, at: Date(timeIntervalSince1970: 8_000)) }
        XCTAssertEqual(try index.clip(for: clip.key)?.hits, 0)
        index.recordHit(clip.key, at: Date(timeIntervalSince1970: 8_000))
        try waitForHitWrites(index)
        XCTAssertEqual(try index.clip(for: clip.key)?.hits, ClipIndex.hitFlushThreshold)
    }

    /// The batch is written in the background, by a bounded wait for the writer to be done.
    private func waitForHitWrites(_ index: ClipIndex, file: StaticString = #filePath, line: UInt = #line) throws {
        for _ in 0..<5_000 where index.pendingHitCount > 0 { usleep(2_000) }
        XCTAssertEqual(index.pendingHitCount, 0, "the batch was not written within 10 s", file: file, line: line)
    }

    /// An index holding one clip, and another connection holding its write lock.
    private func indexLockedByAnother(busyTimeoutMs: Int) throws -> (ClipIndex, Clip, SQLiteDatabase) {
        let url = try makeIndexURL()
        let index = try ClipIndex(url: url, busyTimeoutMs: busyTimeoutMs)
        let clip = sampleClip()
        try index.upsert(clip)
        let other = try SQLiteDatabase(path: url.path, busyTimeoutMs: 1000)
        try other.execute("BEGIN IMMEDIATE")
        return (index, clip, other)
    }

    func testAFullBatchDoesNotMakeTheHitWaitForItsWrite() throws {
        // A batch written inline would make the hit that fills it wait up to the busy timeout.
        let (index, clip, other) = try indexLockedByAnother(busyTimeoutMs: 60_000)
        let hitsDone = expectation(description: "a full batch of hits returns while the index is locked")
        Thread.detachNewThread {
            for _ in 0..<ClipIndex.hitFlushThreshold { index.recordHit(clip.key, at: Date(timeIntervalSince1970: 8_000)) }
            hitsDone.fulfill()
        }
        wait(for: [hitsDone], timeout: 10)
        XCTAssertEqual(index.pendingHitCount, ClipIndex.hitFlushThreshold, "recorded, not yet written")
        XCTAssertEqual(try index.clip(for: clip.key)?.hits, 0)
        try other.execute("COMMIT")
        other.close()
        try waitForHitWrites(index)
        XCTAssertEqual(try index.clip(for: clip.key)?.hits, ClipIndex.hitFlushThreshold)
    }

    func testAFailedBatchWriteKeepsItsHitsForFlush() throws {
        let (index, clip, other) = try indexLockedByAnother(busyTimeoutMs: 20)
        for _ in 0..<ClipIndex.hitFlushThreshold { index.recordHit(clip.key, at: Date(timeIntervalSince1970: 8_000)) }
        XCTAssertThrowsError(try index.flush(), "the index is locked past the busy timeout")
        XCTAssertEqual(index.pendingHitCount, ClipIndex.hitFlushThreshold, "nothing lost")
        try other.execute("COMMIT")
        other.close()
        try index.flush()
        XCTAssertEqual(index.pendingHitCount, 0)
        XCTAssertEqual(try index.clip(for: clip.key)?.hits, ClipIndex.hitFlushThreshold)
    }

    func testPendingHitsFlushOnTheFirstHitAfterTheInterval() throws {
        // Interval zero: every hit finds its batch due, so it is written by that same call.
        let index = try ClipIndex(url: try makeIndexURL(), hitFlushInterval: .zero)
        let clip = sampleClip()
        try index.upsert(clip)
        let before = index.writeTransactions
        index.recordHit(clip.key, at: Date(timeIntervalSince1970: 8_000))
        try waitForHitWrites(index)
        XCTAssertEqual(index.writeTransactions, before + 1)
        XCTAssertEqual(try index.clip(for: clip.key)?.hits, 1)
    }

    func testHitsBelowTheThresholdWaitForTheInterval() throws {
        let index = try ClipIndex(url: try makeIndexURL(), hitFlushInterval: .seconds(3600))
        let clips = (0..<10).map { sampleClip(text: "clip \($0)") }
        try index.upsert(clips)
        let before = index.writeTransactions
        for round in 0..<(ClipIndex.hitFlushThreshold - 1) { index.recordHit(clips[round % clips.count].key) }
        XCTAssertEqual(index.writeTransactions, before, "no write before the threshold or the interval")
        XCTAssertEqual(index.pendingHitCount, ClipIndex.hitFlushThreshold - 1)
        index.recordHit(clips[0].key)
        try waitForHitWrites(index)
        XCTAssertEqual(index.writeTransactions, before + 1, "one transaction for the whole batch")
    }

    func testAFewHitsAreFlushedThroughTheIndexsOwnConnectionAndABatchOpensTheWritersOwn() throws {
        let url = try makeIndexURL()
        let index = try ClipIndex(url: url, hitFlushInterval: .seconds(3600))
        let clip = sampleClip()
        try index.upsert(clip)
        index.recordHit(clip.key)
        try index.flush()
        XCTAssertFalse(index.hitWriter.hasOwnConnection, "one hit is written without a second connection (a one-shot's case)")
        XCTAssertEqual(try index.clip(for: clip.key)?.hits, 1)

        for _ in 0..<ClipIndex.hitFlushThreshold { index.recordHit(clip.key) }
        try waitForHitWrites(index)
        XCTAssertTrue(index.hitWriter.hasOwnConnection, "a full batch is written off the caller's thread, on the writer's connection")
        index.recordHit(clip.key)
        index.close()
        let reopened = try ClipIndex(url: url)
        defer { reopened.close() }
        XCTAssertEqual(try reopened.clip(for: clip.key)?.hits, ClipIndex.hitFlushThreshold + 2, "the last hit went out at close")
    }

    func testWriteTransactionsCountCommitsAndNotReads() throws {
        let index = try ClipIndex(url: try makeIndexURL())
        let start = index.writeTransactions
        let clip = sampleClip()
        try index.upsert(clip)
        XCTAssertEqual(index.writeTransactions, start + 1)
        for _ in 0..<50 { _ = try index.clip(for: clip.key) }
        _ = try index.count(ClipFilter())
        XCTAssertEqual(index.writeTransactions, start + 1, "reads commit nothing")
        index.recordHit(clip.key)
        try index.flush()
        XCTAssertEqual(index.writeTransactions, start + 2)
        try index.flush()  // nothing pending: no transaction
        XCTAssertEqual(index.writeTransactions, start + 2)
        XCTAssertTrue(try index.remove(clip.key))  // an autocommit statement counts too
        XCTAssertEqual(index.writeTransactions, start + 3)
    }

    func testCloseAndDeinitFlushHits() throws {
        let url = try makeIndexURL()
        let clip = sampleClip()
        do {
            let index = try ClipIndex(url: url)
            try index.upsert(clip)
            index.recordHit(clip.key, at: Date(timeIntervalSince1970: 8_000))
            index.close()
        }
        do {
            let index = try ClipIndex(url: url)
            index.recordHit(clip.key, at: Date(timeIntervalSince1970: 8_000))
        }  // released here
        XCTAssertEqual(try ClipIndex(url: url).clip(for: clip.key)?.hits, 2)
    }

    func testHitsForARemovedClipAreDropped() throws {
        let index = try ClipIndex(url: try makeIndexURL())
        let clip = sampleClip()
        try index.upsert(clip)
        index.recordHit(clip.key, at: Date())
        XCTAssertTrue(try index.remove(clip.key))
        XCTAssertEqual(index.pendingHitCount, 0)
        XCTAssertNoThrow(try index.flush())
        XCTAssertNil(try index.clip(for: clip.key))
    }

    // MARK: Several connections

    func testTwoConnectionsOnOneFileBothWrite() throws {
        let url = try makeIndexURL()
        let first = try ClipIndex(url: url)
        let second = try ClipIndex(url: url)
        let failures = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 2) { worker in
            let index = worker == 0 ? first : second
            for n in 0..<40 {
                do {
                    let clip = sampleClip(text: "worker \(worker) clip \(n)")
                    try index.upsert(clip)
                    index.recordHit(clip.key, at: Date(timeIntervalSince1970: 10_000))
                } catch {
                    failures.withLock { $0.append("\(error)") }
                }
            }
        }
        XCTAssertEqual(failures.withLock { $0 }, [])
        try first.flush()
        try second.flush()
        XCTAssertEqual(try first.count(.all), 80)
        XCTAssertEqual(try second.count(.all), 80)
        let other = sampleClip(text: "worker 1 clip 7")
        XCTAssertEqual(try first.clip(for: other.key)?.hits, 1)
    }

    func testUseAfterCloseThrows() throws {
        let index = try ClipIndex(url: try makeIndexURL())
        index.close()
        XCTAssertThrowsError(try index.clip(for: sampleClip().key))
        index.close()  // idempotent
    }
}
