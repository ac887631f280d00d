import BenchStats
import Foundation
import Glibc
import TTSCore
import TTSService
import TTSStore

/// A Redis-tier hit: the clip is not on this machine, its metadata and audio are in Redis.
/// Through `SpeechService.generateOrFetch`: key, local miss, two round trips on one connection
/// (HGETALL + EXPIRE of the metadata, GETEX of the audio), WAV and SHA-256 check of the bytes,
/// blob write (temp file, rename; its fsync deferred to `BlobSyncQueue`), index row. Between
/// iterations (untimed) the local row and blob are deleted again.
///
/// Baseline: one hiredis GET of the same bytes plus writing them to a new file (raw C). An
/// informational row compares with the same floor plus an fsync, which is what the store paid
/// on this path before the fsync was deferred. Clips are 2 s of 22,050 Hz audio (88 KB), like
/// a short sentence.
struct RedisHitScenario: Scenario {
    let name = "redis-hit"
    static let clips = 16

    func run(_ context: BenchContext) async throws -> [Row] {
        guard let text = context.options.redisURL else {
            return [.skipped("Redis-tier hit", target: "≤ 2×",
                             because: "no Redis server: `make bench` starts one and sets TTS_BENCH_REDIS_URL")]
        }
        let url = try RedisURL(parsing: text)
        guard case let .tcp(host, port) = url.endpoint else { throw HarnessError("the bench expects a TCP Redis URL, got \(url)") }

        let prefix = "bench:\(getpid()):"
        let pool = RedisPool(url: url)
        let tier = RedisTier(pool: pool, prefix: prefix)
        let shared = SharedTier(tier: tier, describe: "bench Redis")
        let store = try await SeededStore.make(at: try context.folder("redis-hit"), count: 1)
        let service = try store.service(shared: shared)
        defer { service.local.index.close() }

        // The clips: published to Redis once, never present locally when timed.
        var requests: [AudioRequest] = []
        var clips: [Clip] = []
        for i in 0..<RedisHitScenario.clips {
            let request = AudioRequest(text: "redis phrase \(i)", engine: "espeak", model: "")
            let resolved = try await service.prepare(request)
            let wav = SeededStore.toneWAV(seconds: 2, frequency: 300 + Double(i) * 11)
            let clip = Clip(key: RequestKey(resolved), blob: BlobHash(of: wav), request: resolved, bytes: wav.count,
                            durationMs: 2000, sampleRate: 22_050)
            try await tier.publish(clip, audio: wav)
            requests.append(request)
            clips.append(clip)
        }

        let floor = try HiredisFloor(host: host, port: port)
        let floorFolder = try context.folder("redis-floor")
        let rounds = context.quick ? 10 : 60
        var service_: [Double] = []
        var plain: [Double] = []
        var durable: [Double] = []
        var required: [Double] = []
        var parts = Breakdown()
        // Each round times the plain floor, the service and the durable floor in separate passes:
        // a file created right after another's fsync can wait for the journal commit, which
        // would charge the service's fsyncs to the plain floor if they alternated per clip.
        for round in 0...rounds {
            var p: [Double] = [], s: [Double] = [], d: [Double] = [], r: [Double] = []
            for clip in clips {
                p.append(try timeFloor(floor, clip: clip, prefix: prefix, folder: floorFolder, durable: false))
            }
            for (i, request) in requests.enumerated() {
                let clip = clips[i]
                try service.local.index.remove(clip.key)
                try service.local.blobs.remove(clip.blob)
                let start = monotonicNanos()
                let result = try await service.generateOrFetch(request)
                let end = monotonicNanos()
                guard result.tier == .redis else {
                    throw HarnessError("\"\(request.text)\" came from the \(result.tier) tier, not Redis")
                }
                s.append(microseconds(from: start, to: end))
            }
            for clip in clips {
                d.append(try timeFloor(floor, clip: clip, prefix: prefix, folder: floorFolder, durable: true))
            }
            for clip in clips {
                r.append(try timeFloor(floor, clip: clip, prefix: prefix, folder: floorFolder, durable: false,
                                       requiredSteps: true))
            }
            let b = try await breakdown(service, shared: shared, clips: clips)
            if round > 0 {
                service_ += s
                plain += p
                durable += d
                required += r
                parts.append(b)
            }
        }
        for clip in clips {
            _ = try? await pool.command(["DEL", prefix + "clip:" + clip.key.hex, prefix + "blob:" + clip.blob.hex])
        }
        pool.close()

        let s = try Stats(service_), p = try Stats(plain), d = try Stats(durable), r = try Stats(required)
        let label = "GET+write"
        return [
            .measured("Redis-tier hit p50 (88 KB clip, \(grouped(service_.count)) hits)", Figure(s.p50, .microseconds),
                      baseline: Figure(p.p50, .microseconds), label: label, target: Target(.ratio, .atMost, 2)),
            .measured("Redis-tier hit p99", Figure(s.p99, .microseconds),
                      baseline: Figure(p.p99, .microseconds), label: label, target: Target(.ratio, .atMost, 2)),
            .measured("Redis-tier hit p50 vs a durable floor", Figure(s.p50, .microseconds),
                      baseline: Figure(d.p50, .microseconds), label: "GET+write+fsync",
                      note: "information: a floor that fsyncs each file, as this path did before its fsync was deferred"),
            .measured("Floor of the steps a hit must take, p50", Figure(r.p50, .microseconds),
                      baseline: Figure(p.p50, .microseconds), label: label,
                      note: "information: raw C, HGETALL of the metadata (it names the blob) + GET + SHA-256 of the bytes + write; what no implementation of this issue can go under, as a ratio of the target's baseline"),
            .measured("Redis-tier hit p50 vs that floor", Figure(s.p50, .microseconds),
                      baseline: Figure(r.p50, .microseconds), label: "HGETALL+GET+SHA-256+write"),
            .measured("  of which: Redis look-up (metadata, then audio), p50", Figure(try Stats(parts.lookUp).p50, .microseconds),
                      note: "information: the steps of a Redis hit timed one by one through public API (SharedTier.lookup, WAVAudio.decode, BlobStore.put, ClipIndex.upsert); the rest of the total is hand-offs between threads"),
            .measured("  of which: WAV check of the bytes, p50", Figure(try Stats(parts.check).p50, .microseconds)),
            .measured("  of which: SHA-256 check + blob write (temp, rename; fsync deferred), p50", Figure(try Stats(parts.put).p50, .microseconds)),
            .measured("  of which: index row, p50", Figure(try Stats(parts.upsert).p50, .microseconds)),
        ]
    }

