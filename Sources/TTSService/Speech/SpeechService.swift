import Foundation
import Synchronization
import TTSConcurrency
import TTSCore
import TTSEngines
import TTSStore

/// Which tier answered a request.
public enum Tier: String, Sendable, Codable, CaseIterable {
    /// This process's memory tier (long-lived processes: a REPL session, `serve`, a worker).
    case memory
    case local, redis, engine
}

/// The answer to one request: the clip, where its WAV file is, which tier served it and how
/// long that took (including any wait for another caller's generation of the same key).
public struct Generation: Sendable {
    public let clip: Clip
    public let tier: Tier
    /// The WAV file's path. Kept as a string: most callers hand it to a system call or print
    /// it, and building a file URL (percent-encoding the path) costs about as much as a
    /// memory-tier hit's `stat`.
    public let filePath: String
    public let elapsedMs: Double

    /// The WAV file, as a URL (built on each use).
    public var path: URL { URL(fileURLWithPath: filePath, isDirectory: false) }

    /// Public so faces and their tests can stand in for the service (a `SpeechBackend` double).
    public init(clip: Clip, tier: Tier, path: URL, elapsedMs: Double) {
        self.init(clip: clip, tier: tier, filePath: path.path, elapsedMs: elapsedMs)
    }

    public init(clip: Clip, tier: Tier, filePath: String, elapsedMs: Double) {
        self.clip = clip
        self.tier = tier
        self.filePath = filePath
        self.elapsedMs = elapsedMs
    }
    /// Set when a fallback engine answered because the requested one could not: its error.
    public var fallbackFor: TTSError? = nil
}

/// Generate-or-fetch: the data path of the cache.
///
/// validate → normalize → resolve the voice → key → local tier → Redis tier → engine →
/// validate the audio → local tier → Redis. Only a miss in both tiers calls the engine;
/// concurrent identical requests share one engine call: in this process through single-flight,
/// across processes and machines through a Redis lock per key.
///
/// What it owns: validation and normalization, single-flight, the Redis lock, the engines and
/// the process's metrics. What is on this machine's disk belongs to `local` (`LocalTier`);
/// what is in Redis to the `SharedTier`.
///
/// ```swift
/// let service = SpeechService(engines: registry, local: try LocalTier(layout: layout), logger: logger)
/// let result = try await service.generateOrFetch(AudioRequest(text: "Hello", engine: "espeak", model: ""))
/// result.tier   // .engine the first time, .local after
/// ```
public final class SpeechService: Sendable {
    public let engines: EngineRegistry
    /// The index, the blobs, their flusher and the byte budget.
    public let local: LocalTier
    /// Clips this process answered lately, in front of `local` (see `MemoryTier`).
    public let memory: MemoryTier
    let shared: SharedTier
    public let logger: Logger
    public let maxTextCharacters: Int
    public let locking: LockPolicy
    /// Counters and latencies of this process.
    public let metrics: ServiceMetrics
    /// The one conversion path (MP3, Opus, FLAC, … cached under `converted/`) of export,
    /// `say --encoding` and the HTTP server, so their conversions are single-flight together.
    public let conversions: ConvertedAudioCache
    let flights = SingleFlight<RequestKey, Generation>()
    /// Generations streaming now, for callers that join them (SpeechService+Streaming).
    let streams = StreamBroadcasts()
    var flightsInProgress: Int { flights.count + missesInProgress.load(ordering: .relaxed) }
    /// Redis hits of one key at once share one fetch, outside single-flight (see `JoinedFetches`).
    let sharedFetches = JoinedFetches<RequestKey, Generation>()
    /// Requests past the memory and local tiers, from their first miss to their answer:
    /// `drain` waits for them as for flights.
    private let missesInProgress = Atomic<Int>(0)

    /// How long a generation lock lives and how long another process waits for its holder.
    public struct LockPolicy: Sendable {
        /// The lock expires this long after its last refresh, so a dead holder blocks others
        /// for at most this long.
        public var ttl: Duration = .seconds(15)
        /// The holder extends the lock this often while the engine works.
        public var refreshEvery: Duration = .seconds(5)
        /// A waiter polls Redis this often for the holder's clip.
        public var pollEvery: Duration = .milliseconds(50)
        /// After this long a waiter stops waiting and generates itself.
        public var maxWait: Duration = .seconds(150)
        public init() {}
    }

