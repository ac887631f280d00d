import Foundation
import XCTest
import FakeGeminiServer
import TTSCore
import TTSEngines
import TTSStore
@testable import TTSService

/// The data path with the Gemini engine against fake-gemini on loopback.
final class GeminiServiceTests: XCTestCase {
    private func service(_ server: FakeGeminiServer, rpm: Int? = nil, concurrency: Int = 4) throws -> SpeechService {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("tts-gemini-\(UUID().uuidString)")
        let layout = StoreLayout(root: root)
        var configuration = GeminiConfiguration(baseURL: server.baseURL, apiKeys: ["FAKEFAKEKEY0123456789abcdefghijklmnopq"])
        configuration.rpm = rpm
        configuration.concurrency = concurrency
        configuration.retry = RetryPolicy(attempts: 2, baseDelay: .milliseconds(10))
        var engines = EngineRegistry()
        engines.register(GeminiEngine(configuration: configuration))
        return SpeechService(engines: engines, index: try ClipIndex(url: layout.indexURL), blobs: try BlobStore(layout: layout))
    }

    func testGeminiClipIsStoredAsA24kHzWAVAndThenServedLocally() async throws {
        let server = try FakeGeminiServer()
        defer { server.stop() }
        let service = try service(server)
        let request = AudioRequest(text: "Have a wonderful day!", voice: "kore", engine: "gemini", model: "")
        let first = try await service.generateOrFetch(request)
        let second = try await service.generateOrFetch(request)
        XCTAssertEqual(first.tier, .engine)
        XCTAssertEqual(second.tier, .local)
        XCTAssertEqual(first.clip.voice, "Kore")
        XCTAssertEqual(first.clip.model, GeminiConfiguration.defaultModel)
        XCTAssertEqual(first.clip.sampleRate, 24000)
        XCTAssertEqual(server.counters().succeeded, 1)
    }

    func testRejectedContentIsNeverCached() async throws {
        let server = try FakeGeminiServer()
        defer { server.stop() }
        let service = try service(server)
        server.inject(FaultSpec(.shape("blocked"), count: 1))
        let request = AudioRequest(text: "Something blocked", engine: "gemini", model: "")
        do {
            _ = try await service.generateOrFetch(request)
            XCTFail("a blocked answer must fail")
        } catch let error as TTSError {
            XCTAssertEqual(error.kind, .content)
        }
        XCTAssertEqual(try service.local.index.count(ClipFilter()), 0)
        let retried = try await service.generateOrFetch(request)
        XCTAssertEqual(retried.tier, .engine)
    }

    func testPacedRunOf200RequestsGetsNo429() async throws {
        // 20 requests per 1-second window on the server = 1,200 a minute; the client's budget
        // stays under it, so the run must never be refused. 1,000 a minute (17 a window) leaves
        // room for the jitter of a loaded machine, where a late request lands in the next
        // window beside on-time ones (1,100 a minute failed there now and then).
        let server = try FakeGeminiServer(options: .init(rpmPerKey: 20, rpmWindowSeconds: 1))
        defer { server.stop() }
        let service = try service(server, rpm: 1_000, concurrency: 8)
        let phrases = (1...200).map { "paced phrase \($0)" }.joined(separator: "\n")
        let list = PhraseList.parse(Data(phrases.utf8), format: .text, source: "paced.txt")
        let summary = try await Prewarmer(service: service).run(
            list, defaults: AudioRequest(text: "", engine: "gemini", model: ""), options: PrewarmOptions(concurrency: 8))
        XCTAssertEqual(summary.generated, 200)
        XCTAssertEqual(summary.failed, 0)
        XCTAssertEqual(server.counters().failed, 0, "fake-gemini answered 429 to a paced run")
        XCTAssertEqual(server.counters().requests, 200)
    }

    func testUnpacedBurstIsRefusedByTheSameServer() async throws {
        // The control for the paced run: the limit is real.
        let server = try FakeGeminiServer(options: .init(rpmPerKey: 20, rpmWindowSeconds: 1))
        defer { server.stop() }
        let service = try service(server, rpm: nil, concurrency: 8)
        let phrases = (1...40).map { "burst phrase \($0)" }.joined(separator: "\n")
        let list = PhraseList.parse(Data(phrases.utf8), format: .text, source: "burst.txt")
        _ = try await Prewarmer(service: service).run(
            list, defaults: AudioRequest(text: "", engine: "gemini", model: ""), options: PrewarmOptions(concurrency: 8))
        XCTAssertGreaterThan(server.counters().failed, 0)
    }
}
