import Foundation
import TTSCore
import XCTest
import TestSupport
@testable import TTSStore

final class RedisTierTests: RedisServerTestCase {
    private func makeTier(ttlSeconds: Int = RedisTier.defaultTTLSeconds, shareAudio: Bool = true,
                          maxAudioBytes: Int = RedisTier.defaultMaxAudioBytes) throws -> RedisTier {
        RedisTier(pool: try makePool(), prefix: prefix, ttlSeconds: ttlSeconds, shareAudio: shareAudio,
                  maxAudioBytes: maxAudioBytes)
    }

    private func randomKey() -> RequestKey {
        RequestKey(hex: (0..<4).map { _ in String(format: "%016llx", UInt64.random(in: 0...UInt64.max)) }.joined())!
    }

    /// A clip whose every field differs from its default, with text that needs care
    /// (non-ASCII, CR LF, the unit separator used in keys).
    private func makeClip(audio: Data, key: RequestKey? = nil) -> Clip {
        Clip(key: key ?? randomKey(), blob: BlobHash(of: audio), text: "Grüß Gott,\r\nwörld \u{1F}😀",
             voice: "Kore", language: "de-AT", engine: "gemini", model: "gemini-2.5-flash-preview-tts",
             style: "cheerfully", bytes: audio.count, durationMs: 1234, sampleRate: 24_000,
             createdAt: Date(timeIntervalSince1970: 1_750_000_000), lastUsedAt: Date(timeIntervalSince1970: 1_750_000_100),
             hits: 7)
    }

    private func raw(_ arguments: String...) async throws -> RedisReply {
        try await makePool().command(arguments)
    }

    private func isShared(_ blob: BlobHash) async throws -> Bool {
        try await raw("EXISTS", prefix + "blob:" + blob.hex) == .integer(1)
    }

    func testPublishedClipComesBackWithEveryFieldAndItsAudio() async throws {
        let tier = try makeTier()
        let audio = awkwardBytes(5000)
        let clip = makeClip(audio: audio)
        try await tier.publish(clip, audio: audio)

        let maybeHit = try await tier.lookup(clip.key)
        let hit = try XCTUnwrap(maybeHit)
        XCTAssertEqual(hit.audio, audio)
        let got = hit.clip
        XCTAssertEqual(got.key, clip.key)
        XCTAssertEqual(got.blob, clip.blob)
        XCTAssertEqual(got.text, clip.text)
        XCTAssertEqual(got.voice, clip.voice)
        XCTAssertEqual(got.language, clip.language)
        XCTAssertEqual(got.engine, clip.engine)
        XCTAssertEqual(got.model, clip.model)
        XCTAssertEqual(got.style, clip.style)
        XCTAssertEqual(got.bytes, clip.bytes)
        XCTAssertEqual(got.durationMs, clip.durationMs)
        XCTAssertEqual(got.sampleRate, clip.sampleRate)
        XCTAssertEqual(got.createdAt, clip.createdAt)
        XCTAssertEqual(got.hits, 0, "use counts stay local")
    }

    func testADialogueClipComesBackWithItsSpeakers() async throws {
        let tier = try makeTier()
        var clip = makeClip(audio: Data("x".utf8))
        clip.speakers = [SpeakerVoice(name: "Joe", voice: "Kore"), SpeakerVoice(name: "Jane", voice: "Puck")]
        try await tier.publish(clip, audio: nil)
        let maybeHit = try await tier.lookup(clip.key)
        XCTAssertEqual(try XCTUnwrap(maybeHit).clip.speakers, clip.speakers)
    }

    func testStoredHashUsesTheDocumentedFieldNames() async throws {
        let tier = try makeTier()
        let clip = makeClip(audio: Data("x".utf8))
        try await tier.publish(clip, audio: nil)
        let fields = try await raw("HGETALL", prefix + "clip:" + clip.key.hex).elements ?? []
        let names = Set(stride(from: 0, to: fields.count, by: 2).compactMap { fields[$0].text })
        XCTAssertEqual(names, ["blob", "bytes", "duration_ms", "sample_rate", "engine", "model", "voice",
                               "language", "style", "text", "created"])
        let created = try await raw("HGET", prefix + "clip:" + clip.key.hex, "created")
        XCTAssertEqual(created.text, "1750000000")
    }

    func testUnknownKeyIsAMiss() async throws {
        let tier = try makeTier()
        let hit = try await tier.lookup(randomKey())
        XCTAssertNil(hit)
        let has = try await tier.hasClip(randomKey())
        XCTAssertFalse(has)
    }

    func testHasClipAfterPublish() async throws {
        let tier = try makeTier()
        let clip = makeClip(audio: Data("a".utf8))
        try await tier.publish(clip, audio: nil)
        let has = try await tier.hasClip(clip.key)
        XCTAssertTrue(has)
    }