    /// - Parameter local: reports corrupt blobs and evictions to `metrics` when it was opened
    ///   with `metrics` as its `events`.
    public init(engines: EngineRegistry, local: LocalTier, shared: SharedTier = .off, logger: Logger = .disabled,
                maxTextCharacters: Int = 5000, locking: LockPolicy = LockPolicy(), metrics: ServiceMetrics = ServiceMetrics(),
                memoryEntries: Int = 0) {
        self.engines = engines
        self.local = local
        memory = MemoryTier(capacity: memoryEntries, generation: local.index.generation, blobs: local.blobs,
                            countingHitsFor: local.index)
        self.shared = shared
        self.logger = logger
        self.maxTextCharacters = maxTextCharacters
        self.locking = locking
        self.metrics = metrics
        conversions = ConvertedAudioCache(blobs: local.blobs, metrics: metrics)
        metrics.countWriteTransactions(of: local.index)
    }

    /// Opens the local tier over `index` and `blobs` itself, reporting to `metrics` (tests and
    /// tools that open the parts themselves).
    public convenience init(engines: EngineRegistry, index: ClipIndex, blobs: BlobStore, shared: SharedTier = .off,
                            logger: Logger = .disabled, maxTextCharacters: Int = 5000, locking: LockPolicy = LockPolicy(),
                            metrics: ServiceMetrics = ServiceMetrics(), budget: CacheBudget = CacheBudget(),
                            blobSyncDelay: Duration = .milliseconds(200)) {
        let local = LocalTier(index: index, blobs: blobs, budget: budget, logger: logger, events: metrics,
                              blobSyncDelay: blobSyncDelay)
        self.init(engines: engines, local: local, shared: shared, logger: logger, maxTextCharacters: maxTextCharacters,
                  locking: locking, metrics: metrics)
    }

    /// Whether a Redis shared tier is configured (reachable or not).
    public var hasSharedTier: Bool { shared.isEnabled }

    /// The shared tier as health and readiness checks report it.
    public enum SharedTierStatus: Sendable, Equatable {
        case off
        /// Configured, and the last call found it unreachable (degraded mode).
        case unreachable(String)
        case reachable(String)
    }

    public var sharedTierStatus: SharedTierStatus {
        guard shared.isEnabled else { return .off }
        return shared.isDegraded ? .unreachable(shared.serverDescription) : .reachable(shared.serverDescription)
    }

    /// Validates and normalizes the request, then lets its engine fill in the voice and model.
    /// The result is what gets keyed.
    public func prepare(_ request: AudioRequest) async throws -> AudioRequest {
        let (normalized, engine) = try normalizedWithEngine(request)
        return try await engine.resolve(normalized)
    }

    /// The first steps of `prepare` and `cachedHit`: the request normalized, and its engine.
    private func normalizedWithEngine(_ request: AudioRequest) throws -> (AudioRequest, any SpeechEngine) {
        let normalized = try request.normalized(maxTextCharacters: maxTextCharacters)
        return (normalized, try engines.engine(named: normalized.engine))
    }

    /// `normalizedWithEngine`, and the request resolved when its engine can do so without
    /// waiting (espeak-ng always, Gemini once its voice list is loaded): the start of every hit.
    private func resolvedAtOnce(_ request: AudioRequest) throws
        -> (normalized: AudioRequest, engine: any SpeechEngine, resolved: AudioRequest?) {
        let (normalized, engine) = try normalizedWithEngine(request)
        return (normalized, engine, try engine.resolveAtOnce(normalized))
    }

    public func generateOrFetch(_ request: AudioRequest) async throws -> Generation {
        let started = ContinuousClock.now
        // Resolved at once when it can be, and the memory and local tiers asked right here: a
        // hit then takes no async call beyond this one (each cost a frame and a resumption).
        let (normalized, engine, atOnce) = try resolvedAtOnce(request)
        let resolved: AudioRequest
        if let atOnce { resolved = atOnce } else { resolved = try await engine.resolve(normalized) }
        let key = RequestKey(resolved)
        var seen: UInt64 = 0
        if let hit = try hereAndNow(key, started: started, seen: &seen) { return hit }
        return try await fetchOrGenerate(resolved, key: key, started: started, seen: seen)
    }

