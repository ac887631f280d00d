import XCTest
@testable import LineEditor

final class EditStateTests: XCTestCase {
    /// Types `text`, then applies `keys`; returns the state and the last action.
    private func edit(_ text: String, cursor: Int? = nil, history: [String] = [], _ keys: [Key],
                      completion: EditState.Completion? = nil) -> (EditState, EditAction) {
        var state = EditState(history: history, text: text, completion: completion)
        if let cursor { state.buffer = EditBuffer(text, cursor: cursor) }
        var last = EditAction.redraw
        for key in keys { last = state.handle(key) }
        return (state, last)
    }

    private func line(_ state: EditState) -> String {
        var s = state.buffer.text
        s.insert("|", at: s.index(s.startIndex, offsetBy: state.buffer.cursor))
        return s
    }

    func testTypingInsertsAtCursor() {
        XCTAssertEqual(line(edit("hllo", cursor: 1, [.character("e")]).0), "he|llo")
    }

    func testABadByteIsRefusedAndTheLineKept() {
        let (state, action) = edit("say caf", [.invalidUTF8(byte: 0xE9, offset: 0)])
        XCTAssertEqual(state.buffer.text, "say caf")
        guard case .refuse(let reason) = action else { return XCTFail("\(action)") }
        XCTAssertTrue(reason.contains("0xE9") && reason.contains("not UTF-8"), reason)
        let (_, pasted) = edit("", [.invalidUTF8(byte: 0xFF, offset: 12)])
        guard case .refuse(let where_) = pasted else { return XCTFail("\(pasted)") }
        XCTAssertTrue(where_.contains("byte 12 of the paste"), where_)
    }

    func testLeftRightAndCtrlBF() {
        XCTAssertEqual(line(edit("abc", [.left, .left, .right]).0), "ab|c")
        XCTAssertEqual(line(edit("abc", [.control("b"), .control("b"), .control("f")]).0), "ab|c")
        XCTAssertEqual(line(edit("abc", [.right]).0), "abc|", "right at the end stays")
        XCTAssertEqual(line(edit("abc", cursor: 0, [.left]).0), "|abc")
    }

    func testHomeEndAndCtrlAE() {
        XCTAssertEqual(line(edit("abc", [.home]).0), "|abc")
        XCTAssertEqual(line(edit("abc", [.control("a")]).0), "|abc")
        XCTAssertEqual(line(edit("abc", cursor: 0, [.end]).0), "abc|")
        XCTAssertEqual(line(edit("abc", cursor: 0, [.control("e")]).0), "abc|")
    }

    func testWordMoves() {
        XCTAssertEqual(line(edit("say hello world", [.wordLeft]).0), "say hello |world")
        XCTAssertEqual(line(edit("say hello world", [.wordLeft, .wordLeft]).0), "say |hello world")
        XCTAssertEqual(line(edit("say hello world", cursor: 0, [.wordRight]).0), "say| hello world")
        XCTAssertEqual(line(edit("say hello world", cursor: 3, [.wordRight]).0), "say hello| world")
    }

    func testCursorMovesByGraphemeCluster() {
        let text = "e\u{301}👍🏽日"
        XCTAssertEqual(edit(text, [.left]).0.buffer.cursor, 2)
        let (state, _) = edit(text, [.left, .backspace])
        XCTAssertEqual(state.buffer.text, "e\u{301}日")
        XCTAssertEqual(line(edit("e", [.character("\u{301}")]).0), "e\u{301}|", "a combining mark joins the letter")
    }

    func testBackspaceDeleteAndCtrlD() {
        XCTAssertEqual(line(edit("abc", cursor: 1, [.backspace]).0), "|bc")
        XCTAssertEqual(line(edit("abc", cursor: 1, [.delete]).0), "a|c")
        XCTAssertEqual(line(edit("abc", cursor: 1, [.control("d")]).0), "a|c")
        XCTAssertEqual(line(edit("abc", cursor: 0, [.backspace]).0), "|abc")
    }

    func testCtrlDOnEmptyLineIsEndOfFile() {
        XCTAssertEqual(edit("", [.control("d")]).1, .endOfFile)
        XCTAssertEqual(edit("a", [.control("d")]).1, .redraw, "at the end of a non-empty line Ctrl-D does nothing")
    }

    func testCtrlCInterruptsAndEnterAccepts() {
        XCTAssertEqual(edit("abc", [.control("c")]).1, .interrupt)
        XCTAssertEqual(edit("abc", cursor: 1, [.enter]).1, .accept("abc"))
    }

    func testKillKeys() {
        XCTAssertEqual(line(edit("say hello", cursor: 3, [.control("k")]).0), "say|")
        XCTAssertEqual(line(edit("say hello", cursor: 4, [.control("u")]).0), "|hello")
        XCTAssertEqual(line(edit("say hello  ", [.control("w")]).0), "say |")
        XCTAssertEqual(line(edit("say hello", cursor: 5, [.control("w")]).0), "say |ello")
    }

    func testCtrlTTransposes() {
        XCTAssertEqual(line(edit("abcd", cursor: 2, [.control("t")]).0), "acb|d")
        XCTAssertEqual(line(edit("abcd", [.control("t")]).0), "abdc|", "at the end: swap the last two")
        XCTAssertEqual(line(edit("abcd", cursor: 0, [.control("t")]).0), "|abcd")
    }

    func testCtrlLClearsScreen() {
        XCTAssertEqual(edit("abc", [.control("l")]).1, .clearScreen)
    }

