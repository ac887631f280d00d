import Foundation
import TTSCore
import XCTest
@testable import TTSEngines

/// The voice list kept on disk: a request is resolved from it without starting espeak-ng, and a
/// list of another espeak-ng version is ignored and written again.
final class EspeakVoiceListTests: XCTestCase {
    private func file() -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("espeak-voices-\(UUID().uuidString).tsv")
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    func testAVoiceFromTheKeptListResolvesWithoutAskingEspeak() async throws {
        let url = file()
        // A voice espeak-ng does not have: only the file can make it resolve.
        let stamp = try XCTUnwrap(EspeakVoiceList.stamp, "libespeak-ng.so.1 was not found where the loader looks")
        try Data("\(stamp)\ngmw/en-US\tTest voice\tzz-test,zz\n".utf8).write(to: url)
        let engine = EspeakEngine(voiceListFile: url)
        let resolved = try await engine.resolve(AudioRequest(text: "Hi", voice: "zz-test", engine: "espeak", model: ""))
        XCTAssertEqual(resolved.voice, "zz-test")
        XCTAssertEqual(resolved.model, "espeak-ng")
        let voices = try await engine.voices()
        XCTAssertEqual(voices.map(\.name), ["zz-test"])
    }

    func testTheStampNamesTheLibraryFileItsSizeAndTime() throws {
        let stamp = try XCTUnwrap(EspeakVoiceList.stamp)
        let fields = stamp.split(separator: " ").map(String.init)
        XCTAssertEqual(fields.count, 4, stamp)
        XCTAssertEqual(fields[0], "espeak-ng")
        let attributes = try FileManager.default.attributesOfItem(atPath: fields[1])
        XCTAssertEqual((attributes[.size] as? NSNumber)?.intValue, Int(fields[2]), "the size of the file named")
        XCTAssertTrue(fields[1].contains("libespeak-ng.so.1"), "the real file behind the soname: \(fields[1])")
    }

    func testAListOfAnotherVersionIsIgnoredAndWrittenAgain() async throws {
        let url = file()
        try Data("espeak-ng 0.0-other\ngmw/en-US\tTest voice\tzz-test\n".utf8).write(to: url)
        let engine = EspeakEngine(voiceListFile: url)
        do {
            _ = try await engine.resolve(AudioRequest(text: "Hi", voice: "zz-test", engine: "espeak", model: ""))
            XCTFail("a stale list was used")
        } catch let error as TTSError {
            XCTAssertEqual(error.kind, .validation)
        }
        let written = try String(contentsOf: url, encoding: .utf8)
        XCTAssertTrue(written.hasPrefix(try XCTUnwrap(EspeakVoiceList.stamp) + "\n"), String(written.prefix(80)))
        let kept = try XCTUnwrap(EspeakVoiceList(url).read())
        XCTAssertTrue(kept.contains { $0.languages.first == "en-us" }, "espeak's own voices were listed and kept")
        // A second engine reads the same list back.
        let again = try await EspeakEngine(voiceListFile: url).voices()
        let live = try await EspeakEngine().voices()
        XCTAssertEqual(again, live)
    }
}
