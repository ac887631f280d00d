import Foundation
import XCTest
import TestSupport

/// `tts-repl serve` as a user runs it: a real process, a request over the network, SIGTERM.
final class ServeEndToEndTests: XCTestCase {
    func testServeAnswersSpeechOverHTTPAndStopsWithStatusZeroOnSIGTERM() throws {
        let repl = try ReplProcess()
        let portFile = repl.workingDirectory.appendingPathComponent("serve.port")
        let process = try repl.launch(["serve", "--listen", "127.0.0.1:0", "--port-file", portFile.path, "--grace", "5"])
        let errors = Pipe()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errors
        try process.run()
        defer { if process.isRunning { process.terminate() } }
        var port: Int?
        for _ in 0..<500 where port == nil {  // up to 10 s
            port = (try? String(contentsOf: portFile, encoding: .utf8)).flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            if port == nil { usleep(20_000) }
        }
        let bound = try XCTUnwrap(port, "serve never wrote its port file")

        let body = #"{"text": "served over HTTP"}"#
        let answer = try LoopbackHTTP.exchange(port: bound, "POST /v1/speech HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)")
        XCTAssertTrue(answer.hasPrefix("HTTP/1.1 200"), answer)
        XCTAssertTrue(answer.contains("X-TTS-Tier: engine"), answer)
        XCTAssertTrue(answer.contains(#""text":"served over HTTP""#), answer)

        kill(process.processIdentifier, SIGTERM)
        for _ in 0..<500 where process.isRunning { usleep(20_000) }
        XCTAssertFalse(process.isRunning, "serve ignored SIGTERM")
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        let said = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertTrue(said.contains("serving on 127.0.0.1:\(bound)"), said)
        let log = try String(contentsOf: repl.store.appendingPathComponent("tts.log"), encoding: .utf8)
        XCTAssertTrue(log.contains(#""event":"http","method":"POST","path":"/v1/speech","status":200"#), log)
        XCTAssertTrue(log.contains(#""event":"serve-stop""#), log)
        try? FileManager.default.removeItem(at: repl.workingDirectory)
    }
}
