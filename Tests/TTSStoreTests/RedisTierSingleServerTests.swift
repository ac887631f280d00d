import Foundation
import Synchronization
import TTSCore
import XCTest
import TestSupport
@testable import TTSStore

/// Shared-tier behaviour that only a single server shows: servers of their own (no GETEX, ACLs,
/// a memory limit, down), and entries of the earlier two-key layout.
final class RedisTierSingleServerTests: RedisServerTestCase {
    /// Redis before 6.2 has no GETEX: the look-up falls back to GET + EXPIRE.
    func testLookupWorksOnAServerWithoutGETEX() async throws {
        let server = try RedisTestServer(extraArguments: ["--rename-command", "GETEX", ""])
        defer { server.stop() }
        try await assertLookupFallsBackFromGETEX(server.url, refusal: "ERR unknown command")
    }

    /// An ACL that does not allow GETEX (NOPERM rather than unknown command): same fallback.
    func testLookupWorksForAUserNotAllowedGETEX() async throws {
        let server = try RedisTestServer(password: "admin pw")
        defer { server.stop() }
        let admin = try RedisConnection(url: server.url)
        XCTAssertEqual(try admin.command(["ACL", "SETUSER", "reader", "on", ">reader pw", "~*", "+@all", "-getex"]), .status("OK"))
        var url = server.url
        url.username = "reader"
        url.password = "reader pw"
        try await assertLookupFallsBackFromGETEX(url, refusal: "NOPERM")
    }

    /// On a server that refuses GETEX to `url` with `refusal`, look-ups still return the audio
    /// and still refresh the value's time-to-live.
    private func assertLookupFallsBackFromGETEX(_ url: RedisURL, refusal: String,
                                                file: StaticString = #filePath, line: UInt = #line) async throws {
        let tier = RedisTier(pool: RedisPool(url: url), prefix: prefix, ttlSeconds: 500)
        let audio = sampleWAV(seed: 21)
        let clip = makeClip(audio: audio)
        try await tier.publish(clip, audio: audio)
        let direct = try RedisConnection(url: url)
        let key = clipKey(clip.key)
        let refused = try direct.command(["GETEX", key]).errorMessage ?? ""
        XCTAssertTrue(refused.hasPrefix(refusal), "GETEX must be refused for the test to mean anything: \(refused)",
                      file: file, line: line)
        _ = try direct.command(["EXPIRE", key, "100"])
        for _ in 0..<2 {
            let hit = try await tier.lookup(clip.key)
            XCTAssertEqual(hit?.audio, audio, file: file, line: line)
        }
        let ttl = try direct.command(["TTL", key]).integer ?? 0
        XCTAssertGreaterThan(ttl, 400, "the hit refreshed the entry's expiry", file: file, line: line)
    }

    /// A fleet mid-upgrade: entries written by the earlier layout (a metadata hash naming
    /// `blob:<sha>`) are still hits, with their audio, until they expire; a publish replaces
    /// them with the one-value layout.
    func testEntriesOfTheEarlierTwoKeyLayoutAreStillRead() async throws {
        let tier = try makeTier()
        let audio = wav(frames: 500)
        let clip = makeClip(audio: audio)
        try await plantEarlierLayout(clip, audio: audio)
        let fields = earlierLayoutFields(clip)
        let pool = try makePool()
        let hit = try await tier.lookup(clip.key)
        XCTAssertEqual(hit?.audio, audio)
        XCTAssertEqual(hit?.clip.text, clip.text)
        XCTAssertEqual(hit?.clip.createdAt, clip.createdAt)
        // Converted in place by that hit: one value with the audio, read with one GETEX from now
        // on; the old blob key is left to expire.
        let converted = try await pool.command(["TYPE", clipKey(clip.key)])
        XCTAssertEqual(converted, .status("string"))
        let value = try await pool.command(["GET", clipKey(clip.key)])
        XCTAssertEqual(try SharedClipValue.decode(XCTUnwrap(value.data), key: clip.key).audio, audio)
        let expiry = try await pool.command(["TTL", clipKey(clip.key)])
        XCTAssertGreaterThan(expiry.integer ?? 0, 0, "the converted value has the time-to-live")
        let convertedHit = try await tier.lookup(clip.key)
        XCTAssertEqual(convertedHit?.audio, audio)
        XCTAssertEqual(convertedHit?.clip.createdAt, clip.createdAt)

        // Its metadata is checked like any other: another phrase's hash under this key is refused.
        let other = makeClip(audio: audio, text: "someone else's phrase")
        _ = try await pool.command([Data("HSET".utf8), Data(clipKey(other.key).utf8)]
                                   + fields.flatMap { [Data($0.0.utf8), Data($0.1.utf8)] })
        let refused = try await tier.entry(for: other.key) { $0 }
        guard case .refused = refused else { return XCTFail("expected a refusal, got \(refused)") }

        try await tier.publish(clip, audio: audio)
        let type = try await pool.command(["TYPE", clipKey(clip.key)])
        XCTAssertEqual(type, .status("string"))
        let again = try await tier.lookup(clip.key)
        XCTAssertEqual(again?.audio, audio)
    }

    /// The metadata hash of the earlier layout, as an earlier version wrote it.
    private func earlierLayoutFields(_ clip: Clip) -> [(String, String)] {
        [
            ("blob", clip.blob.hex), ("bytes", String(clip.bytes)), ("duration_ms", String(clip.durationMs)),
            ("sample_rate", String(clip.sampleRate)), ("engine", clip.engine), ("model", clip.model),
            ("voice", clip.voice), ("language", clip.language), ("style", clip.style), ("text", clip.text),
            ("created", "1750000000"),
        ]
    }

