import Foundation
import XCTest
import TTSCore

/// The foundation's session, run as a user runs it: the built binary, a temporary store.
final class SayEndToEndTests: XCTestCase {
    func testSecondSayOfSameTextIsServedByLocalTier() throws {
        let repl = try ReplProcess()
        let result = try repl.run(["--json"], stdin: "say Hello world\nsay Hello   world\n")
        XCTAssertEqual(result.status, 0, result.stderr)
        let lines = result.jsonLines
        XCTAssertEqual(lines.count, 2, result.stdout)
        guard lines.count == 2 else { return }
        XCTAssertEqual(lines[0]["tier"] as? String, "engine")
        // A session remembers what it answered: the repeat comes from its memory tier.
        XCTAssertEqual(lines[1]["tier"] as? String, "memory")
        XCTAssertEqual(lines[0]["key"] as? String, lines[1]["key"] as? String)
        XCTAssertEqual(lines[1]["text"] as? String, "Hello world")
        for field in ["key", "tier", "path", "blob", "bytes", "duration_ms", "sample_rate", "engine", "model",
                      "voice", "language", "text", "elapsed_ms"] {
            XCTAssertNotNil(lines[0][field], "say --json lacks \(field)")
        }
        XCTAssertEqual(lines[0]["engine"] as? String, "espeak")
        XCTAssertEqual(lines[0]["sample_rate"] as? Int, 22050)
        let path = try XCTUnwrap(lines[0]["path"] as? String)
        let wav = try Data(contentsOf: URL(fileURLWithPath: path))
        XCTAssertEqual(BlobHash(of: wav).hex, lines[0]["blob"] as? String)
        XCTAssertEqual(try WAVAudio.decode(wav).format.sampleRate, 22050)
    }

    func testOneShotSayThenCachedAcrossProcesses() throws {
        let repl = try ReplProcess()
        let first = try repl.run(["--json", "say", "Good", "morning"])
        XCTAssertEqual(first.status, 0, first.stderr)
        let second = try repl.run(["--json", "say", "Good morning"])
        XCTAssertEqual(second.status, 0, second.stderr)
        XCTAssertEqual(first.jsonLines.first?["tier"] as? String, "engine")
        XCTAssertEqual(second.jsonLines.first?["tier"] as? String, "local")
        XCTAssertEqual(first.jsonLines.first?["key"] as? String, second.jsonLines.first?["key"] as? String)
    }

