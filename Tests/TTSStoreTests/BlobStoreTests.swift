import Foundation
import TTSCore
import Synchronization
import XCTest
@testable import TTSStore

final class BlobStoreTests: XCTestCase {
    private func makeStore() throws -> BlobStore {
        try BlobStore(layout: StoreLayout(root: try makeTemporaryFolder(self).appendingPathComponent("store")))
    }

    func testInitCreatesTheFolders() throws {
        let store = try makeStore()
        var isFolder: ObjCBool = false
        for folder in [store.layout.root, store.layout.blobsURL, store.layout.tmpURL] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: folder.path, isDirectory: &isFolder), folder.path)
            XCTAssertTrue(isFolder.boolValue)
        }
    }

    func testPutThenReadReturnsTheSameBytes() throws {
        let store = try makeStore()
        let wav = sampleWAV(seed: 7)
        let hash = try store.put(wav)
        XCTAssertEqual(hash, BlobHash(of: wav))
        XCTAssertTrue(store.contains(hash))
        XCTAssertEqual(try store.read(hash, verify: true), wav)
        XCTAssertEqual(try store.read(hash, verify: false), wav)
    }

    func testEmptyBlobRoundTrips() throws {
        let store = try makeStore()
        let hash = try store.put(Data())
        XCTAssertEqual(try store.read(hash, verify: true), Data())
    }

    func testPuttingTheSameBytesTwiceKeepsOneFile() throws {
        let store = try makeStore()
        let wav = sampleWAV(seed: 3)
        let first = try store.put(wav)
        let second = try store.put(wav)
        XCTAssertEqual(first, second)
        XCTAssertEqual(try store.allBlobHashes(), [first])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: store.layout.shardURL(first).path), [first.hex + ".wav"])
    }

    func testBlobPathsFromTheKeptPrefixEqualTheLayoutsPaths() throws {
        // A root with a space and non-ASCII letters: URL.path decodes, the kept prefix must match.
        let root = try makeTemporaryFolder(self).appendingPathComponent("my st\u{F6}re")
        let store = try BlobStore(layout: StoreLayout(root: root))
        for seed in 0..<20 {
            let hash = BlobHash(of: Data("blob \(seed)".utf8))
            XCTAssertEqual(store.path(for: hash), store.layout.blobPath(hash))
            XCTAssertEqual(store.url(for: hash), store.layout.blobURL(hash))
            XCTAssertEqual(store.url(for: hash).path, store.layout.blobURL(hash).path)
        }
    }

    /// The hit's `stat` goes through the held `blobs/` folder; a folder replaced under the
    /// store is noticed and the new one used, and what stays in the old one is not found.
    func testABlobsFolderReplacedUnderTheStoreIsFollowed() throws {
        let store = try makeStore()
        let old = sampleWAV(seed: 11), new = sampleWAV(seed: 12)
        let oldHash = try store.put(old)
        XCTAssertEqual(store.file(of: oldHash)?.size, old.count)
        let blobs = store.layout.blobsURL
        let aside = blobs.deletingLastPathComponent().appendingPathComponent("blobs.aside")
        try FileManager.default.moveItem(at: blobs, to: aside)
        try FileManager.default.createDirectory(at: blobs, withIntermediateDirectories: true)
        // Only in the new folder: found by its full path, and the folder is opened again.
        let newHash = BlobHash(of: new)
        try FileManager.default.createDirectory(at: store.layout.shardURL(newHash), withIntermediateDirectories: true)
        try new.write(to: store.url(for: newHash))
        XCTAssertEqual(store.file(of: newHash)?.size, new.count)
        // Only in the folder moved aside: no longer found through the descriptor.
        XCTAssertNil(store.file(of: oldHash))
        XCTAssertFalse(store.contains(oldHash))
        XCTAssertTrue(store.contains(newHash))
    }

    func testPathsOutsideTheBlobsFolderAreStatedByTheirFullPath() throws {
        let store = try makeStore()
        let outside = store.layout.tmpURL.appendingPathComponent("x.wav")
        try sampleWAV(seed: 4).write(to: outside)
        XCTAssertEqual(store.folder.status(of: outside.path).map { Int($0.st_size) }, sampleWAV(seed: 4).count)
        XCTAssertNil(store.folder.status(of: store.layout.blobsURL.path + "/ab/cd/missing.wav"))
        // The folder's own path (nothing after the prefix) is not a blob inside it.
        XCTAssertNotNil(store.folder.status(of: store.layout.blobsURL.path + "/"))
    }

    func testBlobPathIsShardedByTheFirstTwoBytesOfTheHash() throws {
        let store = try makeStore()
        let hash = try store.put(sampleWAV(seed: 9))
        let hex = hash.hex
        let expected = store.layout.root.path + "/blobs/" + hex.prefix(2) + "/" + hex.dropFirst(2).prefix(2) + "/" + hex + ".wav"
        XCTAssertEqual(store.url(for: hash).path, expected)
        XCTAssertEqual(store.layout.blobURL(hash), store.url(for: hash))
        XCTAssertTrue(FileManager.default.fileExists(atPath: expected))
        XCTAssertEqual(store.layout.indexURL.path, store.layout.root.path + "/index.sqlite")
    }

    func testVerifiedReadDetectsAFlippedByte() throws {
        let store = try makeStore()
        let hash = try store.put(sampleWAV(seed: 5))
        let path = store.url(for: hash).path
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes[100] ^= 0x01
        XCTAssertEqual(chmod(path, 0o644), 0)
        try bytes.write(to: URL(fileURLWithPath: path))

        assertThrowsTTSError(.store, containing: ["corrupt", hash.hex]) { _ = try store.read(hash, verify: true) }
        XCTAssertEqual(try store.read(hash, verify: false), bytes, "an unverified read returns the bytes as they are")
    }

    func testReadingAMissingBlobIsAStoreError() throws {
        let store = try makeStore()
        let hash = BlobHash(of: sampleWAV(seed: 1))
        XCTAssertFalse(store.contains(hash))
        assertThrowsTTSError(.store, containing: ["missing", hash.hex]) { _ = try store.read(hash, verify: false) }
    }

    func testPutLeavesNoTemporaryFiles() throws {
        let store = try makeStore()
        for seed in 0..<5 { try store.put(sampleWAV(seed: UInt8(seed))) }
        XCTAssertEqual(try store.strayTempFiles(), [])
        XCTAssertEqual(try store.allBlobHashes().count, 5)
    }

    func testStrayTempFilesAreListed() throws {
        let store = try makeStore()
        let stray = store.layout.tmpURL.appendingPathComponent("abc.123.tmp")
        try Data("half".utf8).write(to: stray)
        XCTAssertEqual(try store.strayTempFiles().map(\.lastPathComponent), ["abc.123.tmp"])
    }

    func testConcurrentPutsOfTheSameBytesStoreOneIntactBlob() throws {
        let store = try makeStore()
        let wav = sampleWAV(seed: 42, frames: 20_000)
        let results = Mutex<[Result<BlobHash, Error>]>([])
        DispatchQueue.concurrentPerform(iterations: 16) { _ in
            let result = Result { try store.put(wav) }
            results.withLock { $0.append(result) }
        }
        let hashes = try results.withLock { try $0.map { try $0.get() } }
        XCTAssertEqual(hashes.count, 16)
        XCTAssertEqual(Set(hashes), [BlobHash(of: wav)])
        XCTAssertEqual(try store.allBlobHashes(), [BlobHash(of: wav)])
        XCTAssertEqual(try store.read(BlobHash(of: wav), verify: true), wav)
        XCTAssertEqual(try store.strayTempFiles(), [])
    }

    func testBlobFilesAreReadOnlyAndNotExecutable() throws {
        let store = try makeStore()
        let hash = try store.put(sampleWAV(seed: 11))
        let attributes = try FileManager.default.attributesOfItem(atPath: store.url(for: hash).path)
        let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue ?? -1
        XCTAssertEqual(mode & 0o400, 0o400, "owner can read")
        XCTAssertEqual(mode & 0o333, 0, "nobody may write or execute an immutable blob: mode \(String(mode, radix: 8))")
    }

    func testRemoveDeletesTheBlobAndToleratesAMissingOne() throws {
        let store = try makeStore()
        let hash = try store.put(sampleWAV(seed: 2))
        try store.remove(hash)
        XCTAssertFalse(store.contains(hash))
        XCTAssertNoThrow(try store.remove(hash))
        XCTAssertEqual(try store.allBlobHashes(), [])
    }

    func testAllBlobHashesIgnoresFilesThatAreNotBlobs() throws {
        let store = try makeStore()
        let hash = try store.put(sampleWAV(seed: 4))
        let shard = store.layout.shardURL(hash)
        let other = BlobHash(of: sampleWAV(seed: 99))
        try Data().write(to: shard.appendingPathComponent("notes.txt"))
        try Data().write(to: shard.appendingPathComponent(other.hex + ".wav"))  // wrong shard
        try FileManager.default.createDirectory(at: store.layout.blobsURL.appendingPathComponent("zz"), withIntermediateDirectories: true)
        XCTAssertEqual(try store.allBlobHashes(), [hash])
    }
}
