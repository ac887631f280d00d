import Foundation
import Glibc
import TTSCore
import XCTest
@testable import TTSEngines

/// The espeak-ng zygote: one request always gives the same bytes, whatever was spoken before;
/// a killed zygote is replaced; an engine that goes away leaves no process behind. These need
/// espeak-ng and its data (and the CLI, for the fresh-process comparison): they fail without.
final class EspeakZygoteTests: XCTestCase {
    private let phrase = "Hello world, this is a test."

    private func speak(_ engine: EspeakEngine, _ text: String, voice: String = "en-us") async throws -> Data {
        try WAVAudio.decode(try await engine.synthesize(
            AudioRequest(text: text, voice: voice, engine: "espeak", model: ""))).pcm
    }

    func testOnePhraseGivesTheSameBytesAfterDifferentEarlierPhrases() async throws {
        let engine = EspeakEngine()
        // Other voices too: the zygote keeps the last voice loaded between requests.
        let earlier = [("Good morning", "en-us"), ("The quick brown fox jumps over the lazy dog.", "en-us"),
                       ("Wie geht es Ihnen?", "de"), ("Bonjour tout le monde", "fr-fr"),
                       ("A much longer sentence, so that the synthesizer has said a great deal before it comes back.", "en-us")]
        var results: [Data] = []
        for (text, voice) in earlier {
            _ = try await speak(engine, text, voice: voice)
            results.append(try await speak(engine, phrase))
        }
        // In process, espeak-ng 1.51 gave five different lengths here (bench/NOTES.md).
        XCTAssertEqual(Set(results).count, 1, "lengths: \(results.map(\.count))")
        let fresh = try await speak(EspeakEngine(), phrase)
        XCTAssertEqual(results[0], fresh, "a new engine's first synthesis differs")
        XCTAssertEqual(results[0], try cliPCM(phrase), "the espeak-ng CLI (a fresh process) speaks other bytes")
        // And a voice loaded after another one speaks as a fresh process does.
        let german = try await speak(engine, "Wie geht es Ihnen?", voice: "de")
        XCTAssertEqual(german, try cliPCM("Wie geht es Ihnen?", voice: "de"))
    }

    func testStreamedPiecesAreTheSameBytesAsTheUnaryAnswer() async throws {
        let engine = EspeakEngine()
        _ = try await speak(engine, "Something else first.")
        let request = try await engine.resolve(AudioRequest(text: phrase, voice: "en-us", engine: "espeak", model: ""))
        var streamed = Data()
        for try await chunk in engine.stream(request) {
            if case .audio(let bytes) = chunk { streamed.append(bytes) }
        }
        let unary = try await speak(engine, phrase)
        XCTAssertEqual(streamed, unary)
    }

    func testAKilledZygoteIsReplacedAndTheNextRequestIsAnswered() async throws {
        let engine = EspeakEngine()
        let before = try await speak(engine, phrase)
        let first = try XCTUnwrap(engine.synthesizer.zygotePID)
        XCTAssertEqual(kill(first, SIGKILL), 0)
        let after = try await speak(engine, phrase)
        XCTAssertEqual(after, before)
        let second = try XCTUnwrap(engine.synthesizer.zygotePID)
        XCTAssertNotEqual(second, first)
        XCTAssertFalse(processExists(first), "the killed zygote was not reaped")
    }

    func testAnEngineThatGoesAwayLeavesNoProcess() async throws {
        var engine: EspeakEngine? = EspeakEngine()
        _ = try await speak(engine!, phrase)
        let pid = try XCTUnwrap(engine!.synthesizer.zygotePID)
        XCTAssertTrue(processExists(pid))
        engine = nil
        // The last reference may be dropped a moment later by the blocking thread that ran the
        // request: wait for that, bounded (10 s), rather than assume it is instant.
        for _ in 0..<1_000 where processExists(pid) { usleep(10_000) }
        XCTAssertFalse(processExists(pid), "the zygote \(pid) outlived its engine (or is a zombie)")
    }

    /// What happens when this process dies: the kernel closes the zygote's stdin.
    func testAZygoteWhoseStdinClosesExitsByItself() throws {
        let zygote = try EspeakZygote.start()
        zygote.endRequests()
        var status: Int32 = 0
        var reaped: pid_t = 0
        // Bounded (10 s): the zygote reads the end of its input and exits.
        for _ in 0..<1_000 {
            reaped = waitpid(zygote.pid, &status, WNOHANG)
            if reaped != 0 { break }
            usleep(10_000)
        }
        XCTAssertEqual(reaped, zygote.pid, "the zygote did not exit when its stdin closed")
        XCTAssertEqual(status, 0, "it exited with wait status \(status)")
    }

    func testACancelledLongSynthesisStopsAndTheZygoteServesTheNext() async throws {
        let engine = EspeakEngine()
        _ = try await speak(engine, "Warm up.")
        let zygote = try XCTUnwrap(engine.synthesizer.zygotePID)
        let long = AudioRequest(text: String(repeating: "A long sentence that keeps espeak busy for a while. ", count: 200),
                                voice: "en-us", engine: "espeak", model: "")
        let task = Task { try await engine.synthesize(long) }
        // Wait, bounded, until the child is speaking, then cancel.
        for _ in 0..<500 where childrenOf(zygote).isEmpty { usleep(2_000) }
        task.cancel()
        do {
            _ = try await task.value
            XCTFail("a cancelled synthesis of two minutes of speech finished")
        } catch let error as TTSError {
            XCTAssertEqual(error.kind, .cancelled, "\(error)")
        }
        let next = try await speak(engine, phrase)
        let fresh = try await speak(EspeakEngine(), phrase)
        XCTAssertEqual(next, fresh)
    }

    // MARK: Helpers

    /// True while `pid` exists, zombies included (kill(pid, 0) succeeds for a zombie).
    private func processExists(_ pid: pid_t) -> Bool {
        kill(pid, 0) == 0 || errno != ESRCH
    }

    private func childrenOf(_ pid: pid_t) -> [String] {
        let path = "/proc/\(pid)/task/\(pid)/children"
        return ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: " ").map(String.init)
    }

    /// The PCM the espeak-ng CLI speaks for `text` (a fresh process each time).
    private func cliPCM(_ text: String, voice: String = "en-us") throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/espeak-ng")
        process.arguments = ["-v", voice, "--stdout", text]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let wav = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        // The CLI's header is the canonical 44 bytes, with unknown-length size fields.
        return wav.dropFirst(44)
    }
}
