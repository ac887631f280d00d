import Foundation
import XCTest
import FakeGeminiServer
import TestSupport
import TTSCore
import TTSEngines
import TTSStore
@testable import TTSService

/// The cache tees a streamed generation: listeners hear it as it is made, followers join it,
/// and only a complete stream is stored.
final class StreamingServiceTests: XCTestCase {
    private func gatedRequest(_ text: String = "streamed words") -> AudioRequest {
        AudioRequest(text: text, engine: "gated", model: "")
    }

    func testStreamedMissIsCachedAndByteIdenticalToWhatAUnaryRequestThenServes() async throws {
        let (f, gated) = try ServiceFixture.withGatedEngine()
        gated.release()
        let heard = await listen(try await f.service.speakStreaming(gatedRequest()))
        XCTAssertNil(heard.error)
        XCTAssertEqual(heard.start?.tier, .engine)
        XCTAssertEqual(heard.start?.format, GatedStreamEngine.format)
        XCTAssertEqual(heard.pieces.count, GatedStreamEngine.pieceCount)
        XCTAssertEqual(heard.pcm, GatedStreamEngine.pcm(for: "streamed words"))
        let clip = try XCTUnwrap(heard.clip)

        let unary = try await f.service.generateOrFetch(gatedRequest())
        XCTAssertEqual(unary.tier, .local)
        XCTAssertEqual(unary.clip.key, clip.key)
        XCTAssertEqual(try Data(contentsOf: unary.path), WAVAudio(format: GatedStreamEngine.format, pcm: heard.pcm).encoded())
        XCTAssertEqual(gated.calls, 1)
        XCTAssertEqual(f.tmpFiles(), [], "the stream's temporary file is removed")
    }

    func testACachedClipIsSentAtOnceFromTheLocalTier() async throws {
        let f = try ServiceFixture()
        let stored = try await f.service.generateOrFetch(f.request("already here"))
        let heard = await listen(try await f.service.speakStreaming(f.request("already here")))
        XCTAssertNil(heard.error)
        XCTAssertEqual(heard.start?.tier, .local)
        XCTAssertEqual(heard.clip?.key, stored.clip.key)
        XCTAssertEqual(heard.pcm, try WAVAudio.decode(Data(contentsOf: stored.path)).pcm)
        XCTAssertEqual(f.tone.calls, 1)
    }

    func testAStreamThatBreaksOffLeavesNothingStoredAndARetrySucceeds() async throws {
        let (f, gated) = try ServiceFixture.withGatedEngine()
        gated.failNextCall(afterPieces: 3)
        gated.release()
        let broken = await listen(try await f.service.speakStreaming(gatedRequest()))
        XCTAssertEqual(broken.pieces.count, 3)
        XCTAssertEqual((broken.error as? TTSError)?.kind, .api)
        XCTAssertNil(broken.clip)
        XCTAssertEqual(try f.service.local.index.count(ClipFilter()), 0)
        XCTAssertEqual(f.files(), [])
        XCTAssertEqual(f.tmpFiles(), [])

        gated.release()
        let retried = await listen(try await f.service.speakStreaming(gatedRequest()))
        XCTAssertNil(retried.error)
        XCTAssertEqual(retried.start?.tier, .engine)
        XCTAssertNotNil(retried.clip)
        XCTAssertEqual(try f.service.local.index.count(ClipFilter()), 1)
        XCTAssertEqual(gated.calls, 2)
        let counts = f.service.metrics.registry.counterValues()
        XCTAssertEqual(counts["tts_streams_total{outcome=\"failed\"}"], 1)
        XCTAssertEqual(counts["tts_streams_total{outcome=\"completed\"}"], 1)
    }

    func testThreeListenersOfOneMissShareOneEngineCallAndHearIdenticalAudio() async throws {
        let (f, gated) = try ServiceFixture.withGatedEngine()
        // All three ask before any audio exists; the engine is held until they have.
        let streams = [try await f.service.speakStreaming(gatedRequest()),
                       try await f.service.speakStreaming(gatedRequest()),
                       try await f.service.speakStreaming(gatedRequest())]
        gated.release()
        var heard: [HeardStream] = []
        for events in streams { heard.append(await listen(events)) }
        XCTAssertEqual(gated.calls, 1)
        XCTAssertEqual(heard.map(\.start?.isFollower), [false, true, true])
        for listener in heard {
            XCTAssertNil(listener.error)
            XCTAssertEqual(listener.pcm, GatedStreamEngine.pcm(for: "streamed words"))
            XCTAssertEqual(listener.clip?.key, heard[0].clip?.key)
        }
        XCTAssertEqual(f.service.metrics.registry.counterValues()["tts_stream_followers_total"], 2)
        XCTAssertEqual(try f.service.local.index.count(ClipFilter()), 1)
    }

