import Foundation
import Synchronization
import XCTest
import TTSCore
import TTSStore
@testable import TTSService

/// `config reload`: what changes live, what waits for a restart, and invalid values refused.
final class MaintenanceConfigTests: XCTestCase {
    /// The environment the next reload reads.
    private final class Environment: Sendable {
        let values: Mutex<[String: String]>
        init(_ values: [String: String]) { self.values = Mutex(values) }
        func set(_ name: String, _ value: String?) { values.withLock { $0[name] = value } }
        func load() throws -> Configuration { try Configuration.load(environment: values.withLock { $0 }) }
    }

    private func live(_ environment: Environment) throws -> LiveConfiguration {
        LiveConfiguration(try environment.load(), loader: { try environment.load() })
    }

    private func validateVoice(_ fixture: ServiceFixture) -> @Sendable (String, String) async throws -> Void {
        let service = fixture.service
        return { engine, voice in _ = try await service.prepare(AudioRequest(text: "probe", voice: voice, engine: engine, model: "")) }
    }

    func testReloadAppliesVoiceLogLevelAndBudgetLive() async throws {
        let fixture = try ServiceFixture.distinct()
        let environment = Environment(["HOME": "/tmp", "TTS_STORE": fixture.root.path, "TTS_ENGINE": "espeak", "TTS_VOICE": "en-us"])
        let live = try live(environment)
        let logger = Logger(file: nil, level: .info)
        let budget = CacheBudget()
        environment.set("TTS_VOICE", "en-gb")
        environment.set("TTS_LOG_LEVEL", "debug")
        environment.set("TTS_CACHE_MAX_BYTES", "1MiB")
        environment.set("TTS_MAX_TEXT_CHARS", "100")
        let outcome = await live.reload(logger: logger, budget: budget, validateVoice: validateVoice(fixture))
        XCTAssertEqual(Set(outcome.applied.map(\.setting)), ["TTS_VOICE", "TTS_LOG_LEVEL", "TTS_CACHE_MAX_BYTES"])
        XCTAssertEqual(outcome.needsRestart.map(\.setting), ["TTS_MAX_TEXT_CHARS"])
        XCTAssertTrue(outcome.rejected.isEmpty)
        XCTAssertEqual(live.current.voice, "en-gb")
        XCTAssertEqual(live.current.maxTextCharacters, 5000, "needs a restart: the running value stays")
        XCTAssertEqual(logger.minimumLevel, .debug)
        XCTAssertEqual(budget.maxBytes, 1 << 20)
        XCTAssertEqual(live.current.origins["TTS_VOICE"], .environment)
    }

    func testReloadWithAnInvalidValueKeepsTheOldConfigurationAndSaysWhy() async throws {
        let fixture = try ServiceFixture.distinct()
        let environment = Environment(["HOME": "/tmp", "TTS_STORE": fixture.root.path, "TTS_LOG_LEVEL": "warn"])
        let live = try live(environment)
        let logger = Logger(file: nil, level: .warn)
        environment.set("TTS_LOG_LEVEL", "loud")
        environment.set("TTS_VOICE", "en-gb")
        let outcome = await live.reload(logger: logger, budget: CacheBudget(), validateVoice: validateVoice(fixture))
        XCTAssertTrue(outcome.applied.isEmpty)
        XCTAssertEqual(outcome.rejected.count, 1)
        XCTAssertTrue(outcome.rejected[0].contains("TTS_LOG_LEVEL is 'loud'"), outcome.rejected[0])
        XCTAssertTrue(outcome.rejected[0].contains("previous configuration stays"), outcome.rejected[0])
        XCTAssertEqual(live.current.logLevel, .warn)
        XCTAssertEqual(live.current.voice, "")
        XCTAssertEqual(logger.minimumLevel, .warn)
    }

    func testReloadRefusesAVoiceTheEngineLacks() async throws {
        let fixture = try ServiceFixture.distinct()
        let environment = Environment(["HOME": "/tmp", "TTS_STORE": fixture.root.path, "TTS_ENGINE": "espeak", "TTS_VOICE": "en-us"])
        let live = try live(environment)
        environment.set("TTS_VOICE", "no-such-voice")
        environment.set("TTS_LOG_LEVEL", "debug")
        let outcome = await live.reload(logger: Logger(file: nil, level: .info), budget: CacheBudget(), validateVoice: validateVoice(fixture))
        XCTAssertEqual(outcome.applied.map(\.setting), ["TTS_LOG_LEVEL"], "the valid change still applies")
        XCTAssertEqual(outcome.rejected.count, 1)
        XCTAssertTrue(outcome.rejected[0].contains("no-such-voice"))
        XCTAssertEqual(live.current.voice, "en-us")
    }

    func testSecretsAreShownByTheirLastFourCharacters() throws {
        let configuration = try Configuration.load(environment: [
            "HOME": "/tmp", "GEMINI_API_KEY": "AIzaSecretKeyNumberOne1234,AIzaOtherKey9876",
            "REDIS_URL": "redis://user:hunter2pass@127.0.0.1:6379/0",
        ])
        let keys = configuration.displayValue(of: .geminiAPIKey)
        XCTAssertEqual(keys, "…1234,…9876")
        let url = configuration.displayValue(of: .redisURL)
        XCTAssertFalse(url.contains("hunter2"), url)
        XCTAssertTrue(url.contains("user:…@127.0.0.1"), url)  // short secrets show no characters
    }
}