    /// An entry of the earlier layout (hash and blob), planted as an earlier version wrote it.
    private func plantEarlierLayout(_ clip: Clip, audio: Data) async throws {
        let fields = earlierLayoutFields(clip)
        let pool = try makePool()
        _ = try await pool.command([Data("HSET".utf8), Data(clipKey(clip.key).utf8)] + fields.flatMap { [Data($0.0.utf8), Data($0.1.utf8)] })
        _ = try await pool.command([Data("SET".utf8), Data((prefix + "blob:" + clip.blob.hex).utf8), audio])
    }

    /// Callers hitting one entry of the earlier layout at once: whoever reads it after another
    /// converted it reads the new value (it got WRONGTYPE on the hash before), and a machine
    /// that shares no audio leaves the entry as it is (its conversion would drop the audio).
    func testAnEarlierLayoutEntryHitConcurrentlyAndByAMachineSharingNoAudio() async throws {
        let audio = wav(frames: 700)
        let clip = makeClip(audio: audio)
        try await plantEarlierLayout(clip, audio: audio)
        let metadataOnly = try makeTier(shareAudio: false)
        let kept = try await metadataOnly.lookup(clip.key)
        XCTAssertEqual(kept?.clip.blob, clip.blob)
        let type = try await makePool().command(["TYPE", clipKey(clip.key)])
        XCTAssertEqual(type, .status("hash"), "not converted without its audio")

        let tiers = try (0..<8).map { _ in try makeTier() }
        let audios = try await withThrowingTaskGroup(of: Data?.self) { group in
            for tier in tiers { group.addTask { try await tier.lookup(clip.key)?.audio } }
            return try await group.reduce(into: [Data?]()) { $0.append($1) }
        }
        XCTAssertEqual(audios, Array(repeating: audio, count: 8))
        let converted = try await makePool().command(["TYPE", clipKey(clip.key)])
        XCTAssertEqual(converted, .status("string"))
    }

    func testIncrementWithRedisDownDoesNotThrowButLookupIsAStoreError() async throws {
        let url = RedisURL(endpoint: .tcp(host: "127.0.0.1", port: try RedisTestServer.freePort()))
        let tier = RedisTier(pool: RedisPool(url: url), prefix: prefix)
        await tier.increment("hits", by: 1)
        await assertThrowsTTSErrorAsync(.store) { _ = try await tier.lookup(self.randomKey()) }
        await assertThrowsTTSErrorAsync(.store) { try await tier.publish(self.makeClip(audio: self.wav(frames: 1)), audio: nil) }
    }

    func testAnotherTypeAtAClipKeyIsAStoreError() async throws {
        let tier = try makeTier()
        let key = randomKey()
        _ = try await makePool().command(["RPUSH", prefix + "clip:" + key.hex, "not a clip"])
        let error = await assertThrowsTTSErrorAsync(.store) { _ = try await tier.lookup(key) }
        XCTAssertTrue(error?.message.contains("WRONGTYPE") ?? false, error?.message ?? "")
    }

    /// Issue 15: Redis at its memory limit (noeviction) refuses writes. That is said once and
    /// counted; reads go on and the tier is not degraded.
    func testWritesRefusedForMemoryAreSaidOnceCountedAndReadsGoOn() async throws {
        let server = try RedisTestServer()
        defer { server.stop() }
        let tier = RedisTier(pool: RedisPool(url: server.url), prefix: prefix)
        let readable = makeClip(audio: wav(frames: 100))
        try await tier.publish(readable, audio: wav(frames: 100))
        let admin = try RedisConnection(url: server.url)
        XCTAssertEqual(try admin.command(["CONFIG", "SET", "maxmemory-policy", "noeviction"]), .status("OK"))
        XCTAssertEqual(try admin.command(["CONFIG", "SET", "maxmemory", "1"]), .status("OK"))

        let notices = NoticeCollector()
        let shared = SharedTier(tier: tier, describe: "test Redis") { notices.add($0) }
        for i in 0..<3 {
            let audio = wav(frames: 100, seed: i + 1)
            await shared.publish(makeClip(audio: audio), audio: audio)
        }
        let hit = await shared.lookup(readable.key)
        XCTAssertNotNil(hit, "reads go on")
        XCTAssertFalse(shared.isDegraded)
        XCTAssertEqual(shared.writesRefusedForMemory, 3)
        XCTAssertEqual(notices.lines.count, 1, "\(notices.lines)")
        XCTAssertTrue(notices.lines.first?.contains("memory") == true, notices.lines.first ?? "")
    }

    /// Issue 15: a refused entry is counted in tts_corrupt_shared_total.
    func testARefusedEntryIsCountedAsCorrupt() async throws {
        let metrics = Metrics()
        let shared = SharedTier(tier: try makeTier(), metrics: metrics)
        let audio = wav(frames: 100)
        let clip = makeClip(audio: audio)
        _ = try await makePool().command(["SET", clipKey(clip.key), "\u{1}garbage"])
        let hit = await shared.lookup(clip.key)
        XCTAssertNil(hit)
        XCTAssertEqual(shared.corruptEntriesFound, 1)
        XCTAssertTrue(metrics.exposition().contains("tts_corrupt_shared_total 1"), metrics.exposition())
    }
}

/// Collects the shared tier's notices.
final class NoticeCollector: Sendable {
    private let stored = Mutex<[String]>([])
    func add(_ line: String) { stored.withLock { $0.append(line) } }
    var lines: [String] { stored.withLock { $0 } }
}
