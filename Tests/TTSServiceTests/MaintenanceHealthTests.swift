import Foundation
import XCTest
import TestSupport
import TTSCore
import TTSStore
@testable import TTSService

final class MaintenanceHealthTests: XCTestCase {
    private func configuration(_ fixture: ServiceFixture, redis: String = "off", engine: String = "espeak") throws -> Configuration {
        try Configuration.load(environment: ["TTS_STORE": fixture.root.path, "REDIS_URL": redis, "TTS_ENGINE": engine, "HOME": "/tmp"])
    }

    private func item(_ report: HealthReport, _ name: String) -> HealthItem? { report.items.first { $0.name == name } }

    func testHealthyStorePasses() async throws {
        let fixture = try ServiceFixture.distinct()
        try await fixture.say("hello")
        let report = await HealthCheck(service: fixture.service, configuration: try configuration(fixture)).run(probe: false)
        XCTAssertTrue(report.isHealthy, "\(report.items.map { "\($0.name): \($0.detail)" })")
        XCTAssertEqual(item(report, "index")?.status, .ok)
        XCTAssertEqual(item(report, "engine espeak")?.status, .ok)
    }

    func testProbeMakesOneRealRequest() async throws {
        let fixture = try ServiceFixture.distinct()
        let report = await HealthCheck(service: fixture.service, configuration: try configuration(fixture, engine: "espeak")).run(probe: true)
        XCTAssertEqual(fixture.tone.calls, 1, "the tone engine was probed once")
        XCTAssertTrue(item(report, "engine tone")?.fields.contains { $0.0 == "probe_ms" } ?? false)
        XCTAssertEqual(try fixture.service.local.index.count(.all), 0, "a probe stores nothing")
    }

    func testUnwritableStoreFails() async throws {
        let fixture = try ServiceFixture.distinct()
        // A file where the temp folder should be: no file can be created in it, even as root.
        try FileManager.default.removeItem(at: fixture.layout.tmpURL)
        try StoreSurgery.write("not a folder", to: fixture.layout.tmpURL)
        let report = await HealthCheck(service: fixture.service, configuration: try configuration(fixture)).run(probe: false)
        XCTAssertFalse(report.isHealthy)
        XCTAssertEqual(item(report, "store")?.status, .fail)
        XCTAssertNotNil(item(report, "store")?.fix)
    }

    func testDamagedIndexFailsQuickCheck() async throws {
        let fixture = try ServiceFixture.distinct()
        let made = try await fixture.say("template")
        // Enough rows for several pages, then garbage over a page in the middle of the file.
        try fixture.service.local.index.upsert((0..<400).map { i in
            var clip = made.clip
            clip.key = RequestKey(AudioRequest(text: "row \(i)", engine: "tone", model: "tone-1"))
            clip.text = String(repeating: "filler text \(i) ", count: 8)
            return clip
        })
        _ = try fixture.service.local.index.optimize(vacuum: false)  // everything into the main file
        fixture.service.local.index.close()
        let file = try FileHandle(forUpdating: fixture.layout.indexURL)
        let size = try file.seekToEnd()
        XCTAssertGreaterThan(size, 4096 * 6)
        try file.seek(toOffset: 4096 * 3)
        try file.write(contentsOf: Data(repeating: 0x5A, count: 4096))
        try file.close()

        let reopened = SpeechService(engines: fixture.service.engines, index: try ClipIndex(url: fixture.layout.indexURL),
                                     blobs: fixture.service.local.blobs)
        let report = await HealthCheck(service: reopened, configuration: try configuration(fixture)).run(probe: false)
        XCTAssertEqual(item(report, "index")?.status, .fail, item(report, "index")?.detail ?? "")
        XCTAssertFalse(report.isHealthy)
    }

    func testConfiguredRedisThatDoesNotAnswerFailsButTheDefaultOnlyWarns() async throws {
        let redis = "redis://127.0.0.1:\(try RedisTestServer.freePort())"  // nothing listens there
        let shared = SharedTier(tier: RedisTier(pool: RedisPool(url: try RedisURL(parsing: redis))))
        let fixture = try ServiceFixture.distinct(shared: shared)
        let explicit = try configuration(fixture, redis: redis)
        let failing = await HealthCheck(service: fixture.service, configuration: explicit).run(probe: false)
        XCTAssertEqual(item(failing, "redis")?.status, .fail)
        XCTAssertFalse(failing.isHealthy)
        var defaulted = explicit
        defaulted.origins[Setting.redisURL.name] = .default
        let warning = await HealthCheck(service: fixture.service, configuration: defaulted).run(probe: false)
        XCTAssertEqual(item(warning, "redis")?.status, .warn)
        XCTAssertTrue(warning.isHealthy)
    }

    func testUnavailableConfiguredEngineFails() async throws {
        let fixture = try ServiceFixture.distinct()
        var engines = fixture.service.engines
        engines.markUnavailable("gemini", reason: "the gemini engine needs an API key")
        let service = SpeechService(engines: engines, index: fixture.service.local.index, blobs: fixture.service.local.blobs)
        var configuration = try configuration(fixture)
        let report = await HealthCheck(service: service, configuration: configuration).run(probe: false)
        XCTAssertEqual(item(report, "engine gemini")?.status, .warn, "an engine nobody configured only warns")
        configuration.engine = "gemini"
        let failing = await HealthCheck(service: service, configuration: configuration).run(probe: false)
        XCTAssertEqual(item(failing, "engine gemini")?.status, .fail)
        XCTAssertFalse(failing.isHealthy)
    }
}