    /// The answer from the memory or the local tier, when this machine has the clip, without
    /// suspending; nil when it does not, or when the request's engine cannot resolve it without
    /// waiting (its voice list not loaded yet). The caller then takes `generateOrFetch`, which
    /// looks again: this is the hit path of a caller for whom a task per request would cost
    /// more than the hit (a script's line).
    public func cachedHit(_ request: AudioRequest) throws -> Generation? {
        let started = ContinuousClock.now
        guard let resolved = try resolvedAtOnce(request).resolved else { return nil }
        let key = RequestKey(resolved)
        var seen: UInt64 = 0
        return try hereAndNow(key, started: started, seen: &seen)
    }

    /// For callers that prepared and keyed the request already (prewarm plans every line
    /// first): the same path without doing that twice.
    func generateOrFetch(prepared resolved: AudioRequest, key: RequestKey,
                         started: ContinuousClock.Instant = .now) async throws -> Generation {
        var seen: UInt64 = 0
        if let hit = try hereAndNow(key, started: started, seen: &seen) { return hit }
        return try await fetchOrGenerate(resolved, key: key, started: started, seen: seen)
    }

    /// After a miss in the memory and local tiers (`seen`: the store generation read before
    /// the local look-up): Redis, else the engine.
    private func fetchOrGenerate(_ resolved: AudioRequest, key: RequestKey, started: ContinuousClock.Instant,
                                 seen: UInt64) async throws -> Generation {
        missesInProgress.add(1, ordering: .relaxed)
        defer { missesInProgress.subtract(1, ordering: .relaxed) }
        // A Redis hit is fetched by the first caller itself (see `JoinedFetches`); only engine
        // calls go through single-flight, which then skips its own first Redis look-up.
        if shared.isEnabled, let hit = try await sharedFetches.run(key, { try await fromShared(key) }) {
            return remembered(hit, started: started, seen: seen)
        }
        let generated = try await flights.run(key) { [self] in
            // Another caller may have stored it between our look-up and this flight.
            if let clip = try local.clip(for: key) {
                return Generation(clip: clip, tier: .local, filePath: local.blobs.path(for: clip.blob), elapsedMs: 0)
            }
            return try await fetchSharedOrGenerate(resolved, key: key, sharedLookedUp: shared.isEnabled)
        }
        return remembered(generated, started: started, seen: seen)
    }

    /// A clip fetched or made for this request: into the memory tier, counted, timed.
    private func remembered(_ generated: Generation, started: ContinuousClock.Instant, seen: UInt64) -> Generation {
        memory.remember(generated.clip, path: generated.filePath, generation: seen)
        return finish(generated.clip, tier: generated.tier, started: started, filePath: generated.filePath)
    }

    /// The memory tier, then the local tier: a hit, or nil with `seen` set to the store
    /// generation read before the local look-up, for the miss path to remember its clip at.
    /// (An inout rather than a tuple: the hit is returned as it is built, not copied.)
    private func hereAndNow(_ key: RequestKey, started: ContinuousClock.Instant, seen: inout UInt64) throws -> Generation? {
        // One map look-up, one load of the shared generation and one stat; no SQLite. The hit
        // is counted in its memory entry (handed to the index in batches).
        if let (clip, path) = memory.clip(for: key, countingHitAt: started) {
            return finish(clip, tier: .memory, started: started, filePath: path)
        }
        // Read before the local look-up: a removal racing with it leaves the entry stale.
        seen = memory.currentGeneration
        if let (clip, file) = try local.located(for: key) {
            local.recordHit(key, now: started)
            memory.remember(clip, file: file, generation: seen)
            // Publishing reads the bytes with their hash checked: a damaged blob is not shared,
            // and is quarantined so the next request regenerates it.
            if shared.isEnabled {
                shared.publishInBackground(clip) { [local] in try? await Blocking.run { try local.verifiedAudio(of: clip) } }
            }
            return finish(clip, tier: .local, started: started, filePath: file.path)
        }
        return nil
    }