    func testMalformedEntryIsAMissAndIsOverwrittenByPublish() async throws {
        let tier = try makeTier()
        let audio = Data("wav".utf8)
        let clip = makeClip(audio: audio)
        _ = try await raw("HSET", prefix + "clip:" + clip.key.hex, "blob", "not-a-hash", "bytes", "x")
        let miss = try await tier.lookup(clip.key)
        XCTAssertNil(miss)
        try await tier.publish(clip, audio: audio)
        let hit = try await tier.lookup(clip.key)
        XCTAssertEqual(hit?.clip.blob, clip.blob)
    }

    func testTimeToLiveIsSetOnPublishAndRefreshedOnHit() async throws {
        let tier = try makeTier(ttlSeconds: 1000)
        let audio = awkwardBytes(100)
        let clip = makeClip(audio: audio)
        try await tier.publish(clip, audio: audio)
        let clipKey = prefix + "clip:" + clip.key.hex
        let blobKey = prefix + "blob:" + clip.blob.hex
        for key in [clipKey, blobKey] {
            let ttl = try await raw("TTL", key).integer ?? -1
            XCTAssertTrue((900...1000).contains(ttl), "\(key) has TTL \(ttl)")
        }
        _ = try await raw("EXPIRE", clipKey, "50")
        _ = try await raw("EXPIRE", blobKey, "50")
        _ = try await tier.lookup(clip.key)
        for key in [clipKey, blobKey] {
            let ttl = try await raw("TTL", key).integer ?? -1
            XCTAssertTrue((900...1000).contains(ttl), "\(key) was not refreshed: TTL \(ttl)")
        }
    }

    func testAudioOverTheCapIsNotSharedButTheMetadataIs() async throws {
        let tier = try makeTier(maxAudioBytes: 100)
        let big = awkwardBytes(101)
        let bigClip = makeClip(audio: big)
        try await tier.publish(bigClip, audio: big)
        let bigHit = try await tier.lookup(bigClip.key)
        XCTAssertNotNil(bigHit)
        XCTAssertNil(bigHit?.audio)
        let bigShared = try await isShared(bigClip.blob)
        XCTAssertFalse(bigShared)

        let fits = awkwardBytes(100)
        let fitsClip = makeClip(audio: fits)
        try await tier.publish(fitsClip, audio: fits)
        let fitsHit = try await tier.lookup(fitsClip.key)
        XCTAssertEqual(fitsHit?.audio, fits)
    }

    func testAudioIsNotSharedWhenSharingIsOff() async throws {
        let tier = try makeTier(shareAudio: false)
        let audio = awkwardBytes(10)
        let clip = makeClip(audio: audio)
        try await tier.publish(clip, audio: audio)
        let hit = try await tier.lookup(clip.key)
        XCTAssertNotNil(hit)
        XCTAssertNil(hit?.audio)
        let shared = try await isShared(clip.blob)
        XCTAssertFalse(shared)
    }

