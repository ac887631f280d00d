import Foundation
import Synchronization
import TTSCore

/// A clip found in Redis, with its WAV bytes when they are shared there.
public struct RedisHit: Sendable, Equatable {
    public var clip: Clip
    /// The blob's bytes, or `nil` when this machine must generate or already has them.
    public var audio: Data?

    public init(clip: Clip, audio: Data?) {
        self.clip = clip
        self.audio = audio
    }
}

/// Proof of holding the cross-process generation lock for one request key. Only the holder
/// knows `token`, so only the holder can release it; the lock also expires by itself after
/// its time-to-live, so a crashed holder cannot block a key for ever.
public struct RedisLock: Sendable, Equatable {
    public let key: RequestKey
    /// Random, 32 hex characters; compared by the release script.
    public let token: String
    public let ttlMs: Int

    init(key: RequestKey, token: String, ttlMs: Int) {
        self.key = key
        self.token = token
        self.ttlMs = ttlMs
    }
}

/// What a look-up found under a clip's key.
public enum RedisEntry: Sendable {
    case hit(RedisHit)
    case missing
    /// An entry that must not be used (its metadata disagrees with the key or with its own
    /// audio, or it cannot be read), with why. It stays until the next publish overwrites it.
    case refused(String)
}

/// The shared tier: each clip as one Redis value holding its metadata and, size-capped, its
/// WAV bytes, so another process or machine can reuse a clip without calling the engine, and
/// a hit is one round trip (GETEX).
///
/// Key space, all under `prefix` (default `tts:`); on a Redis Cluster the request key is a
/// hash tag (`tts:clip:{<request key>}`, `tts:lock:{<request key>}`), so a clip's value and its
/// lock live in one slot:
///
/// | key | type | contents |
/// |---|---|---|
/// | `tts:clip:<request key>` | string | `SharedClipValue`: metadata, then the WAV bytes when sharing is on and they are at most `maxAudioBytes` |
/// | `tts:lock:<request key>` | string | the holder's random token, with a millisecond expiry |
/// | `tts:stats` | hash | counters (`hits`, `misses`, …) |
///
/// Entries of the earlier layout (a hash at `tts:clip:<key>` naming `tts:blob:<sha>`) are still
/// read on a single server, and converted into one value by their first hit: this version does
/// not miss them (processes of the earlier version cannot read the new values).
///
/// Every entry is checked before it is handed out: its request fields must key to the key it
/// was found under, and its audio must have the size, rate, channels and duration its metadata
/// states (the audio's SHA-256 is checked by the local store as it writes the bytes).
/// Clips expire `ttlSeconds` after their last write or hit, so a shared Redis keeps what is
/// used and forgets the rest.
///
/// ```swift
/// let tier = RedisTier(client: RedisClient(try RedisTarget(parsing: "redis://127.0.0.1")))
/// if let hit = try await tier.lookup(key) { use(hit.clip, hit.audio) }
/// else if let lock = try await tier.acquireLock(key, ttlMs: 30_000) {
///     let clip = … generate …
///     try await tier.publish(clip, audio: wav)
///     try await tier.release(lock)
/// }
/// ```
///
/// Every failure is a `TTSError` of kind `.store`; deciding to carry on without Redis is the
/// caller's job.
public final class RedisTier: Sendable {
    public let client: RedisClient
    public let prefix: String
    /// Expiry of clips after the last write or hit; 0 or less means never.
    public let ttlSeconds: Int
    /// Whether `publish` stores WAV bytes (up to `maxAudioBytes`) with the metadata.
    public let shareAudio: Bool
    public let maxAudioBytes: Int
    /// Set when the server refused GETEX but took GET + EXPIRE (Redis before 6.2, an ACL).
    private let serverRefusesGETEX = Atomic(false)

    public static let defaultTTLSeconds = 30 * 24 * 3600
    public static let defaultMaxAudioBytes = 4 << 20

    public init(client: RedisClient, prefix: String = "tts:", ttlSeconds: Int = RedisTier.defaultTTLSeconds,
                shareAudio: Bool = true, maxAudioBytes: Int = RedisTier.defaultMaxAudioBytes) {
        self.client = client
        self.prefix = prefix
        self.ttlSeconds = ttlSeconds
        self.shareAudio = shareAudio
        self.maxAudioBytes = maxAudioBytes
    }

