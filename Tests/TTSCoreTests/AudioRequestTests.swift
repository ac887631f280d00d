import Foundation
import XCTest
@testable import TTSCore

final class AudioRequestTests: XCTestCase {
    private func request(_ text: String = "Hello world", voice: String = "en-us", language: String = "",
                         engine: String = "espeak", model: String = "espeak-ng", style: String = "",
                         speakers: [SpeakerVoice] = []) -> AudioRequest {
        AudioRequest(text: text, voice: voice, language: language, engine: engine, model: model,
                     style: style, speakers: speakers)
    }

    /// Asserts `normalized` throws a validation error for `field`, and returns its message.
    @discardableResult
    private func assertInvalid(_ request: AudioRequest, limit: Int = 5000, field: String,
                               file: StaticString = #filePath, line: UInt = #line) -> String {
        do {
            let accepted = try request.normalized(maxTextCharacters: limit)
            XCTFail("expected a validation error on '\(field)', got \(accepted)", file: file, line: line)
            return ""
        } catch let error as TTSError {
            XCTAssertEqual(error.kind, .validation, file: file, line: line)
            XCTAssertEqual(error.field, field, error.message, file: file, line: line)
            XCTAssertFalse(error.isTransient, file: file, line: line)
            return error.message
        } catch {
            XCTFail("expected a TTSError, got \(error)", file: file, line: line)
            return ""
        }
    }

    // MARK: Text

    func testEmptyTextIsRejectedOnTheTextField() {
        let message = assertInvalid(request(""), field: "text")
        XCTAssertTrue(message.contains("empty"), message)
    }

    func testWhitespaceOnlyTextIsRejectedOnTheTextField() {
        for blank in [" ", "\t\n  \r\n", "\u{A0}\u{2003}\u{3000}", "\u{0}\u{7}"] {
            assertInvalid(request(blank), field: "text")
        }
    }

    func testTextAtTheLimitIsAcceptedAndOneMoreIsRejected() throws {
        for limit in [1, 2, 10, 5000] {
            let atLimit = String(repeating: "a", count: limit)
            XCTAssertEqual(try request(atLimit).normalized(maxTextCharacters: limit).text.count, limit)
            let message = assertInvalid(request(atLimit + "b"), limit: limit, field: "text")
            XCTAssertTrue(message.contains("\(limit + 1) Unicode scalars"), message)
            XCTAssertTrue(message.contains("limits are \(limit) scalars and \(4 * limit) UTF-8 bytes"), message)
        }
    }

    func testTextLengthCountsUnicodeScalars() throws {
        let family = "\u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467}\u{200D}\u{1F466}"  // 1 character, 7 scalars, 25 bytes
        XCTAssertEqual(try request(family).normalized(maxTextCharacters: 7).text, family)
        let message = assertInvalid(request(family), limit: 6, field: "text")
        XCTAssertTrue(message.contains("7 Unicode scalars (25 UTF-8 bytes)"), message)
        // CJK: 3 bytes per character in UTF-8, one scalar each.
        XCTAssertNoThrow(try request("\u{4F60}\u{597D}\u{4E16}\u{754C}").normalized(maxTextCharacters: 4))
        assertInvalid(request("\u{4F60}\u{597D}\u{4E16}\u{754C}!"), limit: 4, field: "text")
        // A decomposed é is composed by NFC first: 4 scalars once normalized.
        XCTAssertNoThrow(try request("cafe\u{301}").normalized(maxTextCharacters: 4))
    }

    /// 10 MB of combining marks on one letter is one Character; it used to pass a limit of
    /// 5000 and cost seconds of CPU, hundreds of MB and a 44 MB WAV. The raw byte count refuses
    /// it before normalization (the message counts the raw input, not an NFC form).
    func testCombiningMarkFloodIsRefusedByBytesBeforeNormalization() {
        let flood = "a" + String(repeating: "\u{301}", count: 5_000_000)
        let message = assertInvalid(request(flood), limit: 5000, field: "text")
        XCTAssertTrue(message.contains("5000001 Unicode scalars (10000001 UTF-8 bytes)"), message)
        XCTAssertTrue(message.contains("5000 scalars and 20000 UTF-8 bytes"), message)
    }

