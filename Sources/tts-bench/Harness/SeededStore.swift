import Foundation
import TTSCore
import TTSEngines
import TTSService
import TTSStore

/// A throwaway local store holding `count` cached espeak clips ("bench phrase 0" …), as if
/// each had been said once. Rows are written straight into the index (no synthesis) and point
/// at a few small shared blobs, so a million clips take seconds to build, not hours.
///
/// The keys are those the service computes for `say bench phrase N` with the default espeak
/// voice; `make` checks one against the service before trusting the rest.
///
/// ```swift
/// let store = try await SeededStore.make(at: folder, count: 1_000)
/// let service = store.service()
/// try await service.generateOrFetch(store.request(7))   // tier .local
/// ```
struct SeededStore: Sendable {
    let layout: StoreLayout
    let count: Int
    /// The resolved request that `say` sends for phrase 0 (engine, model, voice filled in).
    let template: AudioRequest

    static let blobCount = 64
    static let createdAt = Date(timeIntervalSince1970: 1_700_000_000)

    static func phrase(_ i: Int) -> String { "bench phrase \(i)" }

    /// The request as a person types it: `say bench phrase N`.
    func request(_ i: Int) -> AudioRequest {
        AudioRequest(text: SeededStore.phrase(i), engine: "espeak", model: "")
    }

    func key(_ i: Int) -> RequestKey {
        var resolved = template
        resolved.text = SeededStore.phrase(i)
        return RequestKey(resolved)
    }

    /// A service over this store with the espeak engine, as `tts-repl --redis off` builds it.
    func service(shared: SharedTier = .off) throws -> SpeechService {
        var engines = EngineRegistry()
        engines.register(EspeakEngine())
        return SpeechService(engines: engines, index: try ClipIndex(url: layout.indexURL),
                             blobs: try BlobStore(layout: layout), shared: shared)
    }

    /// The same with a memory tier of `memoryEntries`, as a long-lived process runs.
    func serviceWithMemory(_ memoryEntries: Int) throws -> SpeechService {
        var engines = EngineRegistry()
        engines.register(EspeakEngine())
        return SpeechService(engines: engines, local: try LocalTier(layout: layout), memoryEntries: memoryEntries)
    }

    /// Builds the store. Keys are sorted before insertion (batches of 10,000, one transaction
    /// each) so the primary-key B-tree is appended to rather than split at random.
    ///
    /// With `distinctAudio` every clip gets its own half-second blob (for export), written
    /// straight into the blob layout without fsync: set-up, not the thing measured.
    static func make(at root: URL, count: Int, distinctAudio: Bool = false,
                     report: (String) -> Void = { _ in }) async throws -> SeededStore {
        let layout = StoreLayout(root: root)
        let blobs = try BlobStore(layout: layout)
        let probe = SpeechService(engines: { var e = EngineRegistry(); e.register(EspeakEngine()); return e }(),
                                  index: try ClipIndex(url: layout.indexURL), blobs: blobs)
        let template = try await probe.prepare(AudioRequest(text: phrase(0), engine: "espeak", model: ""))
        let store = SeededStore(layout: layout, count: count, template: template)
        for i in [0, count / 2, count - 1] {
            let viaService = RequestKey(try await probe.prepare(store.request(i)))
            guard viaService == store.key(i) else {
                throw HarnessError("seeded key for phrase \(i) differs from the service's key: the seeding no longer matches `say`")
            }
        }
        probe.local.index.close()

        let audio = (0..<blobCount).map { smallWAV(variant: $0) }
        let hashes = try audio.map { try blobs.put($0) }
        var distinct: [(hash: BlobHash, bytes: Int)] = []
        if distinctAudio {
            distinct.reserveCapacity(count)
            for i in 0..<count { distinct.append(try writeBlobQuickly(distinctWAV(i), layout: layout)) }
        }

        // Sort by key without keeping a million strings: 32 bytes per key as four words.
        var order: [(UInt64, UInt64, UInt64, UInt64, Int32)] = []
        order.reserveCapacity(count)
        for i in 0..<count {
            let words = hexWords(store.key(i).hex)
            order.append((words.0, words.1, words.2, words.3, Int32(i)))
        }
        order.sort { ($0.0, $0.1, $0.2, $0.3) < ($1.0, $1.1, $1.2, $1.3) }

        let index = try ClipIndex(url: layout.indexURL)
        defer { index.close() }
        let batch = 10_000
        var start = 0
        while start < count {
            let clips = order[start..<min(start + batch, count)].map { entry -> Clip in
                let i = Int(entry.4)
                let key = RequestKey(hex: hex(entry.0, entry.1, entry.2, entry.3))!
                var request = template
                request.text = phrase(i)
                if distinctAudio {
                    return Clip(key: key, blob: distinct[i].hash, request: request, bytes: distinct[i].bytes,
                                durationMs: 500, sampleRate: 22_050, createdAt: createdAt)
                }
                let variant = i % blobCount
                return Clip(key: key, blob: hashes[variant], request: request, bytes: audio[variant].count,
                            durationMs: 100, sampleRate: 22_050, createdAt: createdAt)
            }
            try index.upsert(clips)
            start += batch
            if start % 200_000 == 0 { report("indexed \(start) of \(count) clips") }
        }
        return store
    }

