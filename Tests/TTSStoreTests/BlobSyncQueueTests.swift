import Foundation
import TTSCore
import XCTest
@testable import TTSStore

/// Blobs named before their bytes are flushed (Redis hits): the queue flushes them and marks
/// their rows, and `recover` makes a store opened after a crash trust none it has not rehashed.
final class BlobSyncQueueTests: XCTestCase {
    private struct Store {
        let blobs: BlobStore
        let index: ClipIndex
    }

    private func makeStore() throws -> Store {
        let layout = StoreLayout(root: try makeTemporaryFolder(self).appendingPathComponent("store"))
        let store = Store(blobs: try BlobStore(layout: layout), index: try ClipIndex(url: layout.indexURL))
        addTeardownBlock { store.index.close() }
        return store
    }

    /// A clip whose blob is stored with deferred durability, as a Redis hit stores it.
    private func storeDeferred(_ store: Store, seed: UInt8) throws -> Clip {
        let wav = sampleWAV(seed: seed)
        var clip = sampleClip(text: "clip \(seed)", blobSeed: seed)
        clip.bytes = wav.count
        XCTAssertTrue(try store.blobs.put(wav, ifHashIs: clip.blob, durability: .deferred))
        try store.index.upsert(clip, blobIsDurable: false)
        return clip
    }

    func testFlushMarksTheRowsDurable() throws {
        let store = try makeStore()
        let queue = BlobSyncQueue(blobs: store.blobs, index: store.index, delay: .seconds(60))
        let first = try storeDeferred(store, seed: 1), second = try storeDeferred(store, seed: 2)
        queue.add(first.key, blob: first.blob)
        queue.add(second.key, blob: second.blob)
        XCTAssertEqual(queue.pendingCount, 2)
        XCTAssertEqual(Set(try store.index.clipsWithBlobNotDurable().map(\.key)), [first.key, second.key])
        XCTAssertEqual(try queue.flush(), 2)
        XCTAssertEqual(queue.pendingCount, 0)
        XCTAssertEqual(try store.index.clipsWithBlobNotDurable(), [])
        XCTAssertEqual(try queue.flush(), 0, "nothing left to flush")
    }

    func testTheQueueFlushesByItselfAfterItsDelay() throws {
        let store = try makeStore()
        let queue = BlobSyncQueue(blobs: store.blobs, index: store.index, delay: .milliseconds(20))
        let clip = try storeDeferred(store, seed: 3)
        queue.add(clip.key, blob: clip.blob)
        // Bounded: 500 × 10 ms.
        for _ in 0..<500 where try !store.index.clipsWithBlobNotDurable().isEmpty { usleep(10_000) }
        XCTAssertEqual(try store.index.clipsWithBlobNotDurable(), [])
        XCTAssertEqual(queue.pendingCount, 0)
    }

    func testABlobRemovedBeforeItsFlushLeavesItsRowUnmarked() throws {
        let store = try makeStore()
        let queue = BlobSyncQueue(blobs: store.blobs, index: store.index, delay: .seconds(60))
        let clip = try storeDeferred(store, seed: 4)
        queue.add(clip.key, blob: clip.blob)
        try store.blobs.remove(clip.blob)
        XCTAssertEqual(try queue.flush(), 0)
        XCTAssertEqual(try store.index.clipsWithBlobNotDurable(), [clip])
    }

    /// After a power cut a never-flushed blob can be zeros of the right size (which the size
    /// check of a hit would serve) or gone: recovery rehashes every unmarked row's blob.
    func testRecoverKeepsIntactBlobsAndDropsDamagedOrMissingOnes() throws {
        let store = try makeStore()
        let intact = try storeDeferred(store, seed: 5)
        let zeroed = try storeDeferred(store, seed: 6)
        let missing = try storeDeferred(store, seed: 7)
        let durable = sampleClip(text: "durable", blobSeed: 8)
        try store.index.upsert(durable)
        let zeroedPath = store.blobs.path(for: zeroed.blob)
        chmod(zeroedPath, 0o644)
        try Data(count: zeroed.bytes).write(to: URL(fileURLWithPath: zeroedPath))
        try store.blobs.remove(missing.blob)

        let recovery = try BlobSyncQueue(blobs: store.blobs, index: store.index).recover()

        XCTAssertEqual(recovery.kept, 1)
        XCTAssertEqual(Set(recovery.dropped), [zeroed.key, missing.key])
        XCTAssertEqual(try store.index.clip(for: intact.key), intact)
        XCTAssertNil(try store.index.clip(for: zeroed.key))
        XCTAssertNil(try store.index.clip(for: missing.key))
        XCTAssertEqual(try store.index.clip(for: durable.key), durable, "rows marked durable are not touched")
        XCTAssertEqual(try store.index.clipsWithBlobNotDurable(), [])
        XCTAssertFalse(store.blobs.contains(zeroed.blob), "the damaged file leaves the blob folder")
        let quarantined = try FileManager.default.contentsOfDirectory(atPath: store.blobs.layout.quarantineURL.path)
        XCTAssertEqual(quarantined.count, 1)
        XCTAssertTrue(quarantined[0].hasPrefix(zeroed.blob.hex), quarantined[0])
        XCTAssertEqual(try store.blobs.read(intact.blob, verify: true).count, intact.bytes)
    }

    func testRecoverOnACleanStoreDoesNothing() throws {
        let store = try makeStore()
        try store.index.upsert(sampleClip())
        XCTAssertEqual(try BlobSyncQueue(blobs: store.blobs, index: store.index).recover(), BlobSyncQueue.Recovery())
    }

    /// One blob that cannot be moved aside must not keep a store from opening: its row goes
    /// (the clip is made again) and recovery carries on.
    func testRecoverCarriesOnWhenADamagedBlobCannotBeQuarantined() throws {
        let store = try makeStore()
        let damaged = try storeDeferred(store, seed: 9)
        let intact = try storeDeferred(store, seed: 10)
        let path = store.blobs.path(for: damaged.blob)
        chmod(path, 0o644)
        try Data(count: damaged.bytes).write(to: URL(fileURLWithPath: path))
        // A file where the quarantine folder should be: moving anything there fails.
        XCTAssertTrue(FileManager.default.createFile(atPath: store.blobs.layout.quarantineURL.path, contents: Data("x".utf8)))

        let recovery = try BlobSyncQueue(blobs: store.blobs, index: store.index).recover()

        XCTAssertEqual(recovery.dropped, [damaged.key])
        XCTAssertEqual(recovery.kept, 1)
        XCTAssertNil(try store.index.clip(for: damaged.key))
        XCTAssertEqual(try store.index.clip(for: intact.key), intact)
        XCTAssertEqual(try store.index.clipsWithBlobNotDurable(), [])
    }
}

