import Foundation
import Glibc
import XCTest
import TTSCore

/// `say --encoding`, `play` and `stats` with compressed formats, against the built binary.
final class FormatsEndToEndTests: XCTestCase {
    func testSayWithAnEncodingPrintsTheConvertedFileAndASecondRunConvertsNothing() throws {
        let repl = try ReplProcess()
        defer { try? FileManager.default.removeItem(at: repl.workingDirectory) }
        let first = try repl.run(["--json", "say", "--encoding", "mp3", "--bitrate", "48", "Hello formats"])
        XCTAssertEqual(first.status, 0, first.stderr)
        let json = try XCTUnwrap(first.jsonLines.last)
        let path = try XCTUnwrap(json["path"] as? String)
        XCTAssertTrue(path.hasSuffix(".mp3") && path.contains("/converted/source-mp3-48k/"), path)
        XCTAssertEqual(json["format"] as? String, "mp3")
        XCTAssertEqual(json["mime_type"] as? String, "audio/mpeg")
        XCTAssertEqual(json["bitrate"] as? Int, 48)
        XCTAssertEqual(json["sha256"] as? String, SHA256.hash(try Data(contentsOf: URL(fileURLWithPath: path))).hex)
        XCTAssertTrue((json["source_path"] as? String)?.hasSuffix(".wav") == true)
        var before = stat()
        XCTAssertEqual(stat(path, &before), 0)

        let second = try repl.run(["--json"], stdin: "say --encoding mp3 --bitrate 48 Hello formats\nstats\n")
        XCTAssertEqual(second.status, 0, second.stderr)
        XCTAssertEqual(second.jsonLines.first?["path"] as? String, path)
        var after = stat()
        XCTAssertEqual(stat(path, &after), 0)
        XCTAssertEqual(after.st_ino, before.st_ino, "the cached file was served, not made again")
        let stats = try XCTUnwrap(second.jsonLines.last)
        let conversions = (stats["process"] as? [String: Any])?["conversions"] as? [String: Any]
        XCTAssertEqual(conversions?["made"] as? Int, 0)
        XCTAssertEqual(conversions?["cached"] as? Int, 1)
        XCTAssertEqual((stats["local"] as? [String: Any])?["converted_files"] as? Int, 1)

        let bad = try repl.run(["say", "--encoding", "opus", "--rate", "22050", "Hello"])
        XCTAssertEqual(bad.status, 1)
        XCTAssertTrue(bad.stderr.contains("8000, 12000, 16000, 24000, 48000"), bad.stderr)
    }

    func testPlayHandsTheConvertedFileToAPlayerThatReadsItsFormat() throws {
        var repl = try ReplProcess()
        defer { try? FileManager.default.removeItem(at: repl.workingDirectory) }
        // Stand-in players that record what they were asked to play.
        let bin = repl.workingDirectory.appendingPathComponent("bin")
        let log = repl.workingDirectory.appendingPathComponent("played.txt")
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        for player in ["aplay", "paplay"] {
            let script = bin.appendingPathComponent(player)
            try Data("#!/bin/sh\necho \"\(player) $*\" >> '\(log.path)'\n".utf8).write(to: script)
            chmod(script.path, 0o755)
        }
        repl.environment["PATH"] = bin.path + ":/usr/bin:/bin"
        let result = try repl.run(["--json"], stdin: "say Play me\nplay\nsay --encoding opus Play me\nplay\nplay --encoding flac\n")
        XCTAssertEqual(result.status, 0, result.stderr)
        let lines = try String(contentsOf: log, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 3, lines.joined(separator: "\n"))
        XCTAssertTrue(lines[0].hasPrefix("aplay -q ") && lines[0].hasSuffix(".wav"), String(lines[0]))
        XCTAssertTrue(lines[1].hasPrefix("paplay ") && lines[1].hasSuffix(".opus"), String(lines[1]))
        XCTAssertTrue(lines[2].hasPrefix("paplay ") && lines[2].hasSuffix(".flac"), String(lines[2]))
    }

    func testExportAsOpusNamesTheFilesOpusAndTheManifestSaysSo() throws {
        let repl = try ReplProcess()
        defer { try? FileManager.default.removeItem(at: repl.workingDirectory) }
        try repl.run(["say", "Export me"])
        let result = try repl.run(["--json", "export", "out", "--encoding", "opus", "--bitrate", "24"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.jsonLines.last?["converted"] as? Int, 1)
        let manifest = try String(contentsOf: repl.workingDirectory.appendingPathComponent("out/manifest.csv"), encoding: .utf8)
        let row = try XCTUnwrap(manifest.components(separatedBy: "\r\n").dropFirst().first?.components(separatedBy: ","))
        XCTAssertTrue(row[0].hasSuffix(".opus"), row[0])
        XCTAssertEqual(row[7], "24000")
        XCTAssertEqual(Array(row.suffix(2)), ["opus", "24"])
    }
}
