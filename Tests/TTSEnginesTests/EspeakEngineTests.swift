import Foundation
import TTSCore
import XCTest
@testable import TTSEngines

/// Behaviour of the in-process espeak-ng engine. These tests need espeak-ng and its data:
/// without them they skip on a workstation and fail when CI is set.
final class EspeakEngineTests: XCTestCase {
    private let engine = EspeakEngine()

    /// Fails (CI) or skips (workstation) when espeak-ng cannot start here.
    private func requireEspeak() async throws {
        do {
            _ = try await engine.voices()
        } catch let error as TTSError where error.kind == .config {
            if ProcessInfo.processInfo.environment["CI"] != nil {
                XCTFail("espeak-ng is required when CI is set: \(error.message)")
                throw error
            }
            throw XCTSkip("espeak-ng is not usable here: \(error.message)")
        }
    }

    private func request(_ text: String, voice: String = "en-us", language: String = "",
                         model: String = "") -> AudioRequest {
        AudioRequest(text: text, voice: voice, language: language, engine: "espeak", model: model)
    }

    private func assertValidationError(field: String, containing words: [String] = [],
                                       _ body: () async throws -> Void,
                                       file: StaticString = #filePath, line: UInt = #line) async {
        do {
            try await body()
            XCTFail("expected a validation error on \(field)", file: file, line: line)
        } catch let error as TTSError {
            XCTAssertEqual(error.kind, .validation, "\(error)", file: file, line: line)
            XCTAssertEqual(error.field, field, "\(error)", file: file, line: line)
            for word in words {
                XCTAssertTrue(error.message.contains(word), "'\(word)' missing from: \(error.message)",
                              file: file, line: line)
            }
        } catch {
            XCTFail("expected TTSError, got \(error)", file: file, line: line)
        }
    }

    // MARK: Identity and voices

    func testEngineNamesItselfEspeakWithModelEspeakNg() {
        XCTAssertEqual(engine.name, "espeak")
        XCTAssertEqual(engine.defaultModel, "espeak-ng")
    }

    func testVoicesIncludeEnglishAndGermanAndAreSortedUniqueLowercase() async throws {
        try await requireEspeak()
        let voices = try await engine.voices()
        let names = voices.map(\.name)
        XCTAssertTrue(names.contains("en-us"), "\(names)")
        XCTAssertTrue(names.contains("de"), "\(names)")
        XCTAssertGreaterThan(voices.count, 80, "espeak-ng 1.51 has about 130 voices")
        XCTAssertEqual(names, names.sorted())
        XCTAssertEqual(Set(names).count, names.count)
        XCTAssertEqual(names, names.map { $0.lowercased() })
        let english = try XCTUnwrap(voices.first { $0.name == "en-us" })
        XCTAssertEqual(english.summary, "English (America)")
        XCTAssertEqual(english.languages.first, "en-us")
    }

    func testVoicesLeaveOutMbrolaVoices() async throws {
        try await requireEspeak()
        let espeakVoices = try await EspeakLibrary.shared.voices()
        let mbrolaSummaries = Set(espeakVoices.filter { $0.identifier.hasPrefix("mb/") }.map(\.name))
        let voices = try await engine.voices()
        XCTAssertFalse(voices.contains { mbrolaSummaries.contains($0.summary) },
                       "an MBROLA voice is listed: \(voices.filter { mbrolaSummaries.contains($0.summary) })")
        XCTAssertFalse(voices.contains { $0.name.hasPrefix("mb-") })
    }

    func testCatalogSkipsMbrolaAndKeepsFirstVoiceOfALanguage() {
        let catalog = EspeakVoiceCatalog([
            .init(name: "German MBROLA", identifier: "mb/mb-de4", languages: ["de"]),
            .init(name: "German", identifier: "gmw/de", languages: ["de"]),
            .init(name: "Cantonese", identifier: "sit/yue", languages: ["yue", "zh-yue"]),
            .init(name: "Cantonese 2", identifier: "sit/yue-2", languages: ["yue"]),
            .init(name: "English (America)", identifier: "gmw/en-US", languages: ["en-US", "en"]),
        ])
        XCTAssertEqual(catalog.voices, [
            VoiceInfo(name: "de", languages: ["de"], summary: "German"),
            VoiceInfo(name: "en-us", languages: ["en-US", "en"], summary: "English (America)"),
            VoiceInfo(name: "yue", languages: ["yue", "zh-yue"], summary: "Cantonese"),
        ])
    }

    // MARK: resolve