    func testAFollowerArrivingMidStreamHearsTheWholeClip() async throws {
        let (f, gated) = try ServiceFixture.withGatedEngine()
        let first = try await f.service.speakStreaming(gatedRequest())
        gated.release(2)
        var iterator = first.makeAsyncIterator()
        var firstHeard = Data()
        while firstHeard.count < 2 * GatedStreamEngine.pieceBytes {
            if case let .audio(pcm)? = try await iterator.next() { firstHeard.append(pcm) }
        }
        let follower = try await f.service.speakStreaming(gatedRequest())
        gated.release()
        let followed = await listen(follower)
        while let event = try await iterator.next() {
            if case let .audio(pcm) = event { firstHeard.append(pcm) }
        }
        XCTAssertEqual(followed.start?.isFollower, true)
        XCTAssertEqual(followed.start?.tier, .engine)
        XCTAssertEqual(followed.pcm, GatedStreamEngine.pcm(for: "streamed words"))
        XCTAssertEqual(firstHeard, followed.pcm)
        XCTAssertEqual(gated.calls, 1)
    }

    func testTheGenerationCompletesAndIsCachedWhenItsCallerGoesAway() async throws {
        let (f, gated) = try ServiceFixture.withGatedEngine()
        gated.release(1)
        let partial = await listen(try await f.service.speakStreaming(gatedRequest()), stopAfterAudio: 1)
        XCTAssertEqual(partial.pieces.count, 1)  // the caller stops listening here
        gated.release()
        // A unary request for the key joins the generation still in flight and gets its clip.
        let unary = try await f.service.generateOrFetch(gatedRequest())
        XCTAssertEqual(gated.calls, 1)
        XCTAssertEqual(try WAVAudio.decode(Data(contentsOf: unary.path)).pcm, GatedStreamEngine.pcm(for: "streamed words"))
        XCTAssertEqual(try f.service.local.index.count(ClipFilter()), 1)
    }

    func testAStreamedRequestJoinsAUnaryGenerationInProgress() async throws {
        let (f, gated) = try ServiceFixture.withGatedEngine()
        let service = f.service, request = gatedRequest()
        let unary = Task { try await service.generateOrFetch(request) }
        for _ in 0..<1_000 where gated.calls == 0 { try await Task.sleep(for: .milliseconds(5)) }
        XCTAssertEqual(gated.calls, 1, "the unary call did not start")
        let streamed = try await f.service.speakStreaming(gatedRequest())
        gated.release()
        let heard = await listen(streamed)
        let generation = try await unary.value
        XCTAssertEqual(gated.calls, 1)
        XCTAssertEqual(heard.start?.tier, .engine)
        XCTAssertEqual(heard.pcm, GatedStreamEngine.pcm(for: "streamed words"))
        XCTAssertEqual(heard.clip?.key, generation.clip.key)
    }

    func testShutdownDrainWaitsForAStreamNobodyListensTo() async throws {
        let (f, gated) = try ServiceFixture.withGatedEngine()
        gated.release(1)
        _ = await listen(try await f.service.speakStreaming(gatedRequest()), stopAfterAudio: 1)
        let unfinished = await f.service.drain(timeout: .milliseconds(50))
        XCTAssertFalse(unfinished, "drain returned while the stream was still being made")
        gated.release()
        let drained = await f.service.drain(timeout: .seconds(30))
        XCTAssertTrue(drained)
        XCTAssertEqual(try f.service.local.index.count(ClipFilter()), 1)
    }

    func testValidationErrorsAreThrownBeforeAnyStream() async throws {
        let (f, gated) = try ServiceFixture.withGatedEngine()
        do {
            _ = try await f.service.speakStreaming(AudioRequest(text: "  ", engine: "gated", model: ""))
            XCTFail("empty text must be refused")
        } catch let error as TTSError {
            XCTAssertEqual(error.kind, .validation)
        }
        XCTAssertEqual(gated.calls, 0)
    }

    func testFirstAudioAndRequestsAreCountedPerTier() async throws {
        let (f, gated) = try ServiceFixture.withGatedEngine()
        gated.release()
        _ = await listen(try await f.service.speakStreaming(gatedRequest()))
        _ = await listen(try await f.service.speakStreaming(gatedRequest()))
        let text = f.service.metrics.registry.exposition()
        XCTAssertTrue(text.contains("tts_first_audio_seconds_count{tier=\"engine\"} 1"), text)
        XCTAssertTrue(text.contains("tts_first_audio_seconds_count{tier=\"local\"} 1"), text)
        XCTAssertTrue(text.contains("tts_requests_total{tier=\"engine\"} 1"), text)
        XCTAssertTrue(text.contains("tts_requests_total{tier=\"local\"} 1"), text)
    }
}

/// Streaming with the Redis tier: a streamed clip is shared, and a clip in Redis is sent whole.
final class SharedTierStreamingTests: XCTestCase {
    private var ownServer: RedisTestServer?

    override func tearDown() { ownServer = nil }

    private func sharedTier() throws -> SharedTier {
        let url: RedisURL
        if let text = ProcessInfo.processInfo.environment["TTS_TEST_REDIS_URL"] {
            url = try RedisURL(parsing: text)
        } else {
            let server = try RedisTestServer()
            ownServer = server
            url = server.url
        }
        let tier = RedisTier(pool: RedisPool(RedisPoolConfiguration(url: url)), prefix: "test-\(UUID().uuidString.prefix(8)):")
        return SharedTier(tier: tier, describe: "Redis at \(url)") { _ in }
    }

