import Foundation
import TTSConcurrency
import TTSCore
import TTSEngines
import TTSService
import TTSStore

/// The console's backend over a running `Runtime`: the same operations as the REPL's `pin`,
/// `unpin`, `rm` and `stats`, through the same service types (`ClipRemover`,
/// `StoreStatistics`, `verifiedAudio`).
///
/// The reads and writes of the local tier's index go through `local` below, in one place.
/// Each runs off the cooperative pool: an index write may wait out another process's lock.
///
/// ```swift
/// let console = ConsoleRoutes(backend: ServiceCuratorBackend(runtime: runtime))
/// ```
public struct ServiceCuratorBackend: CuratorBackend {
    public let runtime: Runtime
    private var service: SpeechService { runtime.service }

    public init(runtime: Runtime) { self.runtime = runtime }

    public func clip(for key: RequestKey) async throws -> CuratedClip? {
        try await local { index, _ in
            guard let clip = try index.clip(for: key) else { return nil }
            return CuratedClip(clip: clip, pinned: try index.isPinned(key))
        }
    }

    public func pinned(among keys: [RequestKey]) async throws -> Set<RequestKey> {
        try await local { index, _ in Set(try keys.filter { try index.isPinned($0) }) }
    }

    public func setPinned(_ key: RequestKey, _ pinned: Bool) async throws -> Bool {
        let changed = try await local { index, _ in try index.setPinned(key, pinned) }
        if changed {
            let name = pinned ? "pin" : "unpin"
            runtime.logger.info(name, [("operation", .string(name)), ("key", .string(key.hex)), ("outcome", "ok"), ("face", "console")])
        }
        return changed
    }

    public func remove(_ key: RequestKey) async throws -> Bool {
        let report = try await ClipRemover(service: service).remove([key], dryRun: false)
        runtime.logger.info("rm", [("operation", "rm"), ("key", .string(key.hex)), ("clips", .int(report.clips.count)),
                                   ("redis_removed", report.sharedRemoved.map { .int($0) } ?? .null), ("face", "console")])
        return !report.clips.isEmpty
    }

    public func regenerate(_ key: RequestKey) async throws -> Regenerated? {
        guard let old = try await clip(for: key) else { return nil }
        let clip = old.clip
        let request = AudioRequest(text: clip.text, voice: clip.voice, language: clip.language, engine: clip.engine,
                                   model: clip.model, style: clip.style)
        // Checked before anything is removed: a dialogue clip names its speakers only in its key,
        // so its row cannot ask for it again.
        guard RequestKey(request) == key else {
            throw TTSError.validation("key", "clip \(key.short) ('\(clip.text.prefix(40))') was made from a dialogue with named speakers and cannot be asked for again from the console: ask for it again with the same speakers")
        }
        _ = try await ClipRemover(service: service).remove([key], dryRun: false)
        let generation = try await service.generateOrFetch(request)
        if old.pinned { _ = try await setPinned(generation.clip.key, true) }
        runtime.logger.info("regenerate", [("operation", "regenerate"), ("key", .string(key.hex)), ("tier", .string(generation.tier.rawValue)),
                                           ("old_blob", .string(clip.blob.hex)), ("blob", .string(generation.clip.blob.hex)), ("face", "console")])
        return Regenerated(clip: CuratedClip(clip: generation.clip, pinned: old.pinned), tier: generation.tier.rawValue)
    }

    public func audio(of clip: Clip) async throws -> Data {
        try await local { _, service in try service.local.verifiedAudio(of: clip) }
    }

    public func statistics() async throws -> JSONValue {
        let live = runtime.live.current
        let figures = try await StoreStatistics.gather(service: service, pricePerCall: live.pricePerCall,
                                                       pricePerAudioSecond: live.pricePerAudioSecond)
        guard case .object(var fields) = figures.json(store: runtime.layout.root.path) else { return .null }
        fields.append(("budget", .object([("max_bytes", live.cacheMaxBytes.map { .int($0) } ?? .null),
                                          ("bytes", .int(figures.usage.bytes))])))
        fields.append(("health", await health()))
        return .object(fields)
    }

    public func voices(engine: String?) async throws -> VoiceList {
        let defaults = requestDefaults
        let name = engine ?? defaults.engine
        let voices = try await service.engines.engine(named: name).voices()
        return VoiceList(engine: name, engines: service.engines.names, defaults: defaults, voices: voices)
    }

    /// The configured engine, voice and language, as `serve` fills open request fields.
    private var requestDefaults: RequestDefaults {
        let c = runtime.live.current
        return RequestDefaults(engine: c.engine, model: c.engine == "gemini" ? c.geminiModel : "", voice: c.voice, language: c.language)
    }

    /// What the dashboard polls every few seconds: whether Redis is reachable and each engine
    /// usable, without `health`'s costlier checks (quick_check reads the whole index).
    private func health() async -> JSONValue {
        let redis: JSONValue
        switch service.sharedTierStatus {
        case .off:
            redis = .object([("enabled", false), ("reachable", false), ("server", .null)])
        case .unreachable(let server):
            redis = .object([("enabled", true), ("reachable", false), ("server", .string(server))])
        case .reachable(let server):
            redis = .object([("enabled", true), ("reachable", true), ("server", .string(server))])
        }
        var engines: [JSONValue] = []
        for name in service.engines.names {
            do {
                let count = try await service.engines.engine(named: name).voices().count
                engines.append(.object([("engine", .string(name)), ("ready", true), ("detail", .string("\(count) voices"))]))
            } catch {
                engines.append(.object([("engine", .string(name)), ("ready", false), ("detail", .string(TTSError.message(of: error)))]))
            }
        }
        return .object([("redis", redis), ("engines", .array(engines))])
    }

    /// The one door to the local tier's parts, run off the cooperative pool.
    private func local<T: Sendable>(_ body: @escaping @Sendable (ClipIndex, SpeechService) throws -> T) async throws -> T {
        let service = self.service
        return try await Blocking.run { try body(service.local.index, service) }
    }
}