    /// Bytes of the index per clip (after close, when the WAL is checkpointed into the file).
    func indexBytesPerClip() -> Double {
        let files = [layout.indexURL.path, layout.indexURL.path + "-wal"]
        let bytes = files.compactMap { try? FileManager.default.attributesOfItem(atPath: $0)[.size] as? Int }.reduce(0, +)
        return Double(bytes) / Double(count)
    }

    /// Half a second of 22,050 Hz PCM whose samples depend on `i`: a distinct blob per clip.
    static func distinctWAV(_ i: Int) -> Data {
        var pcm = [Int16](repeating: 0, count: 11_025)
        for k in pcm.indices { pcm[k] = Int16(truncatingIfNeeded: k &* 31 &+ i &* 7_919) }
        return WAVAudio(format: PCMFormat(sampleRate: 22_050), pcm: pcm.withUnsafeBufferPointer { Data(buffer: $0) }).encoded()
    }

    /// Writes a blob where the store keeps it (read-only, like the store's), without fsync.
    private static func writeBlobQuickly(_ wav: Data, layout: StoreLayout) throws -> (hash: BlobHash, bytes: Int) {
        let hash = BlobHash(of: wav)
        try FileManager.default.createDirectory(at: layout.shardURL(hash), withIntermediateDirectories: true)
        let path = layout.blobURL(hash).path
        guard FileManager.default.createFile(atPath: path, contents: wav, attributes: [.posixPermissions: 0o444]) else {
            throw HarnessError("cannot write the blob \(path)")
        }
        return (hash, wav.count)
    }

    /// 0.1 s of a tone at 22,050 Hz; `variant` changes the pitch so each blob is distinct.
    static func smallWAV(variant: Int) -> Data {
        toneWAV(seconds: 0.1, frequency: 220 + Double(variant) * 7)
    }

    static func toneWAV(seconds: Double, frequency: Double, sampleRate: Int = 22_050) -> Data {
        let frames = Int(seconds * Double(sampleRate))
        var pcm = Data(capacity: frames * 2)
        for i in 0..<frames {
            let sample = Int16(8000 * sin(2 * Double.pi * frequency * Double(i) / Double(sampleRate)))
            pcm.append(UInt8(truncatingIfNeeded: sample))
            pcm.append(UInt8(truncatingIfNeeded: sample >> 8))
        }
        return WAVAudio(format: PCMFormat(sampleRate: sampleRate), pcm: pcm).encoded()
    }

    private static func hex(_ a: UInt64, _ b: UInt64, _ c: UInt64, _ d: UInt64) -> String {
        [a, b, c, d].map { word in
            let digits = String(word, radix: 16)
            return String(repeating: "0", count: 16 - digits.count) + digits
        }.joined()
    }

    private static func hexWords(_ hex: String) -> (UInt64, UInt64, UInt64, UInt64) {
        let bytes = Array(hex.utf8)
        func word(_ n: Int) -> UInt64 {
            UInt64(String(decoding: bytes[(n * 16)..<(n * 16 + 16)], as: UTF8.self), radix: 16)!
        }
        return (word(0), word(1), word(2), word(3))
    }
}
