import Foundation
import XCTest
@testable import TTSCore

final class RedactorTests: XCTestCase {
    func testEverySecretIsReplacedAndShortOnesAreIgnored() {
        let redactor = Redactor(secrets: ["AIzaKeyNumberOne0001", "pa\"ss\\word", "abc", ""])
        XCTAssertEqual(redactor.redact("key AIzaKeyNumberOne0001 and AIzaKeyNumberOne0001."), "key [redacted] and [redacted].")
        XCTAssertEqual(redactor.redact("abc stays"), "abc stays")
        // Inside JSON the password's quote and backslash are escaped; that form goes too.
        let json = JSONValue.object([("error", .string("auth pa\"ss\\word failed"))]).serialized()
        XCTAssertFalse(redactor.redact(json).contains("ss\\\\word"), redactor.redact(json))
        XCTAssertEqual(Redactor().redact("AIzaKeyNumberOne0001"), "AIzaKeyNumberOne0001", "nothing configured")
    }

    func testAddedSecretsKeepTheEarlierOnes() {
        let redactor = Redactor(secrets: ["first-secret"])
        redactor.add(secrets: ["second-secret"])
        XCTAssertEqual(redactor.redact("first-secret second-secret"), "[redacted] [redacted]")
    }

    func testLoggerLinesAreRedacted() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("redact-\(UUID().uuidString).log")
        defer { try? FileManager.default.removeItem(at: file) }
        let logger = Logger(file: file, level: .info, redactor: Redactor(secrets: ["AIzaKeyNumberOne0001"]))
        logger.error("generate", [("error", .string("HTTP 400: API key AIzaKeyNumberOne0001 not valid"))])
        let text = try String(contentsOf: file, encoding: .utf8)
        XCTAssertTrue(text.contains("API key [redacted] not valid"), text)
    }

    func testSecretsOfAConfigurationAreTheKeysAndTheRedisPassword() throws {
        let configuration = try Configuration.load(environment: [
            "GEMINI_API_KEY": "AIzaKeyNumberOne0001,AIzaKeyNumberTwo0002", "REDIS_URL": "redis://app:s3cr%40t-pass@127.0.0.1:6379/0",
            "HOME": "/tmp",
        ])
        XCTAssertEqual(Set(configuration.secrets), ["AIzaKeyNumberOne0001", "AIzaKeyNumberTwo0002", "s3cr%40t-pass", "s3cr@t-pass"])
        XCTAssertEqual(Configuration.redisPassword(in: "unix:///run/redis.sock?db=1&password=hunter22"), "hunter22")
        XCTAssertNil(Configuration.redisPassword(in: "redis://127.0.0.1:6379"))
    }
}