    func testStyleIsHeldToTheSameLimit() {
        let message = assertInvalid(request(style: String(repeating: "slowly ", count: 10)), limit: 20, field: "style")
        XCTAssertTrue(message.contains("style is"), message)
    }

    func testTextLengthIsCountedAfterNormalization() throws {
        // 3 characters once the spaces collapse and the ends are trimmed.
        XCTAssertEqual(try request("  a \t\n b  ").normalized(maxTextCharacters: 3).text, "a b")
        assertInvalid(request("  a \t\n bc  "), limit: 3, field: "text")
    }

    func testTextIsNormalized() throws {
        let r = try request("  Hello \t\n  Caf\u{65}\u{301}\u{0}  WORLD ").normalized(maxTextCharacters: 100)
        XCTAssertEqual(scalars(r.text), scalars("Hello Caf\u{E9} WORLD"))
    }

    // MARK: Language

    func testMalformedLanguageIsRejectedOnTheLanguageField() {
        for tag in ["en_US", "e", "english language", "en--US", "123", "\u{1F1FA}\u{1F1F8}"] {
            let message = assertInvalid(request(language: tag), field: "language")
            XCTAssertTrue(message.contains("BCP-47"), message)
        }
    }

    func testEmptyLanguageMeansTheEngineDecides() throws {
        XCTAssertEqual(try request(language: "").normalized(maxTextCharacters: 100).language, "")
        XCTAssertEqual(try request(language: "   ").normalized(maxTextCharacters: 100).language, "")
    }

    func testLanguageIsTrimmedAndItsCaseKept() throws {
        XCTAssertEqual(try request(language: " en-US\t").normalized(maxTextCharacters: 100).language, "en-US")
        XCTAssertEqual(try request(language: "zh-Hans-CN").normalized(maxTextCharacters: 100).language, "zh-Hans-CN")
    }

    // MARK: Engine, voice, model, style

    func testEmptyEngineIsRejectedOnTheEngineField() {
        assertInvalid(request(engine: ""), field: "engine")
        assertInvalid(request(engine: " \t "), field: "engine")
    }

    func testEngineIsTrimmedAndLowercased() throws {
        XCTAssertEqual(try request(engine: "  ESPEAK ").normalized(maxTextCharacters: 100).engine, "espeak")
        XCTAssertEqual(try request(engine: "Gemini").normalized(maxTextCharacters: 100).engine, "gemini")
    }

    func testVoiceAndModelAreTrimmedWithCaseKept() throws {
        let r = try request(voice: "  Kore ", engine: "gemini", model: " gemini-2.5-flash-preview-tts\n")
            .normalized(maxTextCharacters: 100)
        XCTAssertEqual(r.voice, "Kore")
        XCTAssertEqual(r.model, "gemini-2.5-flash-preview-tts")
    }

    func testEmptyVoiceMeansTheEngineDefault() throws {
        XCTAssertEqual(try request(voice: "").normalized(maxTextCharacters: 100).voice, "")
    }

    func testStyleIsNormalizedLikeText() throws {
        let r = try request(style: "  say   it\tcheerfully\n").normalized(maxTextCharacters: 100)
        XCTAssertEqual(r.style, "say it cheerfully")
    }

    // MARK: Speakers

    func testSpeakerWithoutAVoiceIsRejectedOnTheSpeakersField() {
        let speakers = [SpeakerVoice(name: "Joe", voice: "Kore"), SpeakerVoice(name: "Jane", voice: "")]
        let message = assertInvalid(request(engine: "gemini", speakers: speakers), field: "speakers")
        XCTAssertTrue(message.contains("name and a voice"), message)
    }

    func testSpeakerWithoutANameIsRejectedOnTheSpeakersField() {
        assertInvalid(request(engine: "gemini", speakers: [SpeakerVoice(name: "", voice: "Kore")]), field: "speakers")
    }

