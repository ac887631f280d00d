import Foundation
import TTSCore
import TTSService
import XCTest
@testable import TTSServer

final class OpenAIFaceTests: XCTestCase {
    private var backend: RecordingBackend!

    override func tearDown() {
        backend?.cleanUp()
        super.tearDown()
    }

    private func face(engine: String = "gemini", model: String = "gemini-3.8-flash-lite-tts", language: String = "",
                      overrides: [String: String] = [:]) throws -> OpenAIFace {
        backend = try RecordingBackend(defaults: RequestDefaults(engine: engine, model: model, voice: "", language: language))
        return OpenAIFace(backend: backend, voiceMap: OpenAIVoiceMap(overrides: overrides))
    }

    private func speech(_ face: OpenAIFace, _ body: String) async -> ServerResponse {
        await face.speech(jsonRequest("/v1/audio/speech", body))
    }

    /// The OpenAI error object of a response, checked to be in OpenAI's shape.
    private func openAIError(_ response: ServerResponse, status: Int = 400, param: String?,
                             file: StaticString = #filePath, line: UInt = #line) throws -> String {
        XCTAssertEqual(response.status, status, file: file, line: line)
        XCTAssertEqual(response.header("Content-Type"), "application/json", file: file, line: line)
        let error = try XCTUnwrap(try response.json()["error"], file: file, line: line)
        XCTAssertEqual(error["param"], param.map { .string($0) } ?? .null, file: file, line: line)
        XCTAssertNotNil(error["type"]?.stringValue, file: file, line: line)
        XCTAssertNotNil(error["code"], "OpenAI's shape always has a code field, null or not", file: file, line: line)
        return try XCTUnwrap(error["message"]?.stringValue, file: file, line: line)
    }

    func testWavRequestMapsModelVoiceAndInstructionsOnGemini() async throws {
        let face = try face()
        let response = await speech(face, #"{"model":"gpt-4o-mini-tts","input":"Hello there","voice":"nova","response_format":"wav","instructions":"cheerfully"}"#)
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.header("Content-Type"), "audio/wav")
        XCTAssertEqual(try response.bodyBytes(), backend.wav.encoded())
        XCTAssertEqual(response.header("X-TTS-Tier"), "engine")
        XCTAssertEqual(response.tier, "engine")
        let request = try XCTUnwrap(backend.requests.first)
        XCTAssertEqual(request, AudioRequest(text: "Hello there", voice: "Leda", language: "", engine: "gemini",
                                             model: "gemini-3.8-flash-lite-tts", style: "cheerfully"))
        XCTAssertEqual(response.header("X-TTS-Key"), RequestKey(request).hex)
        XCTAssertEqual(backend.formats, [.wav])
    }

