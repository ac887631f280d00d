import Foundation
import TTSCore
import XCTest
import TestSupport
@testable import TTSStore

/// Slot arithmetic (known vectors of the Redis Cluster specification) and the client's routing
/// on the real cluster `make test` starts: redirects, detection, every node in `health`,
/// failover.
final class RedisClusterTests: RedisServerTestCase {
    // MARK: - Slots

    func testCRC16MatchesTheXMODEMCheckValue() {
        XCTAssertEqual(RedisSlot.crc16("123456789"), 0x31C3)
        XCTAssertEqual(RedisSlot.crc16(""), 0)
    }

    func testKeySlotsMatchWhatRedisComputes() {
        // From CLUSTER KEYSLOT on Redis 7.
        XCTAssertEqual(RedisSlot(key: "foo").value, 12182)
        XCTAssertEqual(RedisSlot(key: "bar").value, 5061)
        XCTAssertEqual(RedisSlot(key: "123456789").value, 0x31C3)
    }

    func testHashTagsFollowTheSpecification() {
        XCTAssertEqual(RedisSlot(key: "{user1000}.following"), RedisSlot(key: "{user1000}.followers"))
        XCTAssertEqual(RedisSlot(key: "foo{bar}{zap}"), RedisSlot(key: "bar"), "the first tag counts")
        XCTAssertEqual(RedisSlot(key: "foo{}{bar}"), RedisSlot(key: "foo{}{bar}"))
        XCTAssertNotEqual(RedisSlot(key: "foo{}{bar}"), RedisSlot(key: "bar"), "an empty tag means the whole key")
        XCTAssertEqual(RedisSlot(key: "foo{{bar}}zap"), RedisSlot(key: "{bar"))
        XCTAssertEqual(RedisSlot(key: "tts:clip:{abc}"), RedisSlot(key: "tts:lock:{abc}"))
    }

    func testSlotMapIsReadFromClusterSlots() throws {
        func node(_ host: String, _ port: Int) -> RedisReply {
            .array([.string(Data(host.utf8)), .integer(port), .string(Data("id".utf8))])
        }
        let reply = RedisReply.array([
            .array([.integer(0), .integer(5460), node("10.0.0.1", 7000), node("10.0.0.4", 7003)]),
            .array([.integer(5461), .integer(16383), node("", 7001)]),
        ])
        let map = try XCTUnwrap(RedisSlotMap.parse(reply, askedNode: RedisNodeAddress(host: "10.0.0.9", port: 7001)))
        XCTAssertEqual(map.owner(of: RedisSlot(0)), RedisNodeAddress(host: "10.0.0.1", port: 7000))
        XCTAssertEqual(map.owner(of: RedisSlot(5460)), RedisNodeAddress(host: "10.0.0.1", port: 7000))
        XCTAssertEqual(map.owner(of: RedisSlot(5461)), RedisNodeAddress(host: "10.0.0.9", port: 7001), "empty host: the node asked")
        XCTAssertEqual(map.replicas[RedisNodeAddress(host: "10.0.0.1", port: 7000)], [RedisNodeAddress(host: "10.0.0.4", port: 7003)])
        XCTAssertNil(RedisSlotMap.parse(.array([]), askedNode: RedisNodeAddress(host: "h", port: 1)))
    }

    func testRedirectsAreParsedFromErrorReplies() {
        let moved = RedisRedirect(.error("MOVED 3999 127.0.0.1:6381"))
        XCTAssertEqual(moved?.kind, .moved)
        XCTAssertEqual(moved?.slot, RedisSlot(3999))
        XCTAssertEqual(moved?.node, RedisNodeAddress(host: "127.0.0.1", port: 6381))
        XCTAssertEqual(RedisRedirect(.error("ASK 1 [::1]:7000"))?.node, RedisNodeAddress(host: "::1", port: 7000))
        XCTAssertNil(RedisRedirect(.error("ERR unknown command")))
        XCTAssertNil(RedisRedirect(.string(Data("MOVED 1 h:1".utf8))))
    }

    func testClusterURLsListSeedsAndHideThePassword() throws {
        let target = try RedisTarget(parsing: "redis+cluster://:s3cret@10.0.0.1:7000,10.0.0.2:7001")
        XCTAssertTrue(target.isCluster)
        XCTAssertEqual(target.seeds.map(\.endpoint), [.tcp(host: "10.0.0.1", port: 7000), .tcp(host: "10.0.0.2", port: 7001)])
        XCTAssertEqual(target.seeds.map(\.password), ["s3cret", "s3cret"])
        XCTAssertFalse(target.description.contains("s3cret"), target.description)
        assertThrowsTTSError(.config) { _ = try RedisTarget(parsing: "redis+cluster://10.0.0.1:7000/2") }
        assertThrowsTTSError(.config) { _ = try RedisTarget(parsing: "redis+cluster://") }
        XCTAssertFalse(try RedisTarget(parsing: "redis://127.0.0.1").isCluster)
    }

