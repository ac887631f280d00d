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
/// validate → normalize → resolve the voice → key → local tier → Redis tier → engine →
/// validate the audio → blob store → index → Redis. Only a miss in both tiers calls the engine;
/// concurrent identical requests share one engine call: in this process through single-flight,
/// across processes and machines through a Redis lock per key.
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
    public let shared: SharedTier
    public let logger: Logger
    public let maxTextCharacters: Int
    public let locking: LockPolicy
    /// Operations: counters and latencies of this process, and the local tier's byte budget.
    public let metrics: ServiceMetrics
    public let budget: CacheBudget
    /// Flushes the blobs Redis hits store with deferred durability; `Runtime` runs its
    /// `recover` at open and its `flush` at exit.
    public let blobSync: BlobSyncQueue
    let flights = SingleFlight<RequestKey, Generation>()
    /// Generations streaming now, for callers that join them (SpeechService+Streaming).
    let streams = StreamBroadcasts()
    var flightsInProgress: Int { get async { await flights.count } }

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

    public init(engines: EngineRegistry, index: ClipIndex, blobs: BlobStore, shared: SharedTier = .off,
                logger: Logger = .disabled, maxTextCharacters: Int = 5000, locking: LockPolicy = LockPolicy(),
                metrics: ServiceMetrics = ServiceMetrics(), budget: CacheBudget = CacheBudget(),
                blobSyncDelay: Duration = .milliseconds(200)) {
        self.engines = engines
        self.index = index
        self.blobs = blobs
        self.shared = shared
        self.logger = logger
        self.maxTextCharacters = maxTextCharacters
        self.locking = locking
        self.metrics = metrics
        self.budget = budget
        blobSync = BlobSyncQueue(blobs: blobs, index: index, delay: blobSyncDelay)
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
            // Publishing reads the bytes with their hash checked: a damaged blob is not shared,
            // and is quarantined so the next request regenerates it.
            shared.publishInBackground(clip) { [self] in try? await offPool { try self.verifiedAudio(of: clip) } }
            return finish(clip, tier: .local, started: started)
        }
        let generated = try await flights.run(key) { [self] in
            // Another caller may have stored it between our look-up and this flight.
            if let clip = try localClip(for: key) {
                return Generation(clip: clip, tier: .local, path: blobs.url(for: clip.blob), elapsedMs: 0)
            }
            return try await fetchSharedOrGenerate(resolved, key: key)
        }
        return finish(generated.clip, tier: generated.tier, started: started)
    }

    /// The miss path: Redis, else the engine under a cross-process lock. A process that finds
    /// the lock held waits for the holder's clip to appear in Redis, takes the lock over when
    /// the holder vanished (the lock expires), and gives up waiting after `maxWait`.
    ///
    /// `generator` makes the clip when it must be made here: the unary engine call by default,
    /// a streamed one for `speakStreaming`.
    func fetchSharedOrGenerate(_ request: AudioRequest, key: RequestKey,
                               generator: ((AudioRequest, RequestKey) async throws -> Generation)? = nil) async throws -> Generation {
        let generate = generator ?? { try await self.generate($0, key: $1) }
        if let hit = try await fromShared(key) { return hit }
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
        let blobs = self.blobs, index = self.index
        // Taken on the Redis connection's thread, right after the look-up: hashing, the file
        // write and the index write all block, and one hop between threads is all a hit pays.
        let taken = try await shared.lookup(key) { hit -> SharedFill in
            var clip = hit.clip
            clip.hits = 0
            if let audio = hit.audio {
                // The store hashes the bytes and names them only when they are the blob the
                // metadata says. Redis still holds them, so the fsync is deferred to
                // `blobSync`, and the row records that until then. Unless a durable row names
                // this blob already (its file was lost or damaged): that row counts on the
                // name meaning bytes on the disk, so the new copy is flushed first.
                guard (try? WAVAudio.decode(audio)) != nil else { return .mismatch(clip) }
                let deferred = try !index.hasDurableClip(forBlob: clip.blob)
                guard try blobs.put(audio, ifHashIs: clip.blob, durability: deferred ? .deferred : .beforeNaming) else {
                    return .mismatch(clip)
                }
                try index.upsert(clip, blobIsDurable: !deferred)
                return .stored(clip, flushLater: deferred)
            }
            // Metadata only: usable when this machine has the blob intact (rehashed and
            // flushed, since the row about to name it says it is on the disk).
            guard try blobs.adopt(clip.blob) else { return .absent }
            try index.upsert(clip)
            return .stored(clip, flushLater: false)
        }
        let clip: Clip
        switch taken {
        case nil, .absent?:
            return nil
        case let .mismatch(bad)?:
            logger.warn("redis-audio-mismatch", [("key", .string(key.hex)), ("blob", .string(bad.blob.hex))])
            return nil
        case let .stored(stored, flushLater)?:
            if flushLater { blobSync.add(stored.key, blob: stored.blob) }
            clip = stored
        }
        await enforceBudget(afterWriting: clip)
        shared.count("hits.redis")
        shared.count("bytes.served", by: clip.bytes)
        logger.info("fetch", [("key", .string(key.hex)), ("tier", "redis"), ("bytes", .int(clip.bytes))])
        return Generation(clip: clip, tier: .redis, path: blobs.url(for: clip.blob), elapsedMs: 0)
    }

    /// A clip counts as present only when its row and its blob file both exist and the file
    /// has the row's size (one `stat`): a row whose blob vanished is a miss, a blob of the
    /// wrong size is quarantined and is a miss, and the regeneration repairs both.
    public func localClip(for key: RequestKey) throws -> Clip? {
        guard let clip = try index.clip(for: key) else { return nil }
        guard let size = blobs.size(of: clip.blob) else {
            logger.warn("blob-missing", [("key", .string(key.hex)), ("blob", .string(clip.blob.hex))])
            return nil
        }
        guard size == clip.bytes else {
            quarantineDamaged(clip, reason: "size \(size), expected \(clip.bytes)")
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
        // The fsync'ed write takes milliseconds: off the two-thread cooperative pool, so other
        // tasks' answers are not held up behind it.
        // The index write may wait out another process's write lock: off the pool as well.
        let blobs = self.blobs, index = self.index
        let clip = try await offPool {
            let blob = try blobs.put(wav)
            let clip = Clip(key: key, blob: blob, request: request, bytes: wav.count,
                            durationMs: audio.durationMs, sampleRate: audio.format.sampleRate)
            try index.upsert(clip)
            return clip
        }
        await enforceBudget(afterWriting: clip)
        await shared.publish(clip, audio: wav)
        shared.count("engine.calls")
        shared.count("bytes.served", by: wav.count)
        logger.info("generate", [("key", .string(key.hex)), ("engine", .string(request.engine)),
                                 ("model", .string(request.model)), ("voice", .string(request.voice)),
                                 ("tier", "engine"), ("bytes", .int(wav.count)),
                                 ("audio_ms", .int(audio.durationMs)),
                                 ("ms", .double(started.duration(to: .now).milliseconds)), ("outcome", "stored")])
        return Generation(clip: clip, tier: .engine, path: blobs.url(for: clip.blob), elapsedMs: 0)
    }

    func finish(_ clip: Clip, tier: Tier, started: ContinuousClock.Instant) -> Generation {
        let elapsed = started.duration(to: .now).milliseconds
        metrics.recordRequest(tier: tier, bytes: clip.bytes, seconds: elapsed / 1000)
        if tier == .local {
            shared.count("hits.local")
            shared.count("bytes.served", by: clip.bytes)
            // Only build the fields when they will be written: a hit is a few microseconds.
            if logger.minimumLevel <= .debug {
                logger.debug("fetch", [("key", .string(clip.key.hex)), ("tier", .string(tier.rawValue)), ("ms", .double(elapsed))])
            }
        }
        return Generation(clip: clip, tier: tier, path: blobs.url(for: clip.blob), elapsedMs: elapsed)
    }
}

/// What a Redis hit turned into locally.
private enum SharedFill: Sendable {
    /// Stored and indexed; `flushLater` when the blob's fsync was deferred.
    case stored(Clip, flushLater: Bool)
    /// The shared audio is not a WAV file or not the blob the metadata names.
    case mismatch(Clip)
    /// Metadata only, and this machine lacks the blob: a miss.
    case absent
}

func excerpt(_ text: String, limit: Int = 40) -> String {
    text.count <= limit ? text : String(text.prefix(limit - 1)) + "…"
}
