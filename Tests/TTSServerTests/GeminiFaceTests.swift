import Foundation
import TTSCore
import TTSService
import XCTest
@testable import TTSServer

final class GeminiFaceTests: XCTestCase {
    private var backend: RecordingBackend!

    override func tearDown() {
        backend?.cleanUp()
        super.tearDown()
    }

    private func face(sampleRate: Int = 24_000) throws -> GeminiFace {
        backend = try RecordingBackend(defaults: RequestDefaults(engine: "gemini", model: "gemini-3.8-flash-lite-tts", voice: "Kore"),
                                       sampleRate: sampleRate)
        return GeminiFace(backend: backend)
    }

    private func generate(_ face: GeminiFace, _ body: String, model: String = "gemini-3.8-flash-tts",
                          stream: Bool = false) async -> ServerResponse {
        await face.generateContent(jsonRequest("/v1beta/models/\(model):generateContent", body), model: model, stream: stream)
    }

    /// The message of a Gemini-shaped error, checked to be `INVALID_ARGUMENT` with code 400.
    private func invalidArgument(_ response: ServerResponse, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        XCTAssertEqual(response.status, 400, file: file, line: line)
        let error = try XCTUnwrap(try response.json()["error"], file: file, line: line)
        XCTAssertEqual(error["code"]?.intValue, 400, file: file, line: line)
        XCTAssertEqual(error["status"]?.stringValue, "INVALID_ARGUMENT", file: file, line: line)
        return try XCTUnwrap(error["message"]?.stringValue, file: file, line: line)
    }

    /// The audio part of a unary answer.
    private func inlineData(_ response: ServerResponse) throws -> (mimeType: String, data: Data) {
        let candidate = try XCTUnwrap(try response.json()["candidates"].flatMap { if case .array(let c) = $0 { c.first } else { nil } })
        XCTAssertEqual(candidate["finishReason"]?.stringValue, "STOP")
        XCTAssertEqual(candidate["content"]?["role"]?.stringValue, "model")
        guard case .array(let parts)? = candidate["content"]?["parts"], let inline = parts.first?["inlineData"] else {
            XCTFail("no inlineData part in \(try response.json().serialized())")
            throw CocoaError(.coderValueNotFound)
        }
        return (try XCTUnwrap(inline["mimeType"]?.stringValue), try XCTUnwrap(inline["data"]?.stringValue.flatMap { Data(base64Encoded: $0) }))
    }

