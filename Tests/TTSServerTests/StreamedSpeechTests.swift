import Foundation
import Synchronization
import XCTest
import TTSCore
import TTSEngines
import TTSServer
import TTSService

/// An engine whose stream yields pieces only when the test says so: a streamed answer can be
/// seen arriving before the engine has finished, without any timing.
final class ChunkEngine: SpeechEngine, Sendable {
    let name = "chunks"
    let defaultModel = "chunks-1"
    static let format = PCMFormat(sampleRate: 16000)
    private let state = Mutex<(current: AsyncThrowingStream<AudioChunk, Error>.Continuation?, streams: Int, syntheses: Int)>((nil, 0, 0))

    /// Streams started (one per generated miss).
    var streams: Int { state.withLock { $0.streams } }
    /// Unary syntheses asked for (each one fails: this engine only streams).
    var syntheses: Int { state.withLock { $0.syntheses } }

    func voices() async throws -> [VoiceInfo] { [VoiceInfo(name: "a")] }

    func resolve(_ request: AudioRequest) async throws -> AudioRequest {
        var resolved = request
        if resolved.voice.isEmpty { resolved.voice = "a" }
        if resolved.model.isEmpty { resolved.model = defaultModel }
        return resolved
    }

    func synthesize(_ request: AudioRequest) async throws -> Data {
        state.withLock { $0.syntheses += 1 }
        throw TTSError(.api, "the chunks test engine only streams")
    }

    func stream(_ request: AudioRequest) -> AsyncThrowingStream<AudioChunk, Error> {
        AsyncThrowingStream { continuation in
            continuation.yield(.format(Self.format))
            state.withLock {
                $0.current = continuation
                $0.streams += 1
            }
        }
    }

    func send(_ pcm: Data) { state.withLock { $0.current }?.yield(.audio(pcm)) }
    func finish() { state.withLock { $0.current }?.finish() }
    func fail() { state.withLock { $0.current }?.finish(throwing: TTSError(.api, "the chunks engine failed on purpose")) }
}

final class StreamedSpeechTests: XCTestCase {
    /// `count` frames of distinct 16-bit samples starting at `from`.
    private func samples(_ count: Int, from start: Int) -> Data {
        var pcm = Data()
        for i in start..<(start + count) {
            withUnsafeBytes(of: Int16(truncatingIfNeeded: i * 7).littleEndian) { pcm.append(contentsOf: $0) }
        }
        return pcm
    }

    private func streamRequest(_ fixture: ServerFixture, _ json: String) -> HTTPRequest {
        HTTPRequest(method: "POST", url: fixture.baseURL + "/v1/speech", headers: [("Content-Type", "application/json")],
                    body: Data(json.utf8))
    }

    /// Reads `body` until at least `count` bytes came (or it ends).
    private func read(_ iterator: inout AsyncThrowingStream<Data, Error>.Iterator, atLeast count: Int, into received: inout Data) async throws {
        while received.count < count, let piece = try await iterator.next() { received.append(piece) }
    }