    func testWavIsSentFromTheFileWithoutCopying() async throws {
        let face = try face()
        let response = await speech(face, #"{"model":"tts-1","input":"Hi","voice":"alloy","response_format":"wav"}"#)
        XCTAssertEqual(response.body, .file(path: backend.wavURL.path, offset: 0, length: backend.wav.encoded().count))
    }

    func testEngineVoiceNamePassesThrough() async throws {
        let face = try face()
        _ = await speech(face, #"{"model":"tts-1","input":"Hi","voice":"Kore","response_format":"wav"}"#)
        XCTAssertEqual(backend.requests.first?.voice, "Kore")
    }

    func testVoiceObjectIdNamesTheEngineVoice() async throws {
        let face = try face()
        _ = await speech(face, #"{"model":"tts-1","input":"Hi","voice":{"id":"Puck"},"response_format":"wav"}"#)
        XCTAssertEqual(backend.requests.first?.voice, "Puck")
    }

    func testVoiceMapOverrideWins() async throws {
        let face = try face(overrides: ["ALLOY": "Sulafat"])
        _ = await speech(face, #"{"model":"tts-1","input":"Hi","voice":"alloy","response_format":"wav"}"#)
        XCTAssertEqual(backend.requests.first?.voice, "Sulafat")
    }

    func testOpenAIVoicesMapToEspeakAccentsOnEspeak() async throws {
        let face = try face(engine: "espeak", model: "espeak-ng")
        _ = await speech(face, #"{"model":"tts-1-hd","input":"Hi","voice":"ballad","response_format":"wav"}"#)
        let request = try XCTUnwrap(backend.requests.first)
        XCTAssertEqual(request.engine, "espeak")
        XCTAssertEqual(request.model, "espeak-ng")
        XCTAssertEqual(request.voice, "en-gb-scotland")
    }

    func testEspeakWithAnotherDefaultLanguageLetsTheEnginePickTheVoice() async throws {
        let face = try face(engine: "espeak", model: "espeak-ng", language: "de")
        _ = await speech(face, #"{"model":"tts-1","input":"Guten Tag","voice":"alloy","response_format":"wav"}"#)
        let request = try XCTUnwrap(backend.requests.first)
        XCTAssertEqual(request.voice, "")
        XCTAssertEqual(request.language, "de")
    }

    func testGeminiModelNamePicksTheGeminiEngineAndModel() async throws {
        let face = try face(engine: "espeak", model: "espeak-ng", language: "en-us")
        _ = await speech(face, #"{"model":"gemini-2.5-flash-preview-tts","input":"Hi","voice":"echo","response_format":"wav"}"#)
        let request = try XCTUnwrap(backend.requests.first)
        XCTAssertEqual(request.engine, "gemini")
        XCTAssertEqual(request.model, "gemini-2.5-flash-preview-tts")
        XCTAssertEqual(request.voice, "Charon")
        XCTAssertEqual(request.language, "", "the espeak default language is not forced on Gemini")
    }

    func testPcmIs24kHzRawSamples() async throws {
        let face = try face()
        let response = await speech(face, #"{"model":"tts-1","input":"Hi","voice":"alloy","response_format":"pcm"}"#)
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.header("Content-Type"), "audio/pcm")
        XCTAssertEqual(backend.formats, [.pcm(sampleRate: 24_000)])
        XCTAssertEqual(try response.bodyBytes(), backend.wav.pcm)
    }

    func testAbsentFormatMeansMp3AndIsRefusedNamingTheFormatsWhenTheServerCannotEncode() async throws {
        let face = try face()
        let response = await speech(face, #"{"model":"tts-1","input":"Hi","voice":"alloy"}"#)
        let message = try openAIError(response, param: "response_format")
        XCTAssertTrue(message.contains("wav"), message)
        XCTAssertEqual(backend.formats, [.encoded("mp3")])
    }

    func testEncodedFormatsCarryOpenAIsContentTypes() async throws {
        let face = try face()
        backend.encodable = ["mp3", "opus", "flac"]
        for (format, type) in [("mp3", "audio/mpeg"), ("opus", "audio/opus"), ("flac", "audio/flac")] {
            let response = await speech(face, #"{"model":"tts-1","input":"Hi","voice":"alloy","response_format":"\#(format)"}"#)
            XCTAssertEqual(response.status, 200, format)
            XCTAssertEqual(response.header("Content-Type"), type)
            XCTAssertEqual(try response.bodyBytes(), Data("encoded \(format)".utf8))
        }
    }

    func testAacIsRefusedNamingTheFormatsAvailable() async throws {
        let face = try face()
        let message = try openAIError(await speech(face, #"{"model":"tts-1","input":"Hi","voice":"alloy","response_format":"aac"}"#),
                                      param: "response_format")
        XCTAssertTrue(message.contains("aac") && message.contains("wav") && message.contains("pcm"), message)
        XCTAssertTrue(backend.requests.isEmpty, "nothing is generated for a format that cannot be sent")
    }

    func testUnknownFormatIsRefused() async throws {
        let face = try face()
        _ = try openAIError(await speech(face, #"{"model":"tts-1","input":"Hi","voice":"alloy","response_format":"ogg"}"#),
                            param: "response_format")
    }

    func testSpeedOtherThanOneIsRefusedAndOneIsAccepted() async throws {
        let face = try face()
        let message = try openAIError(await speech(face, #"{"model":"tts-1","input":"Hi","voice":"alloy","response_format":"wav","speed":1.5}"#),
                                      param: "speed")
        XCTAssertTrue(message.contains("1.5") && message.contains("instructions"), message)
        let asDecimal = await speech(face, #"{"model":"tts-1","input":"Hi","voice":"alloy","response_format":"wav","speed":1.0}"#)
        let asInteger = await speech(face, #"{"model":"tts-1","input":"Hi","voice":"alloy","response_format":"wav","speed":1}"#)
        XCTAssertEqual(asDecimal.status, 200)
        XCTAssertEqual(asInteger.status, 200)
    }

    func testMissingFieldsAreRefusedNamingTheField() async throws {
        let face = try face()
        _ = try openAIError(await speech(face, #"{"model":"tts-1","voice":"alloy"}"#), param: "input")
        _ = try openAIError(await speech(face, #"{"input":"Hi","voice":"alloy"}"#), param: "model")
        _ = try openAIError(await speech(face, #"{"model":"tts-1","input":"Hi"}"#), param: "voice")
        XCTAssertTrue(backend.requests.isEmpty)
    }

    func testWrongTypesAreRefusedNamingTheField() async throws {
        let face = try face()
        _ = try openAIError(await speech(face, #"{"model":"tts-1","input":42,"voice":"alloy"}"#), param: "input")
        _ = try openAIError(await speech(face, #"{"model":"tts-1","input":"Hi","voice":"alloy","speed":"fast"}"#), param: "speed")
        _ = try openAIError(await speech(face, #"{"model":"tts-1","input":"Hi","voice":"alloy","instructions":["x"]}"#), param: "instructions")
        _ = try openAIError(await speech(face, #"{"model":"tts-1","input":"Hi","voice":"alloy","stream_format":"chunks"}"#), param: "stream_format")
    }

    func testMalformedJsonIsA400WithoutParam() async throws {
        let face = try face()
        let message = try openAIError(await speech(face, #"{"model":"tts-1","#), param: nil)
        XCTAssertTrue(message.contains("JSON"), message)
        _ = try openAIError(await speech(face, "[1,2]"), param: nil)
        _ = try openAIError(await speech(face, ""), param: nil)
    }

    func testServiceValidationErrorKeepsItsField() async throws {
        let face = try face()
        backend.speakError = TTSError.validation("voice", "gemini has no voice 'Nobody'")
        let message = try openAIError(await speech(face, #"{"model":"tts-1","input":"Hi","voice":"Nobody","response_format":"wav"}"#),
                                      param: "voice")
        XCTAssertTrue(message.contains("Nobody"))
    }

    func testServiceFieldsAreNamedAsOpenAINamesThem() async throws {
        let face = try face()
        backend.speakError = TTSError.validation("text", "text is 6000 characters long; the limit is 5000 (TTS_MAX_TEXT_CHARS)")
        let message = try openAIError(await speech(face, #"{"model":"tts-1","input":"Hi","voice":"alloy","response_format":"wav"}"#),
                                      param: "input")
        XCTAssertTrue(message.contains("5000"), message)
        backend.speakError = TTSError.validation("style", "style is too long")
        _ = try openAIError(await speech(face, #"{"model":"tts-1","input":"Hi","voice":"alloy","response_format":"wav"}"#),
                            param: "instructions")
    }

    func testEngineQuotaIsA429WithRetryAfter() async throws {
        let face = try face()
        backend.speakError = TTSError(.quota, "Gemini's quota is used up; try again later", retryAfter: 12.5)
        let response = await speech(face, #"{"model":"tts-1","input":"Hi","voice":"alloy","response_format":"wav"}"#)
        XCTAssertEqual(response.status, 429)
        XCTAssertEqual(response.header("Retry-After"), "13")
        XCTAssertEqual(try response.json()["error"]?["type"]?.stringValue, "rate_limit_error")
    }

    func testCacheHitReportsItsTier() async throws {
        let face = try face()
        backend.tier = .local
        let response = await speech(face, #"{"model":"tts-1","input":"Hi","voice":"alloy","response_format":"wav"}"#)
        XCTAssertEqual(response.header("X-TTS-Tier"), "local")
        XCTAssertEqual(response.tier, "local")
    }

    func testSseStreamFormatSendsDeltasThenDone() async throws {
        let face = try face()
        let response = await speech(face, #"{"model":"gpt-4o-mini-tts","input":"Hi","voice":"alloy","response_format":"pcm","stream_format":"sse"}"#)
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.header("Content-Type"), "text/event-stream")
        let events = try await streamedSSEEvents(response)
        XCTAssertEqual(events.last?["type"]?.stringValue, "speech.audio.done")
        XCTAssertNotNil(events.last?["usage"]?["total_tokens"]?.intValue)
        let audio = events.dropLast().compactMap { $0["audio"]?.stringValue }.compactMap { Data(base64Encoded: $0) }
        XCTAssertEqual(audio.count, events.count - 1)
        XCTAssertEqual(audio.reduce(Data(), +), backend.wav.pcm)
        XCTAssertEqual(audio.count, 2, "one delta per piece the backend streamed")
    }

    func testStreamFormatAudioSendsTheBytesChunkedForWavAndPcmOnly() async throws {
        let face = try face()
        let wav = await speech(face, #"{"model":"tts-1","input":"Hi","voice":"alloy","response_format":"wav","stream_format":"audio"}"#)
        XCTAssertEqual(wav.header("Content-Type"), "audio/wav")
        let wavBytes = try await wav.collectedBody()
        XCTAssertEqual(wavBytes, WAVAudio.streamingHeader(for: backend.wav.format) + backend.wav.pcm)
        let pcm = await speech(face, #"{"model":"tts-1","input":"Hi","voice":"alloy","response_format":"pcm","stream_format":"audio"}"#)
        let pcmBytes = try await pcm.collectedBody()
        XCTAssertEqual(pcmBytes, backend.wav.pcm)
        let mp3 = await speech(face, #"{"model":"tts-1","input":"Hi","voice":"alloy","response_format":"mp3","stream_format":"audio"}"#)
        XCTAssertEqual(mp3.status, 400)
        XCTAssertTrue(String(decoding: try mp3.bodyBytes(), as: UTF8.self).contains("streaming supports wav and pcm"))
        // Without stream_format the clip is sent whole, as a file.
        let whole = await speech(face, #"{"model":"tts-1","input":"Hi","voice":"alloy","response_format":"wav"}"#)
        XCTAssertEqual(try whole.bodyBytes(), backend.wav.encoded())
    }

    func testSseStreamOfWavStartsWithAStreamingHeader() async throws {
        let face = try face()
        let response = await speech(face, #"{"model":"gpt-4o-mini-tts","input":"Hi","voice":"alloy","response_format":"wav","stream_format":"sse"}"#)
        let events = try await streamedSSEEvents(response)
        let audio = events.dropLast().compactMap { $0["audio"]?.stringValue }.compactMap { Data(base64Encoded: $0) }
        XCTAssertEqual(audio.reduce(Data(), +), WAVAudio.streamingHeader(for: backend.wav.format) + backend.wav.pcm)
    }

    func testSseStreamOfPcmAtAnotherRateIsConvertedTo24kHz() async throws {
        backend = try RecordingBackend(defaults: RequestDefaults(engine: "espeak"), sampleRate: 16_000)
        let face = OpenAIFace(backend: backend)
        let response = await speech(face, #"{"model":"tts-1","input":"Hi","voice":"alloy","response_format":"pcm","stream_format":"sse"}"#)
        let events = try await streamedSSEEvents(response)
        let audio = events.dropLast().compactMap { $0["audio"]?.stringValue }.compactMap { Data(base64Encoded: $0) }
        XCTAssertGreaterThan(audio.count, 1, "resampled piece by piece, not whole at the end")
        let whole = try WAVAudio.decode(AudioTranscoder.convert(backend.wav, to: AudioTarget(sampleRate: 24_000, encoding: .pcm16)).wav).pcm
        XCTAssertEqual(whole.count, backend.wav.pcm.count * 24_000 / 16_000)
        XCTAssertEqual(audio.reduce(Data(), +), whole, "the pieces together are the unary conversion's bytes")
    }
}

/// The JSON of each `data:` event of a text/event-stream body, in order.
func sseEvents(_ response: ServerResponse) throws -> [JSONValue] {
    try sseEvents(in: try response.bodyBytes())
}

/// The events of an answer whose body may be a stream (read to its end).
func streamedSSEEvents(_ response: ServerResponse) async throws -> [JSONValue] {
    try sseEvents(in: try await response.collectedBody())
}

func sseEvents(in body: Data) throws -> [JSONValue] {
    let text = String(decoding: body, as: UTF8.self)
    XCTAssertTrue(text.hasSuffix("\n\n"), "every event ends with a blank line")
    return try text.components(separatedBy: "\n\n").filter { !$0.isEmpty }.map { event in
        XCTAssertTrue(event.hasPrefix("data: "), event)
        return try JSONValue.parse(String(event.dropFirst("data: ".count)))
    }
}
