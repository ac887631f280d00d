import Foundation
import TTSCore
import XCTest
import TestSupport
import TTSConcurrency
@testable import TTSStore

final class RedisPoolTests: RedisServerTestCase {
    func testConcurrentCallersShareAtMostMaxConnections() async throws {
        let pool = try makePool(maxConnections: 2)
        let key = prefix + "counter"
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<20 {
                group.addTask { _ = try await pool.command(["INCR", key]) }
            }
            try await group.waitForAll()
        }
        let count = try await pool.command(["GET", key])
        XCTAssertEqual(count, .string(Data("20".utf8)))
        let peak = pool.peakConnectionCount
        XCTAssertLessThanOrEqual(peak, 2)
        XCTAssertGreaterThanOrEqual(peak, 1)
    }

    /// Many more callers than connections: every one is served in turn (no wake-up is lost
    /// between a caller deciding to wait and a connection coming back), on one connection.
    func testCallersBeyondTheBoundWaitTheirTurnAndAllFinish() async throws {
        let pool = try makePool(maxConnections: 1)
        let key = prefix + "turns"
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<200 {
                group.addTask { _ = try await pool.command(["INCR", key]) }
            }
            try await group.waitForAll()
        }
        let total = try await pool.command(["GET", key])
        XCTAssertEqual(total, .string(Data("200".utf8)))
        XCTAssertEqual(pool.peakConnectionCount, 1)
        XCTAssertEqual(pool.connectionCount, 1)
    }

    func testClosingThePoolWakesAWaiterWithAClearError() async throws {
        let pool = try makePool(maxConnections: 1)
        let release = DispatchSemaphore(value: 0), entered = DispatchSemaphore(value: 0)
        let holding = Task {
            try await pool.withConnection { connection -> Bool in
                entered.signal()
                // Holds the only connection until the waiter has had its answer, so only
                // close() can have woken it (bounded: gives up after 10 s, which fails below).
                let answered = release.wait(timeout: .now() + 10) == .success
                _ = try connection.command(["PING"])
                return answered
            }
        }
        // Bounded waits (200 × 10 ms each): the holder is in its call, then the waiter queues.
        var tries = 0
        while entered.wait(timeout: .now()) != .success && tries < 200 {
            tries += 1
            try await Task.sleep(for: .milliseconds(10))
        }
        let waiting = Task { try await pool.command(["PING"]) }
        for _ in 0..<200 where pool.waiterCount < 1 { try await Task.sleep(for: .milliseconds(10)) }
        XCTAssertEqual(pool.waiterCount, 1)
        pool.close()
        let error = await assertThrowsTTSErrorAsync(.store) { _ = try await waiting.value }
        release.signal()
        XCTAssertTrue(error?.message.contains("closed") ?? false, error?.message ?? "")
        let answeredWhileHeld = try await holding.value
        XCTAssertTrue(answeredWhileHeld, "the waiter was answered while the connection was still held")
        // It comes back on its own thread, just after its caller was resumed (bounded wait).
        for _ in 0..<500 where pool.connectionCount > 0 { try await Task.sleep(for: .milliseconds(10)) }
        XCTAssertEqual(pool.connectionCount, 0, "its connection closes when it comes back")
    }

    /// A failed connect answers every caller waiting for a connection, not just one: with the
    /// server down nobody checks a connection in, so a caller left waiting would wait for ever.
    func testAFailedConnectAnswersEveryWaiter() async throws {
        let pool = RedisPool(RedisPoolConfiguration(
            url: RedisURL(endpoint: .tcp(host: "127.0.0.1", port: try RedisTestServer.freePort())),
            maxConnections: 1))
        let failures = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<6 {
                group.addTask {
                    do { _ = try await pool.command(["PING"]); return 0 } catch { return 1 }
                }
            }
            // Bounded: a caller still waiting after 10 s counts as hung.
            group.addTask {
                try await Task.sleep(for: .seconds(10))
                return -100
            }
            var failed = 0
            for try await outcome in group {
                failed += outcome
                if failed == 6 || outcome < 0 { group.cancelAll(); break }
            }
            return failed
        }
        XCTAssertEqual(failures, 6, "every caller gets the connect error (a negative count means some hung)")
        XCTAssertEqual(pool.connectionCount, 0)
    }

    /// One failed connect while a connection is in use must not fail the callers behind it:
    /// the server is probably fine (here it only refused a second client), so they wait for
    /// the connection in use and are served by it.
    func testAFailedConnectWhileAConnectionIsInUseMakesOthersWaitNotFail() async throws {
        let server = try RedisTestServer()
        defer { server.stop() }
        let pool = RedisPool(RedisPoolConfiguration(url: server.url, maxConnections: 2,
                                                    initialReconnectDelay: .seconds(30)))
        let (holding, release) = try await holdTheOnlyConnectionWhileBackingOff(pool) { try $0.command(["PING"]) }
        let behind = Task { try await pool.command(["PING"]) }
        for _ in 0..<200 where pool.waiterCount < 1 { try await Task.sleep(for: .milliseconds(10)) }
        XCTAssertEqual(pool.waiterCount, 1, "the caller waits for the connection in use")
        release.signal()
        let served = try await behind.value
        XCTAssertEqual(served, .status("PONG"))
        _ = try await holding.value
    }

    /// The last connection of a pool that backs off after a failed connect breaks while two
    /// callers wait for it: both hear at once, not one of them (the first fails within the
    /// back-off and wakes nobody; the second waited for a check-in that never came, which hung
    /// a queue worker on a dead cluster master).
    func testTheLastConnectionBreakingWhileBackingOffAnswersEveryWaiter() async throws {
        let server = try RedisTestServer()
        defer { server.stop() }
        let pool = RedisPool(RedisPoolConfiguration(url: server.url, maxConnections: 3,
                                                    initialReconnectDelay: .seconds(30)))
        defer { pool.close() }
        let (holding, release) = try await holdTheOnlyConnectionWhileBackingOff(pool) { connection in
            // The server closes the connection after QUIT: the PING breaks it.
            _ = try? connection.command(["QUIT"])
            return try connection.command(["PING"])
        }
        // The callers after the refused connect wait for the connection in use.
        let behind = (0..<2).map { _ in Task { try await pool.command(["PING"]) } }
        for _ in 0..<200 where pool.waiterCount < 2 { try await Task.sleep(for: .milliseconds(10)) }
        XCTAssertEqual(pool.waiterCount, 2, "both callers wait for the connection in use")
        release.signal()
        await assertThrowsTTSErrorAsync(.store) { _ = try await holding.value }
        for _ in 0..<300 where pool.waiterCount > 0 { try await Task.sleep(for: .milliseconds(10)) }
        XCTAssertEqual(pool.waiterCount, 0, "every waiter was answered once no connection was left")
        pool.close()  // answers a waiter left behind, so the test ends either way
        for caller in behind {
            await assertThrowsTTSErrorAsync(.store) { _ = try await caller.value }
        }
    }

    /// Makes `pool`'s server take one client, holds that connection in a call that runs
    /// `then` once `release` is signalled, and has a second connect refused, so the pool
    /// backs off (for its `initialReconnectDelay`) with one connection in use.
    private func holdTheOnlyConnectionWhileBackingOff(
        _ pool: RedisPool, then: @escaping @Sendable (RedisConnection) throws -> RedisReply
    ) async throws -> (holding: Task<RedisReply, any Error>, release: DispatchSemaphore) {
        _ = try await pool.command(["CONFIG", "SET", "maxclients", "1"])
        // That connection is checked in on its own thread just after this caller resumed: until
        // it is, the holder below would open a second one, refused by the server, and the
        // refused connect below would find the first connection idle (seen on a loaded run).
        for _ in 0..<200 where pool.idleConnectionCount < 1 { try await Task.sleep(for: .milliseconds(10)) }
        XCTAssertEqual(pool.idleConnectionCount, 1)
        let release = DispatchSemaphore(value: 0), entered = DispatchSemaphore(value: 0)
        let holding = Task {
            try await pool.withConnection { connection -> RedisReply in
                entered.signal()
                _ = release.wait(timeout: .now() + 10)
                return try then(connection)
            }
        }
        var tries = 0
        while entered.wait(timeout: .now()) != .success && tries < 200 {
            tries += 1
            try await Task.sleep(for: .milliseconds(10))
        }
        // The second connection is refused (max clients): the pool backs off.
        await assertThrowsTTSErrorAsync(.store) { _ = try await pool.command(["PING"]) }
        return (holding, release)
    }

    /// A call that may run inline does so only with an idle connection in good standing:
    /// the first (no connection yet) and one after a long idle time hop as usual.
    func testAnInlineCallRunsOnTheCallersThreadOnlyWithAnIdleConnectionInGoodStanding() async throws {
        var configuration = RedisPoolConfiguration(url: try serverURL(), maxConnections: 1)
        configuration.healthCheckAfterIdle = .milliseconds(200)
        let pool = RedisPool(configuration)
        defer { pool.close() }
        func ranHere() async throws -> Bool {
            // Bounded: the last call's connection is checked in on its own thread.
            let deadline = ContinuousClock.now + .seconds(5)
            while pool.connectionCount > 0 && pool.idleConnectionCount == 0 && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(1))
            }
            let caller = pthread_self()
            return try await pool.withConnection(inlineWhenFree: true) { connection in
                XCTAssertEqual(try connection.command(["PING"]), .status("PONG"))
                return pthread_equal(pthread_self(), caller) != 0
            }
        }
        let first = try await ranHere()
        let second = try await ranHere()
        XCTAssertEqual(pool.connectionCount, 1)
        try await Task.sleep(for: .milliseconds(400))
        let afterIdling = try await ranHere()
        XCTAssertFalse(first, "no connection yet: connected on its own thread")
        XCTAssertEqual(second, InlineBlocking.isAvailable, "an idle connection just used: run here (with a core to spare)")
        XCTAssertFalse(afterIdling, "idle too long: checked with PING on its thread first")
        XCTAssertFalse(InlineBlocking.isBusy)
    }

    func testPipelineRunsOnOneConnection() async throws {
        let pool = try makePool()
        let replies = try await pool.pipeline([["CLIENT", "ID"], ["CLIENT", "ID"]].map { $0.map { Data($0.utf8) } })
        XCTAssertEqual(replies.count, 2)
        XCTAssertEqual(replies[0], replies[1])
    }

    func testStoppedServerIsAStoreErrorAndARestartedOneIsReachedBySamePool() async throws {
        let server = try RedisTestServer()
        let pool = RedisPool(RedisPoolConfiguration(url: server.url, maxConnections: 2,
                                                    initialReconnectDelay: .milliseconds(20),
                                                    maxReconnectDelay: .milliseconds(200)))
        let ping = try await pool.command(["PING"])
        XCTAssertEqual(ping, .status("PONG"))

        server.stop()
        // The idle connection fails on use; after that, connecting is refused (or skipped
        // during the back-off): every call is a .store error.
        for _ in 0..<3 {
            await assertThrowsTTSErrorAsync(.store) { _ = try await pool.command(["PING"]) }
        }

        try server.start()
        var reply: RedisReply?
        for _ in 0..<100 where reply == nil {  // bounded: at most ~5 s
            reply = try? await pool.command(["PING"])
            if reply == nil { try await Task.sleep(for: .milliseconds(50)) }
        }
        XCTAssertEqual(reply, .status("PONG"), "the pool did not reconnect after the server came back")
    }

    func testIdleConnectionDroppedByServerIsReplacedAfterHealthCheck() async throws {
        var configuration = RedisPoolConfiguration(url: try serverURL(), maxConnections: 1)
        configuration.healthCheckAfterIdle = .zero
        let pool = RedisPool(configuration)
        let firstID = try await pool.command(["CLIENT", "ID"]).integer
        try kill(clientID: XCTUnwrap(firstID))
        // The PING before hand-out notices the dead socket; the caller never sees it.
        let secondID = try await pool.command(["CLIENT", "ID"]).integer
        XCTAssertNotNil(secondID)
        XCTAssertNotEqual(firstID, secondID)
    }

    func testBrokenConnectionIsDiscardedAndTheNextCallConnectsAgain() async throws {
        var configuration = RedisPoolConfiguration(url: try serverURL(), maxConnections: 1)
        configuration.healthCheckAfterIdle = .seconds(3600)
        let pool = RedisPool(configuration)
        let firstID = try await pool.command(["CLIENT", "ID"]).integer
        try kill(clientID: XCTUnwrap(firstID))
        await assertThrowsTTSErrorAsync(.store) { _ = try await pool.command(["CLIENT", "ID"]) }
        let secondID = try await pool.command(["CLIENT", "ID"]).integer
        XCTAssertNotNil(secondID)
        XCTAssertNotEqual(firstID, secondID)
        let open = pool.connectionCount
        XCTAssertEqual(open, 1)
    }

    func testWrongPasswordThroughThePoolStaysAClearStoreError() async throws {
        let server = try RedisTestServer(password: "right pw")
        var url = server.url
        url.password = "wrong pw"
        let pool = RedisPool(url: url)
        for _ in 0..<2 {  // the second call falls in the back-off and repeats the reason
            let error = await assertThrowsTTSErrorAsync(.store) { _ = try await pool.command(["PING"]) }
            XCTAssertTrue(error?.message.contains("Redis refused the password for redis://:***@127.0.0.1:\(server.port)/0: check REDIS_URL") ?? false,
                          error?.message ?? "")
            XCTAssertFalse(error?.message.contains("pw") ?? true)
        }
    }

    func testUnreachableServerIsAStoreError() async throws {
        let pool = RedisPool(url: RedisURL(endpoint: .tcp(host: "127.0.0.1", port: try RedisTestServer.freePort())))
        await assertThrowsTTSErrorAsync(.store) { _ = try await pool.command(["PING"]) }
        let open = pool.connectionCount
        XCTAssertEqual(open, 0)
    }

    func testClosedPoolRefusesCalls() async throws {
        let pool = try makePool()
        _ = try await pool.command(["PING"])
        pool.close()
        let error = await assertThrowsTTSErrorAsync(.store) { _ = try await pool.command(["PING"]) }
        XCTAssertTrue(error?.message.contains("closed") ?? false, error?.message ?? "")
    }

    private func kill(clientID: Int) throws {
        let admin = try RedisConnection(url: serverURL())
        XCTAssertEqual(try admin.command(["CLIENT", "KILL", "ID", String(clientID)]), .integer(1))
    }
}
