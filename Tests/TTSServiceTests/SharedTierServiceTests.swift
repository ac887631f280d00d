import Foundation
import Synchronization
import XCTest
import TestSupport
import TTSCore
import TTSStore
@testable import TTSService

/// The data path with the Redis tier: two stores stand for two machines sharing one server
/// (most tests run on the single server, then on the Redis Cluster `make test` starts).
final class SharedTierServiceTests: XCTestCase {
    private var ownServer: RedisTestServer?
    private var prefix = ""

    override func setUp() {
        prefix = "test-\(UUID().uuidString.prefix(8)):"
    }

    override func tearDown() {
        ownServer = nil
    }

    /// The server `make test` started, or one of our own.
    private func serverURL() throws -> RedisURL {
        if let text = ProcessInfo.processInfo.environment["TTS_TEST_REDIS_URL"] { return try RedisURL(parsing: text) }
        let server = try RedisTestServer()
        ownServer = server
        return server.url
    }

    /// Runs `body` against the server `make test` started, then against its Redis Cluster.
    private func onEveryTarget(_ body: (RedisTarget) async throws -> Void) async throws {
        try await body(RedisTarget(try serverURL()))
        guard let text = ProcessInfo.processInfo.environment["TTS_TEST_REDIS_CLUSTER_URL"], !text.isEmpty else {
            return XCTFail("TTS_TEST_REDIS_CLUSTER_URL is not set: run the tests through Tests/with-redis.sh (make test)")
        }
        try await body(try RedisTarget(parsing: text))
    }

    private func sharedTier(_ url: RedisURL, shareAudio: Bool = true, notices: NoticeLog? = nil) -> SharedTier {
        sharedTier(RedisTarget(url), shareAudio: shareAudio, notices: notices)
    }

    private func sharedTier(_ target: RedisTarget, shareAudio: Bool = true, notices: NoticeLog? = nil) -> SharedTier {
        let client = RedisClient(target, configuration: RedisPoolConfiguration(url: target.seeds[0], initialReconnectDelay: .milliseconds(20),
                                                                               maxReconnectDelay: .milliseconds(100)))
        let tier = RedisTier(client: client, prefix: prefix, shareAudio: shareAudio)
        return SharedTier(tier: tier, describe: "Redis at \(target)") { notices?.add($0) }
    }

    func testSecondMachineIsServedByRedisWithIdenticalBytesAndNoEngineCall() async throws {
        try await onEveryTarget { url in
            let a = try ServiceFixture(shared: sharedTier(url)), b = try ServiceFixture(shared: sharedTier(url))
            let first = try await a.service.generateOrFetch(a.request("shared phrase"))
            let second = try await b.service.generateOrFetch(b.request("shared phrase"))
            XCTAssertEqual(first.tier, .engine)
            XCTAssertEqual(second.tier, .redis)
            XCTAssertEqual(b.tone.calls, 0)
            XCTAssertEqual(try Data(contentsOf: first.path), try Data(contentsOf: second.path))
            XCTAssertEqual(second.clip.key, first.clip.key)
            let third = try await b.service.generateOrFetch(b.request("shared phrase"))
            XCTAssertEqual(third.tier, .local, "a Redis hit fills the local tier")
        }
    }

    /// A Redis hit is taken by each caller outside single-flight: callers of one key at once
    /// may each fetch and store it. All are answered from Redis with the same bytes, the store
    /// ends with one row and one intact blob, no flight is left behind, and the engine is
    /// never called.
    func testConcurrentRedisHitsOfOneKeyStoreOneIntactClip() async throws {
        try await onEveryTarget { url in
            let a = try ServiceFixture(shared: sharedTier(url)), b = try ServiceFixture(shared: sharedTier(url))
            let made = try await a.service.generateOrFetch(a.request("one phrase, many callers"))
            let service = b.service, request = b.request("one phrase, many callers")
            let answers = try await withThrowingTaskGroup(of: Generation.self) { group in
                for _ in 0..<8 { group.addTask { try await service.generateOrFetch(request) } }
                return try await group.reduce(into: [Generation]()) { $0.append($1) }
            }
            XCTAssertEqual(answers.count, 8)
            let expected = try Data(contentsOf: made.path)
            for answer in answers {
                XCTAssertTrue(answer.tier == .redis || answer.tier == .local, "\(answer.tier)")
                XCTAssertEqual(answer.clip.key, made.clip.key)
                XCTAssertEqual(try Data(contentsOf: answer.path), expected)
            }
            XCTAssertEqual(b.tone.calls, 0)
            XCTAssertEqual(service.flightsInProgress, 0)
            XCTAssertEqual(try service.local.index.clips(forBlob: made.clip.blob).map(\.key), [made.clip.key])
            XCTAssertEqual(try service.local.verifiedAudio(of: made.clip), expected)
        }
    }

