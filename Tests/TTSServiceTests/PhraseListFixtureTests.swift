import Foundation
import TTSCore
import XCTest
@testable import TTSService

/// The real-world-shaped lists in fixtures/phrases (an IVR menu with directives, game dialogue
/// as CSV with ids, app strings as JSON lines) read without a problem, with their settings.
final class PhraseListFixtureTests: XCTestCase {
    private func list(_ name: String) throws -> PhraseList {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("fixtures/phrases/\(name)")
        let format = try XCTUnwrap(PhraseListFormat.detect(path: url.path))
        return PhraseList.parse(try Data(contentsOf: url), format: format, source: name)
    }

    func testIVRMenuDirectivesApplyToTheLinesAfterThem() throws {
        let menu = try list("ivr-menu.txt")
        XCTAssertEqual(menu.problems.map(\.reason), [])
        XCTAssertEqual(menu.entries.count, 7)
        XCTAssertEqual(menu.entries.first?.voice, "en-us")
        XCTAssertEqual(menu.entries[4].style, "calm")
        XCTAssertEqual(menu.entries[5].style, "", "a bare @style goes back to the session's value")
        XCTAssertEqual(menu.entries[5].language, "es-ES")
        XCTAssertEqual(menu.entries.last?.text.first, "#", "an escaped phrase keeps its hash")
    }

    func testGameDialogueKeepsIdsVoicesAndQuotes() throws {
        let dialogue = try list("game-dialogue.csv")
        XCTAssertEqual(dialogue.problems.map(\.reason), [])
        XCTAssertEqual(dialogue.entries.map { $0.id ?? "" }, ["intro_01", "intro_02", "intro_03", "quest_01", "quest_02"])
        XCTAssertEqual(dialogue.entries[1].voice, "en-gb")
        XCTAssertEqual(dialogue.entries[4].text, "Three? \"Only\" three?")
    }

    func testAppStringsInJSONLines() throws {
        let strings = try list("app-strings.jsonl")
        XCTAssertEqual(strings.problems.map(\.reason), [])
        XCTAssertEqual(strings.entries.count, 4)
        XCTAssertEqual(strings.entries[3].language, "fr-FR")
        XCTAssertEqual(strings.entries[3].id, "fr.welcome")
    }
}
