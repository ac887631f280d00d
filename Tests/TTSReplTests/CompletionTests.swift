import Foundation
import TTSService
import XCTest
@testable import tts_repl

/// Tab completion after the command word, derived from each command's declaration.
final class CompletionTests: XCTestCase {
    private let completer = Completer(table: makeCommandTable(), engines: EngineRegistry())

    private func complete(_ line: String) -> [String] {
        completer.complete(line, cursor: line.count, engine: "espeak")
    }

    func testOptionNamesAreOfferedAndThoseGivenAreLeftOut() {
        XCTAssertEqual(complete("ls --l"), ["--lang", "--limit"])
        XCTAssertEqual(complete("ls --limit 5 --l"), ["--lang"])
        XCTAssertEqual(complete("gc "), ["--dry-run", "--vacuum", "--grace"])
    }

    func testAnOptionsValueIsCompletedFromItsDeclaration() {
        XCTAssertEqual(complete("export out --encoding "), ["pcm16", "ulaw", "alaw", "flac", "opus", "vorbis", "mp3"])
        XCTAssertEqual(complete("export out --manifest j"), ["json", "jsonl"])
        XCTAssertEqual(complete("export out --encoding=m"), ["--encoding=mp3"])
        XCTAssertEqual(complete("play --rate 8"), ["8000"])
        XCTAssertEqual(complete("ls --lang de"), ["de-DE"])
        // A value of free text: nothing to guess.
        XCTAssertEqual(complete("ls --match "), [])
    }

    func testArgumentsAreCompletedByTheirPlace() throws {
        XCTAssertEqual(complete("queue "), ["retry-dead", "dead"])
        XCTAssertEqual(complete("help ex"), ["export"])
        XCTAssertEqual(complete("lang en-"), ["en-GB", "en-IN", "en-US"])
        // Once the only argument is given, Tab offers the options.
        XCTAssertEqual(complete("queue dead "), ["--limit"])

        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("completion-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        _ = FileManager.default.createFile(atPath: folder.appendingPathComponent("menu.csv").path, contents: Data())
        XCTAssertEqual(complete("prewarm \(folder.path)/me"), ["\(folder.path)/menu.csv"])
        XCTAssertEqual(complete("export out --list \(folder.path)/m"), ["\(folder.path)/menu.csv"])
    }

    func testSaysTextIsNeverCompletedAsOptions() {
        XCTAssertEqual(complete("say --enc"), ["--encoding"])
        XCTAssertEqual(complete("say --encoding "), ["pcm16", "ulaw", "alaw", "flac", "opus", "vorbis", "mp3"])
        XCTAssertEqual(complete("say Hello --"), [])
        XCTAssertEqual(complete("say --encoding mp3 Hello --"), [])
    }

    func testTheHintIsTheDerivedUsage() {
        XCTAssertEqual(completer.hint(for: "queue"), " [retry-dead | dead] [--limit N]")
        XCTAssertEqual(completer.hint(for: "set"), nil)
    }
}
