import Foundation
import XCTest
import TTSCore

/// Bad input of any kind: a clear message, the documented exit status, and a store left exactly
/// as it was.
final class ErrorsEndToEndTests: XCTestCase {
    private func storeListing(_ repl: ReplProcess) -> [String] {
        let blobs = repl.store.appendingPathComponent("blobs")
        let files = FileManager.default.enumerator(atPath: blobs.path)?.compactMap { $0 as? String } ?? []
        return files.filter { $0.hasSuffix(".wav") }.sorted()
    }

    func testInvalidRequestsFailWithStatusOneAndStoreUntouched() throws {
        let repl = try ReplProcess()
        try repl.run(["say", "keep me"])
        let before = storeListing(repl)
        let cases: [([String], String)] = [
            (["say", "   "], "text is empty"),
            (["--voice", "klingon", "say", "hi"], "voice"),
            (["--lang", "en_US", "say", "hi"], "BCP-47"),
        ]
        for (arguments, expected) in cases {
            let result = try repl.run(arguments)
            XCTAssertNotEqual(result.status, 0, "\(arguments) should fail")
            XCTAssertTrue(result.stderr.contains(expected), "\(arguments): \(result.stderr)")
        }
        var env = repl
        env.environment["TTS_MAX_TEXT_CHARS"] = "10"
        let long = try env.run(["say", "this text is longer than ten"])
        XCTAssertEqual(long.status, 1)
        XCTAssertTrue(long.stderr.contains("TTS_MAX_TEXT_CHARS"), long.stderr)
        XCTAssertEqual(storeListing(repl), before)
        let ls = try repl.run(["--json", "ls"])
        XCTAssertEqual(ls.jsonLines.count, 1)
    }

    /// A mistyped option costs nothing: `say --encodng mp3 …` used to speak the option as text.
    func testAMistypedOptionIsRefusedWithTheNearestOneBeforeAnythingRuns() throws {
        let repl = try ReplProcess()
        let result = try repl.run(["--json"], stdin: "say --encodng mp3 Hello\nls --limt 5\ngc --dry-run=yes\nls --limit 0\n")
        XCTAssertEqual(result.status, 1)
        let errors = result.jsonLines.compactMap { $0["error"] as? [String: Any] }
        XCTAssertEqual(errors.map { $0["kind"] as? String }, ["validation", "validation", "validation", "validation"], result.stdout)
        XCTAssertEqual(errors.map { $0["line"] as? Int }, [1, 2, 3, 4])
        let messages = errors.map { $0["message"] as? String ?? "" }
        XCTAssertTrue(messages[0].contains("Did you mean --encoding?"), messages[0])
        XCTAssertTrue(messages[1].contains("Did you mean --limit?"), messages[1])
        XCTAssertTrue(messages[2].contains("--dry-run is a flag and takes no value"), messages[2])
        XCTAssertTrue(messages[3].contains("--limit takes a whole number from 1 to 100000"), messages[3])
        XCTAssertEqual(storeListing(repl), [], "nothing was spoken")
    }

    func testHelpShowsACommandsOptionsWithTheirRangesAndDefaults() throws {
        let repl = try ReplProcess()
        let result = try repl.run(["help", "ls"])
        XCTAssertEqual(result.status, 0)
        XCTAssertTrue(result.stdout.contains("options:"), result.stdout)
        XCTAssertTrue(result.stdout.contains("--limit N"), result.stdout)
        XCTAssertTrue(result.stdout.contains("1–100000, default 20"), result.stdout)
    }