    func testAStreamedClipIsPublishedAndAnotherMachineStreamsItFromRedis() async throws {
        let shared = try sharedTier()
        let a = try ServiceFixture(shared: shared, extraEngines: [GatedStreamEngine()])
        let bEngine = GatedStreamEngine()
        let b = try ServiceFixture(shared: shared, extraEngines: [bEngine])
        (try a.service.engines.engine(named: "gated") as? GatedStreamEngine)?.release()
        let made = await listen(try await a.service.speakStreaming(AudioRequest(text: "shared stream", engine: "gated", model: "")))
        XCTAssertNil(made.error)
        let fromRedis = await listen(try await b.service.speakStreaming(AudioRequest(text: "shared stream", engine: "gated", model: "")))
        XCTAssertNil(fromRedis.error)
        XCTAssertEqual(fromRedis.start?.tier, .redis)
        XCTAssertEqual(fromRedis.pcm, made.pcm)
        XCTAssertEqual(bEngine.calls, 0)
    }
}

/// Streaming through the Gemini engine against fake-gemini: the real SSE path, its faults.
final class GeminiStreamingServiceTests: XCTestCase {
    private func service(_ server: FakeGeminiServer) throws -> (SpeechService, StoreLayout) {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("tts-gemini-stream-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: root) }
        let layout = StoreLayout(root: root)
        var configuration = GeminiConfiguration(baseURL: server.baseURL, apiKeys: ["FAKEFAKEKEY0123456789abcdefghijklmnopq"])
        configuration.retry = RetryPolicy(attempts: 2, baseDelay: .milliseconds(10))
        var engines = EngineRegistry()
        engines.register(GeminiEngine(configuration: configuration))
        let service = SpeechService(engines: engines, index: try ClipIndex(url: layout.indexURL), blobs: try BlobStore(layout: layout))
        return (service, layout)
    }

    private func blobFiles(_ layout: StoreLayout) -> [String] {
        (FileManager.default.enumerator(atPath: layout.root.path)?.compactMap { $0 as? String } ?? []).filter { $0.hasSuffix(".wav") }
    }

    private let request = AudioRequest(text: "A streamed sentence from the fake.", voice: "Kore", engine: "gemini", model: "")

    func testAStreamCutAfterTwoChunksLeavesNoBlobAndNoRowAndARetrySucceeds() async throws {
        let server = try FakeGeminiServer(options: .init(streamChunkBytes: 4_001))
        defer { server.stop() }
        server.inject(FaultSpec(.shape("stream-cut"), afterChunks: 2))
        let (service, layout) = try service(server)
        let cut = await listen(try await service.speakStreaming(request))
        XCTAssertEqual(cut.pieces.count, 2)
        XCTAssertEqual((cut.error as? TTSError)?.kind, .api)
        XCTAssertEqual(try service.local.index.count(ClipFilter()), 0)
        XCTAssertEqual(blobFiles(layout), [])

        let retried = await listen(try await service.speakStreaming(request))
        XCTAssertNil(retried.error)
        XCTAssertNotNil(retried.clip)
        XCTAssertEqual(try service.local.index.count(ClipFilter()), 1)
        let unary = try await service.generateOrFetch(request)
        XCTAssertEqual(unary.tier, .local)
        XCTAssertEqual(try WAVAudio.decode(Data(contentsOf: unary.path)).pcm, retried.pcm)
        XCTAssertEqual(server.counters().streamRequests, 2)
    }

    func testFinishReasonOtherAfterOneChunkIsNotCached() async throws {
        let server = try FakeGeminiServer(options: .init(streamChunkBytes: 4_000))
        defer { server.stop() }
        server.inject(FaultSpec(.shape("stream-other"), afterChunks: 1))
        let (service, layout) = try service(server)
        let heard = await listen(try await service.speakStreaming(request))
        XCTAssertEqual(heard.pieces.count, 1)
        XCTAssertTrue((heard.error as? TTSError)?.message.contains("finishReason OTHER") ?? false)
        XCTAssertEqual(try service.local.index.count(ClipFilter()), 0)
        XCTAssertEqual(blobFiles(layout), [])
    }

    func testThreeConcurrentRequestsGetIdenticalAudioFromOneCallAtTheFake() async throws {
        let server = try FakeGeminiServer(options: .init(streamChunkBytes: 4_800, firstChunkDelayMs: 50, chunkDelayMs: 5))
        defer { server.stop() }
        let (service, _) = try service(server)
        let request = self.request
        let heard = try await withThrowingTaskGroup(of: HeardStream.self) { group in
            for _ in 0..<3 { group.addTask { await listen(try await service.speakStreaming(request)) } }
            return try await group.reduce(into: [HeardStream]()) { $0.append($1) }
        }
        XCTAssertEqual(server.counters().requests, 1)
        for listener in heard {
            XCTAssertNil(listener.error)
            XCTAssertFalse(listener.pcm.isEmpty)
            XCTAssertEqual(listener.pcm, heard[0].pcm)
        }
    }
}
