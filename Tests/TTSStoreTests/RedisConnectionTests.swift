import Foundation
import TTSCore
import XCTest
import TestSupport
@testable import TTSStore

final class RedisConnectionTests: RedisServerTestCase {
    func testBinaryValueWithCRLFAndNULRoundTrips() throws {
        let connection = try RedisConnection(url: serverURL())
        let key = Data((prefix + "bin\r\n\0key").utf8)
        let value = awkwardBytes(70_000) + Data([0x0D, 0x0A, 0x00])
        XCTAssertEqual(try connection.command([Data("SET".utf8), key, value]), .status("OK"))
        XCTAssertEqual(try connection.command([Data("GET".utf8), key]), .string(value))
        XCTAssertEqual(try connection.command([Data("SET".utf8), key, Data()]), .status("OK"))
        XCTAssertEqual(try connection.command([Data("GET".utf8), key]), .string(Data()))
    }

    func testRepliesOfEveryKind() throws {
        let connection = try RedisConnection(url: serverURL())
        XCTAssertEqual(try connection.command(["PING"]), .status("PONG"))
        XCTAssertEqual(try connection.command(["INCRBY", prefix + "n", "-5"]), .integer(-5))
        XCTAssertEqual(try connection.command(["GET", prefix + "missing"]), .nil)
        XCTAssertEqual(try connection.command(["RPUSH", prefix + "list", "a", "b"]), .integer(2))
        XCTAssertEqual(try connection.command(["LRANGE", prefix + "list", "0", "-1"]),
                       .array([.string(Data("a".utf8)), .string(Data("b".utf8))]))
        XCTAssertEqual(try connection.command(["LRANGE", prefix + "missing", "0", "-1"]), .array([]))
        let wrongType = try connection.command(["GET", prefix + "list"])
        XCTAssertTrue(wrongType.errorMessage?.hasPrefix("WRONGTYPE") ?? false, "\(wrongType)")
        // An error reply leaves the connection usable.
        XCTAssertFalse(connection.isBroken)
        XCTAssertEqual(try connection.command(["PING"]), .status("PONG"))
    }

    func testNestedArraysWithNilElements() throws {
        let connection = try RedisConnection(url: serverURL())
        let reply = try connection.command(["EVAL", "return {1, {'x', false}, 'y'}", "0"])
        XCTAssertEqual(reply, .array([.integer(1), .array([.string(Data("x".utf8)), .nil]), .string(Data("y".utf8))]))
    }

    func testPipelineReturnsRepliesInOrder() throws {
        let connection = try RedisConnection(url: serverURL())
        let replies = try connection.pipeline([
            ["SET", prefix + "p", "1"], ["INCR", prefix + "p"], ["GET", prefix + "p"], ["NOSUCHCOMMAND"],
        ].map { $0.map { Data($0.utf8) } })
        XCTAssertEqual(replies.count, 4)
        XCTAssertEqual(Array(replies.prefix(3)), [.status("OK"), .integer(2), .string(Data("2".utf8))])
        XCTAssertNotNil(replies[3].errorMessage)
    }

    func testRightPasswordLogsIn() throws {
        let server = try RedisTestServer(password: "correct horse")
        let connection = try RedisConnection(url: server.url)
        XCTAssertEqual(try connection.command(["PING"]), .status("PONG"))
    }

    func testWrongPasswordIsAClearStoreErrorThatHidesThePassword() throws {
        let server = try RedisTestServer(password: "correct horse")
        var url = server.url
        url.password = "battery staple"
        let error = assertThrowsTTSError(.store) { _ = try RedisConnection(url: url) }
        let message = error?.message ?? ""
        XCTAssertTrue(message.contains("Redis refused the password for"), message)
        XCTAssertTrue(message.contains("check REDIS_URL"), message)
        XCTAssertTrue(message.contains("127.0.0.1:\(server.port)"), message)
        XCTAssertFalse(message.contains("battery"), message)
        XCTAssertFalse(message.contains("correct"), message)
    }

    func testMissingPasswordSaysTheServerWantsOne() throws {
        let server = try RedisTestServer(password: "correct horse")
        var url = server.url
        url.password = nil
        let error = assertThrowsTTSError(.store) { _ = try RedisConnection(url: url) }
        XCTAssertTrue(error?.message.contains("requires a password") ?? false, error?.message ?? "")
    }

