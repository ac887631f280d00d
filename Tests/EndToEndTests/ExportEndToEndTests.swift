import Foundation
import XCTest
import TTSCore

/// `export`, run as users run it: one-shot and in a script, against the built binary.
final class ExportEndToEndTests: XCTestCase {
    private func csvRows(_ url: URL) throws -> [[String]] {
        // The manifest's fields here hold no commas or quotes, so a plain split reads it.
        try String(contentsOf: url, encoding: .utf8).components(separatedBy: "\r\n").filter { !$0.isEmpty }
            .map { $0.components(separatedBy: ",") }
    }

    func testOneShotExportThenReExportIsIdempotent() throws {
        let repl = try ReplProcess()
        for text in ["Hello world", "Good morning", "Goodbye"] { try repl.run(["say", text]) }
        let out = repl.workingDirectory.appendingPathComponent("out")
        let first = try repl.run(["--json", "export", "out"])
        XCTAssertEqual(first.status, 0, first.stderr)
        let summary = try XCTUnwrap(first.jsonLines.last)
        XCTAssertEqual(summary["exported"] as? Int, 3)
        XCTAssertEqual(summary["linked"] as? Int, 3)
        XCTAssertEqual(summary["failed"] as? Int, 0)
        let rows = try csvRows(out.appendingPathComponent("manifest.csv"))
        XCTAssertEqual(rows.first, ["file", "text", "voice", "language", "engine", "model", "duration_ms", "sample_rate",
                                    "bytes", "sha256", "key", "encoding", "bitrate"])
        XCTAssertEqual(rows.count, 4)
        for row in rows.dropFirst() {
            let data = try Data(contentsOf: out.appendingPathComponent(row[0]))
            XCTAssertEqual(SHA256.hash(data).hex, row[9])
        }
        // --json after the command word works too, and the second run changes nothing.
        let second = try repl.run(["export", "out", "--json"])
        XCTAssertEqual(second.status, 0, second.stderr)
        XCTAssertEqual(second.jsonLines.last?["skipped"] as? Int, 3)
        XCTAssertEqual(second.jsonLines.last?["exported"] as? Int, 0)
    }

    func testScriptExportConvertsSelectsAndDryRunWritesNothing() throws {
        let repl = try ReplProcess()
        let script = """
            say Hello there
            lang de-DE
            say Guten Tag
            export ivr --lang de-DE --rate 8000 --encoding alaw --name {voice}/{slug}.wav --dry-run
            export ivr --lang de-DE --rate 8000 --encoding alaw --name {voice}/{slug}.wav --manifest jsonl

            """
        let result = try repl.run(["--json"], stdin: script)
        XCTAssertEqual(result.status, 0, result.stderr + result.stdout)
        let planned = result.jsonLines.filter { $0["action"] != nil }
        XCTAssertEqual(planned.count, 1)
        XCTAssertEqual(planned.first?["file"] as? String, "de/guten-tag.wav")
        XCTAssertEqual(planned.first?["action"] as? String, "link")
        let summaries = result.jsonLines.filter { $0["planned"] != nil }
        XCTAssertEqual(summaries.map { $0["dry_run"] as? Bool }, [true, false])
        XCTAssertEqual(summaries.last?["converted"] as? Int, 1)
        let file = repl.workingDirectory.appendingPathComponent("ivr/de/guten-tag.wav")
        let bytes = [UInt8](try Data(contentsOf: file))
        XCTAssertEqual(Int(bytes[20]) | Int(bytes[21]) << 8, 6, "A-law format tag")
        XCTAssertEqual(Int(bytes[24]) | Int(bytes[25]) << 8, 8000)
        let manifest = try String(contentsOf: repl.workingDirectory.appendingPathComponent("ivr/manifest.jsonl"), encoding: .utf8)
        XCTAssertTrue(manifest.contains("\"sample_rate\":8000"), manifest)
    }

    func testFailuresEndWithStatusOneAndSayWhatToDo() throws {
        let repl = try ReplProcess()
        try repl.run(["say", "Conflict"])
        let out = repl.workingDirectory.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        try Data("mine".utf8).write(to: out.appendingPathComponent("conflict.wav"))
        let conflict = try repl.run(["export", "out", "--name", "{slug}.wav"])
        XCTAssertEqual(conflict.status, 1)
        XCTAssertTrue(conflict.stdout.contains("0 of 1 files"), conflict.stdout)
        XCTAssertTrue(conflict.stdout.contains("--force"), conflict.stdout)
        XCTAssertTrue(conflict.stderr.contains("could not be exported"), conflict.stderr)
        XCTAssertEqual(try String(contentsOf: out.appendingPathComponent("conflict.wav"), encoding: .utf8), "mine")
        let forced = try repl.run(["export", "out", "--name", "{slug}.wav", "--force"])
        XCTAssertEqual(forced.status, 0, forced.stderr)

        let underFile = try repl.run(["export", "out/conflict.wav/sub"])
        XCTAssertEqual(underFile.status, 1)
        XCTAssertTrue(underFile.stderr.contains("out/conflict.wav"), underFile.stderr)

        for bad in [["export"], ["export", "out", "--rate", "11025"], ["export", "out", "--encoding", "aac"],
                    ["export", "out", "--encoding", "flac", "--bitrate", "64"],
                    ["export", "out", "--since", "yesterday"], ["export", "out", "--name", "{nope}"],
                    ["export", "out", "--copy", "--link", "always"]] {
            let result = try repl.run(bad)
            XCTAssertEqual(result.status, 1, "\(bad)")
            XCTAssertTrue(result.stderr.hasPrefix("error: "), "\(bad): \(result.stderr)")
        }
    }

    func testHelpDescribesExport() throws {
        let repl = try ReplProcess()
        let result = try repl.run(["help", "export"])
        XCTAssertEqual(result.status, 0)
        XCTAssertTrue(result.stdout.contains("usage: export DIR"), result.stdout)
        XCTAssertTrue(result.stdout.contains("--encoding"), result.stdout)
    }
}