    func testHumanOutputNamesTierAndPath() throws {
        let repl = try ReplProcess()
        let result = try repl.run(["say", "Plain output"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.hasPrefix("engine"), result.stdout)
        XCTAssertTrue(result.stdout.contains(repl.store.path), result.stdout)
    }

    func testSessionCommandsChangeTheNextSay() throws {
        let repl = try ReplProcess()
        let script = "lang de-DE\nsay Guten Tag\nvoice en-gb\nsay Good day\nvoices en-gb\nengine espeak\n"
        let result = try repl.run(["--json"], stdin: script)
        XCTAssertEqual(result.status, 0, result.stderr + result.stdout)
        let says = result.jsonLines.filter { $0["tier"] != nil }
        XCTAssertEqual(says.count, 2)
        XCTAssertEqual(says.first?["voice"] as? String, "de")
        XCTAssertEqual(says.first?["language"] as? String, "de-DE")
        XCTAssertEqual(says.last?["voice"] as? String, "en-gb")
        XCTAssertTrue(result.jsonLines.contains { $0["voice"] as? String == "en-gb" && $0["languages"] != nil })
    }

    /// A cached `say` is answered on the input thread, an encoded one through the conversion:
    /// either way the session's last clip (what `info` and `open` name) is the clip just said.
    func testCachedSaysWithAndWithoutAnEncodingBothBecomeTheLastClip() throws {
        let repl = try ReplProcess()
        let script = "say first clip\nsay second clip\nsay --encoding flac first clip\ninfo\nsay second clip\ninfo\nopen\nsay --encoding flac\n"
        let result = try repl.run(["--json"], stdin: script)
        XCTAssertEqual(result.status, 1, "the last line lacks its text: \(result.stderr)")
        let lines = result.jsonLines
        XCTAssertEqual(lines.count, 8, result.stdout)
        guard lines.count == 8 else { return }
        let first = try XCTUnwrap(lines[0]["key"] as? String), second = try XCTUnwrap(lines[1]["key"] as? String)
        XCTAssertEqual(lines[2]["tier"] as? String, "memory")
        XCTAssertEqual(lines[2]["format"] as? String, "flac")
        XCTAssertTrue((lines[2]["path"] as? String ?? "").hasSuffix(".flac"), "\(lines[2])")
        XCTAssertEqual(lines[3]["key"] as? String, first)
        XCTAssertEqual(lines[4]["tier"] as? String, "memory")
        XCTAssertNil(lines[4]["format"], "a plain cached say names the WAV file")
        XCTAssertTrue((lines[4]["path"] as? String ?? "").hasSuffix(".wav"), "\(lines[4])")
        XCTAssertEqual(lines[5]["key"] as? String, second)
        XCTAssertEqual(lines[6]["path"] as? String, lines[4]["path"] as? String, "open names the last clip's WAV file")
        let error = try XCTUnwrap(lines[7]["error"] as? [String: Any], "\(lines[7])")
        XCTAssertEqual(error["field"] as? String, "encoding")
        XCTAssertEqual(error["line"] as? Int, 8)
    }

    func testLsAndInfoShowStoredClips() throws {
        let repl = try ReplProcess()
        try repl.run(["say", "first clip"])
        try repl.run(["say", "second clip"])
        let ls = try repl.run(["--json", "ls", "--match", "SECOND"])
        XCTAssertEqual(ls.status, 0, ls.stderr)
        XCTAssertEqual(ls.jsonLines.count, 1)
        let key = try XCTUnwrap(ls.jsonLines.first?["key"] as? String)
        let info = try repl.run(["--json", "info", String(key.prefix(8))])
        XCTAssertEqual(info.status, 0, info.stderr)
        XCTAssertEqual(info.jsonLines.first?["text"] as? String, "second clip")
        let all = try repl.run(["ls"])
        XCTAssertTrue(all.stdout.contains("1–2 of 2 clips"), all.stdout)
    }

    func testHelpListsEveryCommandAndShowsExamples() throws {
        let repl = try ReplProcess()
        let result = try repl.run(["help"])
        XCTAssertEqual(result.status, 0)
        for command in ["say", "voice", "lang", "engine", "voices", "ls", "info", "help", "quit"] {
            XCTAssertTrue(result.stdout.contains(command), "help lacks \(command)")
        }
        let say = try repl.run(["help", "say"])
        XCTAssertTrue(say.stdout.contains("usage: say [--stream] [--speakers A=VOICE,B=VOICE] [--encoding"), say.stdout)
        XCTAssertTrue(say.stdout.contains("examples:"), say.stdout)
    }
}

final class SessionCommandsEndToEndTests: XCTestCase {
    func testStyleIsPartOfTheKeyAndSetShowsTheSession() throws {
        let repl = try ReplProcess()
        let script = "say Welcome\nstyle cheerfully\nsay Welcome\nset\nstyle none\nsay Welcome\nopen\n"
        let result = try repl.run(["--json"], stdin: script)
        XCTAssertEqual(result.status, 0, result.stderr)
        let says = result.jsonLines.filter { $0["tier"] != nil }
        XCTAssertEqual(says.map { $0["tier"] as? String }, ["engine", "engine", "memory"])
        XCTAssertNotEqual(says[0]["key"] as? String, says[1]["key"] as? String)
        XCTAssertEqual(says[1]["style"] as? String, "cheerfully")
        XCTAssertTrue(result.jsonLines.contains { $0["style"] as? String == "cheerfully" && $0["tier"] == nil })
        let opened = try XCTUnwrap(result.jsonLines.last)
        XCTAssertEqual(opened["path"] as? String, says[2]["path"] as? String)
    }

    func testModelCommandRefusesAModelTheEngineLacks() throws {
        let repl = try ReplProcess()
        let result = try repl.run(["model", "gemini-3.8-flash-tts"])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("model"), result.stderr)
    }

    func testPlayWithoutAPlayerSaysWhatToInstall() throws {
        var repl = try ReplProcess()
        repl.environment["PATH"] = "/nonexistent"
        let result = try repl.run(["--json"], stdin: "say play me\nplay\n")
        XCTAssertEqual(result.status, 1)
        let error = result.jsonLines.compactMap { $0["error"] as? [String: Any] }.first
        XCTAssertTrue((error?["message"] as? String ?? "").contains("aplay"), result.stdout)
    }
}