    /// One server through `pool`.
    public convenience init(pool: RedisPool, prefix: String = "tts:", ttlSeconds: Int = RedisTier.defaultTTLSeconds,
                            shareAudio: Bool = true, maxAudioBytes: Int = RedisTier.defaultMaxAudioBytes) {
        self.init(client: RedisClient(pool: pool), prefix: prefix, ttlSeconds: ttlSeconds, shareAudio: shareAudio,
                  maxAudioBytes: maxAudioBytes)
    }

    // MARK: - Key space

    /// The key names for a single server (`cluster` false) or a cluster (hash-tagged).
    func clipKey(_ key: RequestKey, cluster: Bool) -> String {
        cluster ? prefix + "clip:{" + key.hex + "}" : prefix + "clip:" + key.hex
    }
    func lockKey(_ key: RequestKey, cluster: Bool) -> String {
        cluster ? prefix + "lock:{" + key.hex + "}" : prefix + "lock:" + key.hex
    }
    /// The earlier layout's audio key, read only.
    func blobKey(_ blob: BlobHash) -> String { prefix + "blob:" + blob.hex }
    var statsKey: String { prefix + "stats" }

    /// The clip's key name on the target this tier talks to.
    public func clipKey(_ key: RequestKey) async throws -> String {
        clipKey(key, cluster: try await client.isCluster())
    }

    // MARK: - Clips

    /// The clip stored for `key`, and its audio when shared and `withAudio` is true; refreshes
    /// its time-to-live. A missing entry, and one refused by the checks, is a miss.
    public func lookup(_ key: RequestKey, withAudio: Bool = true) async throws -> RedisHit? {
        try await entry(for: key, withAudio: withAudio) { entry in
            if case let .hit(hit) = entry { return hit }
            return nil
        }
    }

    /// `lookup`, then `take` on the connection's thread with what was found: a caller that
    /// stores the hit locally (blocking work) does so without a second hop between threads.
    public func lookup<T: Sendable>(_ key: RequestKey, withAudio: Bool = true,
                                    then take: @escaping @Sendable (RedisHit?) throws -> T) async throws -> T {
        try await entry(for: key, withAudio: withAudio) { entry in
            if case let .hit(hit) = entry { return try take(hit) }
            return try take(nil)
        }
    }

    /// The entry under `key`, checked, handed to `take` on the connection's thread.
    ///
    /// One round trip: GETEX of the value (GET + EXPIRE where GETEX is refused). An entry of
    /// the earlier layout (a hash) costs a second trip for its blob and, once, a SET that
    /// converts it, on a single server only (that layout predates cluster support). `take` runs only after the round trips
    /// succeeded; what it throws is rethrown as is.
    public func entry<T: Sendable>(for key: RequestKey, withAudio: Bool = true,
                                   then take: @escaping @Sendable (RedisEntry) throws -> T) async throws -> T {
        let cluster = try await client.isCluster()
        let clipKey = Data(clipKey(key, cluster: cluster).utf8)
        let ttl = ttlSeconds > 0 ? Data(String(ttlSeconds).utf8) : nil
        // A hit's GETEX, checks, hash and file write take a few hundred microseconds: run where
        // the caller is when it may (`InlineBlocking`), rather than pay two thread hops.
        let outcome = try await client.withConnection(routing: clipKey, inlineWhenFree: true) { [self] connection -> Result<T, any Error> in
            let reply = try fetch(clipKey, ttl: ttl, on: connection)
            let found: RedisEntry
            if let message = reply.errorMessage, message.hasPrefix("WRONGTYPE"), !cluster {
                found = try earlierLayoutEntry(key, clipKey: clipKey, ttl: ttl, withAudio: withAudio, on: connection)
            } else {
                try check(reply, doing: "look up clip \(key.short)")
                found = RedisTier.entry(from: reply, key: key, withAudio: withAudio)
            }
            return Result { try take(found) }
        }
        return try outcome.get()
    }