    /// The miss path: Redis, else the engine under a cross-process lock. A process that finds
    /// the lock held waits for the holder's clip to appear in Redis, takes the lock over when
    /// the holder vanished (the lock expires), and gives up waiting after `maxWait`.
    ///
    /// `generator` makes the clip when it must be made here: the unary engine call by default,
    /// a streamed one for `speakStreaming`. `sharedLookedUp`: the caller has just missed in
    /// Redis itself, so the first look-up is skipped (the lock's own re-check still runs).
    func fetchSharedOrGenerate(_ request: AudioRequest, key: RequestKey, sharedLookedUp: Bool = false,
                               generator: ((AudioRequest, RequestKey) async throws -> Generation)? = nil) async throws -> Generation {
        let generate = generator ?? { try await self.generate($0, key: $1) }
        if !sharedLookedUp, let hit = try await fromShared(key) { return hit }
        let deadline = ContinuousClock.now + locking.maxWait
        while true {
            switch await shared.acquireLock(key, ttlMs: Int(locking.ttl.milliseconds)) {
            case .unavailable:
                return try await generate(request, key)
            case .acquired(let lock):
                // The holder before us may have finished between our look-up and our lock.
                if let hit = try await fromShared(key) {
                    await shared.release(lock)
                    return hit
                }
                let refresher = Task { [shared, locking] in
                    while !Task.isCancelled {
                        try await Task.sleep(for: locking.refreshEvery)
                        await shared.refresh(lock)
                    }
                }
                defer { refresher.cancel() }
                do {
                    let generation = try await generate(request, key)
                    await shared.release(lock)
                    return generation
                } catch {
                    await shared.release(lock)
                    throw error
                }
            case .heldByOther:
                if ContinuousClock.now >= deadline {
                    logger.warn("lock-timeout", [("key", .string(key.hex)), ("waited_s", .double(locking.maxWait.milliseconds / 1000))])
                    return try await generate(request, key)
                }
                try await Task.sleep(for: locking.pollEvery)
                if let hit = try await fromShared(key) { return hit }
            }
        }
    }

    /// A Redis hit becomes a local clip: shared audio is checked against its hash and stored;
    /// metadata whose audio is neither in Redis nor on this machine is a miss.
    private func fromShared(_ key: RequestKey) async throws -> Generation? {
        let local = self.local
        // Stored on the Redis connection's thread, right after the look-up (see `LocalTier`).
        guard let fill = try await shared.lookup(key, take: { try local.store($0) }) else { return nil }
        if case let .mismatch(bad) = fill {
            logger.warn("redis-audio-mismatch", [("key", .string(key.hex)), ("blob", .string(bad.blob.hex))])
            shared.recordCorruptEntry()
        }
        guard let clip = await local.finish(fill) else { return nil }
        shared.count("hits.redis")
        shared.count("bytes.served", by: clip.bytes)
        // The fields only when they will be written, and the path as a string (a file URL
        // costs a few microseconds to build): the hit is a few hundred.
        if logger.minimumLevel <= .info {
            logger.info("fetch", [("key", .string(key.hex)), ("tier", "redis"), ("bytes", .int(clip.bytes))])
        }
        return Generation(clip: clip, tier: .redis, filePath: local.blobs.path(for: clip.blob), elapsedMs: 0)
    }

    private func generate(_ request: AudioRequest, key: RequestKey) async throws -> Generation {
        let engine = try engines.engine(named: request.engine)
        let started = ContinuousClock.now
        let wav: Data
        do {
            wav = try await engine.synthesize(request)
            metrics.recordEngineCall(error: nil, seconds: started.duration(to: .now).seconds, bytes: wav.count)
        } catch {
            recordEngineFailure(error, request: request, key: key, started: started)
            throw error
        }
        return try await storeGenerated(wav, for: request, key: key, engineStarted: started)
    }

    func recordEngineFailure(_ error: Error, request: AudioRequest, key: RequestKey, started: ContinuousClock.Instant) {
        metrics.recordEngineCall(error: error, seconds: started.duration(to: .now).seconds)
        logger.error("generate", [("key", .string(key.hex)), ("engine", .string(request.engine)),
                                  ("outcome", .string("error")), ("error", .string(String(describing: error)))])
    }

    /// The write path of every generation, unary or streamed: validate the WAV, write the blob
    /// (flushed, renamed), index it, keep the budget, publish to Redis.
    func storeGenerated(_ wav: Data, for request: AudioRequest, key: RequestKey,
                        engineStarted started: ContinuousClock.Instant) async throws -> Generation {
        // The engine's answer is validated before anything is stored: a cache must never keep
        // a clip it cannot play.
        let audio = try WAVAudio.decode(wav)
        guard audio.frameCount > 0 else {
            throw TTSError(.content, "\(request.engine) returned a WAV file with no samples for '\(excerpt(request.text))'")
        }
        try TextLimit.checkAnswer(audio, for: request)
        // The fsync'ed write and the index write run off the cooperative pool (see `LocalTier`).
        let clip = try await local.store(wav, for: key, request: request, audio: audio)
        await shared.publish(clip, audio: wav)
        shared.count("engine.calls")
        shared.count("bytes.served", by: wav.count)
        logger.info("generate", [("key", .string(key.hex)), ("engine", .string(request.engine)),
                                 ("model", .string(request.model)), ("voice", .string(request.voice)),
                                 ("tier", "engine"), ("bytes", .int(wav.count)),
                                 ("audio_ms", .int(audio.durationMs)),
                                 ("ms", .double(started.duration(to: .now).milliseconds)), ("outcome", "stored")])
        return Generation(clip: clip, tier: .engine, filePath: local.blobs.path(for: clip.blob), elapsedMs: 0)
    }

