import FakeGeminiServer
import Foundation
import Glibc
import XCTest
import TTSCore

/// `say --stream`, with a stand-in `aplay` on the PATH that records what it was fed.
final class SayStreamEndToEndTests: XCTestCase {
    /// A folder holding an executable `aplay` that saves its standard input and arguments.
    private func fakePlayer() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tts-player-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: folder) }
        let script = folder.appendingPathComponent("aplay")
        try "#!/bin/sh\necho \"$@\" > '\(folder.path)/args'\ncat > '\(folder.path)/played.raw'\n".write(to: script, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script.path)
        return folder
    }

    func testSayStreamPlaysFromStdinReportsFirstAudioAndCachesTheClip() throws {
        let player = try fakePlayer()
        var repl = try ReplProcess()
        repl.environment["PATH"] = player.path + ":" + (repl.environment["PATH"] ?? "/usr/bin:/bin")
        let result = try repl.run(["--json"], stdin: "say --stream This sentence is played while it is made.\nsay This sentence is played while it is made.\n")
        XCTAssertEqual(result.status, 0, result.stderr)
        let lines = result.jsonLines
        XCTAssertEqual(lines.count, 2, result.stdout)
        guard lines.count == 2 else { return }
        XCTAssertEqual(lines[0]["tier"] as? String, "engine")
        XCTAssertEqual(lines[0]["player"] as? String, "aplay")
        XCTAssertNotNil(lines[0]["first_audio_ms"] as? Double)
        XCTAssertEqual(lines[1]["tier"] as? String, "local", "the streamed clip was cached")
        XCTAssertEqual(lines[1]["key"] as? String, lines[0]["key"] as? String)

        let path = try XCTUnwrap(lines[1]["path"] as? String)
        let stored = try WAVAudio.decode(Data(contentsOf: URL(fileURLWithPath: path)))
        // aplay reads a WAV stream: the header (length unknown, 22,050 Hz), then the samples.
        let played = try Data(contentsOf: player.appendingPathComponent("played.raw"))
        XCTAssertEqual(played.prefix(44), WAVAudio.streamingHeader(for: PCMFormat(sampleRate: 22_050)))
        XCTAssertEqual(played.dropFirst(44), stored.pcm, "the player heard exactly the cached samples")
        let arguments = try String(contentsOf: player.appendingPathComponent("args"), encoding: .utf8)
        XCTAssertTrue(arguments.contains("-t wav"), arguments)
    }

    func testSayStreamWithoutAPlayerSaysWhatToInstall() throws {
        var repl = try ReplProcess()
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("tts-noplayer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: empty) }
        repl.environment["PATH"] = empty.path
        let result = try repl.run(["say", "--stream", "No player here"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("no audio player for pcm16 found"), result.stderr)
    }

    func testCtrlCStopsThePlaybackButTheClipIsStillCached() throws {
        // About seven seconds of stream: 24 events of 0.1 s of audio, 300 ms apart.
        let server = try FakeGeminiServer(options: .init(streamChunkBytes: 4_800, chunkDelayMs: 300))
        defer { server.stop() }
        let player = try fakePlayer()
        var repl = try ReplProcess()
        repl.environment["GEMINI_API_KEY"] = "FAKEE2EKEY0123456789abcdefghijklmnopqrs"
        repl.environment["GEMINI_BASE_URL"] = server.baseURL
        repl.environment["GEMINI_MODEL"] = "gemini-3.1-flash-tts-preview"
        repl.environment["PATH"] = player.path + ":" + (repl.environment["PATH"] ?? "/usr/bin:/bin")
        repl.environment["TERM"] = "xterm"
        repl.environment["NO_COLOR"] = "1"
        let text = "Interrupted while it plays, cached all the same."
        let terminal = try TerminalSession(arguments: [], environment: repl.environment, directory: repl.workingDirectory)
        terminal.waitFor("tts[gemini")
        terminal.type("say --stream \(text)\r")
        let played = player.appendingPathComponent("played.raw")
        for _ in 0..<1_000 {
            if let size = try? FileManager.default.attributesOfItem(atPath: played.path)[.size] as? Int, size > 44 { break }
            usleep(10_000)
        }
        terminal.type("\u{03}")
        terminal.waitFor("will be cached")
        terminal.waitFor("tts[gemini")
        // The same text again: it waits for the stream still being made, and gets its clip.
        terminal.type("say \(text)\r")
        terminal.waitFor(" audio ")
        terminal.type("\u{04}")
        XCTAssertNotNil(terminal.waitForExit())
        XCTAssertEqual(server.counters().requests, 1, "one engine call: the stream, finished after Ctrl-C")
        let ls = try repl.run(["--json", "ls"])
        XCTAssertEqual(ls.jsonLines.compactMap { $0["text"] as? String }, [text])
    }
}