    func testTwoNamedSpeakersWithVoicesAreAccepted() throws {
        let speakers = [SpeakerVoice(name: "Joe", voice: "Kore"), SpeakerVoice(name: "Jane", voice: "Puck")]
        let r = try request("Joe: Hi. Jane: Hello.", engine: "gemini", speakers: speakers).normalized(maxTextCharacters: 100)
        XCTAssertEqual(r.speakers, speakers)
    }

    // MARK: Whole request

    func testNormalizingANormalizedRequestChangesNothing() throws {
        let once = try request("  Hi\tthere ", voice: " en-us ", language: " en-US ", engine: " ESPEAK ",
                               model: " espeak-ng ", style: " calm  ").normalized(maxTextCharacters: 100)
        let twice = try once.normalized(maxTextCharacters: 100)
        XCTAssertEqual(once, twice)
        XCTAssertEqual(RequestKey(once), RequestKey(twice))
    }

    func testNormalizedDoesNotChangeTheOriginal() throws {
        let original = request("  spaced  out ", engine: "ESPEAK")
        _ = try original.normalized(maxTextCharacters: 100)
        XCTAssertEqual(original.text, "  spaced  out ")
        XCTAssertEqual(original.engine, "ESPEAK")
    }

    func testRequestsRoundTripThroughJSON() throws {
        let r = request("Hi \u{1F600}", voice: "Kore", language: "en-US", engine: "gemini", model: "m", style: "calm",
                        speakers: [SpeakerVoice(name: "A", voice: "Kore"), SpeakerVoice(name: "B", voice: "Puck")])
        let back = try JSONDecoder().decode(AudioRequest.self, from: JSONEncoder().encode(r))
        XCTAssertEqual(back, r)
    }
}