    func testAStreamedMissArrivesBeforeTheEngineFinishesAndIsThenServedFromTheCache() async throws {
        let fixture = try ServerFixture()
        let engine = fixture.chunks
        let first = samples(800, from: 0), second = samples(800, from: 800)
        let header = WAVAudio.streamingHeader(for: ChunkEngine.format)

        let response = try await fixture.client.stream(streamRequest(fixture, #"{"text": "stream me", "engine": "chunks", "stream": true}"#))
        XCTAssertEqual(response.status, 200)
        var body = response.body.makeAsyncIterator()
        var received = Data()
        engine.send(first)
        try await read(&body, atLeast: header.count + first.count, into: &received)
        // The first piece is here while the engine still holds the rest.
        XCTAssertEqual(received, header + first)
        engine.send(second)
        engine.finish()
        while let piece = try await body.next() { received.append(piece) }
        XCTAssertEqual(received, header + first + second)

        // The clip was cached complete: a unary request is a hit with the same samples.
        let unary = try await fixture.post("/v1/speech", #"{"text": "stream me", "engine": "chunks", "format": "pcm"}"#)
        XCTAssertEqual(unary.status, 200)
        XCTAssertEqual(unary.body, first + second)
        XCTAssertNotEqual(unary.headers.first { $0.name.lowercased() == "x-tts-tier" }?.value, "engine")

        // A hit streams at once, raw PCM when asked, without the engine.
        let hit = try await fixture.client.stream(streamRequest(fixture, #"{"text": "stream me", "engine": "chunks", "stream": true, "format": "pcm"}"#))
        XCTAssertEqual(hit.status, 200)
        var hitBytes = Data()
        for try await piece in hit.body { hitBytes.append(piece) }
        XCTAssertEqual(hitBytes, first + second)
        XCTAssertEqual(engine.streams, 1)
        XCTAssertEqual(engine.syntheses, 0)
        await fixture.tearDown()
    }

    func testAStreamCutByTheEngineEndsTheTransferWithAnErrorAndCachesNothing() async throws {
        let fixture = try ServerFixture()
        let engine = fixture.chunks
        let first = samples(800, from: 0)
        // Raw PCM has no header: libmicrohttpd sends the answer's head with its first bytes.
        let request = streamRequest(fixture, #"{"text": "cut me", "engine": "chunks", "stream": true, "format": "pcm"}"#)
        let started = Task { try await fixture.client.stream(request) }
        await fixture.eventually("the engine streams") { engine.streams == 1 }
        engine.send(first)
        let response = try await started.value
        XCTAssertEqual(response.status, 200)
        var body = response.body.makeAsyncIterator()
        var received = Data()
        try await read(&body, atLeast: first.count, into: &received)
        XCTAssertEqual(received, first)
        engine.fail()
        do {
            while let piece = try await body.next() { received.append(piece) }
            XCTFail("a cut stream must end the transfer with an error, not a complete body")
        } catch {}

        // Nothing was stored: the clip list, which names every clip's text, does not know it.
        await fixture.eventually("the stream is over") { fixture.service.streamsInProgress == 0 }
        let list = try await fixture.get("/v1/clips")
        XCTAssertEqual(list.status, 200)
        XCTAssertFalse(String(decoding: list.body, as: UTF8.self).contains("cut me"))
        // The positive control: a completed stream is listed.
        let whole = try await fixture.client.stream(streamRequest(fixture, #"{"text": "keep me", "engine": "chunks", "stream": true}"#))
        engine.send(first)
        engine.finish()
        for try await _ in whole.body {}
        let listed = try await fixture.get("/v1/clips")
        XCTAssertTrue(String(decoding: listed.body, as: UTF8.self).contains("keep me"))
        await fixture.tearDown()
    }

    func testAClientThatGoesAwayMidStreamFreesItsConnectionAndTheClipIsStillCached() async throws {
        let fixture = try ServerFixture()
        let engine = fixture.chunks
        let first = samples(800, from: 0)
        do {
            let response = try await fixture.client.stream(streamRequest(fixture, #"{"text": "leave me", "engine": "chunks", "stream": true}"#))
            var body = response.body.makeAsyncIterator()
            var received = Data()
            engine.send(first)
            try await read(&body, atLeast: 44 + first.count, into: &received)
        }  // the iterator is dropped: curl aborts the transfer while the server waits for audio
        // The next piece resumes the connection, which finds the client gone and closes.
        for start in stride(from: 800, to: 8000, by: 800) { engine.send(samples(800, from: start)) }
        engine.finish()
        await fixture.eventually("the request is over") { fixture.server.requestsInFlight == 0 }
        await fixture.eventually("the stream is over") { fixture.service.streamsInProgress == 0 }
        let listed = try await fixture.get("/v1/clips")
        XCTAssertTrue(String(decoding: listed.body, as: UTF8.self).contains("leave me"), "the generation outlives its client")
        await fixture.tearDown()
    }

    func testStoppingTheServerCutsAStreamWaitingForAudio() async throws {
        let fixture = try ServerFixture()
        let engine = fixture.chunks
        let response = try await fixture.client.stream(streamRequest(fixture, #"{"text": "stop me", "engine": "chunks", "stream": true}"#))
        var body = response.body.makeAsyncIterator()
        var received = Data()
        try await read(&body, atLeast: 44, into: &received)
        // The connection is suspended waiting for audio; stopping must resume and close it.
        let drained = await fixture.stop(grace: .milliseconds(50))
        XCTAssertFalse(drained)
        XCTAssertEqual(fixture.server.requestsInFlight, 0, "the daemon stopped, which it may only do with no connection suspended")
        do {
            while try await body.next() != nil {}
            XCTFail("a stream cut by the server's stop must end with an error")
        } catch {}
        engine.finish()
        await fixture.tearDown()
    }

    func testStreamingRefusesCompressedFormatsBeforeStarting() async throws {
        let fixture = try ServerFixture()
        let answer = try await fixture.post("/v1/speech", #"{"text": "no mp3", "engine": "chunks", "stream": true, "format": "mp3"}"#)
        XCTAssertEqual(answer.status, 400)
        XCTAssertTrue(String(decoding: answer.body, as: UTF8.self).contains("streaming supports wav and pcm"))
        XCTAssertEqual(fixture.chunks.streams, 0)
        await fixture.tearDown()
    }

    func testOpenAIPCMAtAnotherRateStreamsInPiecesThatTogetherEqualTheUnaryAnswer() async throws {
        var options = ServerFixture.Options()
        options.defaultEngine = "chunks"
        let fixture = try ServerFixture(options)
        let engine = fixture.chunks
        XCTAssertNotEqual(ChunkEngine.format.sampleRate, 24_000, "the clip must need resampling to OpenAI's 24 kHz")
        let json = #"{"model": "tts-1", "input": "resample me", "voice": "alloy", "response_format": "pcm", "stream_format": "audio"}"#
        let request = HTTPRequest(method: "POST", url: fixture.baseURL + "/v1/audio/speech",
                                  headers: [("Content-Type", "application/json")], body: Data(json.utf8))
        let started = Task { try await fixture.client.stream(request) }
        await fixture.eventually("the engine streams") { engine.streams == 1 }
        // Pieces that end inside a sample, as an engine's may.
        let audio = samples(4000, from: 0)
        engine.send(audio.prefix(1601))
        let response = try await started.value
        XCTAssertEqual(response.status, 200)
        var body = response.body.makeAsyncIterator()
        var received = Data()
        try await read(&body, atLeast: 2, into: &received)
        // Audio came while the engine still holds most of the clip: streamed, not sent whole.
        XCTAssertGreaterThan(received.count, 0)
        engine.send(audio.dropFirst(1601).prefix(3000))
        engine.send(audio.dropFirst(4601))
        engine.finish()
        while let piece = try await body.next() { received.append(piece) }

        let unary = try await fixture.post("/v1/audio/speech", #"{"model": "tts-1", "input": "resample me", "voice": "alloy", "response_format": "pcm"}"#)
        XCTAssertEqual(unary.status, 200)
        XCTAssertNotEqual(unary.headers.first { $0.name.lowercased() == "x-tts-tier" }?.value, "engine")
        XCTAssertEqual(unary.body.count, 6000 * 2, "4000 samples at 16 kHz are 6000 at 24 kHz")
        XCTAssertEqual(received, unary.body, "the streamed pieces together are the unary answer's bytes")
        XCTAssertEqual(engine.streams, 1)
        await fixture.tearDown()
    }
}