    func testLargeBinaryAudioComesBackByteForByte() async throws {
        let tier = try makeTier()
        // Above the size whose reply buffer is taken over rather than copied, with the bytes
        // RESP frames with (CR, LF, $, *) and NULs throughout.
        var audio = Data((0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7919 &+ $0 >> 8) })
        audio.replaceSubrange(1000..<1004, with: [13, 10, 0, 36])
        let clip = makeClip(audio: audio)
        try await tier.publish(clip, audio: audio)
        for _ in 0..<3 {
            let hit = try await tier.lookup(clip.key)
            XCTAssertEqual(hit?.audio, audio)
        }
    }

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
    /// and still refresh the blob's time-to-live.
    private func assertLookupFallsBackFromGETEX(_ url: RedisURL, refusal: String,
                                                file: StaticString = #filePath, line: UInt = #line) async throws {
        let tier = RedisTier(pool: RedisPool(url: url), prefix: prefix, ttlSeconds: 500)
        let audio = sampleWAV(seed: 21)
        let clip = makeClip(audio: audio)
        try await tier.publish(clip, audio: audio)
        let direct = try RedisConnection(url: url)
        let blobKey = prefix + "blob:" + clip.blob.hex
        let refused = try direct.command(["GETEX", blobKey]).errorMessage ?? ""
        XCTAssertTrue(refused.hasPrefix(refusal), "GETEX must be refused for the test to mean anything: \(refused)",
                      file: file, line: line)
        _ = try direct.command(["EXPIRE", blobKey, "100"])
        for _ in 0..<2 {
            let hit = try await tier.lookup(clip.key)
            XCTAssertEqual(hit?.audio, audio, file: file, line: line)
        }
        let ttl = try direct.command(["TTL", blobKey]).integer ?? 0
        XCTAssertGreaterThan(ttl, 400, "the hit refreshed the blob's expiry", file: file, line: line)
    }

    func testLookupWithoutAudioLeavesTheBytesInRedis() async throws {
        let tier = try makeTier()
        let audio = awkwardBytes(10)
        let clip = makeClip(audio: audio)
        try await tier.publish(clip, audio: audio)
        let hit = try await tier.lookup(clip.key, withAudio: false)
        XCTAssertNotNil(hit)
        XCTAssertNil(hit?.audio)
    }

    func testTwoClipsWithTheSameAudioShareOneBlob() async throws {
        let tier = try makeTier()
        let audio = awkwardBytes(64)
        let first = makeClip(audio: audio)
        let second = makeClip(audio: audio)
        try await tier.publish(first, audio: audio)
        try await tier.publish(second, audio: audio)
        let blobs = try await raw("KEYS", prefix + "blob:*").elements ?? []
        XCTAssertEqual(blobs.count, 1)
        let hit = try await tier.lookup(second.key)
        XCTAssertEqual(hit?.audio, audio)
    }

    func testSecondAcquireOfAHeldLockFails() async throws {
        let tier = try makeTier()
        let key = randomKey()
        let first = try await tier.acquireLock(key, ttlMs: 30_000)
        XCTAssertNotNil(first)
        let second = try await tier.acquireLock(key, ttlMs: 30_000)
        XCTAssertNil(second)
        let other = try await tier.acquireLock(randomKey(), ttlMs: 30_000)
        XCTAssertNotNil(other, "locks are per key")
    }

    func testReleaseWithAnotherTokenFailsAndKeepsTheLock() async throws {
        let tier = try makeTier()
        let key = randomKey()
        let maybeLock = try await tier.acquireLock(key, ttlMs: 30_000)
        let lock = try XCTUnwrap(maybeLock)
        let impostor = RedisLock(key: key, token: String(repeating: "0", count: 32), ttlMs: 30_000)
        let releasedByImpostor = try await tier.release(impostor)
        XCTAssertFalse(releasedByImpostor)
        let stillHeld = try await tier.acquireLock(key, ttlMs: 30_000)
        XCTAssertNil(stillHeld)

        let released = try await tier.release(lock)
        XCTAssertTrue(released)
        let retaken = try await tier.acquireLock(key, ttlMs: 30_000)
        XCTAssertNotNil(retaken)
    }

    func testLockExpiresByItself() async throws {
        let tier = try makeTier()
        let key = randomKey()
        let maybeLock = try await tier.acquireLock(key, ttlMs: 100)
        let lock = try XCTUnwrap(maybeLock)
        let pttl = try await raw("PTTL", prefix + "lock:" + key.hex).integer ?? -1
        XCTAssertTrue((1...100).contains(pttl), "PTTL \(pttl)")
        var retaken: RedisLock?
        for _ in 0..<100 where retaken == nil {  // bounded: at most ~5 s
            try await Task.sleep(for: .milliseconds(50))
            retaken = try await tier.acquireLock(key, ttlMs: 30_000)
        }
        XCTAssertNotNil(retaken, "the lock never expired")
        let releasedLate = try await tier.release(lock)
        XCTAssertFalse(releasedLate, "an expired holder must not release the new holder's lock")
    }

    func testCountersAccumulate() async throws {
        let tier = try makeTier()
        await tier.increment("hits", by: 2)
        await tier.increment("hits", by: 3)
        await tier.increment("misses", by: 1)
        let counters = try await tier.counters()
        XCTAssertEqual(counters, ["hits": 5, "misses": 1])
    }

    func testIncrementWithRedisDownDoesNotThrowButLookupIsAStoreError() async throws {
        let url = RedisURL(endpoint: .tcp(host: "127.0.0.1", port: try RedisTestServer.freePort()))
        let tier = RedisTier(pool: RedisPool(url: url), prefix: prefix)
        await tier.increment("hits", by: 1)
        await assertThrowsTTSErrorAsync(.store) { _ = try await tier.lookup(self.randomKey()) }
        await assertThrowsTTSErrorAsync(.store) { try await tier.publish(self.makeClip(audio: Data()), audio: nil) }
    }

    func testWrongTypeAtAClipKeyIsAStoreError() async throws {
        let tier = try makeTier()
        let key = randomKey()
        _ = try await raw("SET", prefix + "clip:" + key.hex, "not a hash")
        let error = await assertThrowsTTSErrorAsync(.store) { _ = try await tier.lookup(key) }
        XCTAssertTrue(error?.message.contains("WRONGTYPE") ?? false, error?.message ?? "")
    }
}
