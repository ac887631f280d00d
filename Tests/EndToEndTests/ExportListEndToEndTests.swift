import Foundation
import XCTest

/// `export --list FILE`: exactly the list's phrases, in its order, named by its ids.
final class ExportListEndToEndTests: XCTestCase {
    private func writeList(_ repl: ReplProcess) throws -> String {
        let path = repl.workingDirectory.appendingPathComponent("menu.csv").path
        try "id,text,voice\nwelcome,Welcome to the menu,\nsales,Press one for sales,en-gb\nsupport,Press two for support,\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func testUncachedPhrasesAreReportedAndGenerateMakesThemFirst() throws {
        let repl = try ReplProcess()
        let list = try writeList(repl)
        try repl.run(["say", "Welcome to the menu"])
        try repl.run(["say", "Press one for sales"])  // en-us, but the list wants en-gb: not the same clip
        try repl.run(["say", "Unrelated phrase"])
        let out = repl.workingDirectory.appendingPathComponent("out").path

        let partial = try repl.run(["--json", "export", out, "--list", list, "--name", "{n}-{id}.wav"])
        XCTAssertEqual(partial.status, 1, partial.stdout + partial.stderr)
        XCTAssertTrue(partial.stdout.contains("not cached"), partial.stdout)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/1-welcome.wav"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/2-sales.wav"))

        let full = try repl.run(["--json", "export", out, "--list", list, "--name", "{n}-{id}.wav", "--generate"])
        XCTAssertEqual(full.status, 0, full.stdout + full.stderr)
        let files = try FileManager.default.contentsOfDirectory(atPath: out).filter { $0.hasSuffix(".wav") }.sorted()
        XCTAssertEqual(files, ["1-welcome.wav", "2-sales.wav", "3-support.wav"], "only the list's phrases, in its order")
        let ls = try repl.run(["--json", "ls", "--match", "sales", "--voice", "en-gb"])
        XCTAssertEqual(ls.jsonLines.count, 1, "the en-gb clip was generated for the export")
    }

    func testListExcludesOtherSelectors() throws {
        let repl = try ReplProcess()
        let list = try writeList(repl)
        let result = try repl.run(["export", "out", "--list", list, "--voice", "de"])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("--list selects exactly"), result.stderr)
    }
}

final class ExportDamageEndToEndTests: XCTestCase {
    /// Export reads through the service's read path: a truncated blob is quarantined and the
    /// clip made again, and the export gets the good audio, never the damaged file.
    func testATruncatedBlobIsMadeAgainBeforeItIsExported() throws {
        let repl = try ReplProcess()
        let said = try repl.run(["--json", "say", "damaged on disk"])
        let path = try XCTUnwrap(said.jsonLines.first?["path"] as? String)
        let size = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        let handle = try XCTUnwrap(FileHandle(forUpdatingAtPath: path))
        try handle.truncate(atOffset: 100)
        try handle.close()
        let out = repl.workingDirectory.appendingPathComponent("out")
        let result = try repl.run(["export", out.path])
        XCTAssertEqual(result.status, 0, result.stderr)
        let written = (try? FileManager.default.contentsOfDirectory(atPath: out.path))?.filter { $0.hasSuffix(".wav") } ?? []
        XCTAssertEqual(written.count, 1)
        let exported = try Data(contentsOf: out.appendingPathComponent(written.first ?? "-"))
        XCTAssertGreaterThan(exported.count, 100, "the damaged copy was not exported")
        XCTAssertEqual(exported.count, size, "the clip made again has the audio of the first")
        let quarantined = try FileManager.default.contentsOfDirectory(atPath: repl.store.appendingPathComponent("quarantine").path)
        XCTAssertEqual(quarantined.count, 1, "the damaged file was kept aside")
    }
}
