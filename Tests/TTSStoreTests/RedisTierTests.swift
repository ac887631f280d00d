import Foundation
import TTSCore
import XCTest
import TestSupport
@testable import TTSStore

/// The shared tier's contract: every test runs on a single server, then on the Redis Cluster
/// `make test` starts (hash-tagged keys, routing by slot, a pool per node).
final class RedisTierTests: RedisServerTestCase {
    func testPublishedClipComesBackWithEveryFieldAndItsAudio() async throws {
        try await onEveryTarget {
            let tier = try makeTier()
            let audio = wav(frames: 2500)
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
    }

    func testAClipIsOneValueWithAVersionedHeaderMetadataThenAudio() async throws {
        try await onEveryTarget {
            let tier = try makeTier()
            let audio = wav(frames: 300)
            let clip = makeClip(audio: audio)
            try await tier.publish(clip, audio: audio)
            let reply = try await raw("GET", clipKey(clip.key), key: clipKey(clip.key))
            let value = try XCTUnwrap(reply.data)
            XCTAssertEqual(value.first, 1, "format version")
            let length = value.dropFirst().prefix(4).reduce(0) { $0 << 8 | Int($1) }
            XCTAssertEqual(value.count, 5 + length + audio.count)
            XCTAssertEqual(value.suffix(audio.count), audio, "the audio follows the metadata")
            let keys = try await raw("KEYS", prefix + "*", key: clipKey(clip.key)).elements ?? []
            XCTAssertEqual(keys.count, 1, "no second key for the audio")
        }
    }

    /// A hit is one round trip: one command on the node holding the clip, a GETEX.
    func testAHitIsOneGETEX() async throws {
        try await onEveryTarget {
            let client = try makeClient()
            let tier = RedisTier(client: client, prefix: prefix)
            let audio = wav(frames: 800)
            let clip = makeClip(audio: audio)
            try await tier.publish(clip, audio: audio)
            let node = usesCluster ? try await client.node(serving: try await tier.clipKey(clip.key)) : try await client.masters()[0]
            /// The node's count of each command, ours and anyone's.
            func calls() async throws -> [String: Int] {
                let text = try await client.command(["INFO", "commandstats"], on: node).text ?? ""
                var counts: [String: Int] = [:]
                // Replicas' acknowledgements (REPLCONF) arrive on their own; INFO is ours.
                for line in text.split(whereSeparator: \.isNewline) where line.hasPrefix("cmdstat_")
                    && !line.hasPrefix("cmdstat_replconf:") && !line.hasPrefix("cmdstat_info:") {
                    guard let name = line.split(separator: ":").first?.dropFirst("cmdstat_".count),
                          let field = line.split(separator: ",").first?.split(separator: "=").last,
                          let count = Int(field) else { continue }
                    counts[String(name)] = count
                }
                return counts
            }
            // The counts are the node's, so a command another test left running in the
            // background may land in the window: a stray only adds, so one window of several
            // that shows the GETEX alone proves the hit sent nothing else, and a hit that sends
            // two commands shows two in every window.
            var windows: [[String: Int]] = []
            for _ in 0..<3 {
                let before = try await calls()
                let hit = try await tier.lookup(clip.key)
                let after = try await calls()
                XCTAssertEqual(hit?.audio, audio)
                let sent = after.reduce(into: [String: Int]()) { sent, entry in
                    let delta = entry.value - (before[entry.key] ?? 0)
                    if delta != 0 { sent[entry.key] = delta }
                }
                windows.append(sent)
                if sent == ["getex": 1] { break }
            }
            XCTAssertEqual(windows.last, ["getex": 1], "the GETEX, nothing else; each window sent \(windows)")
        }
    }

    func testUnknownKeyIsAMiss() async throws {
        try await onEveryTarget {
            let tier = try makeTier()
            let hit = try await tier.lookup(randomKey())
            XCTAssertNil(hit)
            let has = try await tier.hasClip(randomKey())
            XCTAssertFalse(has)
        }
    }

    func testHasClipAndExistingClipsAfterPublish() async throws {
        try await onEveryTarget {
            let tier = try makeTier()
            let clips = (0..<20).map { makeClip(audio: wav(frames: 10, seed: $0)) }
            for clip in clips.prefix(10) { try await tier.publish(clip, audio: nil) }
            let has = try await tier.hasClip(clips[0].key)
            XCTAssertTrue(has)
            let existing = try await tier.existingClips(clips.map(\.key))
            XCTAssertEqual(existing, Set(clips.prefix(10).map(\.key)))
        }
    }

    func testUnreadableEntryIsRefusedAndOverwrittenByPublish() async throws {
        try await onEveryTarget {
            let tier = try makeTier()
            let audio = wav(frames: 100)
            let clip = makeClip(audio: audio)
            _ = try await raw("SET", clipKey(clip.key), "\u{1}garbage", key: clipKey(clip.key))
            let miss = try await tier.lookup(clip.key)
            XCTAssertNil(miss)
            try await tier.publish(clip, audio: audio)
            let hit = try await tier.lookup(clip.key)
            XCTAssertEqual(hit?.audio, audio)
        }
    }

    /// Another phrase's entry written under this key (issue 15): refused, then overwritten.
    func testAnEntryWhoseRequestFieldsKeyElsewhereIsRefused() async throws {
        try await onEveryTarget {
            let tier = try makeTier()
            let audio = wav(frames: 200)
            let mine = makeClip(audio: audio, text: "the phrase asked for")
            let other = makeClip(audio: audio, text: "another phrase")
            try await tier.publish(other, audio: audio)
            let value = try await raw("GET", clipKey(other.key), key: clipKey(other.key))
            _ = try await makeClient().command([Data("SET".utf8), Data(clipKey(mine.key).utf8), value.data!],
                                               routing: Data(clipKey(mine.key).utf8))
            let refused = try await tier.entry(for: mine.key) { $0 }
            guard case let .refused(reason) = refused else { return XCTFail("expected a refusal, got \(refused)") }
            XCTAssertTrue(reason.contains("key"), reason)
            try await tier.publish(mine, audio: audio)
            let hit = try await tier.lookup(mine.key)
            XCTAssertEqual(hit?.clip.text, "the phrase asked for")
        }
    }

    /// Metadata that disagrees with its WAV header in rate, channels, duration or size.
    func testMetadataThatDisagreesWithItsAudioIsRefused() async throws {
        try await onEveryTarget {
            let tier = try makeTier()
            let audio = wav(frames: 2400)  // 100 ms at 24 kHz
            var cases: [(String, Clip, Data)] = []
            var rate = makeClip(audio: audio)
            rate.sampleRate = 16_000
            cases.append(("Hz", rate, audio))
            var duration = makeClip(audio: audio)
            duration.durationMs = 60_000
            cases.append(("lasts", duration, audio))
            let stereo = wav(frames: 1200, channels: 2)
            var channels = makeClip(audio: stereo)
            channels.durationMs = 50
            cases.append(("channel", channels, stereo))
            for (expected, clip, bytes) in cases {
                // Published as a writer that lies would: the stored metadata says what `clip` says.
                let value = SharedClipValue(clip: clip, channels: 1, audio: bytes).encoded()
                _ = try await makeClient().command([Data("SET".utf8), Data(clipKey(clip.key).utf8), value],
                                                   routing: Data(clipKey(clip.key).utf8))
                let entry = try await tier.entry(for: clip.key) { $0 }
                guard case let .refused(reason) = entry else { XCTFail("\(expected): expected a refusal, got \(entry)"); continue }
                XCTAssertTrue(reason.contains(expected), "\(expected): \(reason)")
            }
            var size = makeClip(audio: audio)
            size.bytes += 2
            let value = SharedClipValue(clip: size, channels: 1, audio: audio).encoded()
            _ = try await makeClient().command([Data("SET".utf8), Data(clipKey(size.key).utf8), value],
                                               routing: Data(clipKey(size.key).utf8))
            let entry = try await tier.entry(for: size.key) { $0 }
            guard case let .refused(reason) = entry else { return XCTFail("size: expected a refusal, got \(entry)") }
            XCTAssertTrue(reason.contains("bytes"), reason)
        }
    }

    func testADialogueClipComesBackWithItsSpeakersAndIsNotPublishedWithoutThem() async throws {
        try await onEveryTarget {
            let tier = try makeTier()
            let audio = wav(frames: 100)
            let speakers = [SpeakerVoice(name: "Joe", voice: "Kore"), SpeakerVoice(name: "Jane", voice: "Puck")]
            let request = AudioRequest(text: "Joe: hi\nJane: hello \(UUID())", engine: "gemini", model: "m", speakers: speakers)
            var clip = Clip(key: RequestKey(request), blob: BlobHash(of: audio), request: request, bytes: audio.count,
                            durationMs: WAVHeader(audio)!.durationMs, sampleRate: 24_000)
            let published = try await tier.publish(clip, audio: audio)
            XCTAssertTrue(published)
            let hit = try await tier.lookup(clip.key)
            XCTAssertEqual(hit?.audio, audio)
            XCTAssertEqual(hit?.clip.speakers, speakers, "a dialogue clip comes back with its speakers")
            // Without its speakers the entry could not be checked against its key: not written.
            clip.speakers = []
            clip.key = RequestKey(AudioRequest(text: "Joe: hi\nJane: again \(UUID())", engine: "gemini", model: "m", speakers: speakers))
            let withoutSpeakers = try await tier.publish(clip, audio: audio)
            XCTAssertFalse(withoutSpeakers, "readers could not check it")
            let absent = try await tier.hasClip(clip.key)
            XCTAssertFalse(absent)
        }
    }

    func testTimeToLiveIsSetOnPublishAndRefreshedOnHit() async throws {
        try await onEveryTarget {
            let tier = try makeTier(ttlSeconds: 1000)
            let audio = wav(frames: 50)
            let clip = makeClip(audio: audio)
            try await tier.publish(clip, audio: audio)
            let key = clipKey(clip.key)
            let ttl = try await raw("TTL", key, key: key).integer ?? -1
            XCTAssertTrue((900...1000).contains(ttl), "TTL \(ttl)")
            _ = try await raw("EXPIRE", key, "50", key: key)
            _ = try await tier.lookup(clip.key)
            let refreshed = try await raw("TTL", key, key: key).integer ?? -1
            XCTAssertTrue((900...1000).contains(refreshed), "not refreshed: TTL \(refreshed)")
        }
    }

    func testAudioOverTheCapIsNotSharedButTheMetadataIs() async throws {
        try await onEveryTarget {
            let big = wav(frames: 100)
            let tier = try makeTier(maxAudioBytes: big.count - 1)
            let bigClip = makeClip(audio: big)
            try await tier.publish(bigClip, audio: big)
            let bigHit = try await tier.lookup(bigClip.key)
            XCTAssertNotNil(bigHit)
            XCTAssertNil(bigHit?.audio)
            let stored = try await raw("STRLEN", clipKey(bigClip.key), key: clipKey(bigClip.key)).integer ?? 0
            XCTAssertLessThan(stored, 1000, "metadata only")

            let fits = wav(frames: 99)
            let fitsClip = makeClip(audio: fits)
            try await tier.publish(fitsClip, audio: fits)
            let fitsHit = try await tier.lookup(fitsClip.key)
            XCTAssertEqual(fitsHit?.audio, fits)
        }
    }

    func testAudioIsNotSharedWhenSharingIsOff() async throws {
        try await onEveryTarget {
            let tier = try makeTier(shareAudio: false)
            let audio = wav(frames: 10)
            let clip = makeClip(audio: audio)
            try await tier.publish(clip, audio: audio)
            let hit = try await tier.lookup(clip.key)
            XCTAssertNotNil(hit)
            XCTAssertNil(hit?.audio)
        }
    }

    func testLargeBinaryAudioComesBackByteForByte() async throws {
        try await onEveryTarget {
            let tier = try makeTier()
            // Above the size whose reply buffer is taken over rather than copied.
            let audio = wav(frames: 150_000, seed: 3)
            let clip = makeClip(audio: audio)
            try await tier.publish(clip, audio: audio)
            for _ in 0..<3 {
                let hit = try await tier.lookup(clip.key)
                XCTAssertEqual(hit?.audio, audio)
            }
        }
    }

    func testLookupWithoutAudioLeavesTheBytesInRedis() async throws {
        try await onEveryTarget {
            let tier = try makeTier()
            let audio = wav(frames: 10)
            let clip = makeClip(audio: audio)
            try await tier.publish(clip, audio: audio)
            let hit = try await tier.lookup(clip.key, withAudio: false)
            XCTAssertNotNil(hit)
            XCTAssertNil(hit?.audio)
            let again = try await tier.lookup(clip.key)
            XCTAssertEqual(again?.audio, audio)
        }
    }

    func testTwoClipsWithTheSameAudioEachHoldTheirOwnCopy() async throws {
        try await onEveryTarget {
            let tier = try makeTier()
            let audio = wav(frames: 64)
            let first = makeClip(audio: audio), second = makeClip(audio: audio)
            try await tier.publish(first, audio: audio)
            try await tier.publish(second, audio: audio)
            let firstHit = try await tier.lookup(first.key)
            let secondHit = try await tier.lookup(second.key)
            XCTAssertEqual(firstHit?.audio, audio)
            XCTAssertEqual(secondHit?.audio, audio)
        }
    }

    func testRemoveDeletesTheEntry() async throws {
        try await onEveryTarget {
            let tier = try makeTier()
            let clip = makeClip(audio: wav(frames: 10))
            try await tier.publish(clip, audio: nil)
            let removed = try await tier.remove(clip.key)
            XCTAssertTrue(removed)
            let again = try await tier.remove(clip.key)
            XCTAssertFalse(again)
        }
    }

    func testSecondAcquireOfAHeldLockFails() async throws {
        try await onEveryTarget {
            let tier = try makeTier()
            let key = randomKey()
            let first = try await tier.acquireLock(key, ttlMs: 30_000)
            XCTAssertNotNil(first)
            let second = try await tier.acquireLock(key, ttlMs: 30_000)
            XCTAssertNil(second)
            let other = try await tier.acquireLock(randomKey(), ttlMs: 30_000)
            XCTAssertNotNil(other, "locks are per key")
        }
    }

    func testReleaseWithAnotherTokenFailsAndKeepsTheLock() async throws {
        try await onEveryTarget {
            let tier = try makeTier()
            let key = randomKey()
            let maybeLock = try await tier.acquireLock(key, ttlMs: 30_000)
            let lock = try XCTUnwrap(maybeLock)
            let impostor = RedisLock(key: key, token: String(repeating: "0", count: 32), ttlMs: 30_000)
            let releasedByImpostor = try await tier.release(impostor)
            XCTAssertFalse(releasedByImpostor)
            let stillHeld = try await tier.acquireLock(key, ttlMs: 30_000)
            XCTAssertNil(stillHeld)
            let refreshed = try await tier.refresh(lock)
            XCTAssertTrue(refreshed)

            let released = try await tier.release(lock)
            XCTAssertTrue(released)
            let retaken = try await tier.acquireLock(key, ttlMs: 30_000)
            XCTAssertNotNil(retaken)
        }
    }

    func testLockExpiresByItself() async throws {
        try await onEveryTarget {
            let tier = try makeTier()
            let key = randomKey()
            let maybeLock = try await tier.acquireLock(key, ttlMs: 100)
            let lock = try XCTUnwrap(maybeLock)
            let lockKey = tier.lockKey(key, cluster: usesCluster)
            let pttl = try await raw("PTTL", lockKey, key: lockKey).integer ?? -1
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
    }

    func testCountersAccumulate() async throws {
        try await onEveryTarget {
            let tier = try makeTier()
            await tier.increment("hits", by: 2)
            await tier.increment("hits", by: 3)
            try await tier.increment(["misses": 1])
            let counters = try await tier.counters()
            XCTAssertEqual(counters, ["hits": 5, "misses": 1])
        }
    }
}
