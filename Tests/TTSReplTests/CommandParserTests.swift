import Foundation
import TTSCore
import TTSService
import XCTest
@testable import tts_repl

/// The parser derived from the declarations: typed, range-checked values, and usage mistakes
/// refused as validation errors that name the option and say what to do.
final class CommandParserTests: XCTestCase {
    private let table = makeCommandTable()

    private func parse(_ line: String) throws -> ParsedArguments {
        let (word, rest) = Tokenizer.headAndRest(line)
        let command = try XCTUnwrap(table.command(named: word), word)
        return try command.parse(command.input == .text ? [rest] : Tokenizer.split(rest))
    }

    /// The validation error `line` is refused with, or a failure when it parses.
    private func refusal(_ line: String, file: StaticString = #filePath, lineNumber: UInt = #line) -> TTSError? {
        do {
            _ = try parse(line)
            XCTFail("`\(line)` parsed", file: file, line: lineNumber)
            return nil
        } catch let error as TTSError {
            XCTAssertEqual(error.kind, .validation, "`\(line)`: \(error.message)", file: file, line: lineNumber)
            return error
        } catch {
            XCTFail("`\(line)`: \(error)", file: file, line: lineNumber)
            return nil
        }
    }

    func testValuesAreTypedAndDefaultsComeFromTheDeclaration() throws {
        let ls = try parse("ls --limit 5 --match 'good morning'")
        XCTAssertEqual(ls.int("limit"), 5)
        XCTAssertEqual(ls.intOrDefault("offset"), 0)
        XCTAssertEqual(ls.text("match"), "good morning")
        XCTAssertNil(ls.text("voice"))
        XCTAssertFalse(ls.given("offset"))

        let gc = try parse("gc --grace 10m --dry-run")
        XCTAssertEqual(gc.seconds("grace"), 600)
        XCTAssertTrue(gc.flag("dry-run"))
        XCTAssertFalse(gc.flag("vacuum"))
        XCTAssertEqual(try parse("gc").secondsOrDefault("grace"), 3600)
        XCTAssertEqual(try parse("worker --grace 2.5").seconds("grace"), 2.5)

        XCTAssertEqual(try parse("evict --max-bytes 2MiB").int("max-bytes"), 2 << 20)
        let since = try parse("export out --since 2025-01-31").date("since")
        XCTAssertEqual(since.map { Int($0.timeIntervalSince1970) }, 1_738_281_600)
    }

    func testChoicesTakeAnyCaseAndAliasesInTheirDeclaredSpelling() throws {
        let export = try parse("export out --manifest JSON --encoding wav --format ndjson")
        XCTAssertEqual(export.text("manifest"), "json")
        XCTAssertEqual(export.text("encoding"), "pcm16")
        XCTAssertEqual(export.text("format"), "jsonl")
        XCTAssertEqual(try parse("export out").text("manifest"), "csv")
        // The aliases are the ones the phrase-list parser itself accepts.
        for (alias, format) in phraseListFormatAliases {
            XCTAssertEqual(PhraseListFormat(name: alias)?.rawValue, format, alias)
        }
    }

    func testAnUnknownOptionIsRefusedWithTheNearestKnownOne() throws {
        let typo = try XCTUnwrap(refusal("ls --limt 5"))
        XCTAssertTrue(typo.message.contains("ls: unknown option --limt. Did you mean --limit?"), typo.message)
        XCTAssertTrue(typo.message.contains("Accepted: --voice, --lang"), typo.message)
        let prefix = try XCTUnwrap(refusal("prewarm list.txt --dry"))
        XCTAssertTrue(prefix.message.contains("Did you mean --dry-run?"), prefix.message)
        let nothingNear = try XCTUnwrap(refusal("prewarm list.txt --pin"))
        XCTAssertTrue(nothingNear.message.contains("unknown option --pin"), nothingNear.message)
        XCTAssertFalse(nothingNear.message.contains("Did you mean"), nothingNear.message)
        let none = try XCTUnwrap(refusal("stats --all"))
        XCTAssertTrue(none.message.contains("stats takes no options"), none.message)
    }

