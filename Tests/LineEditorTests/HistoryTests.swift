import XCTest
import Foundation
@testable import LineEditor

final class HistoryTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("history-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    private func mode(_ url: URL) throws -> Int {
        let attributes = try FileManager.default.attributesOfItem(atPath: url.path)
        return (attributes[.posixPermissions] as! NSNumber).intValue
    }

    private func fileLines(_ url: URL) throws -> [String] {
        try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map(String.init)
    }

    func testBoundedDropsOldest() {
        let history = History(limit: 3)
        for line in ["a", "b", "c", "d"] { history.add(line) }
        XCTAssertEqual(history.lines, ["b", "c", "d"])
    }

    func testConsecutiveDuplicatesAndBlankLinesAreDropped() {
        let history = History()
        for line in ["a", "a", "b", "a", "", "  "] { history.add(line) }
        XCTAssertEqual(history.lines, ["a", "b", "a"])
    }

    func testExcludedLinesReachNeitherMemoryNorFile() throws {
        let url = directory.appendingPathComponent("history")
        let history = History(file: url, excludes: { $0.hasPrefix("key ") })
        history.add("say hi")
        history.add("key AIzaSECRET")
        XCTAssertEqual(history.lines, ["say hi"])
        XCTAssertEqual(try fileLines(url), ["say hi"])
    }

    func testNewFileIsCreatedPrivate() throws {
        let url = directory.appendingPathComponent("history")
        History(file: url).add("say hi")
        XCTAssertEqual(try mode(url), 0o600)
    }

    func testExistingFileIsMadePrivateOnLoad() throws {
        let url = directory.appendingPathComponent("history")
        _ = FileManager.default.createFile(atPath: url.path, contents: Data("old\n".utf8),
                                       attributes: [.posixPermissions: 0o644])
        XCTAssertEqual(try mode(url), 0o644)
        XCTAssertEqual(History(file: url).lines, ["old"])
        XCTAssertEqual(try mode(url), 0o600)
    }

    func testSecondSessionLoadsWhatFirstWrote() throws {
        let url = directory.appendingPathComponent("history")
        let first = History(file: url)
        let second = History(file: url)
        first.add("from first")
        second.add("from second")
        first.add("first again")
        XCTAssertEqual(History(file: url).lines, ["from first", "from second", "first again"])
    }

    func testFileIsRewrittenToTheLimitWithoutLosingOtherSessions() throws {
        let url = directory.appendingPathComponent("history")
        let first = History(limit: 4, file: url)
        let second = History(limit: 4, file: url)
        second.add("other session")
        for i in 1...5 { first.add("line \(i)") }
        let lines = try fileLines(url)
        XCTAssertLessThanOrEqual(lines.count, 6, "rewritten after limit/2 appends")
        XCTAssertEqual(History(limit: 4, file: url).lines, ["line 2", "line 3", "line 4", "line 5"])
        XCTAssertEqual(try mode(url), 0o600)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        XCTAssertEqual(leftovers, ["history"], "no temporary file is left behind")
    }

    func testOversizedFileIsTrimmedOnLoad() throws {
        let url = directory.appendingPathComponent("history")
        try Data((1...10).map { "l\($0)\n" }.joined().utf8).write(to: url)
        XCTAssertEqual(History(limit: 3, file: url).lines, ["l8", "l9", "l10"])
        XCTAssertEqual(try fileLines(url), ["l8", "l9", "l10"])
    }

    func testUnwritableFileKeepsHistoryInMemoryAndSaysWhy() {
        let url = directory.appendingPathComponent("missing-dir/history")
        let history = History(file: url)
        history.add("say hi")
        XCTAssertEqual(history.lines, ["say hi"])
        XCTAssertTrue(history.lastError?.contains("could not open the history file") ?? false)
    }
}
