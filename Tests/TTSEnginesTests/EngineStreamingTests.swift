import FakeGeminiServer
import Foundation
import TTSCore
import XCTest
@testable import TTSEngines

/// What a stream delivered: its format, its audio pieces, and how it ended.
struct CollectedStream {
    var format: PCMFormat?
    var pieces: [Data] = []
    var error: Error?
    var pcm: Data { pieces.reduce(into: Data()) { $0.append($1) } }
    var ttsError: TTSError? { error as? TTSError }
}

func collect(_ stream: AsyncThrowingStream<AudioChunk, Error>) async -> CollectedStream {
    var collected = CollectedStream()
    do {
        for try await chunk in stream {
            switch chunk {
            case let .format(format):
                XCTAssertNil(collected.format, "the format is sent once")
                XCTAssertTrue(collected.pieces.isEmpty, "the format comes before the audio")
                collected.format = format
            case let .audio(pcm):
                XCTAssertNotNil(collected.format, "audio before the format")
                XCTAssertEqual(pcm.count % (collected.format?.bytesPerFrame ?? 1), 0, "a piece ends inside a frame")
                collected.pieces.append(pcm)
            }
        }
    } catch {
        collected.error = error
    }
    return collected
}

/// Engines' streaming form: Gemini against fake-gemini's streams and faults, espeak in pieces.
final class EngineStreamingTests: XCTestCase {
    private func unaryPCM(_ engine: GeminiEngine, _ request: AudioRequest) async throws -> Data {
        try WAVAudio.decode(try await engine.synthesize(request)).pcm
    }

    func testGeminiStreamWithEventsEndingInsideSamplesEqualsTheUnaryAudio() async throws {
        let server = try startFakeGemini(.init(streamChunkBytes: 4_801))  // odd: every event ends mid-sample
        let engine = makeEngine(server, model: "gemini-3.1-flash-tts-preview")
        let request = try await resolvedRequest(engine, text: "A sentence long enough for several chunks.")
        let streamed = await collect(engine.stream(request))
        XCTAssertNil(streamed.error)
        XCTAssertEqual(streamed.format, PCMFormat(sampleRate: 24_000))
        XCTAssertGreaterThan(streamed.pieces.count, 5)
        let unary = try await unaryPCM(engine, request)
        XCTAssertEqual(streamed.pcm, unary)
        XCTAssertEqual(server.counters().streamRequests, 1)
    }

    func testAWAVStreamsHeaderIsReadAcrossEventsAndNeverPassedOnAsAudio() async throws {
        let server = try startFakeGemini(.init(streamChunkBytes: 30, streamWAV: true))  // the 44-byte header spans two events
        let engine = makeEngine(server)
        let request = try await resolvedRequest(engine, text: "Hi")
        let streamed = await collect(engine.stream(request))
        XCTAssertNil(streamed.error)
        XCTAssertEqual(streamed.format, PCMFormat(sampleRate: 24_000))
        let unary = try await unaryPCM(engine, request)
        XCTAssertEqual(streamed.pcm, unary)
    }

    func testFailuresBeforeTheFirstChunkAreRetriedLikeUnaryCalls() async throws {
        let server = try startFakeGemini()
        server.inject(FaultSpec(.status(503)))
        server.inject(FaultSpec(.shape("stream-error"), afterChunks: 0))
        let clock = ManualClock()
        let engine = makeEngine(server, retry: RetryPolicy(attempts: 3), clock: clock)
        let request = try await resolvedRequest(engine)
        let streamed = await collect(engine.stream(request))
        XCTAssertNil(streamed.error)
        XCTAssertEqual(server.counters().streamRequests, 3)
        XCTAssertEqual(clock.recordedSleeps.count, 2)
        XCTAssertFalse(streamed.pcm.isEmpty)
    }

    func testAStreamCutAfterItsFirstChunksEndsWithAnErrorAndIsNotRetried() async throws {
        let server = try startFakeGemini(.init(streamChunkBytes: 2_000))
        server.inject(FaultSpec(.shape("stream-cut"), afterChunks: 2))
        let engine = makeEngine(server, clock: ManualClock())
        let streamed = await collect(engine.stream(try await resolvedRequest(engine)))
        XCTAssertEqual(streamed.pieces.count, 2)
        XCTAssertEqual(streamed.ttsError?.kind, .api)
        XCTAssertTrue(streamed.ttsError?.message.contains("after 2 audio chunk") ?? false, streamed.ttsError?.message ?? "\(String(describing: streamed.error))")
        XCTAssertEqual(server.counters().streamRequests, 1, "a stream already heard is not restarted")
    }

    func testFinishReasonOtherAfterOneChunkIsAnError() async throws {
        let server = try startFakeGemini(.init(streamChunkBytes: 2_000))
        server.inject(FaultSpec(.shape("stream-other"), afterChunks: 1))
        let engine = makeEngine(server, clock: ManualClock())
        let streamed = await collect(engine.stream(try await resolvedRequest(engine)))
        XCTAssertEqual(streamed.pieces.count, 1)
        XCTAssertEqual(streamed.ttsError?.kind, .api)
        XCTAssertTrue(streamed.ttsError?.message.contains("finishReason OTHER") ?? false)
    }

    func testAnErrorEventMidStreamEndsTheStreamWithGooglesWords() async throws {
        let server = try startFakeGemini(.init(streamChunkBytes: 2_000))
        server.inject(FaultSpec(.shape("stream-error"), message: "mid-stream trouble", afterChunks: 3))
        let engine = makeEngine(server, clock: ManualClock())
        let streamed = await collect(engine.stream(try await resolvedRequest(engine)))
        XCTAssertEqual(streamed.pieces.count, 3)
        XCTAssertTrue(streamed.ttsError?.message.contains("mid-stream trouble") ?? false, streamed.ttsError?.message ?? "")
    }

    func testAModelThatCannotStreamIsCalledUnaryAndSeenAsOneChunk() async throws {
        let server = try startFakeGemini()
        let engine = makeEngine(server, model: "gemini-2.5-flash-preview-tts")
        let request = try await resolvedRequest(engine)
        let streamed = await collect(engine.stream(request))
        XCTAssertNil(streamed.error)
        XCTAssertEqual(streamed.pieces.count, 1)
        XCTAssertEqual(server.counters().streamRequests, 0)
        XCTAssertEqual(server.counters().requests, 1)
    }

    func testEspeakStreamsALongSentenceInSeveralPieces() async throws {
        let engine = EspeakEngine()
        let request = try await engine.resolve(AudioRequest(
            text: "This sentence is long enough that espeak hands its audio over in several buffers, one after another.",
            engine: "espeak", model: ""))
        let streamed = await collect(engine.stream(request))
        XCTAssertNil(streamed.error)
        XCTAssertEqual(streamed.format, PCMFormat(sampleRate: 22_050))
        XCTAssertGreaterThan(streamed.pieces.count, 1)
        XCTAssertGreaterThan(streamed.pcm.count, 22_050 * 2)  // more than a second of speech
    }
}