    func testResolveFillsEmptyModelWithEspeakNg() async throws {
        try await requireEspeak()
        let resolved = try await engine.resolve(request("hi"))
        XCTAssertEqual(resolved.model, "espeak-ng")
        let explicit = try await engine.resolve(request("hi", model: "espeak-ng"))
        XCTAssertEqual(explicit.model, "espeak-ng")
    }

    func testResolveRejectsAnotherModel() async throws {
        try await requireEspeak()
        await assertValidationError(field: "model", containing: ["espeak-ng"]) {
            _ = try await self.engine.resolve(self.request("hi", model: "gemini-2.5-flash-preview-tts"))
        }
    }

    func testResolvePicksVoiceNamedExactlyByLanguageIgnoringCase() async throws {
        try await requireEspeak()
        let resolved = try await engine.resolve(request("hi", voice: "", language: "en-US"))
        XCTAssertEqual(resolved.voice, "en-us")
        XCTAssertEqual(resolved.language, "en-US", "the language is part of the key and stays as given")
    }

    func testResolveFallsBackToPrimaryLanguageSubtag() async throws {
        try await requireEspeak()
        let resolved = try await engine.resolve(request("Hallo", voice: "", language: "de-AT"))
        XCTAssertEqual(resolved.voice, "de")
        XCTAssertEqual(resolved.language, "de-AT")
    }

    func testResolveAtOnceWaitsForTheVoiceListThenAgreesWithResolve() async throws {
        try await requireEspeak()
        let fresh = EspeakEngine()
        XCTAssertNil(try fresh.resolveAtOnce(request("hi")), "no voice list yet: only resolve can answer")
        _ = try await fresh.resolve(request("hi"))
        for asked in [request("hi"), request("Hallo", voice: "", language: "de-AT"), request("hi", voice: "en-gb")] {
            let atOnce = try fresh.resolveAtOnce(asked)
            let awaited = try await fresh.resolve(asked)
            XCTAssertEqual(atOnce, awaited)
        }
        XCTAssertThrowsError(try fresh.resolveAtOnce(request("hi", model: "gemini-2.5-flash-preview-tts"))) { error in
            XCTAssertEqual((error as? TTSError)?.kind, .validation)
        }
    }

    func testResolveRejectsLanguageWithoutVoiceAndPointsAtVoicesCommand() async throws {
        try await requireEspeak()
        await assertValidationError(field: "language", containing: ["qqq-ZZ", "`voices`"]) {
            _ = try await self.engine.resolve(self.request("hi", voice: "", language: "qqq-ZZ"))
        }
    }

    func testResolvePicksAVoiceThatListsTheLanguageWhenNoVoiceIsNamedForIt() async throws {
        try await requireEspeak()
        let voices = try await engine.voices()
        for tag in ["en", "en-AU"] {
            let resolved = try await engine.resolve(request("hi", voice: "", language: tag))
            let voice = try XCTUnwrap(voices.first { $0.name == resolved.voice })
            XCTAssertTrue(voice.languages.contains("en"), "\(tag) resolved to \(resolved.voice), which does not speak en")
            XCTAssertEqual(resolved.language, tag)
        }
    }

    func testResolveUsesAmericanEnglishWhenNeitherVoiceNorLanguageIsGiven() async throws {
        try await requireEspeak()
        let resolved = try await engine.resolve(request("hi", voice: "", language: ""))
        XCTAssertEqual(resolved.voice, "en-us")
        XCTAssertEqual(resolved.language, "")
    }

    func testResolveAcceptsKnownVoiceInAnyCaseAndReturnsItLowercased() async throws {
        try await requireEspeak()
        let resolved = try await engine.resolve(request("hi", voice: "EN-US", language: "fr"))
        XCTAssertEqual(resolved.voice, "en-us", "an explicit voice wins over the language")
        XCTAssertEqual(resolved.language, "fr")
    }

    func testResolveRejectsUnknownVoiceAndSuggestsCloseNames() async throws {
        try await requireEspeak()
        await assertValidationError(field: "voice", containing: ["en-uss", "en-us", "`voices`"]) {
            _ = try await self.engine.resolve(self.request("hi", voice: "en-uss"))
        }
    }

    func testSuggestionsAreAtMostThreeAndNearestFirst() async throws {
        try await requireEspeak()
        let catalog = EspeakVoiceCatalog(try await EspeakLibrary.shared.voices())
        let near = catalog.suggestions(for: "en-gv")
        XCTAssertLessThanOrEqual(near.count, 3)
        XCTAssertEqual(near.first, "en-gb")
        XCTAssertEqual(catalog.suggestions(for: "zzzzzzzzzzzz"), [])
    }

    // MARK: synthesize

