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

/// The shared tier: clip metadata (and, size-capped, WAV bytes) in Redis, so another process
/// or machine can reuse a clip without calling the engine.
///
/// Key space, all under `prefix` (default `tts:`):
///
/// | key | type | contents |
/// |---|---|---|
/// | `tts:clip:<request key>` | hash | blob, bytes, duration_ms, sample_rate, engine, model, voice, language, style, text, created (unix seconds), speakers (dialogue clips only) |
/// | `tts:blob:<blob hash>` | string | the WAV bytes, when sharing is on and the file is at most `maxAudioBytes` |
/// | `tts:lock:<request key>` | string | the holder's random token, with a millisecond expiry |
/// | `tts:stats` | hash | counters (`hits`, `misses`, …) |
///
/// Clips and blobs expire `ttlSeconds` after their last write or hit, so a shared Redis keeps
/// what is used and forgets the rest.
///
/// ```swift
/// let tier = RedisTier(pool: pool)
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
    public let pool: RedisPool
    public let prefix: String
    /// Expiry of clips and blobs after the last write or hit; 0 or less means never.
    public let ttlSeconds: Int
    /// Whether `publish` stores WAV bytes (up to `maxAudioBytes`) next to the metadata.
    public let shareAudio: Bool
    public let maxAudioBytes: Int
    /// Set when the server refused GETEX but took GET + EXPIRE (Redis before 6.2, an ACL).
    private let serverRefusesGETEX = Atomic(false)

    public static let defaultTTLSeconds = 30 * 24 * 3600
    public static let defaultMaxAudioBytes = 4 << 20

    public init(pool: RedisPool, prefix: String = "tts:", ttlSeconds: Int = RedisTier.defaultTTLSeconds,
                shareAudio: Bool = true, maxAudioBytes: Int = RedisTier.defaultMaxAudioBytes) {
        self.pool = pool
        self.prefix = prefix
        self.ttlSeconds = ttlSeconds
        self.shareAudio = shareAudio
        self.maxAudioBytes = maxAudioBytes
    }

    // MARK: - Key space

    func clipKey(_ key: RequestKey) -> String { prefix + "clip:" + key.hex }
    func blobKey(_ blob: BlobHash) -> String { prefix + "blob:" + blob.hex }
    func lockKey(_ key: RequestKey) -> String { prefix + "lock:" + key.hex }
    var statsKey: String { prefix + "stats" }

    // MARK: - Clips

    /// The clip stored for `key`, and its audio when shared and `withAudio` is true; refreshes
    /// the time-to-live of both. A missing or malformed entry is a miss (a malformed one is
    /// overwritten by the next publish for the key).
    ///
    /// Two round trips on one connection (metadata, then the blob it names), both on that
    /// connection's thread: fetching the blob inside a Lua script would be one round trip, but
    /// Redis copies a large value into a Lua string and back, which costs more than the second
    /// round trip (measured: 88 KB through EVAL ≈ 2.3 × GET).
    public func lookup(_ key: RequestKey, withAudio: Bool = true) async throws -> RedisHit? {
        try await lookup(key, withAudio: withAudio) { $0 }
    }

    /// `lookup`, then `take` on the connection's thread with what was found: a caller that
    /// stores the hit locally (blocking work) does so without a second hop between threads.
    /// `take` runs only after both round trips succeeded; what it throws is rethrown as is.
    public func lookup<T: Sendable>(_ key: RequestKey, withAudio: Bool = true,
                                    then take: @escaping @Sendable (RedisHit?) throws -> T) async throws -> T {
        let clipKey = Data(clipKey(key).utf8)
        let ttl = ttlSeconds > 0 ? Data(String(ttlSeconds).utf8) : nil
        let outcome = try await pool.withConnection { [self] connection -> Result<T, any Error> in
            var first = [[Data("HGETALL".utf8), clipKey]]
            if let ttl { first.append([Data("EXPIRE".utf8), clipKey, ttl]) }
            let metadata = try connection.pipeline(first)[0]
            try check(metadata, doing: "look up clip \(key.short)")
            guard let fields = metadata.elements, !fields.isEmpty,
                  let clip = RedisTier.decodeClip(key: key, fields: fields) else {
                return Result { try take(nil) }
            }
            guard withAudio else { return Result { try take(RedisHit(clip: clip, audio: nil)) } }
            let blobKey = Data(blobKey(clip.blob).utf8)
            let audio = try fetchAudio(blobKey, ttl: ttl, on: connection)
            try check(audio, doing: "fetch the audio of clip \(key.short)")
            // A blob whose length disagrees with the metadata is not trusted (the local store
            // checks its hash when it takes the bytes in).
            let bytes = audio.data.flatMap { $0.count == clip.bytes ? $0 : nil }
            return Result { try take(RedisHit(clip: clip, audio: bytes)) }
        }
        return try outcome.get()
    }

    /// The blob's bytes, refreshing their expiry: GETEX (Redis 6.2+) does both in one
    /// command. A server that refuses GETEX (older than 6.2, or an ACL or proxy that does not
    /// allow it) gets GET + EXPIRE instead, from then on once that worked.
    private func fetchAudio(_ blobKey: Data, ttl: Data?, on connection: RedisConnection) throws -> RedisReply {
        guard let ttl else { return try connection.command([Data("GET".utf8), blobKey]) }
        let triedGETEX = !serverRefusesGETEX.load(ordering: .relaxed)
        if triedGETEX {
            let reply = try connection.command([Data("GETEX".utf8), blobKey, Data("EX".utf8), ttl])
            guard reply.errorMessage != nil else { return reply }
        }
        let replies = try connection.pipeline([[Data("GET".utf8), blobKey], [Data("EXPIRE".utf8), blobKey, ttl]])
        if triedGETEX && replies.allSatisfy({ $0.errorMessage == nil }) {
            serverRefusesGETEX.store(true, ordering: .relaxed)
        }
        return replies[0]
    }

    /// Stores the clip's metadata and, when sharing is on and it fits under the cap, its WAV
    /// bytes (`audio` must be the bytes named by `clip.blob`). One atomic MULTI/EXEC, one
    /// round trip; both keys get the configured time-to-live.
    public func publish(_ clip: Clip, audio: Data?) async throws {
        var commands: [[Data]] = [["MULTI"].map { Data($0.utf8) }]
        if let audio, shareAudio, audio.count <= maxAudioBytes {
            var set = [Data("SET".utf8), Data(blobKey(clip.blob).utf8), audio]
            if ttlSeconds > 0 { set += [Data("EX".utf8), Data(String(ttlSeconds).utf8)] }
            commands.append(set)
        }
        let clipKey = clipKey(clip.key)
        commands.append(([Data("HSET".utf8), Data(clipKey.utf8)] + RedisTier.encodeClip(clip)))
        if ttlSeconds > 0 {
            commands.append(["EXPIRE", clipKey, String(ttlSeconds)].map { Data($0.utf8) })
        }
        commands.append([Data("EXEC".utf8)])
        let replies = try await pool.pipeline(commands)
        for reply in replies { try check(reply, doing: "publish clip \(clip.key.short)") }
        guard let results = replies.last?.elements else {
            throw TTSError.store("Redis at \(pool.url) discarded the transaction publishing clip \(clip.key.short); it is not shared. Publishing again may succeed.")
        }
        for result in results { try check(result, doing: "publish clip \(clip.key.short)") }
    }

    /// Whether metadata for `key` is in Redis (without refreshing its time-to-live).
    public func hasClip(_ key: RequestKey) async throws -> Bool {
        let reply = try await pool.command(["EXISTS", clipKey(key)])
        try check(reply, doing: "check clip \(key.short)")
        return reply.integer == 1
    }

    /// Which of `keys` have metadata in Redis, a few hundred per round trip (a pre-warm checks
    /// thousands at once before queuing the rest).
    public func existingClips(_ keys: [RequestKey]) async throws -> Set<RequestKey> {
        var found = Set<RequestKey>()
        var start = 0
        while start < keys.count {
            let batch = Array(keys[start..<min(start + 500, keys.count)])
            start += batch.count
            let replies = try await pool.pipeline(batch.map { ["EXISTS", clipKey($0)].map { Data($0.utf8) } })
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
        let reply = try await pool.command(["SET", lockKey(key), token, "NX", "PX", String(max(ttlMs, 1))])
        try check(reply, doing: "lock clip \(key.short)")
        return reply.isOK ? RedisLock(key: key, token: token, ttlMs: ttlMs) : nil
    }

    /// Releases a lock if it is still this holder's (same token); returns false when it had
    /// expired or been taken by someone else, whose lock is left alone.
    @discardableResult
    public func release(_ lock: RedisLock) async throws -> Bool {
        let reply = try await pool.command(["EVAL", RedisTier.releaseScript, "1", lockKey(lock.key), lock.token])
        try check(reply, doing: "unlock clip \(lock.key.short)")
        return reply.integer == 1
    }

    /// Extends a held lock so a long generation keeps it; false when it was lost (expired and
    /// taken by someone else), in which case the holder should finish but expect a duplicate.
    @discardableResult
    public func refresh(_ lock: RedisLock) async throws -> Bool {
        let reply = try await pool.command(["EVAL", RedisTier.refreshScript, "1", lockKey(lock.key), lock.token,
                                            String(max(lock.ttlMs, 1))])
        try check(reply, doing: "extend the lock of clip \(lock.key.short)")
        return reply.integer == 1
    }

    // MARK: - Counters

    /// Adds to a shared counter. Statistics must never fail a request, so errors are dropped.
    public func increment(_ counter: String, by amount: Int = 1) async {
        _ = try? await pool.command(["HINCRBY", statsKey, counter, String(amount)])
    }

    /// Adds several counters in one round trip; throws so the caller can keep what failed.
    public func increment(_ amounts: [String: Int]) async throws {
        guard !amounts.isEmpty else { return }
        let commands = amounts.map { [Data("HINCRBY".utf8), Data(statsKey.utf8), Data($0.key.utf8), Data(String($0.value).utf8)] }
        for reply in try await pool.pipeline(commands) { try check(reply, doing: "update counters") }
    }

    /// Every shared counter by name.
    public func counters() async throws -> [String: Int] {
        let reply = try await pool.command(["HGETALL", statsKey])
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

    // MARK: - Encoding

    static func encodeClip(_ clip: Clip) -> [Data] {
        var fields: [(String, String)] = [
            ("blob", clip.blob.hex),
            ("bytes", String(clip.bytes)),
            ("duration_ms", String(clip.durationMs)),
            ("sample_rate", String(clip.sampleRate)),
            ("engine", clip.engine),
            ("model", clip.model),
            ("voice", clip.voice),
            ("language", clip.language),
            ("style", clip.style),
            ("text", clip.text),
            ("created", String(Int(clip.createdAt.timeIntervalSince1970.rounded(.down)))),
        ]
        // Only dialogue clips carry it, so every other clip's hash is what older readers expect.
        if !clip.speakers.isEmpty { fields.append(("speakers", SpeakerVoice.storedText(clip.speakers))) }
        return fields.flatMap { [Data($0.0.utf8), Data($0.1.utf8)] }
    }

    /// `lastUsedAt` is the time of this lookup and `hits` is 0: use statistics stay local.
    static func decodeClip(key: RequestKey, fields: [RedisReply]) -> Clip? {
        var map: [String: String] = [:]
        var i = 0
        while i + 1 < fields.count {
            if let name = fields[i].text, let value = fields[i + 1].text { map[name] = value }
            i += 2
        }
        guard let blob = map["blob"].flatMap({ BlobHash(hex: $0) }),
              let bytes = map["bytes"].flatMap({ Int($0) }),
              let durationMs = map["duration_ms"].flatMap({ Int($0) }),
              let sampleRate = map["sample_rate"].flatMap({ Int($0) }),
              let created = map["created"].flatMap({ Double($0) }),
              let engine = map["engine"], let model = map["model"], let voice = map["voice"],
              let text = map["text"] else {
            return nil
        }
        return Clip(key: key, blob: blob, text: text, voice: voice, language: map["language"] ?? "",
                    engine: engine, model: model, style: map["style"] ?? "", bytes: bytes,
                    durationMs: durationMs, sampleRate: sampleRate,
                    createdAt: Date(timeIntervalSince1970: created), lastUsedAt: Date(), hits: 0,
                    speakers: SpeakerVoice.list(storedText: map["speakers"] ?? ""))
    }

    // MARK: - Helpers

    private func check(_ reply: RedisReply, doing what: String) throws {
        if let message = reply.errorMessage {
            let line = String(message.prefix { $0 != "\n" && $0 != "\r" }.prefix(200))
            throw TTSError.store("Redis at \(pool.url) refused to \(what): \(line).")
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
