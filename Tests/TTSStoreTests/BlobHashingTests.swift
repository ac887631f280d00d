import Foundation
import TTSCore
import XCTest
@testable import TTSStore

/// The store hashes blobs with the CPU's SHA-256 instructions when it has them: both paths
/// must give exactly TTSCore's portable digest (FIPS vectors, every length across block
/// edges, `sha256sum`).
final class BlobHashingTests: XCTestCase {
    private static let vectors: [(Data, String)] = [
        (Data(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        (Data("abc".utf8), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        (Data("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8),
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
        (Data("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu".utf8),
         "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"),
        (Data(repeating: UInt8(ascii: "a"), count: 1_000_000),
         "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"),
    ]

    private func hardware() throws -> SHA256.BlockFunction {
        guard let function = SHA256.hardwareBlockFunction else {
            throw XCTSkip("this CPU has no SHA-256 instructions (x86 SHA-NI); the portable path is the one in use")
        }
        return function
    }

    func testHardwareBlockFunctionMatchesTheFIPSVectors() throws {
        let function = try hardware()
        for (message, expected) in Self.vectors {
            XCTAssertEqual(SHA256.hash(message, blockFunction: function).hex, expected, "\(message.count) bytes")
        }
    }

    func testStoreHashMatchesTheFIPSVectorsOnWhicheverPathThisCPUTakes() {
        for (message, expected) in Self.vectors {
            XCTAssertEqual(BlobHash(of: message).hex, expected, "\(message.count) bytes")
        }
    }

    func testHardwareAndPortableAgreeOnEveryLengthUpTo300AndOnSplitUpdates() throws {
        let function = try hardware()
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<(300 + 4096)).map { _ in UInt8.random(in: 0...255, using: &generator) }
        for length in 0...300 {
            let message = Data(bytes[0..<length])
            XCTAssertEqual(SHA256.hash(message, blockFunction: function), SHA256.hash(message, blockFunction: nil), "length \(length)")
        }
        // Chunks that straddle block edges go through the buffer, then the block function.
        let message = Data(bytes)
        for split in [1, 63, 64, 65, 127, 1000] {
            var hasher = SHA256(blockFunction: function)
            var offset = 0
            while offset < message.count {
                let end = min(offset + split, message.count)
                hasher.update(message[offset..<end])
                offset = end
            }
            XCTAssertEqual(hasher.finalize(), SHA256.hash(message), "chunks of \(split)")
        }
    }

    func testStoreHashMatchesSystemSha256sum() throws {
        let folder = try makeTemporaryFolder(self)
        var generator = SystemRandomNumberGenerator()
        var expected: [String: String] = [:]
        for length in [0, 55, 56, 64, 100, 88_244, 1_048_577] {
            let data = Data((0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) })
            let name = "in-\(length).bin"
            try data.write(to: folder.appendingPathComponent(name))
            expected[name] = BlobHash(of: data).hex
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        process.arguments = expected.keys.sorted()
        process.currentDirectoryURL = folder
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        var seen = 0
        for line in output.split(separator: "\n") {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            XCTAssertEqual(parts.count, 2, String(line))
            XCTAssertEqual(expected[String(parts[1])], String(parts[0]), String(line))
            seen += 1
        }
        XCTAssertEqual(seen, expected.count)
    }

    func testPutIfHashIsStoresMatchingBytes() throws {
        let store = try BlobStore(layout: StoreLayout(root: try makeTemporaryFolder(self).appendingPathComponent("store")))
        let wav = sampleWAV(seed: 11)
        XCTAssertTrue(try store.put(wav, ifHashIs: BlobHash(of: wav)))
        XCTAssertEqual(try store.read(BlobHash(of: wav), verify: true), wav)
    }

    func testPutIfHashIsRefusesBytesOfAnotherHashAndWritesNothing() throws {
        let store = try BlobStore(layout: StoreLayout(root: try makeTemporaryFolder(self).appendingPathComponent("store")))
        let wav = sampleWAV(seed: 12)
        var damaged = wav
        damaged[damaged.startIndex + 50] ^= 0x01
        XCTAssertFalse(try store.put(damaged, ifHashIs: BlobHash(of: wav)))
        XCTAssertFalse(store.contains(BlobHash(of: wav)))
        XCTAssertFalse(store.contains(BlobHash(of: damaged)))
        XCTAssertEqual(try store.allBlobHashes(), [])
        XCTAssertEqual(try store.strayTempFiles(), [])
    }

    func testDeferredPutNamesTheBlobWithItsBytes() throws {
        let store = try BlobStore(layout: StoreLayout(root: try makeTemporaryFolder(self).appendingPathComponent("store")))
        let wav = sampleWAV(seed: 13)
        XCTAssertTrue(try store.put(wav, ifHashIs: BlobHash(of: wav), durability: .deferred))
        XCTAssertEqual(try store.read(BlobHash(of: wav), verify: true), wav)
        XCTAssertEqual(try store.strayTempFiles(), [])
        let flushed = try store.flushToDisk(BlobHash(of: wav))
        XCTAssertNotNil(flushed)
        XCTAssertEqual(flushed, store.fileIdentity(of: BlobHash(of: wav)))
    }

    func testFlushingAMissingBlobSaysSoWithoutFailing() throws {
        let store = try BlobStore(layout: StoreLayout(root: try makeTemporaryFolder(self).appendingPathComponent("store")))
        XCTAssertNil(try store.flushToDisk(BlobHash(of: sampleWAV(seed: 14))))
    }

    /// A crash can leave a blob name on bytes that never reached the disk (zeros) with no row
    /// pointing at it; the next put of those bytes must not take the file on trust.
    func testPutsReplaceADamagedFileAlreadyUnderTheBlobsName() throws {
        for deferred in [false, true] {
            let store = try BlobStore(layout: StoreLayout(root: try makeTemporaryFolder(self).appendingPathComponent("store")))
            let wav = sampleWAV(seed: 15)
            let hash = BlobHash(of: wav)
            try FileManager.default.createDirectory(at: store.layout.shardURL(hash), withIntermediateDirectories: true)
            XCTAssertTrue(FileManager.default.createFile(atPath: store.path(for: hash), contents: Data(count: wav.count)))
            if deferred {
                XCTAssertTrue(try store.put(wav, ifHashIs: hash, durability: .deferred))
            } else {
                XCTAssertEqual(try store.put(wav), hash)
            }
            XCTAssertEqual(try store.read(hash, verify: true), wav, "deferred: \(deferred)")
            XCTAssertEqual(try store.strayTempFiles(), [])
        }
    }

    func testPutKeepsAnIntactFileAlreadyUnderTheBlobsName() throws {
        let store = try BlobStore(layout: StoreLayout(root: try makeTemporaryFolder(self).appendingPathComponent("store")))
        let wav = sampleWAV(seed: 16)
        let hash = try store.put(wav)
        let path = store.path(for: hash)
        var before = stat()
        XCTAssertEqual(stat(path, &before), 0)
        XCTAssertTrue(try store.put(wav, ifHashIs: hash, durability: .deferred))
        XCTAssertEqual(try store.put(wav), hash)
        var after = stat()
        XCTAssertEqual(stat(path, &after), 0)
        XCTAssertEqual(after.st_ino, before.st_ino, "an intact blob is kept, not rewritten")
        XCTAssertEqual(try store.strayTempFiles(), [], "the deferred put's own copy is gone")
    }

    func testAdoptTakesOnlyAnIntactFile() throws {
        let store = try BlobStore(layout: StoreLayout(root: try makeTemporaryFolder(self).appendingPathComponent("store")))
        let wav = sampleWAV(seed: 23)
        let hash = BlobHash(of: wav)
        XCTAssertFalse(try store.adopt(hash), "missing")
        try FileManager.default.createDirectory(at: store.layout.shardURL(hash), withIntermediateDirectories: true)
        XCTAssertTrue(FileManager.default.createFile(atPath: store.path(for: hash), contents: Data(count: wav.count)))
        XCTAssertFalse(try store.adopt(hash), "zeros of the right size")
        XCTAssertEqual(try store.put(wav), hash)
        XCTAssertTrue(try store.adopt(hash))
    }
}