    /// Per-step latencies of a Redis hit, in µs.
    struct Breakdown {
        var lookUp: [Double] = []
        var check: [Double] = []
        var put: [Double] = []
        var upsert: [Double] = []

        mutating func append(_ other: Breakdown) {
            lookUp += other.lookUp
            check += other.check
            put += other.put
            upsert += other.upsert
        }
    }

    /// The steps of the service's Redis-hit path, timed one by one on the same clips.
    private func breakdown(_ service: SpeechService, shared: SharedTier, clips: [Clip]) async throws -> Breakdown {
        var result = Breakdown()
        for clip in clips {
            try service.local.index.remove(clip.key)
            try service.local.blobs.remove(clip.blob)
            let t0 = monotonicNanos()
            let hit = await shared.lookup(clip.key)
            let t1 = monotonicNanos()
            guard let hit, let audio = hit.audio else { throw HarnessError("clip \(clip.key.short) is not in Redis with its audio") }
            guard (try? WAVAudio.decode(audio)) != nil else {
                throw HarnessError("the audio of \(clip.key.short) in Redis is not a WAV file")
            }
            let t2 = monotonicNanos()
            // As the service does it: one pass that hashes the bytes and writes them only when
            // they are the blob the metadata names.
            guard try service.local.blobs.put(audio, ifHashIs: clip.blob, durability: .deferred) else {
                throw HarnessError("the audio of \(clip.key.short) in Redis does not match its blob hash")
            }
            let t3 = monotonicNanos()
            try service.local.index.upsert(hit.clip, blobIsDurable: false)
            let t4 = monotonicNanos()
            result.lookUp.append(microseconds(from: t0, to: t1))
            result.check.append(microseconds(from: t1, to: t2))
            result.put.append(microseconds(from: t2, to: t3))
            result.upsert.append(microseconds(from: t3, to: t4))
        }
        return result
    }

    /// One GET + file write, timed; the file is removed afterwards (untimed).
    private func timeFloor(_ floor: HiredisFloor, clip: Clip, prefix: String, folder: URL, durable: Bool,
                           requiredSteps: Bool = false) throws -> Double {
        let key = Array((prefix + "blob:" + clip.blob.hex).utf8)
        let metadataKey = requiredSteps ? Array((prefix + "clip:" + clip.key.hex).utf8) : nil
        let path = folder.appendingPathComponent(clip.blob.hex + ".wav").path
        var start: UInt64 = 0, end: UInt64 = 0
        let written = path.withCString { file in
            folder.path.withCString { folder in
                start = monotonicNanos()
                defer { end = monotonicNanos() }
                return floor.fetch(key, to: file, folder: folder, durable: durable, requiredSteps: metadataKey)
            }
        }
        unlink(path)
        guard written == clip.bytes else {
            throw HarnessError("the hiredis floor got \(written) bytes for \(clip.blob.short), expected \(clip.bytes)")
        }
        return microseconds(from: start, to: end)
    }
}
