import Foundation
import Glibc
import XCTest
import FakeGeminiServer

/// tts-repl with GEMINI_API_KEY set, against fake-gemini on loopback.
final class GeminiEndToEndTests: XCTestCase {
    private let key = "FAKEE2EKEY0123456789abcdefghijklmnopqrs"

    private func repl(_ server: FakeGeminiServer) throws -> ReplProcess {
        var repl = try ReplProcess()
        repl.environment["GEMINI_API_KEY"] = key
        repl.environment["GEMINI_BASE_URL"] = server.baseURL
        repl.environment["TTS_RETRY_BASE_MS"] = "10"
        return repl
    }

    func testSayUsesGeminiWhenAKeyIsSetAndTheKeyNeverShows() throws {
        let server = try FakeGeminiServer()
        defer { server.stop() }
        let repl = try repl(server)
        let script = "say Have a wonderful day!\nsay Have a wonderful day!\nvoice Puck\nlang en-US\nsay Hello\n"
            + "say --speakers Joe=Kore,Jane=Puck Joe: Ready? Jane: Always.\nvoice Nobody\n"
        let result = try repl.run(["--json"], stdin: script)
        XCTAssertEqual(result.status, 1, "the unknown voice fails: \(result.stdout)")
        let says = result.jsonLines.filter { $0["tier"] != nil }
        XCTAssertEqual(says.map { $0["tier"] as? String }, ["engine", "memory", "engine", "engine"])
        XCTAssertEqual(says.first?["engine"] as? String, "gemini")
        XCTAssertEqual(says.first?["voice"] as? String, "Kore")
        XCTAssertEqual(says.first?["sample_rate"] as? Int, 24000)
        XCTAssertEqual(says[2]["voice"] as? String, "Puck")
        let requests = server.recordedRequests()
        XCTAssertEqual(requests.count, 3)
        XCTAssertTrue(String(decoding: requests[1].body, as: UTF8.self).contains("\"languageCode\":\"en-US\""))
        XCTAssertFalse(String(decoding: requests[0].body, as: UTF8.self).contains("languageCode"), "no language set: none sent")
        XCTAssertTrue(String(decoding: requests[2].body, as: UTF8.self).contains("multiSpeakerVoiceConfig"))

        let log = try String(contentsOf: repl.store.appendingPathComponent("tts.log"), encoding: .utf8)
        for text in [result.stdout, result.stderr, log] { XCTAssertFalse(text.contains(key)) }
        XCTAssertFalse(requests.contains { $0.target.contains("key=") })
    }

    /// A service that echoes the key in its error text must not get it printed or logged:
    /// every configured secret is redacted from what leaves the process.
    func testKeyEchoedByTheServiceIsRedactedFromErrorsJSONAndLog() throws {
        let server = try FakeGeminiServer()
        defer { server.stop() }
        server.inject(FaultSpec(.status(400), count: nil, message: "API key \(key) is not valid for this project."))
        let repl = try repl(server)
        let human = try repl.run(["say", "Echo my key"])
        let json = try repl.run(["--json", "say", "Echo my key"])
        XCTAssertEqual(human.status, 1)
        XCTAssertTrue(human.stderr.contains("API key [redacted] is not valid"), human.stderr)
        XCTAssertTrue(json.stdout.contains("API key [redacted] is not valid"), json.stdout)
        let log = try String(contentsOf: repl.store.appendingPathComponent("tts.log"), encoding: .utf8)
        XCTAssertTrue(log.contains("[redacted]"), log)
        for text in [human.stdout, human.stderr, json.stdout, json.stderr, log] {
            XCTAssertFalse(text.contains(key), text)
            XCTAssertFalse(text.contains(String(key.dropLast(4))), text)
        }
    }

    /// With the daily quota spent, every cached phrase still answers from the cache; only a
    /// miss fails, with the quota error.
    func testCachedPhrasesStillAnswerWhenTheDailyQuotaIsSpent() throws {
        let server = try FakeGeminiServer()
        defer { server.stop() }
        let repl = try repl(server)
        let phrases = ["Good morning.", "Your order has shipped.", "See you tomorrow."]
        XCTAssertEqual(try repl.run([], stdin: phrases.map { "say \($0)" }.joined(separator: "\n") + "\n").status, 0)
        server.inject(FaultSpec(.shape("per-day-429"), count: nil))
        let cached = try repl.run(["--json"], stdin: phrases.map { "say \($0)" }.joined(separator: "\n") + "\n")
        XCTAssertEqual(cached.status, 0, cached.stdout + cached.stderr)
        XCTAssertEqual(cached.jsonLines.map { $0["tier"] as? String }, ["local", "local", "local"])
        let miss = try repl.run(["say", "A phrase never asked for before."])
        XCTAssertEqual(miss.status, 1)
        XCTAssertTrue(miss.stderr.contains("daily quota"), miss.stderr)
    }

