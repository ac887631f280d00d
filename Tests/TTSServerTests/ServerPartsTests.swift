import Synchronization
import XCTest
import TTSCore
import TTSService
@testable import TTSServer

/// The pure parts: byte ranges, listen addresses, routes, token comparison.
final class ServerPartsTests: XCTestCase {
    func testByteRangesFollowRFC9110() {
        XCTAssertEqual(ByteRange(header: nil, size: 100), .whole)
        XCTAssertEqual(ByteRange(header: "bytes=0-9", size: 100), .part(offset: 0, length: 10))
        XCTAssertEqual(ByteRange(header: "bytes=90-", size: 100), .part(offset: 90, length: 10))
        XCTAssertEqual(ByteRange(header: "bytes=90-500", size: 100), .part(offset: 90, length: 10))
        XCTAssertEqual(ByteRange(header: "bytes=-30", size: 100), .part(offset: 70, length: 30))
        XCTAssertEqual(ByteRange(header: "bytes=-300", size: 100), .part(offset: 0, length: 100))
        XCTAssertEqual(ByteRange(header: "bytes=100-", size: 100), .unsatisfiable)
        XCTAssertEqual(ByteRange(header: "bytes=-0", size: 100), .unsatisfiable)
        XCTAssertEqual(ByteRange(header: "bytes=0-1,4-5", size: 100), .whole)
        XCTAssertEqual(ByteRange(header: "bytes=9-3", size: 100), .whole)
        XCTAssertEqual(ByteRange(header: "items=0-3", size: 100), .whole)
    }

    func testListenAddressesAndWhichAreLoopback() throws {
        let local = try ListenAddress(parsing: "127.0.0.1:8088")
        XCTAssertEqual(local.port, 8088)
        XCTAssertTrue(local.isLoopback)
        XCTAssertTrue(try ListenAddress(parsing: "[::1]:0").isLoopback)
        XCTAssertTrue(try ListenAddress(parsing: "localhost:80").isLoopback)
        let any = try ListenAddress(parsing: ":9000")
        XCTAssertEqual(any.host, "0.0.0.0")
        XCTAssertFalse(any.isLoopback)
        XCTAssertFalse(try ListenAddress(parsing: "[::]:8080").isLoopback)
        for bad in ["8088", "127.0.0.1", "127.0.0.1:99999", "example.com:80", "[::1:80", "1.2.3.4:x"] {
            XCTAssertThrowsError(try ListenAddress(parsing: bad), bad) { error in
                XCTAssertEqual((error as? TTSError)?.kind, .config)
            }
        }
    }

    func testRoutesKnowTheirFamilyAndMethods() {
        XCTAssertEqual(Route(path: "/v1/speech"), .speech)
        XCTAssertEqual(Route(path: "/v1/clips/3fa4c2d1"), .clip("3fa4c2d1"))
        XCTAssertEqual(Route(path: "/v1/blobs/x.wav"), .blob("x.wav"))
        XCTAssertEqual(Route(path: "/v1/audio/speech").family, .openAI)
        XCTAssertEqual(Route(path: "/v1beta/models/gemini-2.5-flash-preview-tts:generateContent"),
                       .geminiGenerate(model: "gemini-2.5-flash-preview-tts", stream: false))
        XCTAssertEqual(Route(path: "/v1/models/gemini-3.8-flash-tts:streamGenerateContent"),
                       .geminiGenerate(model: "gemini-3.8-flash-tts", stream: true))
        XCTAssertEqual(Route(path: "/v1beta/models/m:embedContent"), .notFound(.gemini))
        XCTAssertEqual(Route(path: "/v1/audio/transcriptions"), .notFound(.openAI))
        XCTAssertEqual(Route(path: "/etc/passwd"), .notFound(.native))
        XCTAssertEqual(Route(path: "/v1/speech").methods, ["POST"])
        XCTAssertTrue(Route(path: "/healthz").isOpen)
        XCTAssertFalse(Route(path: "/readyz").isOpen)
    }

    func testTokensAreComparedWholeAndFromEitherHeader() {
        let policy = AccessPolicy(tokens: ["alpha-token", "beta"])
        func request(_ headers: [(name: String, value: String)]) -> ServerRequest {
            ServerRequest(method: "GET", path: "/", headers: headers)
        }
        XCTAssertTrue(policy.admits(request([("Authorization", "Bearer alpha-token")])))
        XCTAssertTrue(policy.admits(request([("authorization", "bearer beta")])))
        XCTAssertTrue(policy.admits(request([("X-Goog-Api-Key", "beta")])))
        XCTAssertFalse(policy.admits(request([("Authorization", "Bearer alpha")])))
        XCTAssertFalse(policy.admits(request([("Authorization", "Bearer alpha-token-and-more")])))
        XCTAssertFalse(policy.admits(request([("Authorization", "Basic alpha-token")])))
        XCTAssertFalse(policy.admits(request([])))
        XCTAssertTrue(AccessPolicy(tokens: []).admits(request([])))
        XCTAssertFalse(AccessPolicy.constantTimeEquals(Array("abc".utf8), Array("abd".utf8)))
        XCTAssertTrue(AccessPolicy.constantTimeEquals(Array("abc".utf8), Array("abc".utf8)))
    }

    func testServeSettingsComeFromTheEnvironmentAndTokensAreNeverShown() throws {
        let environment = ["HOME": NSTemporaryDirectory(), "TTS_SERVE_TOKENS": " first-token-123456 , second ,",
                           "TTS_SERVE_LISTEN": "0.0.0.0:9000"]
        let configuration = try Configuration.load(environment: environment)
        XCTAssertEqual(configuration.serveTokens, ["first-token-123456", "second"])
        XCTAssertEqual(configuration.serveListen, "0.0.0.0:9000")
        XCTAssertEqual(configuration.origins["TTS_SERVE_TOKENS"], .environment)
        let shown = configuration.displayValue(of: .serveTokens)
        XCTAssertFalse(shown.contains("first-token") || shown.contains("second"), shown)
        XCTAssertTrue(Setting.serveTokens.isSecret)
        let defaults = try Configuration.load(environment: ["HOME": NSTemporaryDirectory()])
        XCTAssertEqual(defaults.serveListen, "127.0.0.1:8088")
        XCTAssertEqual(defaults.serveTokens, [])
    }
}

final class DeadlineWatchdogTests: XCTestCase {
    func testPassedDeadlinesRunTheirActionOnceAndFutureOnesWait() async throws {
        let watchdog = DeadlineWatchdog(tick: .milliseconds(5))
        let fired = Mutex<[String]>([])
        _ = watchdog.add(after: .zero) { fired.withLock { $0.append("now") } }
        _ = watchdog.add(after: .seconds(3600)) { fired.withLock { $0.append("later") } }
        for _ in 0..<1000 where fired.withLock({ $0.isEmpty }) {
            try await Task.sleep(for: .milliseconds(5))
        }
        XCTAssertEqual(fired.withLock { $0 }, ["now"])
    }
}
