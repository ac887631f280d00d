import Foundation
import XCTest
import TTSCore
@testable import TTSService

final class PhraseListTests: XCTestCase {
    private func parse(_ text: String, _ format: PhraseListFormat) -> PhraseList {
        PhraseList.parse(Data(text.utf8), format: format, source: "list")
    }

    private func problemLines(_ list: PhraseList) -> [Int] { list.problems.map(\.line) }

    // MARK: Text

    func testTextDirectivesApplyToTheLinesAfterThem() {
        let list = parse("""
            Hello
            @voice en-gb
            @lang en-GB
            Good morning
            @engine Tone
            @model tone-1
            @style cheerfully
            Hi
            @voice
            @style
            Bye
            """, .text)
        XCTAssertEqual(list.problems, [])
        XCTAssertEqual(list.entries, [
            PhraseEntry(line: 1, text: "Hello"),
            PhraseEntry(line: 4, text: "Good morning", voice: "en-gb", language: "en-GB"),
            PhraseEntry(line: 8, text: "Hi", voice: "en-gb", language: "en-GB", engine: "tone", model: "tone-1", style: "cheerfully"),
            PhraseEntry(line: 11, text: "Bye", language: "en-GB", engine: "tone", model: "tone-1"),
        ])
    }

    func testTextSkipsCommentsAndBlankLinesAndUnescapesALeadingBackslash() {
        let list = parse("# a comment\n\n   \n  Hello  \n\\#1 hit\n\\@home\n\\\\back\n   # indented comment\n", .text)
        XCTAssertEqual(list.problems, [])
        XCTAssertEqual(list.entries.map(\.text), ["Hello", "#1 hit", "@home", "\\back"])
        XCTAssertEqual(list.entries.map(\.line), [4, 5, 6, 7])
        XCTAssertEqual(list.lineCount, 8)
    }

    func testByteOrderMarkAndCRLFAreAcceptedInEveryFormat() {
        let bom = "\u{FEFF}"
        let text = parse(bom + "Hello\r\n@voice b\r\nWorld\r\n", .text)
        XCTAssertEqual(text.entries, [PhraseEntry(line: 1, text: "Hello"), PhraseEntry(line: 3, text: "World", voice: "b")])
        let csv = parse(bom + "text,voice\r\nHello,a\r\n\"Two\r\nlines\",b\r\n", .csv)
        XCTAssertEqual(csv.problems, [])
        XCTAssertEqual(csv.columns, ["text", "voice"])
        XCTAssertEqual(csv.entries, [PhraseEntry(line: 2, text: "Hello", voice: "a"), PhraseEntry(line: 3, text: "Two\nlines", voice: "b")])
        let tsv = parse(bom + "text\tid\r\nHello\t7\r\n", .tsv)
        XCTAssertEqual(tsv.entries, [PhraseEntry(line: 2, id: "7", text: "Hello")])
        let jsonl = parse(bom + "{\"text\":\"Hello\"}\r\n{\"text\":\"World\"}\r\n", .jsonl)
        XCTAssertEqual(jsonl.problems, [])
        XCTAssertEqual(jsonl.entries.map(\.text), ["Hello", "World"])
    }

    // MARK: CSV and TSV

    func testQuotedCSVKeepsDelimitersNewlinesAndDoubledQuotes() {
        let list = parse("""
            id,text,voice,language,engine,model,style
            w1,"Hello, world",en-gb,en-GB,espeak,espeak-ng,
            w2,"She said ""hi""
            and left",,,,,"softly, slowly"

            w3,plain,,,,,
            """, .csv)
        XCTAssertEqual(list.problems, [])
        XCTAssertEqual(list.entries, [
            PhraseEntry(line: 2, id: "w1", text: "Hello, world", voice: "en-gb", language: "en-GB", engine: "espeak", model: "espeak-ng"),
            PhraseEntry(line: 3, id: "w2", text: "She said \"hi\"\nand left", style: "softly, slowly"),
            PhraseEntry(line: 6, id: "w3", text: "plain"),
        ])
    }

