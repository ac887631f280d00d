import FakeGeminiServer
import Foundation
import TTSCore
import XCTest
@testable import TTSEngines

/// A clock that never waits: each sleep is recorded and moves time forward at once.
final class ManualClock: EngineClock, @unchecked Sendable {
    private let lock = NSLock()
    private var time: Double = 0
    private var sleeps: [Double] = []

    func now() -> Double { lock.withLock { time } }

    func sleep(seconds: Double) async throws {
        try Task.checkCancellation()
        lock.withLock {
            sleeps.append(seconds)
            time += max(0, seconds)
        }
    }

    func advance(by seconds: Double) { lock.withLock { time += seconds } }
    var recordedSleeps: [Double] { lock.withLock { sleeps } }
}

/// Long enough that `redactedKey` shows its last four characters.
let primaryKey = "AQ.test-primary-key-0000000000000001"
let secondKey = "AQ.test-second-key-00000000000000002"

extension XCTestCase {
    /// A fake-gemini on a free loopback port, stopped when the test ends.
    func startFakeGemini(_ options: FakeGeminiServer.Options = .init()) throws -> FakeGeminiServer {
        let server = try FakeGeminiServer(options: options)
        addTeardownBlock { server.stop() }
        return server
    }

    func makeEngine(_ server: FakeGeminiServer, keys: [String] = [primaryKey], model: String = GeminiConfiguration.defaultModel,
                    retry: RetryPolicy = RetryPolicy(), timeout: Duration = .seconds(30),
                    clock: ManualClock = ManualClock()) -> GeminiEngine {
        GeminiEngine(configuration: GeminiConfiguration(baseURL: server.baseURL, apiKeys: keys, model: model,
                                                        requestTimeout: timeout, retry: retry),
                     clock: clock)
    }

    func resolvedRequest(_ engine: GeminiEngine, text: String = "Have a wonderful day!", voice: String = "Kore",
                         language: String = "", model: String = "", style: String = "",
                         speakers: [SpeakerVoice] = []) async throws -> AudioRequest {
        let request = try AudioRequest(text: text, voice: voice, language: language, engine: "gemini", model: model,
                                       style: style, speakers: speakers).normalized(maxTextCharacters: 5000)
        return try await engine.resolve(request)
    }

    /// Runs `synthesize`, expecting a `TTSError`; checks that the message names the request and
    /// holds no API key.
    func synthesisError(_ engine: GeminiEngine, _ request: AudioRequest, keys: [String] = [primaryKey, secondKey],
                        file: StaticString = #filePath, line: UInt = #line) async -> TTSError? {
        do {
            let wav = try await engine.synthesize(request)
            XCTFail("expected an error, got \(wav.count) bytes of audio", file: file, line: line)
            return nil
        } catch let error as TTSError {
            for key in keys {
                XCTAssertFalse(error.message.contains(key), "the message leaks an API key: \(error.message)", file: file, line: line)
                XCTAssertFalse(error.description.contains(key), file: file, line: line)
            }
            XCTAssertTrue(error.message.contains(RequestKey(request).short), "no key prefix in: \(error.message)", file: file, line: line)
            return error
        } catch {
            XCTFail("expected a TTSError, got \(error)", file: file, line: line)
            return nil
        }
    }
}