    /// A prewarm whose phrases are all cached locally publishes the ones Redis lacks, as a
    /// `say` of each would (it used to publish none).
    func testAllCachedPrewarmPublishesTheClipsRedisLacks() async throws {
        try await onEveryTarget { url in
            let a = try ServiceFixture(shared: sharedTier(url))
            let texts = ["first cached phrase", "second cached phrase", "third cached phrase"]
            var keys: [RequestKey] = []
            for text in texts { keys.append(try await a.service.generateOrFetch(a.request(text)).clip.key) }
            for key in keys.prefix(2) { _ = await a.service.shared.remove(key) }  // Redis lost two of them
            for key in keys.prefix(2) {
                let present = try await a.service.shared.redisHasClip(key)
                XCTAssertEqual(present, false)
            }
            let list = PhraseList.parse(Data((texts.joined(separator: "\n") + "\n").utf8), format: .text, source: "list")
            let summary = try await Prewarmer(service: a.service).run(list, defaults: AudioRequest(text: "", engine: "tone", model: ""))
            XCTAssertEqual(summary.cached, 3)
            XCTAssertEqual(summary.generated, 0)
            XCTAssertEqual(a.tone.calls, 3, "no engine call for cached phrases")
            for key in keys {
                let present = try await a.service.shared.redisHasClip(key)
                XCTAssertEqual(present, true, "\(key.short) is in Redis after the prewarm")
            }
            let b = try ServiceFixture(shared: sharedTier(url))
            let served = try await b.service.generateOrFetch(b.request(texts[0]))
            XCTAssertEqual(served.tier, .redis)
        }
    }

    /// The Redis hit names the blob before its fsync (Redis still has the bytes): the row says
    /// so until the sync queue has flushed it.
    func testARedisHitsBlobIsMarkedDurableOnceFlushed() async throws {
        try await onEveryTarget { url in
            let a = try ServiceFixture(shared: sharedTier(url))
            let b = try ServiceFixture(shared: sharedTier(url), blobSyncDelay: .seconds(600))
            let made = try await a.service.generateOrFetch(a.request("flushed later"))
            XCTAssertEqual(try a.service.local.index.clipsWithBlobNotDurable(), [], "an engine's clip is durable at once")
            let hit = try await b.service.generateOrFetch(b.request("flushed later"))
            XCTAssertEqual(hit.tier, .redis)
            XCTAssertEqual(try b.service.local.index.clipsWithBlobNotDurable().map(\.key), [hit.clip.key])
            XCTAssertEqual(b.service.local.pendingFlushCount, 1)
            let meanwhile = try await b.service.generateOrFetch(b.request("flushed later"))
            XCTAssertEqual(meanwhile.tier, .local, "served from the local tier meanwhile")
            XCTAssertEqual(try b.service.local.flush(), 1)
            XCTAssertEqual(try b.service.local.index.clipsWithBlobNotDurable(), [])
            XCTAssertEqual(try b.service.local.blobs.read(hit.clip.blob, verify: true), try Data(contentsOf: made.path))
        }
    }