    func testHistoryUpDownKeepsTheLineBeingTyped() {
        let history = ["one", "two"]
        XCTAssertEqual(edit("new", history: history, [.up]).0.buffer.text, "two")
        XCTAssertEqual(edit("new", history: history, [.control("p"), .control("p")]).0.buffer.text, "one")
        XCTAssertEqual(edit("new", history: history, [.up, .up, .up]).1, .bell, "no older entry")
        XCTAssertEqual(edit("new", history: history, [.up, .down]).0.buffer.text, "new")
        XCTAssertEqual(edit("new", history: history, [.up, .control("n")]).0.buffer.text, "new")
        XCTAssertEqual(edit("new", history: history, [.up, .character("!"), .up, .down]).0.buffer.text, "two!",
                       "an edited recalled line keeps its edit while browsing")
    }

    // MARK: Ctrl-R

    private let searchHistory = ["say hello", "voice Kore", "say goodbye", "list"]

    func testReverseSearchFindsNewestMatchAndCtrlRGoesOlder() {
        var (state, _) = edit("", history: searchHistory, [.control("r"), .character("s"), .character("a")])
        XCTAssertEqual(state.buffer.text, "say goodbye")
        XCTAssertEqual(state.prompt(normal: "> "), "(reverse-i-search)`sa': ")
        state.handle(.control("r"))
        XCTAssertEqual(state.buffer.text, "say hello")
        XCTAssertEqual(state.handle(.control("r")), .bell, "no older match")
        XCTAssertEqual(state.buffer.text, "say hello")
        XCTAssertEqual(state.handle(.enter), .accept("say hello"))
        XCTAssertNil(state.search)
    }

    func testReverseSearchPutsCursorAtMatch() {
        let (state, _) = edit("", history: searchHistory, [.control("r"), .character("K")])
        XCTAssertEqual(line(state), "voice |Kore")
    }

    func testReverseSearchFailureIsShownInPrompt() {
        let (state, action) = edit("", history: searchHistory, [.control("r"), .character("z")])
        XCTAssertEqual(action, .bell)
        XCTAssertEqual(state.prompt(normal: "> "), "(failed reverse-i-search)`z': ")
    }

    func testEscapeAndCtrlGAbortSearchRestoringTheLine() {
        for abort in [Key.escape, .control("g")] {
            let (state, _) = edit("draft", history: searchHistory, [.control("r"), .character("l"), abort])
            XCTAssertNil(state.search)
            XCTAssertEqual(state.buffer.text, "draft")
            XCTAssertEqual(state.prompt(normal: "> "), "> ")
        }
    }

    func testEditingKeyLeavesSearchKeepingMatch() {
        let (state, _) = edit("", history: searchHistory, [.control("r"), .character("v"), .control("e"), .character("!")])
        XCTAssertNil(state.search)
        XCTAssertEqual(state.buffer.text, "voice Kore!")
    }

    func testBackspaceInSearchShortensQuery() {
        let (state, _) = edit("", history: searchHistory, [.control("r"), .character("l"), .character("i"), .backspace])
        XCTAssertEqual(state.search?.query, "l")
        XCTAssertEqual(state.buffer.text, "list")
    }

    // MARK: completion

    private let commands: EditState.Completion = { line, cursor in
        let word = String(line.prefix(cursor).split(separator: " ", omittingEmptySubsequences: false).last ?? "")
        return ["say ", "set ", "settings ", "voices "].filter { $0.hasPrefix(word) }
    }

    func testSingleCandidateCompletes() {
        XCTAssertEqual(line(edit("vo", [.tab], completion: commands).0), "voices |")
    }

    func testSeveralCandidatesCompleteCommonPrefixThenSecondTabLists() {
        var (state, action) = edit("se", [.tab], completion: commands)
        XCTAssertEqual(action, .redraw)
        XCTAssertEqual(line(state), "set|")
        XCTAssertEqual(state.handle(.tab), .listCandidates(["set ", "settings "]))
    }

    func testAmbiguousTabRingsThenLists() {
        var (state, action) = edit("s", [.tab], completion: commands)
        XCTAssertEqual(action, .bell)
        XCTAssertEqual(state.handle(.tab), .listCandidates(["say ", "set ", "settings "]))
    }

    func testCompletionReplacesOnlyTheWordAtCursor() {
        let voices: EditState.Completion = { _, _ in ["Kore"] }
        XCTAssertEqual(line(edit("say x voice Ko", [.tab], completion: voices).0), "say x voice Kore|")
        XCTAssertEqual(line(edit("voice Ko tail", cursor: 8, [.tab], completion: voices).0), "voice Kore| tail")
    }

    func testNoCandidatesRingsBell() {
        XCTAssertEqual(edit("zz", [.tab], completion: commands).1, .bell)
        XCTAssertEqual(edit("zz", [.tab]).1, .bell, "no completion callback")
    }

    // MARK: paste

    func testSingleLinePasteInsertsAtCursor() {
        XCTAssertEqual(line(edit("say ", [.paste("hello world")]).0), "say hello world|")
    }

    func testMultiLinePasteAcceptsFirstAndQueuesTheRest() {
        XCTAssertEqual(edit("say ", [.paste("one\nsay two\nsay three\nsay fo")]).1,
                       .acceptPaste(first: "say one", queued: ["say two", "say three"], unfinished: "say fo"))
        XCTAssertEqual(edit("", [.paste("a\nb\n")]).1, .acceptPaste(first: "a", queued: ["b"], unfinished: ""))
    }
}
