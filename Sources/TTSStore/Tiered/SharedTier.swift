import Foundation
import Synchronization
import TTSCore

/// The Redis tier as the data path sees it: optional, and never a reason for a request to fail.
///
/// Every Redis error is absorbed here: the first one switches to degraded mode and says so once
/// (through `notify`), the local tier keeps serving, and the first success after that says Redis
/// is back. A write refused because Redis is at its memory limit (`noeviction`) is not an
/// outage: it is said once, reads go on, and refused writes are counted
/// (`tts_redis_refused_writes_total`). An entry the tier's checks refuse (metadata that does not
/// match its key or its audio) is a miss, counted in `tts_corrupt_shared_total`, and is
/// overwritten when the clip is generated and published again. No reconnect loop is needed: the pool retries on the next call, with backoff.
/// Statistics and publishing of local hits happen in the background, so a local hit never waits
/// for a network round trip.
public final class SharedTier: Sendable {
    /// How the lock for a key turned out.
    public enum LockOutcome: Sendable {
        case acquired(RedisLock)
        case heldByOther
        /// Redis is off or down: go ahead without a lock.
        case unavailable
    }

    private let tier: RedisTier?
    private let isDefaultServer: Bool
    private let describe: String
    private let notify: @Sendable (String) -> Void
    private let logger: Logger
    private let state = Mutex(State())
    private let corruptEntries: Counter
    private let refusedWrites: Counter

    private struct State {
        var degraded = false
        /// Keys known to be in Redis, so a local hit publishes at most once per process.
        var known = Set<RequestKey>()
        var pendingCounters: [String: Int] = [:]
        var lastCounterFlush = ContinuousClock.now
        var counterFlushRunning = false
        /// Redis refused a write for memory and that was said; cleared by the next write it takes.
        var memoryFull = false
    }

    /// - Parameters:
    ///   - tier: nil when Redis is off on purpose.
    ///   - describe: how to name the server to a person (password masked).
    ///   - notify: where the one-line "degraded" and "back" notices go.
    /// - Parameter isDefaultServer: the URL was not configured (the built-in localhost default):
    ///   a missing server is then expected, and the notice says how to share a cache instead.
    /// - Parameter metrics: where `tts_corrupt_shared_total` and `tts_redis_refused_writes_total`
    ///   are registered (the service's registry, so `metrics` shows them).
    public init(tier: RedisTier?, describe: String = "Redis", isDefaultServer: Bool = false, logger: Logger = .disabled,
                metrics: Metrics = Metrics(), notify: @escaping @Sendable (String) -> Void = { _ in }) {
        corruptEntries = metrics.counter("tts_corrupt_shared_total",
                                         help: "Shared-tier entries refused: metadata that does not match its key or its audio, or unreadable")
        refusedWrites = metrics.counter("tts_redis_refused_writes_total",
                                        help: "Writes Redis refused because it is at its memory limit (noeviction)")
        self.isDefaultServer = isDefaultServer
        self.tier = tier
        self.describe = describe
        self.logger = logger
        self.notify = notify
    }

    public static let off = SharedTier(tier: nil)

    public var isEnabled: Bool { tier != nil }
    public var isDegraded: Bool { state.withLock { $0.degraded } }
    /// Entries refused by the checks so far (`tts_corrupt_shared_total`).
    public var corruptEntriesFound: Int { corruptEntries.value }
    /// Counts an entry refused after the look-up (audio whose SHA-256 is not the blob its
    /// metadata names, found as the local store writes it) in `tts_corrupt_shared_total`.
    public func recordCorruptEntry() { corruptEntries.increment() }
    /// Writes refused for memory so far (`tts_redis_refused_writes_total`).
    public var writesRefusedForMemory: Int { refusedWrites.value }

    /// Asks the server once (start-up), so a missing Redis is reported before the first command.
    @discardableResult
    public func probe() async -> Bool {
        guard let tier else { return false }
        return await attempt("connect") { _ = try await tier.counters() } != nil
    }