    /// Decodes and checks a value read under `key`.
    static func entry(from reply: RedisReply, key: RequestKey, withAudio: Bool) -> RedisEntry {
        guard let data = reply.data else { return .missing }
        let value: SharedClipValue
        do {
            value = try SharedClipValue.decode(data, key: key)
        } catch let error as SharedClipValue.Unreadable {
            return .refused("it cannot be read (\(error.reason))")
        } catch {
            return .refused("it cannot be read")
        }
        if let problem = SharedClipCheck.problem(with: value, key: key) { return .refused(problem) }
        return .hit(RedisHit(clip: value.clip, audio: withAudio ? value.audio : nil))
    }

    /// The earlier layout: metadata hash, then the blob it names (refreshing both expiries).
    /// A hit with its audio is converted in place: the value of this layout replaces the hash
    /// (the blob's key is left to expire), so the next hit takes one GETEX and an entry that
    /// keeps being hit does not keep the earlier layout alive past its time-to-live.
    private func earlierLayoutEntry(_ key: RequestKey, clipKey: Data, ttl: Data?, withAudio: Bool,
                                    on connection: RedisConnection) throws -> RedisEntry {
        var first = [[Data("HGETALL".utf8), clipKey]]
        if let ttl { first.append([Data("EXPIRE".utf8), clipKey, ttl]) }
        let metadata = try connection.pipeline(first)[0]
        if let message = metadata.errorMessage, message.hasPrefix("WRONGTYPE") {
            // Converted by another caller since our GETEX: read the value it wrote.
            // (Another type altogether answers WRONGTYPE again: an error, as for any command.)
            let value = try fetch(clipKey, ttl: ttl, on: connection)
            try check(value, doing: "look up clip \(key.short)")
            return RedisTier.entry(from: value, key: key, withAudio: withAudio)
        }
        try check(metadata, doing: "look up clip \(key.short)")
        guard let fields = metadata.elements, !fields.isEmpty else { return .missing }
        var map: [String: String] = [:]
        var i = 0
        while i + 1 < fields.count {
            if let name = fields[i].text, let value = fields[i + 1].text { map[name] = value }
            i += 2
        }
        guard let clip = SharedClipValue.decodeClip(key: key, map) else {
            return .refused("its metadata hash lacks a required field")
        }
        var audio: Data?
        if withAudio {
            let reply = try fetch(Data(blobKey(clip.blob).utf8), ttl: ttl, on: connection)
            try check(reply, doing: "fetch the audio of clip \(key.short)")
            audio = reply.data
        }
        let value = SharedClipValue(clip: clip, channels: 1, audio: audio)
        if let problem = SharedClipCheck.problem(with: value, key: key) {
            // Audio that disagrees under the old layout was never trusted: a miss, as before.
            if audio != nil, SharedClipCheck.problem(with: SharedClipValue(clip: clip, channels: 1, audio: nil), key: key) == nil {
                return .hit(RedisHit(clip: clip, audio: nil))
            }
            return .refused(problem)
        }
        // Only when the audio shared so far stays shared (this machine may share none, or less);
        // XX: a clip removed meanwhile (`rm`) is not brought back. Best effort: the hit stands
        // whether or not the conversion was written.
        if withAudio, let converted = sharedValue(clip, audio: audio), audio == nil || converted.audio != nil {
            _ = try? connection.command(setCommand(clipKey, converted) + [Data("XX".utf8)])
        }
        return .hit(RedisHit(clip: clip, audio: audio))
    }

    /// A value, refreshing its expiry: GETEX (Redis 6.2+) does both in one command. A server
    /// that refuses GETEX (older than 6.2, or an ACL or proxy that does not allow it) gets
    /// GET + EXPIRE instead, from then on once that worked.
    private func fetch(_ key: Data, ttl: Data?, on connection: RedisConnection) throws -> RedisReply {
        guard let ttl else { return try redirectChecked(connection.command([Data("GET".utf8), key])) }
        let triedGETEX = !serverRefusesGETEX.load(ordering: .relaxed)
        if triedGETEX {
            let reply = try redirectChecked(connection.command([Data("GETEX".utf8), key, Data("EX".utf8), ttl]))
            guard let message = reply.errorMessage, !message.hasPrefix("WRONGTYPE") else { return reply }
            if RedisTier.isOutOfMemory(message) {
                // Not a refusal of GETEX itself: read without refreshing, and try GETEX again later.
                return try redirectChecked(connection.command([Data("GET".utf8), key]))
            }
        }
        let replies = try connection.pipeline([[Data("GET".utf8), key], [Data("EXPIRE".utf8), key, ttl]])
        try RedisClient.checkRedirect(replies[0])
        if triedGETEX && replies.allSatisfy({ $0.errorMessage == nil }) {
            serverRefusesGETEX.store(true, ordering: .relaxed)
        }
        return replies[0]
    }

