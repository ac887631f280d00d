import TTSCore
import XCTest
import TestSupport
@testable import TTSStore

final class RedisURLTests: XCTestCase {
    func testHostAloneUsesDefaultPortAndDatabaseZero() throws {
        let url = try RedisURL(parsing: "redis://cache.lan")
        XCTAssertEqual(url, RedisURL(endpoint: .tcp(host: "cache.lan", port: 6379)))
    }

    func testHostPortAndDatabaseAreRead() throws {
        let url = try RedisURL(parsing: "redis://127.0.0.1:6380/3")
        XCTAssertEqual(url.endpoint, .tcp(host: "127.0.0.1", port: 6380))
        XCTAssertEqual(url.database, 3)
        XCTAssertNil(url.password)
        XCTAssertNil(url.username)
    }

    func testTrailingSlashMeansDatabaseZero() throws {
        XCTAssertEqual(try RedisURL(parsing: "redis://h:1/").database, 0)
    }

    func testPasswordAfterEmptyUserIsPasswordOnly() throws {
        let url = try RedisURL(parsing: "redis://:s3cret@127.0.0.1")
        XCTAssertNil(url.username)
        XCTAssertEqual(url.password, "s3cret")
    }

    func testLoneUserInfoIsThePasswordAsInRedisCli() throws {
        let url = try RedisURL(parsing: "redis://s3cret@127.0.0.1:7000")
        XCTAssertNil(url.username)
        XCTAssertEqual(url.password, "s3cret")
        XCTAssertEqual(url.endpoint, .tcp(host: "127.0.0.1", port: 7000))
    }

    func testUserAndPercentEncodedPasswordAreDecoded() throws {
        let url = try RedisURL(parsing: "redis://alice:p%40ss%3Aw%2Fd@10.0.0.2:6379/1")
        XCTAssertEqual(url.username, "alice")
        XCTAssertEqual(url.password, "p@ss:w/d")
        XCTAssertEqual(url.database, 1)
    }

    func testIPv6LiteralInBrackets() throws {
        XCTAssertEqual(try RedisURL(parsing: "redis://[::1]:6390").endpoint, .tcp(host: "::1", port: 6390))
        XCTAssertEqual(try RedisURL(parsing: "redis://[::1]").endpoint, .tcp(host: "::1", port: 6379))
    }

    func testUnixSocketWithDatabaseAndPassword() throws {
        let url = try RedisURL(parsing: "unix:///run/redis/redis.sock?db=2&password=s3cret")
        XCTAssertEqual(url.endpoint, .unix(path: "/run/redis/redis.sock"))
        XCTAssertEqual(url.database, 2)
        XCTAssertEqual(url.password, "s3cret")
    }

    func testUnixSocketAloneIsDatabaseZero() throws {
        let url = try RedisURL(parsing: "unix:///tmp/r.sock")
        XCTAssertEqual(url, RedisURL(endpoint: .unix(path: "/tmp/r.sock")))
    }

    func testDescriptionNeverShowsThePassword() throws {
        let tcp = try RedisURL(parsing: "redis://alice:s3cret@127.0.0.1:6380/2")
        XCTAssertEqual(tcp.description, "redis://alice:***@127.0.0.1:6380/2")
        let unix = try RedisURL(parsing: "unix:///tmp/r.sock?password=s3cret&db=1")
        XCTAssertEqual(unix.description, "unix:///tmp/r.sock?db=1&password=***")
        XCTAssertFalse(String(describing: tcp).contains("s3cret"))
    }

    func testMalformedURLsAreConfigErrorsThatSayWhatIsWrong() {
        let cases: [(String, String)] = [
            ("127.0.0.1:6379", "no scheme"),
            ("http://127.0.0.1", "scheme"),
            ("rediss://127.0.0.1", "TLS"),
            ("redis://", "host is empty"),
            ("redis://:6379", "host is empty"),
            ("redis://h:0", "port"),
            ("redis://h:70000", "port"),
            ("redis://h:abc", "port"),
            ("redis://h/-1", "database"),
            ("redis://h/x", "database"),
            ("redis://h/1/2", "database"),
            ("redis://h?db=1", "query"),
            ("redis://[::1", "IPv6"),
            ("unix://relative.sock", "absolute"),
            ("unix:///tmp/r.sock?db=x", "database"),
            ("unix:///tmp/r.sock?timeout=3", "unknown"),
        ]
        for (text, expected) in cases {
            let error = assertThrowsTTSError(.config) { _ = try RedisURL(parsing: text) }
            XCTAssertTrue(error?.message.contains(expected) ?? false, "\(text): \(error?.message ?? "no error")")
        }
    }

    func testMalformedURLErrorHidesThePassword() {
        for text in ["redis://:s3cret@h:notaport", "redis://u:s3cret@/0", "unix://x?password=s3cret"] {
            let error = assertThrowsTTSError(.config) { _ = try RedisURL(parsing: text) }
            XCTAssertFalse(error?.message.contains("s3cret") ?? true, error?.message ?? "")
        }
    }
}