/// The request key joins fields with U+001F and speakers with ':' and ','; a field that carries
/// one of those could make two different requests share a key (and one be served the other's
/// audio). Validation keeps them out.
final class AudioRequestKeySafetyTests: XCTestCase {
    private func assertInvalid(_ request: AudioRequest, field: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try request.normalized(maxTextCharacters: 5000), file: file, line: line) { error in
            XCTAssertEqual((error as? TTSError)?.kind, .validation, file: file, line: line)
            XCTAssertEqual((error as? TTSError)?.field, field, "\(error)", file: file, line: line)
        }
    }

    func testRequestsThatWouldCollideThroughTheUnitSeparatorAreRejected() {
        // Without validation both canonicalize to …␟m␟v␟w␟…: the same key.
        let a = AudioRequest(text: "Hi", voice: "w", engine: "gemini", model: "m\u{1F}v")
        let b = AudioRequest(text: "Hi", voice: "v\u{1F}w", engine: "gemini", model: "m")
        XCTAssertEqual(RequestKey.canonicalForm(of: a), RequestKey.canonicalForm(of: b))
        assertInvalid(a, field: "model")
        assertInvalid(b, field: "voice")
        assertInvalid(AudioRequest(text: "Hi", engine: "espeak\u{1F}x", model: "m"), field: "engine")
    }

    func testControlCharactersInVoiceModelAndEngineAreRejected() {
        for control in ["\u{0}", "\u{7}", "\u{1B}", "\u{7F}", "\u{85}"] {
            assertInvalid(AudioRequest(text: "Hi", voice: "en\(control)us", engine: "espeak", model: "m"), field: "voice")
            assertInvalid(AudioRequest(text: "Hi", engine: "espeak", model: "espeak\(control)ng"), field: "model")
            assertInvalid(AudioRequest(text: "Hi", engine: "esp\(control)eak", model: "m"), field: "engine")
        }
    }

    func testSpeakerListsThatWouldCollideThroughTheirSeparatorsAreRejected() {
        let two = [SpeakerVoice(name: "Joe", voice: "Kore"), SpeakerVoice(name: "Jane", voice: "Puck")]
        let smuggled = [SpeakerVoice(name: "Joe:Kore,Jane", voice: "Puck")]
        let a = AudioRequest(text: "Hi", engine: "gemini", model: "m", speakers: two)
        let b = AudioRequest(text: "Hi", engine: "gemini", model: "m", speakers: smuggled)
        XCTAssertEqual(RequestKey.canonicalForm(of: a), RequestKey.canonicalForm(of: b))
        XCTAssertNoThrow(try a.normalized(maxTextCharacters: 100))
        assertInvalid(b, field: "speakers")
        for bad in [SpeakerVoice(name: "Jo:e", voice: "Kore"), SpeakerVoice(name: "Joe", voice: "Ko,re"),
                    SpeakerVoice(name: "Jo\u{1F}e", voice: "Kore"), SpeakerVoice(name: "Joe", voice: "Kore\u{0}")] {
            assertInvalid(AudioRequest(text: "Hi", engine: "gemini", model: "m", speakers: [bad]), field: "speakers")
        }
    }

    func testWhitespaceOnlySpeakerNamesAndVoicesAreRejected() {
        assertInvalid(AudioRequest(text: "Hi", engine: "gemini", model: "m", speakers: [SpeakerVoice(name: " ", voice: "Kore")]),
                      field: "speakers")
        assertInvalid(AudioRequest(text: "Hi", engine: "gemini", model: "m", speakers: [SpeakerVoice(name: "Joe", voice: "\t")]),
                      field: "speakers")
    }

    func testSpeakerNamesAndVoicesAreTrimmedSoPaddingDoesNotMoveTheKey() throws {
        let plain = try AudioRequest(text: "Hi", engine: "gemini", model: "m",
                                     speakers: [SpeakerVoice(name: "Joe", voice: "Kore")]).normalized(maxTextCharacters: 100)
        let padded = try AudioRequest(text: "Hi", engine: "gemini", model: "m",
                                      speakers: [SpeakerVoice(name: " Joe ", voice: "Kore\n")]).normalized(maxTextCharacters: 100)
        XCTAssertEqual(padded.speakers, plain.speakers)
        XCTAssertEqual(RequestKey(padded), RequestKey(plain))
    }

    func testOrdinaryVoiceAndModelNamesStayAccepted() throws {
        for (engine, voice, model) in [("espeak", "en-us", "espeak-ng"), ("espeak", "gmw/en-US", "espeak-ng"),
                                       ("espeak", "en+f3", "espeak-ng"), ("gemini", "Kore", "gemini-2.5-flash-preview-tts"),
                                       ("gemini", "Zephyr", "models/gemini-2.5-pro-preview-tts")] {
            let r = try AudioRequest(text: "Hi", voice: voice, engine: engine, model: model).normalized(maxTextCharacters: 100)
            XCTAssertEqual(r.voice, voice)
            XCTAssertEqual(r.model, model)
        }
    }

    // MARK: ASCII shortcuts

    /// The shortcuts that skip Unicode property look-ups for printable ASCII (trimming, control
    /// characters) answer as the general definitions do, on random strings
    /// that are mostly ASCII with whitespace, controls, CR LF and combining marks mixed in.
    func testASCIIShortcutsMatchTheGeneralDefinitions() {
        var rng = SeededGenerator(seed: 0xA5C12)
        let mixed: [Unicode.Scalar] = ["\r", "\n", "\t", " ", "\u{0}", "\u{7F}", "\u{85}", "\u{A0}", "\u{301}", "\u{3000}", "\u{E9}"]
        for round in 0..<4_000 {
            var view = String.UnicodeScalarView()
            for _ in 0..<Int.random(in: 0...12, using: &rng) {
                view.append(Int.random(in: 0..<6, using: &rng) == 0 ? mixed.randomElement(using: &rng)!
                            : Unicode.Scalar(UInt8.random(in: 0x20...0x7E, using: &rng)))
            }
            let text = String(view)
            let label = "round \(round): \(text.debugDescription)"
            let scalars = text.unicodeScalars
            let trimmed: [Unicode.Scalar] = {
                guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }) else { return [] }
                let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })!
                return Array(scalars[first...last])
            }()
            XCTAssertEqual(Array(text.trimmingWhitespace().unicodeScalars), trimmed, label)
            XCTAssertEqual(text.containsControlCharacter, scalars.contains { $0.properties.generalCategory == .control }, label)
        }
    }
}