    /// TTS_FALLBACK_ENGINE=espeak answers a miss while Gemini cannot, marked as a fallback and
    /// cached under espeak's own key; once Gemini is back the real voice is fetched.
    func testFallbackEngineAnswersAMissDuringAnOutageAndTheRealVoiceLater() throws {
        let server = try FakeGeminiServer()
        defer { server.stop() }
        var repl = try repl(server)
        repl.environment["TTS_FALLBACK_ENGINE"] = "espeak"
        // One spent-quota answer for each of the two requests during the outage (not retried).
        server.inject(FaultSpec(.shape("per-day-429"), count: 2))
        let outage = try repl.run(["--json", "say", "Please hold the line."])
        XCTAssertEqual(outage.status, 0, outage.stdout + outage.stderr)
        let answer = try XCTUnwrap(outage.jsonLines.first)
        XCTAssertEqual(answer["fallback"] as? Bool, true, outage.stdout)
        XCTAssertEqual(answer["engine"] as? String, "espeak")
        XCTAssertTrue((answer["fallback_reason"] as? String ?? "").contains("quota"), outage.stdout)
        let human = try repl.run(["say", "Please hold the line."])
        XCTAssertTrue(human.stdout.contains("fallback"), human.stdout)

        let back = try repl.run(["--json", "say", "Please hold the line."])
        XCTAssertEqual(back.jsonLines.first?["engine"] as? String, "gemini", back.stdout + back.stderr)
        XCTAssertEqual(back.jsonLines.first?["tier"] as? String, "engine")
        XCTAssertNil(back.jsonLines.first?["fallback"] as? Bool)
        XCTAssertEqual(try repl.run(["--json", "ls"]).jsonLines.count, 2, "the fallback clip and the real one, under their own keys")
    }

    func testServerErrorsAreReportedWithStatusAndRequestAndNothingIsStored() throws {
        let server = try FakeGeminiServer()
        defer { server.stop() }
        server.inject(FaultSpec(.status(500), count: nil))
        let repl = try repl(server)
        let result = try repl.run(["say", "This will fail"])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("500"), result.stderr)
        XCTAssertTrue(result.stderr.contains("This will fail"), result.stderr)
        XCTAssertFalse(result.stderr.contains(key))
        let ls = try repl.run(["--json", "ls"])
        XCTAssertEqual(ls.jsonLines.count, 0)
    }

    func testRetriesAreCountedInMetrics() throws {
        let server = try FakeGeminiServer()
        defer { server.stop() }
        server.inject(FaultSpec(.status(503), count: 2))
        let repl = try repl(server)
        let result = try repl.run([], stdin: "say Third time lucky\nmetrics\n")
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("tts_engine_retries_total 2"), result.stdout)
    }

    /// SIGINT while a script runs stops the run (exit 130), as in the sqlite3 shell; it used
    /// to cancel only the current line and run the rest.
    func testSigintDuringAScriptStopsTheRunWithStatus130() throws {
        let server = try FakeGeminiServer(options: .init(latencyMs: 20_000))
        defer { server.stop() }
        let repl = try repl(server)
        let script = repl.workingDirectory.appendingPathComponent("script.txt")
        try "say the first line\nsay the second line\nsay the third line\n".write(to: script, atomically: true, encoding: .utf8)
        let child = try SpawnedRepl(repl, [], stdin: script)
        try interruptOnceTheEngineIsCalled(child, server)
        XCTAssertEqual(child.waitForExit(timeout: 30), 130, child.stderr())
        XCTAssertEqual(server.counters().requests, 1, "the lines after the interrupted one never ran")
    }

    func testSigintDuringAOneShotCommandExitsWith130() throws {
        let server = try FakeGeminiServer(options: .init(latencyMs: 20_000))
        defer { server.stop() }
        let child = try SpawnedRepl(try repl(server), ["say", "a slow one-shot line"])
        try interruptOnceTheEngineIsCalled(child, server)
        XCTAssertEqual(child.waitForExit(timeout: 30), 130, child.stderr())
    }

    private func interruptOnceTheEngineIsCalled(_ child: SpawnedRepl, _ server: FakeGeminiServer) throws {
        for _ in 0..<1000 where server.counters().requests == 0 && child.waitNoHang() == nil { usleep(10_000) }
        XCTAssertEqual(server.counters().requests, 1, child.stderr())
        kill(child.pid, SIGINT)
    }

    func testCtrlCDuringASlowGenerationReturnsToAWorkingPrompt() throws {
        let server = try FakeGeminiServer(options: .init(latencyMs: 20_000))
        defer { server.stop() }
        let repl = try repl(server)
        var environment = repl.environment
        environment["TERM"] = "xterm"
        environment["NO_COLOR"] = "1"
        let terminal = try TerminalSession(arguments: [], environment: environment, directory: repl.workingDirectory)
        let before = terminal.settings()
        terminal.waitFor("tts[gemini]>")
        terminal.type("say This takes twenty seconds\r")
        usleep(500_000)
        let started = Date()
        terminal.type("\u{03}")
        terminal.waitFor("cancelled")
        XCTAssertLessThan(Date().timeIntervalSince(started), 5, "Ctrl-C did not stop the generation promptly")
        terminal.waitFor("tts[gemini]>")
        terminal.type("engine espeak\r")
        terminal.waitFor("engine: espeak")
        terminal.type("say still alive\r")
        terminal.waitFor("engine ")
        terminal.waitForPrompt()
        terminal.type("\u{04}")
        XCTAssertNotNil(terminal.waitForExit())
        XCTAssertTrue(sameSettings(before, terminal.settings()))
        let ls = try repl.run(["--json", "ls"])
        XCTAssertEqual(ls.jsonLines.compactMap { $0["text"] as? String }, ["still alive"], "nothing half-written")
    }
}