    // MARK: - On the cluster

    func testAStaleMapIsCorrectedByMOVED() async throws {
        let client = RedisClient(try clusterTarget())
        let key = prefix + "moved"
        _ = try await client.command(["SET", key, "v"], routing: key)
        let masters = try await client.masters()
        let owner = try await client.node(serving: key)
        let wrong = try XCTUnwrap(masters.first { $0 != owner })
        client.pretendOwner(of: RedisSlot(key: key), is: wrong)
        let before = client.redirectsFollowed
        let reply = try await client.command(["GET", key], routing: key)
        XCTAssertEqual(reply.text, "v")
        XCTAssertEqual(client.redirectsFollowed, before + 1)
        let again = try await client.command(["GET", key], routing: key)
        XCTAssertEqual(again.text, "v")
        XCTAssertEqual(client.redirectsFollowed, before + 1, "the map was corrected")
    }

    /// A slot being migrated: the source answers ASK for a key it does not have, and the
    /// client asks the importing node once with ASKING.
    func testASlotBeingMigratedIsReachedWithOneASKINGHop() async throws {
        let client = RedisClient(try clusterTarget())
        let key = prefix + "asked"
        let slot = RedisSlot(key: key)
        let source = try await client.node(serving: key)
        let masters = try await client.masters()
        let destination = try XCTUnwrap(masters.first { $0 != source })
        let sourceID = try await nodeID(source, client: client), destinationID = try await nodeID(destination, client: client)
        _ = try await client.command(["CLUSTER", "SETSLOT", String(slot.value), "IMPORTING", sourceID], on: destination)
        _ = try await client.command(["CLUSTER", "SETSLOT", String(slot.value), "MIGRATING", destinationID], on: source)
        defer {
            let direct = { (node: RedisNodeAddress) in try? RedisConnection(url: node.url(like: self.clusterTarget().seeds[0])) }
            if let d = direct(destination) { _ = try? d.command(["ASKING"]); _ = try? d.command(["DEL", key]) }
            for node in [destination, source] { _ = try? direct(node)?.command(["CLUSTER", "SETSLOT", String(slot.value), "STABLE"]) }
        }
        let before = client.redirectsFollowed
        let set = try await client.command(["SET", key, "moved in"], routing: key)
        XCTAssertTrue(set.isOK, "\(set)")
        XCTAssertGreaterThan(client.redirectsFollowed, before, "the source answered ASK")
        let onDestination = try await client.command(["CLUSTER", "COUNTKEYSINSLOT", String(slot.value)], on: destination)
        XCTAssertEqual(onDestination.integer, 1, "the key was written on the importing node")
        let get = try await client.command(["GET", key], routing: key)
        XCTAssertEqual(get.text, "moved in")
    }

    func testClipsSpreadOverEveryMaster() async throws {
        let client = RedisClient(try clusterTarget())
        let tier = RedisTier(client: client, prefix: prefix)
        for i in 0..<60 {
            let audio = wav(frames: 10, seed: i)
            try await tier.publish(makeClip(audio: audio), audio: audio)
        }
        let masters = try await client.masters()
        XCTAssertEqual(masters.count, 3)
        for master in masters {
            let reply = try await client.command(["SCAN", "0", "MATCH", prefix + "clip:*", "COUNT", "10000"], on: master)
            let keys = reply.elements?.last?.elements ?? []
            XCTAssertGreaterThan(keys.count, 5, "master \(master) holds \(keys.count) of 60 clips")
        }
    }

    /// A clip's value and its generation lock share a slot (the lock's re-check and the value
    /// it guards are on one node), and different clips land in different slots.
    func testAClipsValueAndLockShareASlot() throws {
        let tier = RedisTier(client: RedisClient(try clusterTarget()), prefix: prefix)
        var slots = Set<RedisSlot>()
        for i in 0..<20 {
            let key = makeClip(audio: wav(frames: 10, seed: i)).key
            let slot = RedisSlot(key: tier.clipKey(key, cluster: true))
            XCTAssertEqual(RedisSlot(key: tier.lockKey(key, cluster: true)), slot, "clip \(key.short)")
            slots.insert(slot)
        }
        XCTAssertGreaterThan(slots.count, 15, "keys spread over slots")
    }

