import Foundation
import Glibc
import XCTest
import TestSupport

/// The operations commands run as a user runs them: the built binary, its exit status and output.
final class OperationsEndToEndTests: XCTestCase {
    private var server: RedisTestServer?

    override func tearDown() { server = nil }

    private func blobPath(_ result: ReplProcess.Result) throws -> URL {
        URL(fileURLWithPath: try XCTUnwrap(result.jsonLines.first?["path"] as? String, result.stdout + result.stderr))
    }

    // MARK: verify

    func testVerifyFindsAFlippedByteAndRepairLeavesAStoreThatVerifiesClean() throws {
        let repl = try ReplProcess()
        let made = try repl.run(["--json", "say", "a byte will flip"])
        try repl.run(["say", "an untouched clip"])
        try flipByte(in: try blobPath(made))

        let found = try repl.run(["--json", "verify"])
        XCTAssertEqual(found.status, 1, "damage is a failing verify")
        let report = try XCTUnwrap(found.jsonLines.first)
        XCTAssertEqual(report["clean"] as? Bool, false)
        let problems = try XCTUnwrap(report["problems"] as? [[String: Any]])
        XCTAssertEqual(problems.map { $0["kind"] as? String }, ["corrupt-blob"])

        let repaired = try repl.run(["verify", "--repair"])
        XCTAssertEqual(repaired.status, 0, repaired.stderr)
        XCTAssertTrue(repaired.stdout.contains("dropped 1 rows, quarantined 1 blobs"), repaired.stdout)
        let again = try repl.run(["--json", "verify"])
        XCTAssertEqual(again.status, 0)
        XCTAssertEqual(again.jsonLines.first?["clean"] as? Bool, true)
        let regenerated = try repl.run(["--json", "say", "a byte will flip"])
        XCTAssertEqual(regenerated.jsonLines.first?["tier"] as? String, "engine")
        let quarantine = repl.store.appendingPathComponent("quarantine")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: quarantine.path).count, 1)
    }

    func testATruncatedBlobIsRegeneratedOnTheNextRequest() throws {
        let repl = try ReplProcess()
        let made = try repl.run(["--json", "say", "cut short"])
        let path = try blobPath(made)
        XCTAssertEqual(truncate(path.path, 100), 0)
        let again = try repl.run(["--json", "say", "cut short"])
        XCTAssertEqual(again.jsonLines.first?["tier"] as? String, "engine", again.stderr)
        XCTAssertEqual(try repl.run(["verify"]).status, 0)
    }

    // MARK: metrics

    func testMetricsOutputParsesBackLineByLine() throws {
        let repl = try ReplProcess()
        let result = try repl.run([], stdin: "say hello metrics\nsay hello metrics\nmetrics\n")
        XCTAssertEqual(result.status, 0, result.stderr)
        let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        let start = try XCTUnwrap(lines.firstIndex { $0.hasPrefix("# HELP") })
        let text = try PrometheusText(parsing: lines[start...].joined(separator: "\n"))
        XCTAssertEqual(text.value("tts_requests_total", ["tier": "memory"]), 1)
        XCTAssertEqual(text.value("tts_requests_total", ["tier": "local"]), 0)
        XCTAssertEqual(text.value("tts_requests_total", ["tier": "engine"]), 1)
        XCTAssertEqual(text.value("tts_engine_calls_total", ["outcome": "ok"]), 1)
        XCTAssertEqual(text.value("tts_engine_retries_total"), 0)
        XCTAssertEqual(text.value("tts_store_clips"), 1)
        try assertHistogramsConsistent(text)
    }

    func testServeMetricsAnswersOverHTTPUntilSIGTERM() throws {
        let repl = try ReplProcess()
        try repl.run(["say", "served"])
        let portFile = repl.workingDirectory.appendingPathComponent("metrics.port")
        let process = try repl.launch(["serve-metrics", "--port", "0", "--port-file", portFile.path])
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { process.terminate() } }
        var port: Int?
        for _ in 0..<500 where port == nil {  // up to 10 s
            port = (try? String(contentsOf: portFile, encoding: .utf8)).flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            if port == nil { usleep(20_000) }
        }
        let bound = try XCTUnwrap(port, "serve-metrics never wrote its port file")

        let answer = try httpExchange(port: bound, "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        let (head, body) = split(answer)
        XCTAssertTrue(head.hasPrefix("HTTP/1.1 200 OK"), head)
        let text = try PrometheusText(parsing: body)
        XCTAssertEqual(text.value("tts_store_clips"), 1)
        try assertHistogramsConsistent(text)
        XCTAssertTrue(try httpExchange(port: bound, "GET /nope HTTP/1.1\r\n\r\n").hasPrefix("HTTP/1.1 404"))
        XCTAssertTrue(try httpExchange(port: bound, "DELETE /metrics HTTP/1.1\r\n\r\n").hasPrefix("HTTP/1.1 405"))

        kill(process.processIdentifier, SIGTERM)
        for _ in 0..<500 where process.isRunning { usleep(20_000) }
        XCTAssertFalse(process.isRunning, "serve-metrics ignored SIGTERM")
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 128 + SIGTERM)
    }

    // MARK: stats, evict, pin, rm, gc

    func testStatsCountsClipsHitsAndMoneySaved() throws {
        var repl = try ReplProcess()
        repl.environment["TTS_PRICE_PER_CALL"] = "0.5"
        let result = try repl.run(["--json"], stdin: "say counted\nsay counted\nsay counted\nsay other\nstats\n")
        XCTAssertEqual(result.status, 0, result.stderr)
        let stats = try XCTUnwrap(result.jsonLines.last)
        let local = try XCTUnwrap(stats["local"] as? [String: Any])
        XCTAssertEqual(local["clips"] as? Int, 2)
        XCTAssertEqual(local["hits"] as? Int, 2)
        XCTAssertEqual(local["money_saved"] as? Double, 1.0)
        XCTAssertNotNil(local["oldest"] as? String)
        let process = try XCTUnwrap(stats["process"] as? [String: Any])
        XCTAssertEqual((process["hits"] as? [String: Any])?["memory"] as? Int, 2)
        XCTAssertEqual(process["retries"] as? Int, 0)
        let groups = try XCTUnwrap(stats["by_group"] as? [[String: Any]])
        XCTAssertEqual(groups.first?["engine"] as? String, "espeak")
        XCTAssertEqual(groups.first?["clips"] as? Int, 2)
    }

    /// TTS_CACHE_HARD_MAX_BYTES: a write that pinned clips leave no room for is refused with a
    /// clear error (the store used to grow without bound); unpinned clips are evicted to fit.
    func testHardLimitRefusesAWriteWhenPinnedClipsFillItAndEvictsUnpinnedOnes() throws {
        var repl = try ReplProcess()
        let first = try XCTUnwrap(try repl.run(["--json", "say", "the pinned phrase, which is the longer of the two by far"]).jsonLines.first)
        let key = try XCTUnwrap(first["key"] as? String)
        let bytes = try XCTUnwrap(first["bytes"] as? Int)
        XCTAssertEqual(try repl.run(["pin", String(key.prefix(8))]).status, 0)
        repl.environment["TTS_CACHE_HARD_MAX_BYTES"] = String(bytes + 1000)

        let refused = try repl.run(["say", "a short one"])
        XCTAssertEqual(refused.status, 1, refused.stdout)
        XCTAssertTrue(refused.stderr.contains("TTS_CACHE_HARD_MAX_BYTES"), refused.stderr)
        XCTAssertTrue(refused.stderr.contains("pinned"), refused.stderr)
        XCTAssertEqual(try repl.run(["--json", "ls"]).jsonLines.compactMap { $0["key"] as? String }, [key])

        XCTAssertEqual(try repl.run(["unpin", String(key.prefix(8))]).status, 0)
        let stored = try repl.run(["--json", "say", "a short one"])
        XCTAssertEqual(stored.status, 0, stored.stderr)
        let left = try repl.run(["--json", "ls"]).jsonLines.compactMap { $0["key"] as? String }
        XCTAssertEqual(left, [stored.jsonLines.first?["key"] as? String], "the unpinned clip was evicted to stay under the limit")
    }

    func testEvictionKeepsThePinnedClip() throws {
        let repl = try ReplProcess()
        let keep = try XCTUnwrap(try repl.run(["--json", "say", "pinned phrase"]).jsonLines.first?["key"] as? String)
        try repl.run(["say", "evictable phrase"])
        XCTAssertEqual(try repl.run(["pin", String(keep.prefix(8))]).status, 0)
        let evicted = try repl.run(["--json", "evict", "--max-bytes", "0"])
        XCTAssertEqual(evicted.status, 0, evicted.stderr)
        XCTAssertEqual(evicted.jsonLines.first?["over_budget"] as? Bool, true)
        XCTAssertEqual((evicted.jsonLines.first?["evicted"] as? [Any])?.count, 1)
        let left = try repl.run(["--json", "ls"]).jsonLines.compactMap { $0["key"] as? String }
        XCTAssertEqual(left, [keep])
    }

    func testRmRemovesMatchingClipsAndDryRunOnlyCounts() throws {
        let repl = try ReplProcess()
        try repl.run([], stdin: "say old prompt one\nsay old prompt two\nsay new prompt\n")
        let dry = try repl.run(["rm", "--match", "old prompt", "--dry-run"])
        XCTAssertTrue(dry.stdout.contains("would remove 2 clips"), dry.stdout)
        XCTAssertEqual(try repl.run(["--json", "ls"]).jsonLines.count, 3)
        let removed = try repl.run(["--json", "rm", "--match", "old prompt"])
        XCTAssertEqual(removed.jsonLines.first?["removed"] as? Int, 2)
        XCTAssertEqual(try repl.run(["--json", "ls"]).jsonLines.compactMap { $0["text"] as? String }, ["new prompt"])
    }

    func testRmRemovesTheClipFromRedisToo() throws {
        let url: String
        if let shared = ProcessInfo.processInfo.environment["TTS_TEST_REDIS_URL"] {
            url = shared
        } else {
            let own = try RedisTestServer()
            server = own
            url = own.urlString
        }
        let prefix = "e2e-rm-\(UUID().uuidString.prefix(8)):"
        func machine() throws -> ReplProcess {
            var repl = try ReplProcess()
            repl.environment["REDIS_URL"] = url
            repl.environment["TTS_REDIS_PREFIX"] = prefix
            return repl
        }
        let a = try machine(), b = try machine()
        let key = try XCTUnwrap(try a.run(["--json", "say", "shared then removed"]).jsonLines.first?["key"] as? String)
        let removed = try a.run(["--json", "rm", key])
        XCTAssertEqual(removed.jsonLines.first?["removed"] as? Int, 1, removed.stdout + removed.stderr)
        XCTAssertEqual(removed.jsonLines.first?["redis_removed"] as? Int, 1)
        let elsewhere = try b.run(["--json", "say", "shared then removed"])
        XCTAssertEqual(elsewhere.jsonLines.first?["tier"] as? String, "engine", "Redis no longer has it")
    }

    func testGCDryRunReportsAnOldOrphanAndGCRemovesIt() throws {
        let repl = try ReplProcess()
        let made = try repl.run(["--json", "say", "orphaned soon"])
        let path = try blobPath(made)
        let key = try XCTUnwrap(made.jsonLines.first?["key"] as? String)
        // Drop the row but not the file, as a crash between blob and index would.
        let sqlite = Process()
        sqlite.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        sqlite.arguments = ["python3", "-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('delete from clips where key=?',(sys.argv[2],)); c.commit()",
                            repl.store.appendingPathComponent("index.sqlite").path, key]
        try sqlite.run()
        sqlite.waitUntilExit()
        XCTAssertEqual(sqlite.terminationStatus, 0)
        let fresh = try repl.run(["--json", "gc", "--dry-run"])
        XCTAssertEqual(fresh.jsonLines.first?["fresh_orphans_kept"] as? Int, 1)
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-7200)], ofItemAtPath: path.path)
        let collected = try repl.run(["--json", "gc"])
        XCTAssertEqual((collected.jsonLines.first?["orphan_blobs"] as? [String])?.count, 1, collected.stdout + collected.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path.path))
    }

    // MARK: health, config

    func testHealthPassesOnAGoodStoreAndFailsOnACorruptOne() throws {
        let repl = try ReplProcess()
        let good = try repl.run(["health"])
        XCTAssertEqual(good.status, 0, good.stdout + good.stderr)
        XCTAssertTrue(good.stdout.contains("healthy"))
        try Data(repeating: 0x41, count: 8192).write(to: repl.store.appendingPathComponent("index.sqlite"))
        let bad = try repl.run(["--json", "health"])
        XCTAssertEqual(bad.status, 1, bad.stdout + bad.stderr)
        XCTAssertEqual(bad.jsonLines.first?["healthy"] as? Bool, false)
        let checks = try XCTUnwrap(bad.jsonLines.first?["checks"] as? [[String: Any]])
        XCTAssertNotNil(checks.first { $0["status"] as? String == "fail" }?["fix"] as? String, "a failure says what to do")
    }

    func testConfigShowsOriginsAndRedactsSecrets() throws {
        var repl = try ReplProcess()
        repl.environment["GEMINI_API_KEY"] = "AIzaVerySecretKey0000wxyz"
        try "TTS_LOG_LEVEL=warn\n".write(to: repl.workingDirectory.appendingPathComponent(".env"), atomically: true, encoding: .utf8)
        let result = try repl.run(["--json", "--voice", "en-gb", "config"])
        let rows = Dictionary(uniqueKeysWithValues: result.jsonLines.compactMap { row -> (String, [String: Any])? in
            (row["setting"] as? String).map { ($0, row) }
        })
        XCTAssertEqual(rows["TTS_VOICE"]?["source"] as? String, "flag")
        XCTAssertEqual(rows["TTS_LOG_LEVEL"]?["source"] as? String, ".env")
        XCTAssertEqual(rows["TTS_STORE"]?["source"] as? String, "environment")
        XCTAssertEqual(rows["TTS_MAX_TEXT_CHARS"]?["source"] as? String, "default")
        XCTAssertEqual(rows["GEMINI_API_KEY"]?["value"] as? String, "…wxyz")
        XCTAssertFalse(result.stdout.contains("VerySecret"))
    }

    /// No part of a Redis password is shown (it used to be its last four characters), and a
    /// password on the command line, where `ps` shows it, draws one warning naming REDIS_URL.
    func testConfigShowsNoPartOfThePasswordAndAFlagPasswordIsWarnedOnce() throws {
        let repl = try ReplProcess()
        let result = try repl.run(["--json", "--redis", "redis://app:hunter2secretZQXJ@127.0.0.1:1/0", "config"])
        let rows = Dictionary(uniqueKeysWithValues: result.jsonLines.compactMap { row -> (String, [String: Any])? in
            (row["setting"] as? String).map { ($0, row) }
        })
        XCTAssertEqual(rows["REDIS_URL"]?["value"] as? String, "redis://app:…@127.0.0.1:1/0")
        for text in [result.stdout, result.stderr] { XCTAssertFalse(text.contains("ZQXJ"), text) }
        let warnings = result.stderr.components(separatedBy: "password given with --redis")
        XCTAssertEqual(warnings.count, 2, "one warning: \(result.stderr)")
        XCTAssertTrue(result.stderr.contains("REDIS_URL"), result.stderr)
        var quiet = repl
        quiet.environment["REDIS_URL"] = "redis://app:hunter2secretZQXJ@127.0.0.1:1/0"
        XCTAssertFalse(try quiet.run(["config"]).stderr.contains("password given with --redis"))
    }

    func testConfigReloadWithAnInvalidValueKeepsTheOldValueAndSaysWhy() throws {
        let repl = try ReplProcess()
        let dotEnv = repl.workingDirectory.appendingPathComponent(".env")
        try "TTS_VOICE=en-us\n".write(to: dotEnv, atomically: true, encoding: .utf8)
        let session = try LiveRepl(repl)
        session.send("set")
        XCTAssertTrue(session.waitFor("voice    en-us"), session.output)

        try "TTS_VOICE=en-gb\nTTS_LOG_LEVEL=loud\n".write(to: dotEnv, atomically: true, encoding: .utf8)
        session.send("config reload")
        XCTAssertTrue(session.waitFor("previous configuration stays"), session.output)
        XCTAssertTrue(session.output.contains("TTS_LOG_LEVEL is 'loud'"), session.output)
        session.send("set")
        XCTAssertTrue(session.waitFor("voice    en-us", after: "previous configuration stays"), "the old voice stays: \(session.output)")

        try "TTS_VOICE=en-gb\n".write(to: dotEnv, atomically: true, encoding: .utf8)
        session.send("config reload")
        XCTAssertTrue(session.waitFor("applied  TTS_VOICE: 'en-us' → 'en-gb'"), session.output)
        session.send("set")
        XCTAssertTrue(session.waitFor("voice    en-gb"), session.output)
        XCTAssertEqual(session.finish(), 1, "the refused reload counts as a failed command")
    }

    // MARK: shutdown

    func testSigtermBetweenCommandsFlushesHitsAndClosesTheStore() throws {
        let repl = try ReplProcess()
        let session = try LiveRepl(repl)
        session.send("say flushed at exit\nsay flushed at exit\nsay flushed at exit")
        XCTAssertTrue(session.waitFor("memory", count: 2), session.output)
        kill(session.process.processIdentifier, SIGTERM)
        // stdin stays open: closing it would race the signal with a normal end of input.
        XCTAssertEqual(session.waitForExit(), 128 + SIGTERM)
        let clips = try repl.run(["--json", "ls"]).jsonLines
        XCTAssertEqual(clips.first?["hits"] as? Int, 2, "buffered hits were written before exit")
        let log = try String(contentsOf: repl.store.appendingPathComponent("tts.log"), encoding: .utf8)
        XCTAssertTrue(log.contains("\"event\":\"shutdown\""), log)
    }

    // MARK: Helpers

    private func flipByte(in url: URL) throws {
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: url.path)
        var data = try Data(contentsOf: url)
        data[data.count / 2] ^= 0xFF
        try data.write(to: url)
    }

    private func assertHistogramsConsistent(_ text: PrometheusText, file: StaticString = #filePath, line: UInt = #line) throws {
        for (name, type) in text.types where type == "histogram" {
            let series = Dictionary(grouping: text.samples.filter { $0.name == name + "_bucket" }) { $0.labels.filter { $0.key != "le" } }
            XCTAssertFalse(series.isEmpty, "\(name) has no buckets", file: file, line: line)
            for (labels, buckets) in series {
                let counts = buckets.map(\.value)
                XCTAssertEqual(counts, counts.sorted(), "\(name) buckets are cumulative", file: file, line: line)
                XCTAssertEqual(buckets.last?.labels["le"], "+Inf", file: file, line: line)
                XCTAssertEqual(buckets.last?.value, text.value(name + "_count", labels), "+Inf equals _count", file: file, line: line)
                XCTAssertNotNil(text.value(name + "_sum", labels), file: file, line: line)
            }
        }
    }

    private func split(_ answer: String) -> (head: String, body: String) {
        guard let range = answer.range(of: "\r\n\r\n") else { return (answer, "") }
        return (String(answer[..<range.lowerBound]), String(answer[range.upperBound...]))
    }

    /// One request on a fresh loopback connection; the whole answer (the server closes).
    private func httpExchange(port: Int, _ request: String) throws -> String {
        try LoopbackHTTP.exchange(port: port, request)
    }
}

