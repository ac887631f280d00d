import TTSCore
import XCTest
@testable import TTSEngines
@testable import TTSServer

final class OpenAIVoiceMapTests: XCTestCase {
    func testSettingParsesIntoOverridesWithLowercasedOpenAINames() throws {
        let configuration = try Configuration.load(environment: ["HOME": "/tmp", "TTS_OPENAI_VOICE_MAP": "Alloy=Sulafat, echo = Puck"])
        XCTAssertEqual(configuration.openAIVoiceMap, ["alloy": "Sulafat", "echo": "Puck"])
        let map = OpenAIVoiceMap(overrides: configuration.openAIVoiceMap)
        XCTAssertEqual(map.voice(for: "ALLOY", engine: "gemini"), "Sulafat")
        XCTAssertEqual(map.voice(for: "echo", engine: "espeak"), "Puck", "an override names the voice whatever the engine")
    }

    func testMalformedSettingIsAConfigErrorNamingIt() {
        XCTAssertThrowsError(try Configuration.load(environment: ["HOME": "/tmp", "TTS_OPENAI_VOICE_MAP": "alloy=Kore,echo"])) { error in
            XCTAssertEqual((error as? TTSError)?.kind, .config)
            XCTAssertTrue((error as? TTSError)?.message.contains("TTS_OPENAI_VOICE_MAP") ?? false)
        }
    }

    func testUnsetSettingMeansTheBuiltInMaps() throws {
        let configuration = try Configuration.load(environment: ["HOME": "/tmp"])
        XCTAssertEqual(configuration.openAIVoiceMap, [:])
        let map = OpenAIVoiceMap(overrides: configuration.openAIVoiceMap)
        XCTAssertEqual(map.voice(for: "onyx", engine: "gemini"), "Algenib")
        XCTAssertEqual(map.voice(for: "onyx", engine: "espeak"), "en-gb-x-gbclan")
        XCTAssertEqual(map.voice(for: "Zephyr", engine: "gemini"), "Zephyr")
    }

    func testEveryOpenAIVoiceHasAnEntryForBothEngines() {
        let openAIVoices = ["alloy", "ash", "ballad", "coral", "echo", "fable", "onyx", "nova", "sage", "shimmer", "verse", "marin", "cedar"]
        for voice in openAIVoices {
            let gemini = OpenAIVoiceMap.gemini[voice]
            XCTAssertEqual(gemini.flatMap(GeminiVoices.canonical), gemini, "\(voice) maps to a prebuilt Gemini voice")
            XCTAssertNotNil(OpenAIVoiceMap.espeak[voice], voice)
        }
    }
}
