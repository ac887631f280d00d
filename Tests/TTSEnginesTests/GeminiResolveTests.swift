import Foundation
import TTSCore
import XCTest
@testable import TTSEngines

final class GeminiResolveTests: XCTestCase {
    private let engine = GeminiEngine(configuration: GeminiConfiguration(apiKeys: []))

    private func request(voice: String = "", model: String = "", speakers: [SpeakerVoice] = []) -> AudioRequest {
        AudioRequest(text: "Hello", voice: voice, engine: "gemini", model: model, speakers: speakers)
    }

    func testEmptyVoiceBecomesKoreAndEmptyModelTheConfiguredDefault() async throws {
        let resolved = try await engine.resolve(request())
        XCTAssertEqual(resolved.voice, "Kore")
        XCTAssertEqual(resolved.model, "gemini-3.8-flash-lite-tts")
        XCTAssertEqual(engine.name, "gemini")
    }

    func testVoiceIsMatchedCaseInsensitivelyAndReturnedCanonical() async throws {
        let resolved = try await engine.resolve(request(voice: "zUBENELGENUBI", model: "gemini-2.5-flash-preview-tts"))
        XCTAssertEqual(resolved.voice, "Zubenelgenubi")
        XCTAssertEqual(resolved.model, "gemini-2.5-flash-preview-tts")
    }

    func testUnknownVoiceIsAValidationErrorSayingHowToListVoices() async throws {
        do {
            _ = try await engine.resolve(request(voice: "Bob"))
            XCTFail("Bob is not a Gemini voice")
        } catch let error as TTSError {
            XCTAssertEqual(error.kind, .validation)
            XCTAssertEqual(error.field, "voice")
            XCTAssertTrue(error.message.contains("voices gemini"), error.message)
        }
    }

    func testSpeakersMustBeExactlyTwo() async throws {
        do {
            _ = try await engine.resolve(request(speakers: [SpeakerVoice(name: "Joe", voice: "Kore")]))
            XCTFail("one speaker is not a dialogue")
        } catch let error as TTSError {
            XCTAssertEqual(error.kind, .validation)
            XCTAssertEqual(error.field, "speakers")
        }
        let two = try await engine.resolve(request(speakers: [SpeakerVoice(name: "A", voice: "puck"), SpeakerVoice(name: "B", voice: "leda")]))
        XCTAssertEqual(two.speakers.map(\.voice), ["Puck", "Leda"])
    }

    func testResolveAtOnceNeverWaitsAndAgreesWithResolve() async throws {
        for asked in [request(), request(voice: "zUBENELGENUBI"), request(speakers: [SpeakerVoice(name: "A", voice: "puck"), SpeakerVoice(name: "B", voice: "Kore")])] {
            let atOnce = try engine.resolveAtOnce(asked)
            XCTAssertNotNil(atOnce)
            let awaited = try await engine.resolve(asked)
            XCTAssertEqual(atOnce, awaited)
        }
        XCTAssertThrowsError(try engine.resolveAtOnce(request(voice: "Bob")))
    }

    func testThirtyPrebuiltVoicesAreListed() async throws {
        let voices = try await engine.voices()
        XCTAssertEqual(voices.count, 30)
        XCTAssertEqual(Set(voices.map(\.name)).count, 30)
        XCTAssertTrue(voices.contains(VoiceInfo(name: "Sulafat", summary: "warm")))
    }

    func testMimeTypeRateAndChannelsAreReadCaseInsensitivelyWithDefaults() {
        XCTAssertEqual(GeminiAnswer.pcmFormat(mimeType: "audio/L16;codec=pcm;rate=24000"), PCMFormat(sampleRate: 24_000))
        XCTAssertEqual(GeminiAnswer.pcmFormat(mimeType: "audio/l16; RATE=16000; Channels=2"), PCMFormat(sampleRate: 16_000, channels: 2))
        XCTAssertEqual(GeminiAnswer.pcmFormat(mimeType: "audio/pcm"), PCMFormat(sampleRate: 24_000, channels: 1))
    }

    func testModelFamilyComesFromTheVersionInTheName() {
        XCTAssertEqual(GeminiModelFamily(model: "gemini-2.5-flash-preview-tts"), .styleInText)
        XCTAssertEqual(GeminiModelFamily(model: "gemini-3.1-flash-tts-preview"), .styleInText)
        XCTAssertEqual(GeminiModelFamily(model: "gemini-3.8-flash-lite-tts"), .styleAsMetadata)
        XCTAssertEqual(GeminiModelFamily(model: "gemini-4.0-tts"), .styleAsMetadata)
    }

    func testRedactedKeyShowsOnlyTheLastFourCharacters() {
        XCTAssertEqual(redactedKey("FAKESyD-0123456789abcdefghijklmnopqrstu"), "…rstu")
        XCTAssertEqual(redactedKey("short"), "…")
        let description = GeminiConfiguration(apiKeys: [primaryKey]).description
        XCTAssertFalse(description.contains(primaryKey))
    }
}