    func testAValueOfTheWrongTypeNamesTheOptionAndWhatItTakes() throws {
        let word = try XCTUnwrap(refusal("ls --limit many"))
        XCTAssertEqual(word.field, "limit")
        XCTAssertEqual(word.message, "ls: --limit takes a whole number from 1 to 100000, not 'many'")
        let duration = try XCTUnwrap(refusal("worker --idle-exit soon"))
        XCTAssertTrue(duration.message.contains("--idle-exit takes a number of seconds from 0s to 1d"), duration.message)
        let size = try XCTUnwrap(refusal("evict --max-bytes lots"))
        XCTAssertEqual(size.message, "evict: --max-bytes takes a size such as 4194304, 512KiB, 4MiB or 1GiB, not 'lots'")
        let date = try XCTUnwrap(refusal("export out --since yesterday"))
        XCTAssertTrue(date.message.contains("--since 'yesterday' is not an ISO 8601 date"), date.message)
        let choice = try XCTUnwrap(refusal("export out --manifest xml"))
        XCTAssertEqual(choice.message, "export: --manifest takes csv, json, jsonl, none, not 'xml'")
        let encoding = try XCTUnwrap(refusal("play --encoding aac"))
        XCTAssertTrue(encoding.message.contains("(wav = pcm16), not 'aac'"), encoding.message)
    }

    func testAValueOutOfRangeIsRefused() throws {
        XCTAssertEqual(refusal("ls --limit 0")?.message, "ls: --limit takes a whole number from 1 to 100000, not '0'")
        XCTAssertEqual(refusal("ls --offset -1")?.message, "ls: --offset takes a whole number, 0 or more, not '-1'")
        XCTAssertEqual(refusal("serve-metrics --port 70000")?.field, "port")
        XCTAssertNotNil(refusal("prewarm list.txt --concurrency 65"))
        XCTAssertNotNil(refusal("worker --grace 2d"))
    }

    func testAMissingValueIsRefused() throws {
        XCTAssertEqual(refusal("ls --limit")?.message, "ls: --limit needs a value: --limit N")
        // The next word is an option of the command, not the value.
        XCTAssertEqual(refusal("ls --match --limit 5")?.message, "ls: --match needs a value: --match TEXT")
        XCTAssertEqual(try parse("ls --match=--limit").text("match"), "--limit")
        let say = try XCTUnwrap(refusal("say --encoding mp3"))
        XCTAssertEqual(say.message, "say --encoding needs a value and then the text: `say --encoding pcm16|ulaw|alaw|flac|opus|vorbis|mp3 TEXT`")
    }

    func testAFlagGivenAValueIsRefused() throws {
        let error = try XCTUnwrap(refusal("gc --dry-run=yes"))
        XCTAssertEqual(error.field, "dry-run")
        XCTAssertEqual(error.message, "gc: --dry-run is a flag and takes no value: give --dry-run alone, not --dry-run=yes")
        XCTAssertNotNil(refusal("say --stream=1 Hello"))
    }

    func testArgumentsTheDeclarationHasNoPlaceForAreRefused() throws {
        let ls = try XCTUnwrap(refusal("ls hello"))
        XCTAssertEqual(ls.message, "ls takes options only, not 'hello'; to search text use --match \"hello\"; see `help ls`")
        let export = try XCTUnwrap(refusal("export out hello"))
        XCTAssertTrue(export.message.hasPrefix("export takes one argument (DIR), not also 'hello'; to search text use --match"), export.message)
        XCTAssertEqual(refusal("metrics now")?.message, "metrics takes no arguments, not 'now'; see `help metrics`")
        let missing = try XCTUnwrap(refusal("export --copy"))
        XCTAssertEqual(missing.field, "dir")
        XCTAssertTrue(missing.message.hasPrefix("export needs DIR"), missing.message)
        XCTAssertEqual(try parse("rm a b c").positional, ["a", "b", "c"])
    }

    func testDoubleDashEndsTheOptions() throws {
        XCTAssertEqual(try parse("rm -- --odd-key").positional, ["--odd-key"])
        XCTAssertEqual(try parse("say -- --stream is a word").positional, ["--stream is a word"])
    }

    func testSayTakesLeadingOptionsThenTheTextAsTyped() throws {
        let say = try parse("say --encoding mp3 --bitrate=96 --speakers Joe=Kore,Jane=Puck Joe: Don't  panic --stream")
        XCTAssertEqual(say.positional, ["Joe: Don't  panic --stream"])
        XCTAssertEqual(say.text("encoding"), "mp3")
        XCTAssertEqual(say.int("bitrate"), 96)
        XCTAssertEqual(say.text("speakers"), "Joe=Kore,Jane=Puck")
        XCTAssertFalse(say.flag("stream"))
        XCTAssertEqual(try parse("say Hello --encoding mp3").positional, ["Hello --encoding mp3"])
        let typo = try XCTUnwrap(refusal("say --encodng mp3 Hello"))
        XCTAssertTrue(typo.message.contains("Did you mean --encoding?"), typo.message)
        // `style` declares no options: its whole line is the style.
        XCTAssertEqual(try parse("style --like a pirate").positional, ["--like a pirate"])
    }
}
