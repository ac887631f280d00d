import Foundation
import XCTest
import TTSCore
import TTSEngines
import TTSStore
import TestSupport
@testable import TTSService

/// An engine for tests that must count or shape engine calls: a tone whose pitch follows the
/// text, optional latency, optional broken answers. Real espeak is used where counting is not
/// the point.
final class ToneEngine: SpeechEngine, @unchecked Sendable {
    let name = "tone"
    let defaultModel = "tone-1"
    private let lock = NSLock()
    private var _calls = 0
    private var _resolves = 0
    var latency: Duration = .zero
    var answer: (@Sendable (AudioRequest) -> Data)?

    var calls: Int { lock.withLock { _calls } }
    /// Requests prepared (validated and resolved) so far.
    var resolves: Int { lock.withLock { _resolves } }

    func voices() async throws -> [VoiceInfo] { [VoiceInfo(name: "a"), VoiceInfo(name: "b")] }

    /// Whether `resolveAtOnce` answers (as espeak's does once its voice list is loaded) or
    /// says nil (as before it is).
    var resolvesAtOnce = false

    func resolveAtOnce(_ request: AudioRequest) throws -> AudioRequest? {
        resolvesAtOnce ? try resolveNow(request) : nil
    }

    func resolve(_ request: AudioRequest) async throws -> AudioRequest {
        try resolveNow(request)
    }

    private func resolveNow(_ request: AudioRequest) throws -> AudioRequest {
        lock.withLock { _resolves += 1 }
        var r = request
        if r.voice.isEmpty { r.voice = "a" }
        if r.model.isEmpty { r.model = defaultModel }
        guard ["a", "b"].contains(r.voice) else { throw TTSError.validation("voice", "unknown voice \(r.voice)") }
        return r
    }

    func synthesize(_ request: AudioRequest) async throws -> Data {
        lock.withLock { _calls += 1 }
        if latency > .zero { try await Task.sleep(for: latency) }
        try Task.checkCancellation()
        if let answer { return answer(request) }
        return ToneEngine.tone(for: request.text)
    }

    static func tone(for text: String, sampleRate: Int = 16000) -> Data {
        // A stable pitch per text (String.hashValue is seeded per process, and two texts could
        // collide within a run): the first two bytes of the text's SHA-256.
        let digest = SHA256.hash(text).bytes
        let frequency = 200.0 + Double((Int(digest[0]) << 8 | Int(digest[1])) % 4000) / 4.0
        var pcm = Data()
        for i in 0..<(sampleRate / 10) {
            let sample = Int16(8000 * sin(2 * Double.pi * frequency * Double(i) / Double(sampleRate)))
            pcm.append(UInt8(truncatingIfNeeded: sample)); pcm.append(UInt8(truncatingIfNeeded: sample >> 8))
        }
        return WAVAudio(format: PCMFormat(sampleRate: sampleRate), pcm: pcm).encoded()
    }
}

struct ServiceFixture {
    let root: URL
    let layout: StoreLayout
    let service: SpeechService
    let tone: ToneEngine
    /// The store's folder goes when the last copy of this fixture does.
    private let removal: FolderRemoval

    init(maxText: Int = 5000, shared: SharedTier = .off, locking: SpeechService.LockPolicy = .init(),
         blobSyncDelay: Duration = .milliseconds(200), extraEngines: [any SpeechEngine] = []) throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("tts-service-\(UUID().uuidString)")
        layout = StoreLayout(root: root)
        removal = FolderRemoval(root)
        tone = ToneEngine()
        var engines = EngineRegistry()
        engines.register(tone)
        engines.register(EspeakEngine())
        for engine in extraEngines { engines.register(engine) }
        service = SpeechService(engines: engines, index: try ClipIndex(url: layout.indexURL),
                                blobs: try BlobStore(layout: layout), shared: shared, maxTextCharacters: maxText,
                                locking: locking, blobSyncDelay: blobSyncDelay)
    }

    func request(_ text: String, engine: String = "tone", voice: String = "", language: String = "") -> AudioRequest {
        AudioRequest(text: text, voice: voice, language: language, engine: engine, model: "")
    }

    /// Every file under the store, for "nothing changed" assertions.
    func files() -> [String] {
        (FileManager.default.enumerator(atPath: root.path)?.compactMap { $0 as? String } ?? [])
            .filter { $0.hasSuffix(".wav") }.sorted()
    }
}