    private func redirectChecked(_ reply: RedisReply) throws -> RedisReply {
        try RedisClient.checkRedirect(reply)
        return reply
    }

    /// Stores the clip as one value: metadata, and the WAV bytes when sharing is on and they fit
    /// under the cap (`audio` must be the bytes named by `clip.blob`). One SET with the
    /// configured time-to-live, replacing whatever was there (an entry of the earlier layout,
    /// or one the checks refused).
    ///
    /// Returns false without writing when the clip's fields do not key to `clip.key` (a
    /// dialogue clip whose speakers were lost): readers would refuse the entry.
    @discardableResult
    public func publish(_ clip: Clip, audio: Data?) async throws -> Bool {
        guard let value = sharedValue(clip, audio: audio) else { return false }
        let clipKey = Data(try await clipKey(clip.key).utf8)
        let reply = try await client.command(setCommand(clipKey, value), routing: clipKey)
        try check(reply, doing: "publish clip \(clip.key.short)")
        return true
    }

    /// The value `publish` stores for `clip`: its audio when sharing is on and it fits under
    /// the cap; nil when the clip's fields do not key to `clip.key`.
    private func sharedValue(_ clip: Clip, audio: Data?) -> SharedClipValue? {
        let shared = audio.flatMap { shareAudio && $0.count <= maxAudioBytes ? $0 : nil }
        let channels = audio.flatMap { WAVHeader($0)?.channels } ?? 1
        guard SharedClipCheck.problem(with: SharedClipValue(clip: clip, channels: channels, audio: nil),
                                      key: clip.key) == nil else { return nil }
        return SharedClipValue(clip: clip, channels: channels, audio: shared)
    }

    /// SET of a clip's value with the configured time-to-live.
    private func setCommand(_ clipKey: Data, _ value: SharedClipValue) -> [Data] {
        var set = [Data("SET".utf8), clipKey, value.encoded()]
        if ttlSeconds > 0 { set += [Data("EX".utf8), Data(String(ttlSeconds).utf8)] }
        return set
    }

    /// Whether an entry for `key` is in Redis (without refreshing its time-to-live).
    public func hasClip(_ key: RequestKey) async throws -> Bool {
        let clipKey = try await clipKey(key)
        let reply = try await client.command(["EXISTS", clipKey], routing: clipKey)
        try check(reply, doing: "check clip \(key.short)")
        return reply.integer == 1
    }

    /// Which of `keys` have entries in Redis, a few hundred per round trip and node (a pre-warm
    /// checks thousands at once before queuing the rest).
    public func existingClips(_ keys: [RequestKey]) async throws -> Set<RequestKey> {
        let cluster = try await client.isCluster()
        var found = Set<RequestKey>()
        var start = 0
        while start < keys.count {
            let batch = Array(keys[start..<min(start + 500, keys.count)])
            start += batch.count
            let commands = batch.map { key -> (routing: Data, command: [Data]) in
                let name = Data(clipKey(key, cluster: cluster).utf8)
                return (name, [Data("EXISTS".utf8), name])
            }
            let replies = try await client.scatter(commands)
            for (key, reply) in zip(batch, replies) {
                try check(reply, doing: "check clip \(key.short)")
                if reply.integer == 1 { found.insert(key) }
            }
        }
        return found
    }

    // MARK: - Generation locks

