import Foundation
import XCTest
import TTSCore
import TTSStore

/// `prewarm` as a user runs it: the built binary, a phrase list on disk, a temporary store.
final class PrewarmEndToEndTests: XCTestCase {
    private func write(_ text: String, _ name: String, in repl: ReplProcess) throws -> URL {
        let url = repl.workingDirectory.appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        return url
    }

    func testKillNineMidPrewarmThenRerunCompletesAndEveryRowPointsAtItsBlob() throws {
        let repl = try ReplProcess()
        // Short phrases: a debug build hashes and encodes ~10 ms of work per second of audio.
        let total = 250
        let list = (1...total).map { "Item \($0)." }.joined(separator: "\n")
        _ = try write(list, "crash.txt", in: repl)

        let process = try repl.launch(["--json", "prewarm", "crash.txt"])
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let blobs = repl.store.appendingPathComponent("blobs")
        let deadline = Date().addingTimeInterval(60)
        while process.isRunning && Date() < deadline && wavFiles(under: blobs) < 20 { usleep(5_000) }
        let wasRunning = process.isRunning
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        XCTAssertTrue(wasRunning, "prewarm finished before it could be killed: make the list longer")
        XCTAssertEqual(process.terminationReason, .uncaughtSignal)
        let stored = try assertEveryRowPointsAtACompleteBlob(repl.store)
        XCTAssertGreaterThan(stored, 0)
        XCTAssertLessThan(stored, total)

        let rerun = try repl.run(["--json", "prewarm", "crash.txt"], timeout: 120)
        XCTAssertEqual(rerun.status, 0, rerun.stderr + rerun.stdout)
        let summary = try XCTUnwrap(rerun.jsonLines.last, rerun.stdout)
        XCTAssertEqual(summary["unique"] as? Int, total)
        XCTAssertEqual(summary["cached"] as? Int, stored, "what was stored before the kill is not generated again")
        XCTAssertEqual(summary["generated"] as? Int, total - stored)
        XCTAssertEqual(summary["failed"] as? Int, 0)
        XCTAssertEqual(try assertEveryRowPointsAtACompleteBlob(repl.store), total)
    }

    func testOneShotPrewarmReportsFailedLinesWritesRejectsAndExitsOne() throws {
        let repl = try ReplProcess()
        _ = try write("id,text,voice\n1,Welcome,\n2,\"Press one, please\",zz\n3,Welcome,\n", "menu.csv", in: repl)
        let result = try repl.run(["--json", "prewarm", "menu.csv"])
        XCTAssertEqual(result.status, 1, result.stderr)
        let summary = try XCTUnwrap(result.jsonLines.last, result.stdout)
        XCTAssertEqual(summary["phrases"] as? Int, 3)
        XCTAssertEqual(summary["unique"] as? Int, 1)
        XCTAssertEqual(summary["duplicates"] as? Int, 1)
        XCTAssertEqual(summary["generated"] as? Int, 1)
        XCTAssertEqual(summary["problems"] as? Int, 1)
        let rejects = try XCTUnwrap(summary["rejects"] as? [[String: Any]])
        XCTAssertEqual(rejects.first?["line"] as? Int, 3)
        let rejectsPath = try XCTUnwrap(summary["rejects_file"] as? String)
        XCTAssertEqual(URL(fileURLWithPath: rejectsPath).lastPathComponent, "menu.rejects.csv")
        XCTAssertEqual(try String(contentsOfFile: rejectsPath, encoding: .utf8), "id,text,voice\n2,\"Press one, please\",zz\n")

        let human = try repl.run(["prewarm", "menu.csv"])
        XCTAssertEqual(human.status, 1)
        XCTAssertTrue(human.stdout.contains("menu.csv:3: espeak has no voice 'zz'"), human.stdout)
        XCTAssertTrue(human.stdout.contains("cached 1"), human.stdout)
        XCTAssertTrue(human.stdout.contains("menu.rejects.csv"), human.stdout)
    }

    func testCleanListFromStdinSucceedsAndDryRunCallsNothing() throws {
        let repl = try ReplProcess()
        let jsonl = "{\"text\": \"Good morning\", \"id\": \"a\"}\n{\"text\": \"Guten Morgen\", \"language\": \"de-DE\"}\n"
        let dry = try repl.run(["--json", "prewarm", "-", "--format", "jsonl", "--dry-run"], stdin: jsonl)
        XCTAssertEqual(dry.status, 0, dry.stderr)
        let estimate = try XCTUnwrap(dry.jsonLines.last?["estimate"] as? [String: Any], dry.stdout)
        XCTAssertEqual(estimate["engine_calls"] as? Int, 2)
        XCTAssertEqual(wavFiles(under: repl.store.appendingPathComponent("blobs")), 0)

        let real = try repl.run(["prewarm", "-", "--format", "jsonl"], stdin: jsonl)
        XCTAssertEqual(real.status, 0, real.stderr)
        XCTAssertTrue(real.stdout.contains("generated 2"), real.stdout)
        XCTAssertTrue(real.stdout.contains("no rejects"), real.stdout)
        XCTAssertEqual(wavFiles(under: repl.store.appendingPathComponent("blobs")), 2)
    }

    func testPrewarmedPhraseIsServedLocallyInAScript() throws {
        let repl = try ReplProcess()
        _ = try write("# greetings\n@voice en-gb\nHello from the list\n", "p.txt", in: repl)
        let result = try repl.run(["--json"], stdin: "prewarm p.txt --strict --concurrency 2\nvoice en-gb\nsay Hello from the list\n")
        XCTAssertEqual(result.status, 0, result.stderr + result.stdout)
        XCTAssertEqual(result.jsonLines.first?["generated"] as? Int, 1)
        // The prewarm's generation is remembered by the session, so the say is a memory hit.
        XCTAssertEqual(result.jsonLines.last?["tier"] as? String, "memory")
    }

    func testUsageMistakesAreRefusedWithAHint() throws {
        let repl = try ReplProcess()
        _ = try write("Hello\n", "phrases", in: repl)
        let noFormat = try repl.run(["prewarm", "phrases"])
        XCTAssertEqual(noFormat.status, 1)
        XCTAssertTrue(noFormat.stderr.contains("--format"), noFormat.stderr)
        let missing = try repl.run(["prewarm", "nope.txt"])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stderr.contains("no such file"), missing.stderr)
        let pin = try repl.run(["prewarm", "phrases", "--format", "text", "--pin"])
        XCTAssertEqual(pin.status, 1)
        XCTAssertTrue(pin.stderr.contains("unknown option --pin"), pin.stderr)
    }

    private func wavFiles(under folder: URL) -> Int {
        (FileManager.default.enumerator(atPath: folder.path)?.compactMap { $0 as? String } ?? [])
            .filter { $0.hasSuffix(".wav") }.count
    }

    /// Returns the number of rows, after checking each one's blob hashes to its name.
    @discardableResult
    private func assertEveryRowPointsAtACompleteBlob(_ store: URL, file: StaticString = #filePath, line: UInt = #line) throws -> Int {
        let layout = StoreLayout(root: store)
        let index = try ClipIndex(url: layout.indexURL)
        defer { index.close() }
        let blobs = try BlobStore(layout: layout)
        let clips = try index.list(ClipFilter(), limit: 100_000, offset: 0)
        for clip in clips {
            let data = try Data(contentsOf: blobs.url(for: clip.blob))
            XCTAssertEqual(BlobHash(of: data), clip.blob, "blob of \(clip.key.short) does not match its name", file: file, line: line)
            XCTAssertEqual(data.count, clip.bytes, file: file, line: line)
        }
        return clips.count
    }
}