    public func lookup(_ key: RequestKey) async -> RedisHit? {
        try? await lookup(key) { $0 }
    }

    /// Looks `key` up and hands a hit to `take` on the Redis connection's thread, so a caller
    /// that stores it locally (blocking work) needs no further hop. Nil on a miss or when Redis
    /// is unusable (degraded mode); what `take` throws is rethrown and is not a Redis failure.
    public func lookup<T: Sendable>(_ key: RequestKey, take: @escaping @Sendable (RedisHit) throws -> T) async throws -> T? {
        guard let tier else { return nil }
        let outcome = await attempt("look up \(key.short)") {
            try await tier.entry(for: key) { entry -> Found<T> in
                switch entry {
                case let .hit(hit): return .taken(Result { try take(hit) })
                case .missing: return .missing
                case let .refused(reason): return .refused(reason)
                }
            }
        }
        switch outcome {
        case nil, .missing?:
            return nil
        case let .refused(reason)?:
            corruptEntries.increment()
            logger.warn("redis-entry-refused", [("key", .string(key.hex)), ("reason", .string(reason))])
            return nil
        case let .taken(taken)?:
            _ = state.withLock { $0.known.insert(key) }
            return try taken.get()
        }
    }

    /// What a look-up found, carried off the connection's thread.
    private enum Found<T: Sendable>: Sendable {
        case taken(Result<T, any Error>)
        case missing
        case refused(String)
    }

    /// Writes a clip (and its audio, when sharing allows) through to Redis. `speakers` are the
    /// request's, for a dialogue clip (part of its key, not of `Clip`).
    public func publish(_ clip: Clip, audio: Data?) async {
        guard let tier else { return }
        if await attempt("publish \(clip.key.short)", { try await tier.publish(clip, audio: audio) }) == true {
            state.withLock { state in
                state.known.insert(clip.key)
                state.memoryFull = false
            }
        }
    }

    /// After a local hit: makes sure other machines can see this clip, without delaying the hit.
    /// Runs at most once per key and process; `audio` is read only when Redis lacks the clip.
    public func publishInBackground(_ clip: Clip, audio: @escaping @Sendable () async -> Data?) {
        guard let tier else { return }
        let isNew = state.withLock { state -> Bool in
            guard !state.degraded else { return false }
            return state.known.insert(clip.key).inserted
        }
        guard isNew else { return }
        Task.detached { [self] in
            guard let present = await attempt("check \(clip.key.short)", { try await tier.hasClip(clip.key) }) else {
                _ = state.withLock { $0.known.remove(clip.key) }  // try again on a later hit
                return
            }
            if !present { await publish(clip, audio: await audio()) }
        }
    }

    public func acquireLock(_ key: RequestKey, ttlMs: Int) async -> LockOutcome {
        guard let tier else { return .unavailable }
        guard let result = await attempt("lock \(key.short)", { try await tier.acquireLock(key, ttlMs: ttlMs) }) else {
            return .unavailable
        }
        return result.map(LockOutcome.acquired) ?? .heldByOther
    }

    public func refresh(_ lock: RedisLock) async {
        guard let tier else { return }
        _ = await attempt("extend lock \(lock.key.short)") { try await tier.refresh(lock) }
    }

    public func release(_ lock: RedisLock) async {
        guard let tier else { return }
        _ = await attempt("unlock \(lock.key.short)") { try await tier.release(lock) }
    }

    /// Counts an event in the shared statistics (hits by tier, engine calls, bytes served).
    /// Batched: sent at most once a second, and by `flushCounters()` at exit.
    public func count(_ name: String, by amount: Int = 1) {
        guard tier != nil else { return }
        let due = state.withLock { state -> Bool in
            state.pendingCounters[name, default: 0] += amount
            guard !state.counterFlushRunning, state.lastCounterFlush.duration(to: .now) > .seconds(1) else { return false }
            state.counterFlushRunning = true
            return true
        }
        if due { Task.detached { [self] in await flushCounters() } }
    }