    static let camelCase = #"""
    {"contents":[{"role":"user","parts":[{"text":"Have a wonderful day!"}]}],
     "generationConfig":{"responseModalities":["AUDIO"],
       "speechConfig":{"voiceConfig":{"prebuiltVoiceConfig":{"voiceName":"Puck"}},"languageCode":"en-US"}}}
    """#

    static let snakeCase = #"""
    {"contents":[{"role":"user","parts":[{"text":"Have a wonderful day!"}]}],
     "generation_config":{"response_modalities":["AUDIO"],
       "speech_config":{"voice_config":{"prebuilt_voice_config":{"voice_name":"Puck"}},"language_code":"en-US"}}}
    """#

    func testCamelCaseBodyMapsToTheGeminiEngineWithThePathsModel() async throws {
        let face = try face()
        let response = await generate(face, Self.camelCase, model: "gemini-2.5-flash-preview-tts")
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(backend.requests, [AudioRequest(text: "Have a wonderful day!", voice: "Puck", language: "en-US",
                                                        engine: "gemini", model: "gemini-2.5-flash-preview-tts")])
    }

    func testSnakeCaseBodyMeansTheSameRequest() async throws {
        let face = try face()
        _ = await generate(face, Self.camelCase)
        _ = await generate(face, Self.snakeCase)
        XCTAssertEqual(backend.requests.count, 2)
        XCTAssertEqual(backend.requests[0], backend.requests[1])
    }

    /// Byte for byte what google-genai 3.6.1 sends: camelCase outside, snake_case inside.
    func testTheBodyGoogleGenaiSendsIsUnderstood() async throws {
        let face = try face()
        let body = #"{"contents": [{"parts": [{"text": "Hello"}], "role": "user"}], "generationConfig": {"responseModalities": ["AUDIO"], "speechConfig": {"voice_config": {"prebuilt_voice_config": {"voice_name": "Kore"}}}}}"#
        let status = await generate(face, body).status
        XCTAssertEqual(status, 200)
        XCTAssertEqual(backend.requests.first?.voice, "Kore")
        XCTAssertEqual(backend.requests.first?.text, "Hello")
    }

    func testModelsPrefixIsDropped() async throws {
        let face = try face()
        _ = await generate(face, Self.camelCase, model: "models/gemini-3.8-flash-tts")
        XCTAssertEqual(backend.requests.first?.model, "gemini-3.8-flash-tts")
    }

    func testNoVoiceLeavesItToTheEngine() async throws {
        let face = try face()
        _ = await generate(face, #"{"contents":[{"parts":[{"text":"Hi"}]}],"generationConfig":{"responseModalities":["audio"]}}"#)
        XCTAssertEqual(backend.requests.first?.voice, "")
        XCTAssertEqual(backend.requests.first?.language, "")
    }

    func testTwoFourModelsAnswerRawPcmAtTheClipsRate() async throws {
        let face = try face(sampleRate: 22_050)
        let response = await generate(face, Self.camelCase, model: "gemini-2.5-flash-preview-tts")
        let (mimeType, data) = try inlineData(response)
        XCTAssertEqual(mimeType, "audio/L16;codec=pcm;rate=22050")
        XCTAssertEqual(data, backend.wav.pcm)
        XCTAssertEqual(backend.formats, [.pcm(sampleRate: 22_050)])
        let json = try response.json()
        XCTAssertEqual(json["modelVersion"]?.stringValue, "gemini-2.5-flash-preview-tts")
        XCTAssertNotNil(json["usageMetadata"]?["totalTokenCount"]?.intValue)
        XCTAssertEqual(response.header("Content-Type"), "application/json")
    }

    func testThreeOneModelsAnswerRawPcm() async throws {
        let face = try face()
        let (mimeType, _) = try inlineData(await generate(face, Self.camelCase, model: "gemini-3.1-flash-tts-preview"))
        XCTAssertEqual(mimeType, "audio/L16;codec=pcm;rate=24000")
    }

    func testThreeEightModelsAnswerTheWholeWavFile() async throws {
        let face = try face()
        let response = await generate(face, Self.camelCase, model: "gemini-3.8-flash-lite-tts")
        let (mimeType, data) = try inlineData(response)
        XCTAssertEqual(mimeType, "audio/wav")
        XCTAssertEqual(data, backend.wav.encoded())
        XCTAssertEqual(response.header("X-TTS-Tier"), "engine")
        XCTAssertEqual(response.header("X-TTS-Key"), backend.requests.first.map { RequestKey($0).hex })
    }

    func testStyleFromSpeechMetadataAndSpeakersFromMultiSpeakerConfig() async throws {
        let face = try face()
        let body = #"""
        {"contents":[{"role":"user","parts":[
            {"text":"How are you?","speech_metadata":{"style":"cheerful","speaker":"Joe"}},
            {"text":"Fine, thanks.","speechMetadata":{"style":"cheerful","speaker":"Jane"}}]}],
         "generationConfig":{"responseModalities":["AUDIO"],"speechConfig":{"multiSpeakerVoiceConfig":{"speakerVoiceConfigs":[
            {"speaker":"Joe","voiceConfig":{"prebuiltVoiceConfig":{"voiceName":"Kore"}}},
            {"speaker":"Jane","voice_config":{"prebuilt_voice_config":{"voice_name":"Puck"}}}]}}}}
        """#
        let status = await generate(face, body).status
        XCTAssertEqual(status, 200)
        let request = try XCTUnwrap(backend.requests.first)
        XCTAssertEqual(request.text, "Joe: How are you?\nJane: Fine, thanks.")
        XCTAssertEqual(request.style, "cheerful")
        XCTAssertEqual(request.speakers, [SpeakerVoice(name: "Joe", voice: "Kore"), SpeakerVoice(name: "Jane", voice: "Puck")])
        XCTAssertEqual(request.voice, "")
    }

    func testRequestWithoutAudioModalityIsRefused() async throws {
        let face = try face()
        let chat = #"{"contents":[{"parts":[{"text":"Write a poem"}]}]}"#
        let message = try invalidArgument(await generate(face, chat))
        XCTAssertTrue(message.contains("speech cache") && message.contains("AUDIO"), message)
        _ = try invalidArgument(await generate(face, #"{"contents":[{"parts":[{"text":"Hi"}]}],"generationConfig":{"responseModalities":["TEXT"]}}"#))
        XCTAssertTrue(backend.requests.isEmpty)
    }

    func testMalformedBodiesAreInvalidArgument() async throws {
        let face = try face()
        _ = try invalidArgument(await generate(face, "{not json"))
        _ = try invalidArgument(await generate(face, #"{"contents":"Hi","generationConfig":{"responseModalities":["AUDIO"]}}"#))
        _ = try invalidArgument(await generate(face, #"{"contents":[{"parts":[{"inlineData":{"data":"AA=="}}]}],"generationConfig":{"responseModalities":["AUDIO"]}}"#))
        _ = try invalidArgument(await generate(face, #"{"contents":[],"generationConfig":{"responseModalities":["AUDIO"]}}"#))
        _ = try invalidArgument(await generate(face, #"{"contents":[{"parts":[{"text":"Hi"}]}],"generationConfig":{"responseModalities":["AUDIO"],"speechConfig":{"voiceConfig":{"prebuiltVoiceConfig":{"voiceName":7}}}}}"#))
        _ = try invalidArgument(await generate(face, #"{"contents":[{"parts":[{"text":"Hi"}]}],"generationConfig":{"responseModalities":["AUDIO"],"speechConfig":{"multiSpeakerVoiceConfig":{"speakerVoiceConfigs":[{"speaker":"Joe","voiceConfig":{"prebuiltVoiceConfig":{"voiceName":"Kore"}}}]}}}}"#))
        XCTAssertTrue(backend.requests.isEmpty)
    }

    func testPartsWithDifferentStylesAreRefused() async throws {
        let face = try face()
        let body = #"{"contents":[{"parts":[{"text":"a","speech_metadata":{"style":"sad"}},{"text":"b","speech_metadata":{"style":"happy"}}]}],"generationConfig":{"responseModalities":["AUDIO"]}}"#
        let message = try invalidArgument(await generate(face, body))
        XCTAssertTrue(message.contains("happy") && message.contains("sad"), message)
    }

    func testMissingGeminiEngineIsReportedInGeminisShape() async throws {
        let face = try face()
        backend.speakError = TTSError(.config, "the gemini engine is not configured on this server: set GEMINI_API_KEY")
        let response = await generate(face, Self.camelCase)
        XCTAssertEqual(response.status, 500)
        let error = try XCTUnwrap(try response.json()["error"])
        XCTAssertEqual(error["status"]?.stringValue, "INTERNAL")
        XCTAssertTrue(error["message"]?.stringValue?.contains("GEMINI_API_KEY") ?? false)
    }

    func testStreamSendsPcmChunksThenStop() async throws {
        let face = try face()
        let response = await generate(face, Self.camelCase, model: "gemini-3.8-flash-tts", stream: true)
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.header("Content-Type"), "text/event-stream")
        let events = try await streamedSSEEvents(response)
        XCTAssertGreaterThanOrEqual(events.count, 2)
        func candidate(_ event: JSONValue) -> JSONValue? {
            if case .array(let candidates)? = event["candidates"] { return candidates.first }
            return nil
        }
        XCTAssertEqual(candidate(events.last!)?["finishReason"]?.stringValue, "STOP")
        var audio = Data()
        for event in events.dropLast() {
            XCTAssertNil(candidate(event)?["finishReason"])
            guard case .array(let parts)? = candidate(event)?["content"]?["parts"], let inline = parts.first?["inlineData"] else {
                return XCTFail("a chunk event without inlineData: \(event.serialized())")
            }
            XCTAssertEqual(inline["mimeType"]?.stringValue, "audio/L16;codec=pcm;rate=24000", "streams carry raw PCM, even for 3.8")
            audio.append(try XCTUnwrap(inline["data"]?.stringValue.flatMap { Data(base64Encoded: $0) }))
        }
        XCTAssertEqual(audio, backend.wav.pcm)
    }

    func testAStreamThatFailsAfterItsStartEndsWithAnErrorEvent() async throws {
        let face = try face()
        backend.streamFailure = TTSError(.api, "the engine stopped midway")
        let response = await generate(face, Self.camelCase, model: "gemini-3.8-flash-tts", stream: true)
        XCTAssertEqual(response.status, 200)
        let events = try await streamedSSEEvents(response)
        XCTAssertEqual(events.count, 2, "one audio event, then the error")
        XCTAssertNotNil(events.first?["candidates"])
        let error = try XCTUnwrap(events.last?["error"])
        XCTAssertTrue(error["message"]?.stringValue?.contains("midway") ?? false)
    }

    func testAudioShapeFollowsTheModelFamily() {
        XCTAssertEqual(GeminiFace.AudioShape(model: "gemini-3.8-flash-lite-tts"), .wav)
        XCTAssertEqual(GeminiFace.AudioShape(model: "gemini-4.0-flash-tts"), .wav)
        XCTAssertEqual(GeminiFace.AudioShape(model: "gemini-3.1-flash-tts-preview"), .pcm)
        XCTAssertEqual(GeminiFace.AudioShape(model: "gemini-2.5-pro-preview-tts"), .pcm)
    }
}