    func testAPlainURLToAClusterNodeIsDetectedAsACluster() async throws {
        let seed = try clusterTarget().seeds[0]
        let client = RedisClient(RedisTarget(seed))
        let cluster = try await client.isCluster()
        XCTAssertTrue(cluster)
        let tier = RedisTier(client: client, prefix: prefix)
        let audio = wav(frames: 10)
        let clip = makeClip(audio: audio)
        try await tier.publish(clip, audio: audio)
        let hit = try await tier.lookup(clip.key)
        XCTAssertEqual(hit?.audio, audio)
        let single = RedisClient(pool: try makePool())
        let isCluster = try await single.isCluster()
        XCTAssertFalse(isCluster)
    }

    func testHealthShowsEveryNode() async throws {
        let tier = RedisTier(client: RedisClient(try clusterTarget()), prefix: prefix)
        let diagnosis = try await tier.diagnose()
        XCTAssertEqual(diagnosis.nodes.filter(\.isMaster).count, 3)
        XCTAssertEqual(diagnosis.nodes.count, 6, "three masters and their replicas: \(diagnosis.nodes)")
        XCTAssertTrue(diagnosis.nodes.allSatisfy { $0.problem == nil && $0.version != nil && $0.keys != nil }, "\(diagnosis.nodes)")
    }

    // MARK: - Helpers

    private func nodeID(_ node: RedisNodeAddress, client: RedisClient) async throws -> String {
        try await client.command(["CLUSTER", "MYID"], on: node).text ?? ""
    }
}

/// A cluster whose nodes require a password: the one in the URL is used on every node (each
/// master's pool, the slot map, health); without it, or with a wrong one, the error says so.
final class RedisClusterPasswordTests: RedisServerTestCase {
    func testThePasswordInTheURLIsUsedOnEveryNode() async throws {
        let cluster = try RedisTestCluster(password: "cluster-s3cret")
        defer { cluster.stop() }
        let client = RedisClient(try RedisTarget(parsing: cluster.urlString))
        defer { client.close() }
        let tier = RedisTier(client: client, prefix: prefix)
        var clips: [(Clip, Data)] = []
        for i in 0..<30 {
            let audio = wav(frames: 10, seed: i)
            let clip = makeClip(audio: audio)
            try await tier.publish(clip, audio: audio)
            clips.append((clip, audio))
        }
        var owners = Set<RedisNodeAddress>()
        for (clip, audio) in clips {
            let hit = try await tier.lookup(clip.key)
            XCTAssertEqual(hit?.audio, audio)
            owners.insert(try await client.node(serving: try await tier.clipKey(clip.key)))
        }
        XCTAssertEqual(owners.count, 3, "clips on every master, each reached with the password")
        let diagnosis = try await tier.diagnose()
        XCTAssertEqual(diagnosis.nodes.count, 6)
        XCTAssertTrue(diagnosis.nodes.allSatisfy { $0.problem == nil }, "\(diagnosis.nodes)")

        let seeds = cluster.nodes.prefix(3).map { "127.0.0.1:\($0.port)" }.joined(separator: ",")
        for url in ["redis+cluster://" + seeds, "redis+cluster://:wrong@" + seeds] {
            let refused = RedisTier(client: RedisClient(try RedisTarget(parsing: url)), prefix: prefix)
            let error = await assertThrowsTTSErrorAsync(.store) { _ = try await refused.lookup(clips[0].0.key) }
            let message = error?.message ?? ""
            XCTAssertTrue(message.contains("NOAUTH") || message.contains("WRONGPASS") || message.lowercased().contains("password"),
                          message)
            XCTAssertFalse(message.contains("cluster-s3cret"), "the password is never printed: \(message)")
        }
    }
}

