import Foundation
import Glibc
import XCTest
import TTSCore
import TTSStore
@testable import TTSService

/// File surgery for maintenance tests: damage, age and inspect a store's files.
enum StoreSurgery {
    /// Flips one byte in the middle of a file, keeping its size (blobs are read-only: as
    /// their owner the test makes it writable first).
    static func flipByte(in url: URL, at offset: Int? = nil) throws {
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: url.path)
        let handle = try FileHandle(forUpdating: url)
        defer { try? handle.close() }
        let size = Int(try handle.seekToEnd())
        let position = UInt64(offset ?? size / 2)
        try handle.seek(toOffset: position)
        let byte = try XCTUnwrap(try handle.read(upToCount: 1)).first!
        try handle.seek(toOffset: position)
        try handle.write(contentsOf: Data([byte ^ 0xFF]))
    }

    static func truncate(_ url: URL, by count: Int) throws {
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: url.path)
        let size = try XCTUnwrap(try FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int)
        XCTAssertEqual(Glibc.truncate(url.path, off_t(size - count)), 0)
    }

    /// Sets a file's modification time `seconds` in the past.
    static func age(_ url: URL, by seconds: TimeInterval) throws {
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-seconds)], ofItemAtPath: url.path)
    }

    static func write(_ text: String, to url: URL) throws {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
    }
}

/// A short tone followed by the text's bytes as samples: distinct texts, distinct WAVs.
func distinctWAV(_ text: String) -> Data {
    var pcm = (try? WAVAudio.decode(ToneEngine.tone(for: "base")).pcm) ?? Data()
    var bytes = Array(text.utf8)
    if bytes.count % 2 == 1 { bytes.append(0) }
    pcm.append(contentsOf: bytes)
    return WAVAudio(format: PCMFormat(sampleRate: 16000), pcm: pcm).encoded()
}

/// A service over a fresh store whose engine answers every text with the same audio, so two
/// requests share one blob.
func sameAudioFixture(budget: CacheBudget = CacheBudget()) throws -> (ServiceFixture, SpeechService) {
    let fixture = try ServiceFixture()
    fixture.tone.answer = { _ in ToneEngine.tone(for: "always the same") }
    return (fixture, fixture.service)
}

extension ServiceFixture {
    /// A fixture whose engine gives distinct texts distinct audio, always. `ToneEngine`'s pitch
    /// comes from `String.hashValue`, seeded per process, so two texts share a tone (and a
    /// blob) about once in 600 runs; these tests count blobs and must not depend on that.
    static func distinct(shared: SharedTier = .off) throws -> ServiceFixture {
        let fixture = try ServiceFixture(shared: shared)
        fixture.tone.answer = { request in distinctWAV(request.text) }
        return fixture
    }

    /// The same store and engines with another budget.
    func service(budget: CacheBudget) -> SpeechService {
        SpeechService(engines: service.engines, index: service.local.index, blobs: service.local.blobs, budget: budget)
    }

    @discardableResult
    func say(_ text: String, on service: SpeechService? = nil) async throws -> Generation {
        try await (service ?? self.service).generateOrFetch(request(text))
    }
}