    func testHelloWorldIsA22050HzWAVOfPlausibleLength() async throws {
        try await requireEspeak()
        let bytes = try await engine.synthesize(request("Hello world"))
        let wav = try WAVAudio.decode(bytes)
        XCTAssertEqual(wav.format, PCMFormat(sampleRate: 22_050))
        XCTAssertEqual(bytes, wav.encoded(), "the WAV is canonical (44-byte header)")
        XCTAssertGreaterThanOrEqual(wav.durationMs, 300)
        XCTAssertLessThanOrEqual(wav.durationMs, 5_000)
        XCTAssertTrue(wav.pcm.contains { $0 != 0 }, "the audio is not silence")
    }

    func testTextWithNothingSpeakableIsAContentError() async throws {
        try await requireEspeak()
        do {
            _ = try await engine.synthesize(request(" "))
            XCTFail("silence was returned as audio")
        } catch let error as TTSError {
            XCTAssertEqual(error.kind, .content, "\(error)")
        }
    }

    func testSynthesizeResolvesAnUnresolvedRequest() async throws {
        try await requireEspeak()
        let bytes = try await engine.synthesize(request("Guten Tag", voice: "", language: "de-DE"))
        XCTAssertGreaterThan(try WAVAudio.decode(bytes).durationMs, 300)
    }

    func testSixteenConcurrentSynthesesAllSucceed() async throws {
        try await requireEspeak()
        let engine = self.engine
        let voices = ["en-us", "de", "fr-fr", "es"]
        var requests: [AudioRequest] = []
        for i in 0..<16 {
            requests.append(request("Sentence number \(i) is spoken now.", voice: voices[i % voices.count]))
        }
        let durations = try await withThrowingTaskGroup(of: Int.self) { group in
            for r in requests {
                group.addTask { try WAVAudio.decode(try await engine.synthesize(r)).durationMs }
            }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        XCTAssertEqual(durations.count, 16)
        XCTAssertTrue(durations.allSatisfy { $0 > 300 }, "\(durations)")
    }

    func testShellAndMarkupInTextAreSpokenNotExecuted() async throws {
        try await requireEspeak()
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("espeak-shell-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let marker = dir.appendingPathComponent("x").path
        let hostile = "$(touch \(marker)); `touch \(marker)` <b>hi</b> & \"quotes\""
        let wav = try WAVAudio.decode(try await engine.synthesize(request(hostile)))
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker))
        // Without SSML the markup is read aloud, so it takes longer than just "hi".
        let plain = try WAVAudio.decode(try await engine.synthesize(request("hi")))
        XCTAssertGreaterThan(wav.durationMs, plain.durationMs * 3)
    }

    func testCancelledTaskThrowsCancelledWithoutSynthesizing() async throws {
        try await requireEspeak()
        let engine = self.engine
        let r = request("This must never be spoken.")
        let task = Task { () async throws -> Data in
            withUnsafeCurrentTask { $0?.cancel() }
            return try await engine.synthesize(r)
        }
        do {
            _ = try await task.value
            XCTFail("a cancelled task synthesized anyway")
        } catch let error as TTSError {
            XCTAssertEqual(error.kind, .cancelled, "\(error)")
        }
    }

    func testCancellingDuringSynthesisLeavesEngineUsable() async throws {
        try await requireEspeak()
        let engine = self.engine
        let long = request(String(repeating: "A long sentence that keeps espeak busy for a while. ", count: 40))
        let task = Task { try await engine.synthesize(long) }
        task.cancel()
        do {
            _ = try await task.value  // finished before the cancel arrived: also fine
        } catch let error as TTSError {
            XCTAssertEqual(error.kind, .cancelled, "\(error)")
        }
        let after = try WAVAudio.decode(try await engine.synthesize(request("Still here")))
        XCTAssertGreaterThan(after.durationMs, 300)
    }

    func testTwoThousandCharacterTextIsSynthesized() async throws {
        try await requireEspeak()
        let sentence = "The quick brown fox jumps over the lazy dog. "
        let text = String(String(repeating: sentence, count: 2_000 / sentence.count + 1).prefix(2_000))
        XCTAssertEqual(text.count, 2_000)
        let wav = try WAVAudio.decode(try await engine.synthesize(request(text)))
        XCTAssertGreaterThan(wav.durationMs, 60_000, "2000 characters take over a minute to say")
    }

    func testEveryListedVoiceSpeaks() async throws {
        try await requireEspeak()
        // Latin letters and digits: some voices read only one of the two (Cherokee is silent
        // for digits).
        for voice in try await engine.voices() {
            let bytes = try await engine.synthesize(request("ma 1 2 3", voice: voice.name))
            XCTAssertGreaterThan(try WAVAudio.decode(bytes).durationMs, 100, voice.name)
        }
    }
}