    public func flushCounters() async {
        guard let tier else { return }
        let batch = state.withLock { state -> [String: Int] in
            defer { state.pendingCounters = [:]; state.lastCounterFlush = .now }
            return state.pendingCounters
        }
        if await attempt("update counters", { try await tier.increment(batch) }) == nil {
            // Keep the counts for the next flush rather than lose them.
            state.withLock { state in for (name, value) in batch { state.pendingCounters[name, default: 0] += value } }
        }
        state.withLock { $0.counterFlushRunning = false }
    }

    /// Removes a clip's metadata from Redis (`rm`): true removed, false absent, nil Redis off
    /// or unusable.
    public func remove(_ key: RequestKey) async -> Bool? {
        guard let tier else { return nil }
        let removed = await attempt("remove \(key.short)") { try await tier.remove(key) }
        if removed != nil { _ = state.withLock { $0.known.remove(key) } }
        return removed
    }

    /// Whether Redis holds the clip (for `rm --dry-run`); throws when Redis cannot say, nil
    /// when it is off.
    public func redisHasClip(_ key: RequestKey) async throws -> Bool? {
        guard let tier else { return nil }
        return try await tier.hasClip(key)
    }

    /// PING latency and version for `health`; throws what went wrong instead of degrading,
    /// since a health check is the place to say it. Nil when Redis is off.
    public func diagnose() async throws -> RedisDiagnosis? {
        guard let tier else { return nil }
        return try await tier.diagnose()
    }

    /// Every node of a Redis Cluster with its figures, for `stats`; empty for a single server,
    /// or when Redis is off or cannot say.
    public func clusterNodes() async -> [RedisNodeDiagnosis] {
        guard let tier else { return [] }
        return (try? await tier.diagnose().nodes) ?? []
    }

    /// How to name the server to a person (password masked).
    public var serverDescription: String { describe }

    public func counters() async -> [String: Int]? {
        guard let tier else { return nil }
        return await attempt("read counters") { try await tier.counters() }
    }

    /// Runs one Redis operation; on failure enters degraded mode (saying so once) and returns nil.
    /// `what`: built only when something is logged (every hit passes here).
    private func attempt<T: Sendable>(_ what: @autoclosure () -> String, _ body: () async throws -> T) async -> T? {
        do {
            let value = try await body()
            let recovered = state.withLock { state -> Bool in
                defer { state.degraded = false }
                return state.degraded
            }
            if recovered {
                logger.info("redis-recovered", [("server", .string(describe))])
                notify("\(describe) is reachable again: the shared tier is back.")
            }
            return value
        } catch where RedisTier.isOutOfMemory(TTSError.message(of: error)) {
            // The server answered: reads work, only writes are refused until it has room.
            refusedWrites.increment()
            let first = state.withLock { state -> Bool in
                defer { state.memoryFull = true }
                return !state.memoryFull
            }
            if first {
                logger.warn("redis-memory-full", [("server", .string(describe)), ("operation", .string(what()))])
                notify("warning: \(describe) is at its memory limit and refuses writes (maxmemory with policy noeviction): clips made here are not shared until it has room; shared clips are still read. Raise maxmemory or use an evicting policy such as allkeys-lru.")
            }
            return nil
        } catch {
            let first = state.withLock { state -> Bool in
                defer { state.degraded = true }
                return !state.degraded
            }
            let reason = TTSError.message(of: error)
            logger.warn("redis-degraded", [("server", .string(describe)), ("operation", .string(what())), ("error", .string(reason))])
            if first && isDefaultServer {
                notify("note: \(describe) (the default address) is not reachable: using the local cache only. Set REDIS_URL to share a cache between machines, or REDIS_URL=off to silence this.")
            } else if first {
                notify("warning: \(describe) is not usable (\(reason)). Serving from the local tier only; it reconnects by itself. Set REDIS_URL=off to run without it.")
            }
            return nil
        }
    }
}