    func finish(_ clip: Clip, tier: Tier, started: ContinuousClock.Instant, filePath: String? = nil) -> Generation {
        let elapsed = started.duration(to: .now).milliseconds
        metrics.recordRequest(tier: tier, bytes: clip.bytes, seconds: elapsed / 1000)
        if tier == .local || tier == .memory {
            // Fleet-wide, both are this machine's hits.
            shared.count("hits.local")
            shared.count("bytes.served", by: clip.bytes)
            // Only build the fields when they will be written: a hit is a few microseconds.
            if logger.minimumLevel <= .debug {
                logger.debug("fetch", [("key", .string(clip.key.hex)), ("tier", .string(tier.rawValue)), ("ms", .double(elapsed))])
            }
        }
        return Generation(clip: clip, tier: tier, filePath: filePath ?? local.blobs.path(for: clip.blob), elapsedMs: elapsed)
    }

    // MARK: Reading a stored clip's bytes

    /// The clip's audio for export or play: hash-checked, and when the blob is damaged or gone,
    /// fetched or generated again under the same key. Returns the clip as now stored.
    ///
    /// Every hit pays one `stat` (in `LocalTier.clip(for:)`); every place that reads the bytes
    /// reads them through here or `LocalTier.verifiedAudio(of:)`, which rehashes them.
    public func audio(for clip: Clip) async throws -> (clip: Clip, audio: Data) {
        if let audio = try? local.verifiedAudio(of: clip) { return (clip, audio) }
        let request = clip.request
        // A dialogue clip stored before rows kept speakers names them only in its key.
        guard RequestKey(request) == clip.key else {
            throw TTSError.store("clip \(clip.key.short) ('\(excerpt(clip.text))') is damaged or missing and cannot be regenerated from its row: ask for it again with the same speakers, or remove it with `rm \(clip.key.short)`.")
        }
        let generation = try await generateOrFetch(request)
        return (generation.clip, try local.verifiedAudio(of: generation.clip))
    }

    /// Export's read path: each item's clip as a hit sees it (one `stat`). A blob that is
    /// missing or of the wrong size is quarantined and the clip fetched or generated again
    /// under its key, as any other read would; an item that cannot be made again (a dialogue
    /// clip) is kept, and the export reports it as damaged.
    public func checkedForExport(_ items: [ExportItem]) async throws -> [ExportItem] {
        var checked = items
        for (i, item) in items.enumerated() {
            if i % 256 == 0 { try Task.checkCancellation() }
            // The row was just selected: only its blob can have gone bad since. One stat, as a
            // hit's check; a blob missing or of the wrong size is read (and remade) below.
            if local.blobs.size(of: item.clip.blob) == item.clip.bytes { continue }
            guard let remade = try? await audio(for: item.clip).clip else { continue }
            checked[i].clip = remade
        }
        return checked
    }

    // MARK: Shutdown

    /// Waits until no generation is in flight (their writes done, their Redis locks released),
    /// at most `timeout`. Returns whether everything finished. Used at shutdown.
    public func drain(timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while flightsInProgress > 0 || streamsInProgress > 0 {
            if ContinuousClock.now >= deadline { return false }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return true
    }

    /// Flushes blobs not yet on the disk, buffered hit counts and shared counters, and closes
    /// the index. Call from a plain thread (it waits, bounded, for Redis).
    public func close() {
        // A failure leaves the rows unmarked, and the next start rehashes their blobs.
        _ = try? local.flush()
        let shared = self.shared
        if shared.isEnabled && !shared.isDegraded {
            _ = Blocking.wait(upTo: .seconds(2)) { await shared.flushCounters() }
        }
        local.close()
    }
}

extension ServiceMetrics: LocalTierEvents {}