    func testACLUserLogsInWithUserAndPassword() throws {
        let server = try RedisTestServer(password: "admin pw")
        let admin = try RedisConnection(url: server.url)
        XCTAssertEqual(try admin.command(["ACL", "SETUSER", "alice", "on", ">alice pw", "~*", "+@all"]), .status("OK"))
        var url = server.url
        url.username = "alice"
        url.password = "alice pw"
        let alice = try RedisConnection(url: url)
        XCTAssertEqual(try alice.command(["ACL", "WHOAMI"]), .string(Data("alice".utf8)))
        url.password = "admin pw"
        let error = assertThrowsTTSError(.store) { _ = try RedisConnection(url: url) }
        XCTAssertTrue(error?.message.contains("refused the password") ?? false, error?.message ?? "")
    }

    func testDatabaseSelectionKeepsDatabasesApart() throws {
        var url = try serverURL()
        url.database = 3
        let db3 = try RedisConnection(url: url)
        url.database = 0
        let db0 = try RedisConnection(url: url)
        XCTAssertEqual(try db3.command(["SET", prefix + "where", "three"]), .status("OK"))
        XCTAssertEqual(try db0.command(["GET", prefix + "where"]), .nil)
        XCTAssertEqual(try db3.command(["GET", prefix + "where"]), .string(Data("three".utf8)))
    }

    func testDatabaseOutOfRangeIsAStoreError() throws {
        var url = try serverURL()
        url.database = 100_000
        let error = assertThrowsTTSError(.store) { _ = try RedisConnection(url: url) }
        XCTAssertTrue(error?.message.contains("no database 100000") ?? false, error?.message ?? "")
    }

    func testUnixSocketWithPasswordAndDatabase() throws {
        let server = try RedisTestServer(password: "sock pw", unixSocket: true)
        var url = try XCTUnwrap(server.socketURL)
        url.database = 2
        let connection = try RedisConnection(url: url)
        XCTAssertEqual(try connection.command(["SET", "k", "v"]), .status("OK"))
        let tcp = try RedisConnection(url: server.url)
        XCTAssertEqual(try tcp.command(["GET", "k"]), .nil)
        _ = try tcp.command(["SELECT", "2"])
        XCTAssertEqual(try tcp.command(["GET", "k"]), .string(Data("v".utf8)))
    }

    func testNothingListeningIsAStoreErrorNamingTheServer() throws {
        let port = try RedisTestServer.freePort()
        let url = RedisURL(endpoint: .tcp(host: "127.0.0.1", port: port), password: "hidden pw")
        let error = assertThrowsTTSError(.store) { _ = try RedisConnection(url: url) }
        let message = error?.message ?? ""
        XCTAssertTrue(message.contains("Cannot connect to Redis at redis://:***@127.0.0.1:\(port)/0"), message)
        XCTAssertFalse(message.contains("hidden"), message)
    }

    func testServerClosingTheConnectionBreaksItWithAStoreError() throws {
        let connection = try RedisConnection(url: serverURL())
        let id = try XCTUnwrap(connection.command(["CLIENT", "ID"]).integer)
        let killer = try RedisConnection(url: serverURL())
        XCTAssertEqual(try killer.command(["CLIENT", "KILL", "ID", String(id)]), .integer(1))
        assertThrowsTTSError(.store) { _ = try connection.command(["PING"]) }
        XCTAssertTrue(connection.isBroken)
        let error = assertThrowsTTSError(.store) { _ = try connection.command(["PING"]) }
        XCTAssertTrue(error?.message.contains("was closed") ?? false, error?.message ?? "")
    }

    func testCommandTimeoutBreaksTheConnection() throws {
        let connection = try RedisConnection(url: serverURL(), commandTimeout: .milliseconds(100))
        // BLPOP on an empty list blocks server-side for 5 s: longer than the command timeout.
        let error = assertThrowsTTSError(.store) { _ = try connection.command(["BLPOP", prefix + "empty", "5"]) }
        XCTAssertTrue(error?.message.contains("no answer within 100 ms") ?? false, error?.message ?? "")
        XCTAssertTrue(connection.isBroken)
    }
}