    func testTSVReadsTabsAndAcceptsLangAsLanguage() {
        let list = parse("Text\tLang\tvoice\nGuten Tag\tde-DE\t\n\"a\tb\"\t\tb\n", .tsv)
        XCTAssertEqual(list.problems, [])
        XCTAssertEqual(list.entries, [PhraseEntry(line: 2, text: "Guten Tag", language: "de-DE"),
                                      PhraseEntry(line: 3, text: "a\tb", voice: "b")])
    }

    // MARK: JSON Lines

    func testJSONLinesReadsTextFieldsAndIds() {
        let list = parse("""
            {"text": "Hello", "voice": "en-gb", "id": "greet"}
            {"text": "Zwei", "language": "de-DE", "id": 2, "engine": "ESPEAK"}

            {"text": "Three", "style": "calm", "model": "espeak-ng", "id": null}
            """, .jsonl)
        XCTAssertEqual(list.problems, [])
        XCTAssertEqual(list.entries, [
            PhraseEntry(line: 1, id: "greet", text: "Hello", voice: "en-gb"),
            PhraseEntry(line: 2, id: "2", text: "Zwei", language: "de-DE", engine: "espeak"),
            PhraseEntry(line: 4, text: "Three", model: "espeak-ng", style: "calm"),
        ])
    }

    // MARK: Problems

    func testEveryTextProblemIsReportedWithItsLine() {
        var data = Data("Good\n@lang en_US\n@voise x\nBad \u{FF}".utf8)
        data.append(contentsOf: [0xFF, 0xFE])   // invalid UTF-8 on line 4
        data.append(contentsOf: Array("\n\\\n@lang de-DE\nGut\n".utf8))
        let list = PhraseList.parse(data, format: .text, source: "p.txt")
        XCTAssertEqual(problemLines(list), [2, 3, 4, 5])
        XCTAssertTrue(list.problems[0].reason.contains("en_US"), list.problems[0].reason)
        XCTAssertTrue(list.problems[1].reason.contains("unknown directive @voise"), list.problems[1].reason)
        XCTAssertTrue(list.problems[2].reason.contains("UTF-8"), list.problems[2].reason)
        XCTAssertTrue(list.problems[3].reason.contains("no text"), list.problems[3].reason)
        XCTAssertEqual(list.problems[1].description, "p.txt:3: " + list.problems[1].reason)
        XCTAssertEqual(list.entries.map(\.text), ["Good", "Gut"])
        XCTAssertEqual(list.entries.last?.language, "de-DE")
    }

    func testEveryCSVProblemIsReportedWithItsLine() {
        var data = Data("""
            text,voice,notes
            ok,a,
            too,few
            "closed" then,a,
            ,a,
            "x",a,
            bad \("")
            """.utf8)
        data.append(contentsOf: [0xC3, 0x28])  // invalid UTF-8 on line 7
        data.append(contentsOf: Array(",a,\n\"never closed,a,\nmore\n".utf8))
        let list = PhraseList.parse(data, format: .csv, source: "m.csv")
        XCTAssertEqual(problemLines(list), [1, 3, 4, 5, 7, 8])
        XCTAssertTrue(list.problems[0].reason.contains("unknown column 'notes'"), list.problems[0].reason)
        XCTAssertTrue(list.problems[1].reason.contains("2 fields; the header has 3"), list.problems[1].reason)
        XCTAssertTrue(list.problems[2].reason.contains("after its closing quote"), list.problems[2].reason)
        XCTAssertTrue(list.problems[3].reason.contains("no text"), list.problems[3].reason)
        XCTAssertTrue(list.problems[4].reason.contains("UTF-8"), list.problems[4].reason)
        XCTAssertTrue(list.problems[5].reason.contains("never closed"), list.problems[5].reason)
        XCTAssertEqual(list.entries.map(\.line), [2, 6])
    }

    func testCSVWithoutATextColumnReadsNoRow() {
        let list = parse("phrase,voice\nHello,a\n", .csv)
        XCTAssertEqual(list.entries, [])
        XCTAssertEqual(problemLines(list), [1])
        XCTAssertTrue(list.problems[0].reason.contains("no 'text' column"), list.problems[0].reason)
        XCTAssertEqual(problemLines(parse("", .csv)), [1])
    }