    func testLocalHitIsPublishedForOtherMachines() async throws {
        try await onEveryTarget { url in
            // Machine A made the clip while Redis was off.
            let offline = try ServiceFixture()
            _ = try await offline.service.generateOrFetch(offline.request("made offline"))
            let a = try SpeechServiceReopened(offline, shared: sharedTier(url))
            let hit = try await a.service.generateOrFetch(offline.request("made offline"))
            XCTAssertEqual(hit.tier, .local)
            let b = try ServiceFixture(shared: sharedTier(url))
            var served: Tier?
            for _ in 0..<100 {  // the publish runs in the background: bounded wait
                if try await RedisTier(client: RedisClient(url), prefix: prefix).hasClip(hit.clip.key) {
                    served = try await b.service.generateOrFetch(b.request("made offline")).tier
                    break
                }
                try await Task.sleep(for: .milliseconds(20))
            }
            XCTAssertEqual(served, .redis)
            XCTAssertEqual(b.tone.calls, 0)
        }
    }

    func testMetadataWithoutSharedAudioIsAMiss() async throws {
        let url = try serverURL()
        let a = try ServiceFixture(shared: sharedTier(url, shareAudio: false))
        let b = try ServiceFixture(shared: sharedTier(url, shareAudio: false))
        _ = try await a.service.generateOrFetch(a.request("metadata only"))
        let second = try await b.service.generateOrFetch(b.request("metadata only"))
        XCTAssertEqual(second.tier, .engine)
        XCTAssertEqual(b.tone.calls, 1)
    }