/// A tts-repl reading commands from a pipe that stays open, so a test can act between commands
/// (edit `.env`, send a signal) and wait for output.
final class LiveRepl: @unchecked Sendable {
    let process: Process
    private let input = Pipe()
    private let outputPipe = Pipe()
    /// Guards `buffer`, appended by the reading thread.
    private let lock = NSLock()
    private var buffer = Data()

    init(_ repl: ReplProcess) throws {
        process = try repl.launch([])
        process.standardInput = input
        process.standardOutput = outputPipe
        process.standardError = outputPipe
        try process.run()
        let handle = outputPipe.fileHandleForReading
        Thread.detachNewThread { [self] in
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                lock.withLock { buffer.append(chunk) }
            }
        }
    }

    var output: String { lock.withLock { String(decoding: buffer, as: UTF8.self) } }

    func send(_ line: String) {
        input.fileHandleForWriting.write(Data((line + "\n").utf8))
    }

    /// Waits (up to 20 s) until `text` appears `count` times, counting only output after the
    /// last occurrence of `after` when given.
    func waitFor(_ text: String, count: Int = 1, after: String? = nil) -> Bool {
        for _ in 0..<1000 {
            var seen = output
            if let after, let range = seen.range(of: after, options: .backwards) { seen = String(seen[range.upperBound...]) }
            if seen.components(separatedBy: text).count - 1 >= count { return true }
            usleep(20_000)
        }
        return false
    }

    /// The exit status, with stdin left open (killing a process that does not end in 20 s).
    func waitForExit() -> Int32 {
        for _ in 0..<1000 where process.isRunning { usleep(20_000) }
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// Closes stdin and returns the exit status (killing a process that does not end in 20 s).
    func finish() -> Int32 {
        try? input.fileHandleForWriting.close()
        for _ in 0..<1000 where process.isRunning { usleep(20_000) }
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        return process.terminationStatus
    }
}