/// A master killed under load: its replica takes over, the client finds the new master in the
/// slot map and goes on; during the election calls fail (the shared tier's degraded mode).
final class RedisClusterFailoverTests: RedisServerTestCase {
    func testAKilledMasterIsReplacedByItsReplicaAndNoClipIsLost() async throws {
        let cluster = try RedisTestCluster()
        defer { cluster.stop() }
        let client = RedisClient(try RedisTarget(parsing: cluster.urlString),
                                 configuration: RedisPoolConfiguration(url: cluster.nodes[0].url, connectTimeout: .milliseconds(200),
                                                                       commandTimeout: .milliseconds(500),
                                                                       initialReconnectDelay: .milliseconds(20),
                                                                       maxReconnectDelay: .milliseconds(100)))
        let tier = RedisTier(client: client, prefix: prefix)
        var clips: [(Clip, Data)] = []
        for i in 0..<30 {
            let audio = wav(frames: 20, seed: i)
            let clip = makeClip(audio: audio)
            try await tier.publish(clip, audio: audio)
            clips.append((clip, audio))
        }
        for master in try await client.masters() {
            // Replicated before the kill (bounded: 20 × 400 ms, under the command timeout).
            var acknowledged = 0
            for _ in 0..<20 where acknowledged < 1 {
                acknowledged = try await client.command(["WAIT", "1", "400"], on: master).integer ?? 0
            }
            XCTAssertEqual(acknowledged, 1, "master \(master) has a replica in step")
        }
        // The first master of the map: the one a cluster-wide question (CLUSTER NODES) went to.
        let masters = try await client.masters()
        let victim = try XCTUnwrap(masters.first)
        var onVictim: (Clip, Data)?
        for clip in clips where onVictim == nil {
            if try await client.node(serving: tier.clipKey(clip.0.key)) == victim { onVictim = clip }
        }
        let (probe, probeAudio) = try XCTUnwrap(onVictim, "30 clips over 3 masters")
        try XCTUnwrap(cluster.node(port: victim.port)).stop()

        // `health` during the election: every node listed, the dead one with its problem.
        let during = try await tier.diagnose()
        XCTAssertEqual(during.nodes.count, 6, "\(during.nodes)")
        XCTAssertNotNil(during.nodes.first { $0.address == victim.description }?.problem, "\(during.nodes)")
        XCTAssertEqual(during.nodes.filter { $0.problem == nil }.count, 5, "\(during.nodes)")

        var recovered = false
        for _ in 0..<200 where !recovered {  // bounded: 200 × 50 ms plus timeouts
            do {
                let hit = try await tier.lookup(probe.key)
                XCTAssertEqual(hit?.audio, probeAudio)
                recovered = true
            } catch {
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        XCTAssertTrue(recovered, "the replica never took over")
        let newOwner = try await client.node(serving: tier.clipKey(probe.key))
        XCTAssertNotEqual(newOwner, victim)
        // Every node reports CLUSTERDOWN until it has seen the promotion itself, which can lag the
        // new owner by a moment: each look-up may wait that out (bounded), none may come back empty.
        for (clip, audio) in clips {
            var hit: RedisHit?
            for attempt in 0..<100 {  // bounded: 100 × 50 ms plus timeouts
                do {
                    hit = try await tier.lookup(clip.key)
                    break
                } catch where attempt < 99 {
                    try await Task.sleep(for: .milliseconds(50))
                }
            }
            XCTAssertEqual(hit?.audio, audio, "clip \(clip.key.short) after the failover")
        }
        let fresh = wav(frames: 5, seed: 99)
        var published = false
        for attempt in 0..<100 where !published {  // bounded, as above
            do {
                published = try await tier.publish(makeClip(audio: fresh), audio: fresh)
            } catch where attempt < 99 {
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        XCTAssertTrue(published, "a write after the failover")
        client.close()
    }
}

/// The job queue through a failover: the master holding the `{queue}` slot is killed mid-run;
/// the worker's calls fail during the election, then go on against the promoted replica, and
/// every job is completed.
final class RedisClusterQueueFailoverTests: RedisServerTestCase {
    func testAKilledQueueMasterLosesNoJob() async throws {
        let cluster = try RedisTestCluster()
        defer { cluster.stop() }
        let client = RedisClient(try RedisTarget(parsing: cluster.urlString),
                                 configuration: RedisPoolConfiguration(url: cluster.nodes[0].url, connectTimeout: .milliseconds(200),
                                                                       commandTimeout: .milliseconds(1500),
                                                                       initialReconnectDelay: .milliseconds(20),
                                                                       maxReconnectDelay: .milliseconds(100)))
        defer { client.close() }
        let queue = RedisJobQueue(client: client, prefix: prefix)
        let requests = (0..<30).map { AudioRequest(text: "queued \($0)", engine: "espeak", model: "espeak-ng") }
        let added = try await queue.enqueue(requests.map { ($0, RequestKey($0)) })
        XCTAssertEqual(added, 30)
        let master = try await client.node(serving: queue.streamKey)
        var acknowledged = 0
        for _ in 0..<20 where acknowledged < 1 {  // bounded: replicated before the kill
            acknowledged = try await client.command(["WAIT", "1", "400"], on: master).integer ?? 0
        }
        XCTAssertEqual(acknowledged, 1)

        var completed = Set<RequestKey>()
        var killed = false
        var failures = 0
        for _ in 0..<400 where completed.count < requests.count {  // bounded: each pass ≤ ~2 s
            do {
                var jobs = try await queue.read(consumer: "w", count: 5, block: .milliseconds(50))
                if jobs.isEmpty {
                    // Jobs handed out before the kill whose acknowledgement was lost come back.
                    jobs = try await queue.reclaim(consumer: "w", minIdle: .milliseconds(1), count: 10).jobs
                }
                for job in jobs {
                    _ = try await queue.complete(job)
                    completed.insert(job.key)
                }
            } catch {
                failures += 1
                try await Task.sleep(for: .milliseconds(50))
            }
            if !killed && completed.count >= 10 {
                try XCTUnwrap(cluster.node(port: master.port)).stop()
                killed = true
            }
        }
        XCTAssertTrue(killed)
        XCTAssertGreaterThan(failures, 0, "calls failed during the election, as a down server's would")
        XCTAssertEqual(completed, Set(requests.map { RequestKey($0) }), "every job completed after the failover")
        let newMaster = try await client.node(serving: queue.streamKey)
        XCTAssertNotEqual(newMaster, master)
        let counts = try await queue.counts()
        XCTAssertEqual(counts.waiting + counts.inFlight, 0, "\(counts)")
    }
}

/// Every queue script on the cluster: its keys share the `{queue}` tag, so none of them is
/// refused as cross-slot. (The queue's full behaviour is `RedisJobQueueTests`, on one server.)
final class RedisClusterQueueTests: RedisServerTestCase {
    func testEveryQueueOperationRunsOnTheClusterWithItsKeysInOneSlot() async throws {
        let queue = RedisJobQueue(client: RedisClient(try clusterTarget()), prefix: prefix)
        let requests = ["first", "second", "third"].map { AudioRequest(text: $0, engine: "espeak", model: "espeak-ng") }
        let added = try await queue.enqueue(requests.map { ($0, RequestKey($0)) })
        XCTAssertEqual(added, 3)
        let again = try await queue.enqueue(requests[0], key: RequestKey(requests[0]))
        XCTAssertFalse(again, "queued once")
        XCTAssertTrue(queue.streamKey.hasSuffix("{queue}"), queue.streamKey)
        let slot = RedisSlot(key: queue.streamKey)
        XCTAssertTrue([queue.deadKey, queue.keysKey, queue.statsKey].allSatisfy { RedisSlot(key: $0) == slot })

        let jobs = try await queue.read(consumer: "a", count: 3, block: .milliseconds(200))
        XCTAssertEqual(jobs.count, 3)
        let kept = try await queue.keepAlive(jobs.map(\.id), consumer: "a")
        XCTAssertEqual(kept.count, 3)
        let dead = try await queue.fail(jobs[0], error: "boom", maxAttempts: 1)
        XCTAssertEqual(dead, .dead)
        guard case .requeued = try await queue.fail(jobs[1], error: "once", maxAttempts: 3) else { return XCTFail("not requeued") }
        let released = try await queue.release(jobs[2])
        XCTAssertTrue(released)
        let deadJobs = try await queue.deadJobs()
        XCTAssertEqual(deadJobs.map(\.lastError), ["boom"])
        let retried = try await queue.retryDead()
        XCTAssertEqual(retried.requeued, 1)

        let next = try await queue.read(consumer: "b", count: 10, block: .milliseconds(200))
        XCTAssertEqual(Set(next.map(\.key)), Set(requests.map { RequestKey($0) }))
        try await Task.sleep(for: .milliseconds(20))
        let reclaimed = try await queue.reclaim(consumer: "c", minIdle: .milliseconds(10), count: 10)
        XCTAssertEqual(reclaimed.jobs.count, 3)
        for job in reclaimed.jobs { try await queue.complete(job) }
        let removed = try await queue.removeConsumer("c")
        XCTAssertTrue(removed)
        let pruned = try await queue.pruneConsumers(idleFor: .milliseconds(1))
        XCTAssertEqual(pruned, 2, "a and b hold nothing now")

        _ = try await queue.client.command(["XADD", queue.streamKey, "*", "text", "no key here"], routing: queue.streamKey)
        let none = try await queue.read(consumer: "d", count: 10, block: .milliseconds(100))
        XCTAssertTrue(none.isEmpty)
        let counts = try await queue.counts()
        XCTAssertEqual(counts.done, 3)
        XCTAssertEqual(counts.dead, 1, "the unreadable entry")
        XCTAssertEqual(counts.waiting + counts.inFlight, 0)
    }
}
