import FakeGeminiServer
import Foundation
import TTSCore
import XCTest
@testable import TTSEngines

/// The exact request each model family gets: path, headers, JSON fields.
final class GeminiRequestTests: XCTestCase {
    private func sentRequest(model: String, style: String = "", language: String = "",
                             speakers: [SpeakerVoice] = []) async throws -> (FakeGeminiServer.RecordedRequest, Data) {
        let server = try startFakeGemini()
        let engine = makeEngine(server, model: model)
        let request = try await resolvedRequest(engine, voice: "puck", language: language, style: style, speakers: speakers)
        let wav = try await engine.synthesize(request)
        let recorded = try XCTUnwrap(server.recordedRequests().last)
        return (recorded, wav)
    }

    func testRequestForGemini25HasPathHeadersAndCamelCaseBody() async throws {
        let (sent, wav) = try await sentRequest(model: "gemini-2.5-flash-preview-tts")
        XCTAssertEqual(sent.method, "POST")
        XCTAssertEqual(sent.target, "/v1beta/models/gemini-2.5-flash-preview-tts:generateContent")
        XCTAssertEqual(sent.headers["x-goog-api-key"], "…" + primaryKey.suffix(4))
        XCTAssertEqual(sent.headers["content-type"], "application/json")
        XCTAssertEqual(sent.headers["user-agent"], "tts-repl/0.1")
        let json = try XCTUnwrap(sent.json)
        let contents = try XCTUnwrap(json["contents"] as? [[String: Any]])
        XCTAssertEqual(contents.count, 1)
        XCTAssertEqual(contents[0]["role"] as? String, "user")
        XCTAssertEqual((contents[0]["parts"] as? [[String: Any]])?.first?["text"] as? String, "Have a wonderful day!")
        let config = try XCTUnwrap(json["generationConfig"] as? [String: Any])
        XCTAssertEqual(config["responseModalities"] as? [String], ["AUDIO"])
        let speech = try XCTUnwrap(config["speechConfig"] as? [String: Any])
        let voice = ((speech["voiceConfig"] as? [String: Any])?["prebuiltVoiceConfig"] as? [String: Any])?["voiceName"] as? String
        XCTAssertEqual(voice, "Puck", "voices go out in Google's capitalisation")
        XCTAssertNil(speech["languageCode"], "no languageCode unless the user set one")
        XCTAssertNil(speech["multiSpeakerVoiceConfig"])
        let audio = try WAVAudio.decode(wav)
        XCTAssertEqual(audio.format, PCMFormat(sampleRate: 24_000))
        XCTAssertEqual(audio.durationMs, "Have a wonderful day!".count * 60)
    }

    func testGemini25StyleIsALeadInAndLanguageIsSentWhenSet() async throws {
        let (sent, _) = try await sentRequest(model: "gemini-2.5-pro-preview-tts", style: "cheerfully", language: "en-US")
        let json = try XCTUnwrap(sent.json)
        let part = try XCTUnwrap(((json["contents"] as? [[String: Any]])?.first?["parts"] as? [[String: Any]])?.first)
        XCTAssertEqual(part["text"] as? String, "Say cheerfully: Have a wonderful day!")
        XCTAssertNil(part["speech_metadata"])
        let speech = (json["generationConfig"] as? [String: Any])?["speechConfig"] as? [String: Any]
        XCTAssertEqual(speech?["languageCode"] as? String, "en-US")
    }

    func testGemini31StyleIsALeadInAndItsSpacedMimeTypeDecodes() async throws {
        let (sent, wav) = try await sentRequest(model: "gemini-3.1-flash-tts-preview", style: "slowly")
        XCTAssertEqual(sent.target, "/v1beta/models/gemini-3.1-flash-tts-preview:generateContent")
        let part = ((sent.json?["contents"] as? [[String: Any]])?.first?["parts"] as? [[String: Any]])?.first
        XCTAssertEqual(part?["text"] as? String, "Say slowly: Have a wonderful day!")
        XCTAssertEqual(try WAVAudio.decode(wav).format.sampleRate, 24_000)
    }

    func testGemini38StyleTravelsAsSpeechMetadataAndItsWavIsKeptAsSent() async throws {
        let (sent, wav) = try await sentRequest(model: "gemini-3.8-flash-lite-tts", style: "cheerful")
        let part = try XCTUnwrap(((sent.json?["contents"] as? [[String: Any]])?.first?["parts"] as? [[String: Any]])?.first)
        XCTAssertEqual(part["text"] as? String, "Have a wonderful day!", "3.8 reads the text verbatim")
        XCTAssertEqual((part["speech_metadata"] as? [String: Any])?["style"] as? String, "cheerful")
        XCTAssertEqual(Array(wav.prefix(4)), Array("RIFF".utf8))
        XCTAssertEqual(try WAVAudio.decode(wav).durationMs, "Have a wonderful day!".count * 60)
    }

    func testTwoSpeakersGoOutAsMultiSpeakerVoiceConfigWithoutVoiceConfig() async throws {
        let speakers = [SpeakerVoice(name: "Joe", voice: "kore"), SpeakerVoice(name: "Jane", voice: "PUCK")]
        let (sent, _) = try await sentRequest(model: "gemini-3.8-flash-tts", speakers: speakers)
        let speech = try XCTUnwrap((sent.json?["generationConfig"] as? [String: Any])?["speechConfig"] as? [String: Any])
        XCTAssertNil(speech["voiceConfig"])
        let configs = try XCTUnwrap((speech["multiSpeakerVoiceConfig"] as? [String: Any])?["speakerVoiceConfigs"] as? [[String: Any]])
        XCTAssertEqual(configs.map { $0["speaker"] as? String }, ["Joe", "Jane"])
        XCTAssertEqual(configs.map { (($0["voiceConfig"] as? [String: Any])?["prebuiltVoiceConfig"] as? [String: Any])?["voiceName"] as? String },
                       ["Kore", "Puck"])
    }

    func testTheKeyTravelsInTheHeaderNeverInTheURL() async throws {
        let (sent, _) = try await sentRequest(model: "gemini-3.8-flash-tts")
        XCTAssertFalse(sent.target.contains("key="))
        XCTAssertNotNil(sent.headers["x-goog-api-key"])
    }
}