    /// Metadata without audio is served from a blob this machine already has only when that
    /// file is intact: a file of zeros left by a power cut (no row names it) is not trusted.
    func testMetadataWithoutAudioUsesALocalBlobOnlyWhenItIsIntact() async throws {
        let url = try serverURL()
        let a = try ServiceFixture(shared: sharedTier(url, shareAudio: false))
        let made = try await a.service.generateOrFetch(a.request("metadata, local blob"))
        let wav = try Data(contentsOf: made.path)

        let zeroed = try ServiceFixture(shared: sharedTier(url, shareAudio: false))
        let path = zeroed.service.local.blobs.path(for: made.clip.blob)
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(count: wav.count)))
        let remade = try await zeroed.service.generateOrFetch(zeroed.request("metadata, local blob"))
        XCTAssertEqual(remade.tier, .engine)
        XCTAssertEqual(zeroed.tone.calls, 1)
        XCTAssertEqual(try Data(contentsOf: remade.path), wav, "the zeros were replaced")

        let intact = try ServiceFixture(shared: sharedTier(url, shareAudio: false))
        XCTAssertEqual(try intact.service.local.blobs.put(wav), made.clip.blob)
        let reused = try await intact.service.generateOrFetch(intact.request("metadata, local blob"))
        XCTAssertEqual(reused.tier, .redis)
        XCTAssertEqual(intact.tone.calls, 0)
        XCTAssertEqual(try intact.service.local.index.clipsWithBlobNotDurable(), [])
    }

    /// A blob that a durable row already names (its file lost) is flushed before it is named
    /// again: that row counts on the name meaning bytes on the disk.
    func testABlobADurableRowNamesIsStoredFlushedNotDeferred() async throws {
        let url = try serverURL()
        let a = try ServiceFixture(shared: sharedTier(url))
        let made = try await a.service.generateOrFetch(a.request("named twice"))
        let b = try ServiceFixture(shared: sharedTier(url), blobSyncDelay: .seconds(600))
        var other = made.clip
        other.key = RequestKey(hex: String(repeating: "ab", count: 32))!
        try b.service.local.index.upsert(other)  // durable, but its blob file is gone
        let hit = try await b.service.generateOrFetch(b.request("named twice"))
        XCTAssertEqual(hit.tier, .redis)
        XCTAssertEqual(try b.service.local.index.clipsWithBlobNotDurable(), [])
        XCTAssertEqual(b.service.local.pendingFlushCount, 0)
        XCTAssertTrue(try b.service.local.index.hasDurableClip(forBlob: made.clip.blob))
    }

    func testAudioWhoseHashDoesNotMatchIsNotTrusted() async throws {
        let url = try serverURL()
        let a = try ServiceFixture(shared: sharedTier(url))
        let first = try await a.service.generateOrFetch(a.request("tampered"))
        // Samples changed in place: the header, sizes and metadata still agree, the hash does not.
        let pool = RedisPool(url: url)
        let clipKey = Data("\(prefix)clip:\(first.clip.key.hex)".utf8)
        let stored = try await pool.command([Data("GET".utf8), clipKey])
        var value = try XCTUnwrap(stored.data)
        for i in (value.count - 64)..<value.count { value[value.startIndex + i] ^= 0x5A }
        _ = try await pool.command([Data("SET".utf8), clipKey, value])
        let bShared = sharedTier(url)
        let b = try ServiceFixture(shared: bShared)
        let second = try await b.service.generateOrFetch(b.request("tampered"))
        XCTAssertEqual(second.tier, .engine)
        XCTAssertEqual(BlobHash(of: try Data(contentsOf: second.path)), second.clip.blob)
        XCTAssertGreaterThanOrEqual(bShared.corruptEntriesFound, 1, "counted in tts_corrupt_shared_total")
    }

    /// Issue 15: another phrase's entry written under this key is refused (counted), the phrase
    /// is generated, and the entry overwritten, so a third machine is served the right audio.
    func testAnotherPhrasesEntryUnderThisKeyIsRefusedCountedAndOverwritten() async throws {
        let url = try serverURL()
        let a = try ServiceFixture(shared: sharedTier(url))
        let mine = try await a.service.generateOrFetch(a.request("the phrase asked for"))
        let other = try await a.service.generateOrFetch(a.request("a different phrase"))
        let pool = RedisPool(url: url)
        let otherValue = try await pool.command(["GET", "\(prefix)clip:\(other.clip.key.hex)"])
        _ = try await pool.command([Data("SET".utf8), Data("\(prefix)clip:\(mine.clip.key.hex)".utf8), try XCTUnwrap(otherValue.data)])

        let metrics = Metrics()
        let bShared = SharedTier(tier: RedisTier(pool: RedisPool(url: url), prefix: prefix), metrics: metrics)
        let b = try ServiceFixture(shared: bShared)
        let served = try await b.service.generateOrFetch(b.request("the phrase asked for"))
        XCTAssertEqual(served.tier, .engine, "the wrong phrase's audio was not served")
        XCTAssertEqual(served.clip.text, "the phrase asked for")
        // Refused at the first look-up and again at the one after taking the lock.
        XCTAssertEqual(bShared.corruptEntriesFound, 2)
        XCTAssertTrue(metrics.exposition().contains("tts_corrupt_shared_total 2"), metrics.exposition())

        let c = try ServiceFixture(shared: sharedTier(url))
        let third = try await c.service.generateOrFetch(c.request("the phrase asked for"))
        XCTAssertEqual(third.tier, .redis, "the entry was overwritten with the right clip")
        XCTAssertEqual(try Data(contentsOf: third.path), try Data(contentsOf: mine.path))
    }

    /// `stats` (and `--json stats`, `GET /v1/stats`) on the cluster: every node with its keys
    /// and memory.
    func testStatsListEveryNodeOfTheCluster() async throws {
        guard let text = ProcessInfo.processInfo.environment["TTS_TEST_REDIS_CLUSTER_URL"], !text.isEmpty else {
            return XCTFail("TTS_TEST_REDIS_CLUSTER_URL is not set: run the tests through Tests/with-redis.sh (make test)")
        }
        let fixture = try ServiceFixture(shared: SharedTier(tier: RedisTier(client: RedisClient(try RedisTarget(parsing: text)),
                                                                            prefix: prefix), describe: "Redis Cluster"))
        _ = try await fixture.service.generateOrFetch(fixture.request("a phrase for the counters"))
        let statistics = try await StoreStatistics.gather(service: fixture.service, pricePerCall: 0, pricePerAudioSecond: 0)
        XCTAssertEqual(statistics.redisNodes.count, 6, "three masters and their replicas: \(statistics.redisNodes)")
        XCTAssertEqual(statistics.redisNodes.filter(\.isMaster).count, 3)
        XCTAssertTrue(statistics.redisNodes.allSatisfy { $0.problem == nil && $0.keys != nil && $0.usedMemoryBytes != nil },
                      "\(statistics.redisNodes)")
        guard case let .object(top) = statistics.json(store: "s"),
              case let .object(redis)? = top.first(where: { $0.0 == "redis" })?.1,
              case let .array(nodes)? = redis.first(where: { $0.0 == "nodes" })?.1 else {
            return XCTFail("no redis.nodes in \(statistics.json(store: "s"))")
        }
        XCTAssertEqual(nodes.count, 6)
    }

    func testTwoMachinesAskingTheSamePhrasesAtOnceCallTheEngineOncePerPhrase() async throws {
        try await onEveryTarget { url in
            let a = try ServiceFixture(shared: sharedTier(url)), b = try ServiceFixture(shared: sharedTier(url))
            a.tone.latency = .milliseconds(50)
            b.tone.latency = .milliseconds(50)
            let phrases = (1...20).map { "phrase \($0)" }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for fixture in [a, b] {
                    for phrase in phrases {
                        group.addTask { _ = try await fixture.service.generateOrFetch(fixture.request(phrase)) }
                    }
                }
                try await group.waitForAll()
            }
            XCTAssertEqual(a.tone.calls + b.tone.calls, phrases.count)
        }
    }

    func testWaiterTakesOverWhenTheLockHolderVanished() async throws {
        try await onEveryTarget { url in
            var policy = SpeechService.LockPolicy()
            policy.pollEvery = .milliseconds(20)
            let a = try ServiceFixture(shared: sharedTier(url), locking: policy)
            // A holder that died: its lock stays until it expires.
            let request = try await a.service.prepare(a.request("orphaned lock"))
            let tier = RedisTier(client: RedisClient(url), prefix: prefix)
            let dead = try await tier.acquireLock(RequestKey(request), ttlMs: 400)
            XCTAssertNotNil(dead)
            let started = ContinuousClock.now
            let result = try await a.service.generateOrFetch(a.request("orphaned lock"))
            XCTAssertEqual(result.tier, .engine)
            XCTAssertGreaterThanOrEqual(started.duration(to: .now), .milliseconds(300), "it waited for the lock to expire")
            XCTAssertEqual(a.tone.calls, 1)
        }
    }

    func testRedisLostMidRunDegradesOnceAndComesBackByItself() async throws {
        let server = try RedisTestServer()
        ownServer = server
        let notices = NoticeLog()
        let a = try ServiceFixture(shared: sharedTier(server.url, notices: notices))
        _ = try await a.service.generateOrFetch(a.request("before the outage"))
        server.stop()
        for i in 1...3 {
            let result = try await a.service.generateOrFetch(a.request("during the outage \(i)"))
            XCTAssertEqual(result.tier, .engine)
        }
        let cached = try await a.service.generateOrFetch(a.request("before the outage"))
        XCTAssertEqual(cached.tier, .local)
        XCTAssertEqual(notices.lines.count, 1, "\(notices.lines)")
        XCTAssertTrue(notices.lines.first?.contains("local tier") == true)

        try server.start()
        var published = false
        for i in 1...50 where !published {  // the pool reconnects after its backoff: bounded
            _ = try await a.service.generateOrFetch(a.request("after the outage \(i)"))
            published = try await RedisTier(pool: RedisPool(url: server.url), prefix: prefix)
                .hasClip(RequestKey(try await a.service.prepare(a.request("after the outage \(i)"))))
            if !published { try await Task.sleep(for: .milliseconds(50)) }
        }
        XCTAssertTrue(published, "the shared tier came back without a restart")
        XCTAssertEqual(notices.lines.count, 2)
        XCTAssertTrue(notices.lines.last?.contains("back") == true)
    }
}

/// Collects notices from the shared tier.
final class NoticeLog: Sendable {
    private let stored = Mutex<[String]>([])
    func add(_ line: String) { stored.withLock { $0.append(line) } }
    var lines: [String] { stored.withLock { $0 } }
}

/// The same store opened again with another shared tier (a restart with Redis configured).
struct SpeechServiceReopened {
    let service: SpeechService
    init(_ fixture: ServiceFixture, shared: SharedTier) throws {
        var engines = EngineRegistry()
        engines.register(fixture.tone)
        service = SpeechService(engines: engines, index: try ClipIndex(url: fixture.layout.indexURL),
                                blobs: try BlobStore(layout: fixture.layout), shared: shared)
    }
}