    /// Takes the lock for generating `key` across processes and machines, or returns `nil`
    /// when someone else holds it. The lock expires after `ttlMs` even if never released.
    public func acquireLock(_ key: RequestKey, ttlMs: Int) async throws -> RedisLock? {
        let token = RedisTier.randomToken()
        let lockKey = lockKey(key, cluster: try await client.isCluster())
        let reply = try await client.command(["SET", lockKey, token, "NX", "PX", String(max(ttlMs, 1))], routing: lockKey)
        try check(reply, doing: "lock clip \(key.short)")
        return reply.isOK ? RedisLock(key: key, token: token, ttlMs: ttlMs) : nil
    }

    /// Releases a lock if it is still this holder's (same token); returns false when it had
    /// expired or been taken by someone else, whose lock is left alone.
    @discardableResult
    public func release(_ lock: RedisLock) async throws -> Bool {
        let lockKey = lockKey(lock.key, cluster: try await client.isCluster())
        let reply = try await client.command(["EVAL", RedisTier.releaseScript, "1", lockKey, lock.token], routing: lockKey)
        try check(reply, doing: "unlock clip \(lock.key.short)")
        return reply.integer == 1
    }

    /// Extends a held lock so a long generation keeps it; false when it was lost (expired and
    /// taken by someone else), in which case the holder should finish but expect a duplicate.
    @discardableResult
    public func refresh(_ lock: RedisLock) async throws -> Bool {
        let lockKey = lockKey(lock.key, cluster: try await client.isCluster())
        let reply = try await client.command(["EVAL", RedisTier.refreshScript, "1", lockKey, lock.token,
                                              String(max(lock.ttlMs, 1))], routing: lockKey)
        try check(reply, doing: "extend the lock of clip \(lock.key.short)")
        return reply.integer == 1
    }

    // MARK: - Counters

    /// Adds to a shared counter. Statistics must never fail a request, so errors are dropped.
    public func increment(_ counter: String, by amount: Int = 1) async {
        _ = try? await client.command(["HINCRBY", statsKey, counter, String(amount)], routing: statsKey)
    }

    /// Adds several counters in one round trip; throws so the caller can keep what failed.
    public func increment(_ amounts: [String: Int]) async throws {
        guard !amounts.isEmpty else { return }
        let commands = amounts.map { [Data("HINCRBY".utf8), Data(statsKey.utf8), Data($0.key.utf8), Data(String($0.value).utf8)] }
        for reply in try await client.pipeline(commands, routing: Data(statsKey.utf8)) {
            try check(reply, doing: "update counters")
        }
    }

    /// Every shared counter by name.
    public func counters() async throws -> [String: Int] {
        let reply = try await client.command(["HGETALL", statsKey], routing: statsKey)
        try check(reply, doing: "read counters")
        var result: [String: Int] = [:]
        let elements = reply.elements ?? []
        var i = 0
        while i + 1 < elements.count {
            if let name = elements[i].text, let value = elements[i + 1].text.flatMap({ Int($0) }) {
                result[name] = value
            }
            i += 2
        }
        return result
    }

    // MARK: - Helpers

    /// Whether a Redis error says the server is at its memory limit with a policy that evicts
    /// nothing (`noeviction`): writes are refused, reads still work.
    public static func isOutOfMemory(_ message: String) -> Bool {
        message.hasPrefix("OOM ") || message.contains("used memory > 'maxmemory'")
    }

    private func check(_ reply: RedisReply, doing what: @autoclosure () -> String) throws {
        if let message = reply.errorMessage {
            try RedisClient.checkRedirect(reply)
            let line = String(message.prefix { $0 != "\n" && $0 != "\r" }.prefix(200))
            throw TTSError.store("Redis at \(client.description) refused to \(what()): \(line).")
        }
    }

    private static func randomToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<2).map { _ in
            let hex = String(generator.next() as UInt64, radix: 16)
            return String(repeating: "0", count: 16 - hex.count) + hex
        }.joined()
    }

    /// Compare-and-extend: only the holder of the token extends the lock.
    static let refreshScript = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then
          return redis.call('PEXPIRE', KEYS[1], ARGV[2])
        end
        return 0
        """

    /// Compare-and-delete: only the holder of the token removes the lock.
    static let releaseScript = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then
          return redis.call('DEL', KEYS[1])
        end
        return 0
        """
}
