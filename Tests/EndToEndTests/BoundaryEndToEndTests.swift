import Foundation
import XCTest

/// Input that crosses into the process is checked, not repaired: bytes that are not UTF-8 are
/// refused with where they are, and errors keep the output mode that was asked for.
final class BoundaryEndToEndTests: XCTestCase {
    /// `caf\xE9` and `caf\xE8` used to become one text (`caf\u{FFFD}`) and share a key.
    func testScriptLineThatIsNotUTF8IsRefusedNamingLineAndOffset() throws {
        let repl = try ReplProcess()
        var script = Data("say café\n".utf8)
        script.append(contentsOf: Array("say caf".utf8) + [0xE9] + Array("\n".utf8))
        script.append(contentsOf: Array("say caf".utf8) + [0xE8] + Array("\r\n".utf8))
        script.append(contentsOf: Array("say ok\n".utf8))
        let result = try repl.run([], stdinBytes: script)
        XCTAssertEqual(result.status, 1, result.stderr)
        XCTAssertTrue(result.stderr.contains("line 2: the line is not valid UTF-8 at byte offset 7 (0xE9)"), result.stderr)
        XCTAssertTrue(result.stderr.contains("line 3: the line is not valid UTF-8 at byte offset 7 (0xE8)"), result.stderr)
        let texts = try repl.run(["--json", "ls"]).jsonLines.compactMap { $0["text"] as? String }
        XCTAssertEqual(texts.sorted(), ["café", "ok"])
    }

    func testArgumentThatIsNotUTF8IsRefused() throws {
        let repl = try ReplProcess()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        // printf turns \351 into the byte 0xE9; Foundation's Process could not pass it.
        process.arguments = ["-c", "exec \"$0\" say \"$(printf 'caf\\351')\"", ReplProcess.binary.path]
        process.environment = repl.environment
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        try err.fileHandleForWriting.close()
        let stderr = DataCollector(err.fileHandleForReading)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 2)
        XCTAssertTrue(stderr.text().contains("argument 2 is not valid UTF-8 at byte offset 3 (0xE9)"), stderr.text())
        XCTAssertEqual(try repl.run(["--json", "ls"]).jsonLines.count, 0)
    }

    func testUnknownFlagWithJSONIsAJSONError() throws {
        let repl = try ReplProcess()
        let result = try repl.run(["--json", "--frobnicate", "ls"])
        XCTAssertEqual(result.status, 2)
        let error = result.jsonLines.first?["error"] as? [String: Any]
        XCTAssertEqual(error?["kind"] as? String, "config", result.stdout + result.stderr)
        XCTAssertTrue((error?["message"] as? String ?? "").contains("--frobnicate"))
    }

    /// Foundation's "NSCocoaErrorDomain error 512" used to be the whole reason.
    func testStoreErrorsSayTheReasonNotFoundationsCode() throws {
        var repl = try ReplProcess()
        let file = repl.workingDirectory.appendingPathComponent("a-file")
        try Data("x".utf8).write(to: file)
        repl.environment["TTS_STORE"] = file.appendingPathComponent("store").path
        let result = try repl.run(["ls"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertFalse(result.stderr.contains("NSCocoaErrorDomain"), result.stderr)
        XCTAssertTrue(result.stderr.contains("\(file.path) is a file, not a folder"), result.stderr)
    }

    /// A damaged index is one file: `health` used to advise moving the whole store aside.
    func testHealthAdvisesMovingOnlyTheIndexWhenOnlyTheIndexIsDamaged() throws {
        let repl = try ReplProcess()
        XCTAssertEqual(try repl.run(["health"]).status, 0)
        let index = repl.store.appendingPathComponent("index.sqlite")
        try Data(repeating: 0x41, count: 8192).write(to: index)
        let bad = try repl.run(["--json", "health"])
        let checks = try XCTUnwrap(bad.jsonLines.first?["checks"] as? [[String: Any]], bad.stdout + bad.stderr)
        let fix = checks.first { $0["status"] as? String == "fail" }?["fix"] as? String ?? ""
        XCTAssertTrue(fix.contains("Only the index"), fix)
        XCTAssertTrue(fix.contains(index.path), fix)
        XCTAssertFalse(fix.contains("Move \(repl.store.path) aside"), fix)
    }
}
