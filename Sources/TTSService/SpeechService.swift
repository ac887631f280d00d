import Foundation
import TTSCore
import TTSEngines
import TTSStore

/// Which tier answered a request.
public enum Tier: String, Sendable, Codable {
    case local, redis, engine
}

/// The answer to one request: the clip, where its WAV file is, which tier served it and how
/// long that took (including any wait for another caller's generation of the same key).
public struct Generation: Sendable {
    public let clip: Clip
    public let tier: Tier
    public let path: URL
    public let elapsedMs: Double
}

/// Generate-or-fetch: the data path of DESIGN.md.
///
/// validate → normalize → resolve the voice → key → local tier → engine → validate the audio →
/// blob store → index. Only a miss calls the engine, and concurrent identical requests in this
/// process share one engine call.
///
/// ```swift
/// let service = SpeechService(engines: registry, index: index, blobs: blobs, logger: logger)
/// let result = try await service.generateOrFetch(AudioRequest(text: "Hello", engine: "espeak", model: ""))
/// result.tier   // .engine the first time, .local after
/// ```
public final class SpeechService: Sendable {
    public let engines: EngineRegistry
    public let index: ClipIndex
    public let blobs: BlobStore
    public let logger: Logger
    public let maxTextCharacters: Int
    private let flights = SingleFlight<RequestKey, Generation>()

    public init(engines: EngineRegistry, index: ClipIndex, blobs: BlobStore, logger: Logger = .disabled,
                maxTextCharacters: Int = 5000) {
        self.engines = engines
        self.index = index
        self.blobs = blobs
        self.logger = logger
        self.maxTextCharacters = maxTextCharacters
    }

    /// Validates and normalizes the request, then lets its engine fill in the voice and model.
    /// The result is what gets keyed.
    public func prepare(_ request: AudioRequest) async throws -> AudioRequest {
        let normalized = try request.normalized(maxTextCharacters: maxTextCharacters)
        let engine = try engines.engine(named: normalized.engine)
        return try await engine.resolve(normalized)
    }

    public func generateOrFetch(_ request: AudioRequest) async throws -> Generation {
        let started = ContinuousClock.now
        let resolved = try await prepare(request)
        let key = RequestKey(resolved)
        if let clip = try localClip(for: key) {
            index.recordHit(key, at: Date())
            return finish(clip, tier: .local, started: started)
        }
        let generated = try await flights.run(key) { [self] in
            // Another caller may have stored it between our look-up and this flight.
            if let clip = try localClip(for: key) {
                return Generation(clip: clip, tier: .local, path: blobs.url(for: clip.blob), elapsedMs: 0)
            }
            return try await generate(resolved, key: key)
        }
        return finish(generated.clip, tier: generated.tier, started: started)
    }

    /// A clip counts as present only when its row and its blob file both exist: a row whose
    /// blob vanished is a miss, and the regeneration repairs it.
    public func localClip(for key: RequestKey) throws -> Clip? {
        guard let clip = try index.clip(for: key) else { return nil }
        guard blobs.contains(clip.blob) else {
            logger.warn("blob-missing", [("key", .string(key.hex)), ("blob", .string(clip.blob.hex))])
            return nil
        }
        return clip
    }

    private func generate(_ request: AudioRequest, key: RequestKey) async throws -> Generation {
        let engine = try engines.engine(named: request.engine)
        let started = ContinuousClock.now
        let wav: Data
        do {
            wav = try await engine.synthesize(request)
        } catch {
            logger.error("generate", [("key", .string(key.hex)), ("engine", .string(request.engine)),
                                      ("outcome", .string("error")), ("error", .string(String(describing: error)))])
            throw error
        }
        // The engine's answer is validated before anything is stored: a cache must never keep
        // a clip it cannot play.
        let audio = try WAVAudio.decode(wav)
        guard audio.frameCount > 0 else {
            throw TTSError(.content, "\(request.engine) returned a WAV file with no samples for '\(excerpt(request.text))'")
        }
        let blob = try blobs.put(wav)
        let clip = Clip(key: key, blob: blob, request: request, bytes: wav.count,
                        durationMs: audio.durationMs, sampleRate: audio.format.sampleRate)
        try index.upsert(clip)
        logger.info("generate", [("key", .string(key.hex)), ("engine", .string(request.engine)),
                                 ("model", .string(request.model)), ("voice", .string(request.voice)),
                                 ("tier", "engine"), ("bytes", .int(wav.count)),
                                 ("audio_ms", .int(audio.durationMs)),
                                 ("ms", .double(started.duration(to: .now).milliseconds)), ("outcome", "stored")])
        return Generation(clip: clip, tier: .engine, path: blobs.url(for: blob), elapsedMs: 0)
    }

    private func finish(_ clip: Clip, tier: Tier, started: ContinuousClock.Instant) -> Generation {
        let elapsed = started.duration(to: .now).milliseconds
        if tier == .local {
            logger.debug("fetch", [("key", .string(clip.key.hex)), ("tier", .string(tier.rawValue)), ("ms", .double(elapsed))])
        }
        return Generation(clip: clip, tier: tier, path: blobs.url(for: clip.blob), elapsedMs: elapsed)
    }
}

func excerpt(_ text: String, limit: Int = 40) -> String {
    text.count <= limit ? text : String(text.prefix(limit - 1)) + "…"
}

extension Duration {
    var milliseconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) * 1000 + Double(attoseconds) / 1e15
    }
}