    func testJSONErrorsHaveKindAndMessage() throws {
        let repl = try ReplProcess()
        let result = try repl.run(["--json"], stdin: "say \nfrobnicate\nsay ok\n")
        XCTAssertEqual(result.status, 1)
        let errors = result.jsonLines.compactMap { $0["error"] as? [String: Any] }
        XCTAssertEqual(errors.count, 2, result.stdout)
        XCTAssertEqual(errors.first?["kind"] as? String, "validation")
        XCTAssertEqual(errors.first?["line"] as? Int, 1)
        XCTAssertEqual(errors.last?["line"] as? Int, 2)
        XCTAssertTrue((errors.last?["message"] as? String ?? "").contains("unknown command"))
        XCTAssertEqual(result.jsonLines.filter { $0["tier"] != nil }.count, 1, "the good line still runs")
    }

    func testBailStopsAtFirstFailure() throws {
        let repl = try ReplProcess()
        let result = try repl.run(["--json", "--bail"], stdin: "nope\nsay never\n")
        XCTAssertEqual(result.status, 1)
        XCTAssertFalse(result.stdout.contains("\"tier\""))
    }

    func testUsageAndConfigurationErrorsExitTwo() throws {
        let repl = try ReplProcess()
        let unknownFlag = try repl.run(["--frobnicate"])
        XCTAssertEqual(unknownFlag.status, 2)
        XCTAssertTrue(unknownFlag.stderr.contains("--frobnicate"))

        var bad = repl
        bad.environment["TTS_MAX_TEXT_CHARS"] = "lots"
        let config = try bad.run(["say", "hi"])
        XCTAssertEqual(config.status, 2)
        XCTAssertTrue(config.stderr.contains("TTS_MAX_TEXT_CHARS"), config.stderr)
        XCTAssertTrue(config.stderr.contains("whole number"), config.stderr)

        let unknownCommand = try repl.run(["sya", "hi"])
        XCTAssertEqual(unknownCommand.status, 2)
        XCTAssertTrue(unknownCommand.stderr.contains("Did you mean `say`"), unknownCommand.stderr)

        var badEngine = repl
        badEngine.environment["TTS_ENGINE"] = "festival"
        XCTAssertEqual(try badEngine.run(["say", "hi"]).status, 2)
    }

    func testFlagBeatsEnvironmentBeatsDotEnv() throws {
        var repl = try ReplProcess()
        try "TTS_VOICE=de\nTTS_LANGUAGE=fr-FR\n".write(to: repl.workingDirectory.appendingPathComponent(".env"), atomically: true, encoding: .utf8)
        repl.environment["TTS_VOICE"] = "en-gb"
        let result = try repl.run(["--json", "--voice", "en-us", "say", "precedence"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.jsonLines.first?["voice"] as? String, "en-us")
        XCTAssertEqual(result.jsonLines.first?["language"] as? String, "fr-FR", "language comes from .env")
        let env = try repl.run(["--json", "say", "precedence"])
        XCTAssertEqual(env.jsonLines.first?["voice"] as? String, "en-gb")
    }

    func testGeminiWithoutKeySaysWhatToDo() throws {
        let repl = try ReplProcess()
        let result = try repl.run(["--engine", "gemini", "say", "hi"])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("GEMINI_API_KEY"), result.stderr)
    }

    func testLogHasOneLinePerGenerationAndNoSecrets() throws {
        var repl = try ReplProcess()
        let secret = "FAKETESTKEY0123456789abcdefghijklmnopq"
        repl.environment["GEMINI_API_KEY"] = secret
        repl.environment["TTS_ENGINE"] = "espeak"
        let result = try repl.run(["--json"], stdin: "say logged clip\nsay logged clip\n")
        XCTAssertEqual(result.status, 0, result.stderr)
        let log = try String(contentsOf: repl.store.appendingPathComponent("tts.log"), encoding: .utf8)
        let generations = log.split(separator: "\n").filter { $0.contains("\"event\":\"generate\"") }
        XCTAssertEqual(generations.count, 1, log)
        XCTAssertTrue(generations.first?.contains("\"outcome\":\"stored\"") == true)
        XCTAssertFalse(log.contains(secret))
        XCTAssertFalse(result.stdout.contains(secret) || result.stderr.contains(secret))
    }
}