    func testEveryJSONLinesProblemIsReportedWithItsLine() {
        let list = parse("""
            {"text": "ok"}
            [1, 2]
            {"text": "x", "voise": "a"}
            {"text": 5}
            {"voice": "a"}
            {"text": "x", "id": 1.5}
            {"text": "x", "language": "english!"}
            {"text": "x"
            """, .jsonl)
        XCTAssertEqual(problemLines(list), [2, 3, 4, 5, 6, 7, 8])
        let reasons = list.problems.map(\.reason)
        XCTAssertTrue(reasons[0].contains("not a JSON object"))
        XCTAssertTrue(reasons[1].contains("unknown key 'voise'"))
        XCTAssertTrue(reasons[2].contains("'text' must be a string"))
        XCTAssertTrue(reasons[3].contains("no \"text\""))
        XCTAssertTrue(reasons[4].contains("'id'"))
        XCTAssertTrue(reasons[5].contains("BCP-47"))
        XCTAssertTrue(reasons[6].contains("not a JSON object"))
        XCTAssertEqual(list.entries.map(\.line), [1])
    }

    // MARK: Formats and requests

    func testFormatIsDetectedFromTheExtension() {
        XCTAssertEqual(PhraseListFormat.detect(path: "a/b.txt"), .text)
        XCTAssertEqual(PhraseListFormat.detect(path: "menu.CSV"), .csv)
        XCTAssertEqual(PhraseListFormat.detect(path: "x.tsv"), .tsv)
        XCTAssertEqual(PhraseListFormat.detect(path: "x.jsonl"), .jsonl)
        XCTAssertEqual(PhraseListFormat.detect(path: "x.ndjson"), .jsonl)
        XCTAssertNil(PhraseListFormat.detect(path: "phrases"))
        XCTAssertNil(PhraseListFormat.detect(path: "x.json"))
        XCTAssertEqual(PhraseListFormat(name: "txt"), .text)
    }

    func testEntryFillsWhatItLeavesOpenFromTheSession() {
        let session = AudioRequest(text: "", voice: "en-gb", language: "en-GB", engine: "espeak", model: "espeak-ng", style: "calm")
        XCTAssertEqual(PhraseEntry(line: 1, text: "Hi").request(defaults: session),
                       AudioRequest(text: "Hi", voice: "en-gb", language: "en-GB", engine: "espeak", model: "espeak-ng", style: "calm"))
        XCTAssertEqual(PhraseEntry(line: 1, text: "Hi", voice: "de", style: "loud").request(defaults: session),
                       AudioRequest(text: "Hi", voice: "de", language: "en-GB", engine: "espeak", model: "espeak-ng", style: "loud"))
        // Another engine does not inherit the session's voice or model.
        XCTAssertEqual(PhraseEntry(line: 1, text: "Hi", engine: "tone").request(defaults: session),
                       AudioRequest(text: "Hi", voice: "", language: "en-GB", engine: "tone", model: "", style: "calm"))
    }

    func testWrittenListsReadBackAsTheSameEntries() {
        let entries = [
            PhraseEntry(line: 1, id: "a", text: "Hello, \"world\""),
            PhraseEntry(line: 2, id: "b", text: "#hash", voice: "en-gb", language: "en-GB"),
            PhraseEntry(line: 3, text: "@at", engine: "tone", model: "tone-1", style: "softly, slowly"),
            PhraseEntry(line: 4, text: "plain"),
        ]
        for format in PhraseListFormat.allCases {
            var writer = PhraseListWriter(format: format)
            for entry in entries { writer.append(entry) }
            let back = PhraseList.parse(writer.data, format: format, source: "w")
            XCTAssertEqual(back.problems, [], "\(format)")
            var expected = entries
            if format == .text { expected = expected.map { var e = $0; e.id = nil; return e } }
            XCTAssertEqual(back.entries.map { var e = $0; e.line = 0; return e },
                           expected.map { var e = $0; e.line = 0; return e }, "\(format)")
        }
    }

    func testUnreadableRecordsAreWrittenBackAsTheyWere() {
        let source = "text,voice\n\"closed\" then,a\nok,b\n"
        let list = parse(source, .csv)
        var writer = PhraseListWriter(format: .csv, columns: list.columns)
        for problem in list.problems { writer.append(problem) }
        XCTAssertEqual(String(decoding: writer.data, as: UTF8.self), "text,voice\n\"closed\" then,a\n")
    }
}
