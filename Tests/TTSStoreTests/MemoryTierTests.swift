import Foundation
import TTSCore
import XCTest
@testable import TTSStore

final class MemoryTierTests: XCTestCase {
    private func blobFile(_ folder: URL, _ name: String, seed: UInt8) throws -> String {
        let url = folder.appendingPathComponent(name)
        try sampleWAV(seed: seed).write(to: url)
        return url.path
    }

    func testRememberedClipIsAnsweredWhileNothingChanged() throws {
        let folder = try makeTemporaryFolder(self)
        let memory = MemoryTier(capacity: 4, generation: StoreGeneration(url: folder.appendingPathComponent("generation")))
        let clip = sampleClip(text: "one")
        let path = try blobFile(folder, "a.wav", seed: 1)
        memory.remember(clip, path: path)
        XCTAssertEqual(memory.clip(for: clip.key)?.clip, clip)
        XCTAssertEqual(memory.clip(for: clip.key)?.path, path)
    }

    func testAFileSeenByTheCallerIsKeptWithoutASecondLook() throws {
        let folder = try makeTemporaryFolder(self)
        let memory = MemoryTier(capacity: 4, generation: StoreGeneration(url: folder.appendingPathComponent("generation")))
        let clip = sampleClip(text: "one")
        let path = try blobFile(folder, "a.wav", seed: 1)
        var info = stat()
        XCTAssertEqual(stat(path, &info), 0)
        // The caller's file names another inode than the one on disk now: the entry must not
        // answer, which shows the given file (not a fresh stat) was kept.
        memory.remember(clip,
                        file: BlobFile(path: path, inode: UInt64(info.st_ino) + 1, size: Int(info.st_size)))
        XCTAssertNil(memory.clip(for: clip.key))
        memory.remember(clip,
                        file: BlobFile(path: path, inode: UInt64(info.st_ino), size: Int(info.st_size)))
        XCTAssertEqual(memory.clip(for: clip.key)?.path, path)
    }

    func testAdvanceInAnotherMappingMakesEveryEntryStale() throws {
        let folder = try makeTemporaryFolder(self)
        let url = folder.appendingPathComponent("generation")
        let memory = MemoryTier(capacity: 4, generation: StoreGeneration(url: url))
        let clip = sampleClip(text: "one")
        memory.remember(clip, path: try blobFile(folder, "a.wav", seed: 1))
        // A second mapping of the same file stands for another process removing a clip.
        let otherProcess = StoreGeneration(url: url)
        XCTAssertTrue(otherProcess.isShared)
        otherProcess.advance()
        XCTAssertNil(memory.clip(for: clip.key))
        XCTAssertEqual(memory.count, 0, "a stale entry is dropped")
    }

    func testReplacedOrRemovedBlobFileIsAMiss() throws {
        let folder = try makeTemporaryFolder(self)
        let memory = MemoryTier(capacity: 4, generation: StoreGeneration(url: folder.appendingPathComponent("generation")))
        let first = sampleClip(text: "one"), second = sampleClip(text: "two")
        let firstPath = try blobFile(folder, "a.wav", seed: 1), secondPath = try blobFile(folder, "b.wav", seed: 2)
        memory.remember(first, path: firstPath)
        memory.remember(second, path: secondPath)
        // A new file renamed over the name (another inode), as a re-put after quarantine makes.
        let replacement = try blobFile(folder, "tmp.wav", seed: 1)
        XCTAssertEqual(rename(replacement, firstPath), 0)
        XCTAssertNil(memory.clip(for: first.key))
        try FileManager.default.removeItem(atPath: secondPath)
        XCTAssertNil(memory.clip(for: second.key))
    }

    func testLeastRecentlyUsedGoesFirst() throws {
        let folder = try makeTemporaryFolder(self)
        let memory = MemoryTier(capacity: 2, generation: StoreGeneration(url: folder.appendingPathComponent("generation")))
        let path = try blobFile(folder, "a.wav", seed: 1)
        let a = sampleClip(text: "a"), b = sampleClip(text: "b"), c = sampleClip(text: "c")
        memory.remember(a, path: path)
        memory.remember(b, path: path)
        XCTAssertNotNil(memory.clip(for: a.key))  // a is now the most recent
        memory.remember(c, path: path)             // so b goes
        XCTAssertNotNil(memory.clip(for: a.key))
        XCTAssertNil(memory.clip(for: b.key))
        XCTAssertNotNil(memory.clip(for: c.key))
        XCTAssertEqual(memory.count, 2)
    }

    func testEntryRememberedWithAnOlderGenerationIsNeverAnswered() throws {
        let folder = try makeTemporaryFolder(self)
        let generation = StoreGeneration(url: folder.appendingPathComponent("generation"))
        let memory = MemoryTier(capacity: 2, generation: generation)
        let clip = sampleClip(text: "raced")
        let seen = memory.currentGeneration   // read before the local look-up
        generation.advance()                  // a removal lands between look-up and remember
        memory.remember(clip, path: try blobFile(folder, "a.wav", seed: 1), generation: seen)
        XCTAssertNil(memory.clip(for: clip.key))
    }

    func testCapacityZeroKeepsNothing() throws {
        let folder = try makeTemporaryFolder(self)
        let memory = MemoryTier(capacity: 0, generation: StoreGeneration(url: folder.appendingPathComponent("generation")))
        let clip = sampleClip()
        memory.remember(clip, path: try blobFile(folder, "a.wav", seed: 1))
        XCTAssertFalse(memory.isEnabled)
        XCTAssertNil(memory.clip(for: clip.key))
    }
}
