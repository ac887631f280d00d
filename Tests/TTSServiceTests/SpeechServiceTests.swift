import Foundation
import XCTest
import TTSCore
import TTSEngines
import TTSStore
@testable import TTSService

final class SpeechServiceTests: XCTestCase {
    func testRepeatIsServedByLocalTier() async throws {
        let f = try ServiceFixture()
        let first = try await f.service.generateOrFetch(f.request("Hello world"))
        let second = try await f.service.generateOrFetch(f.request("Hello   world "))
        XCTAssertEqual(first.tier, .engine)
        XCTAssertEqual(second.tier, .local)
        XCTAssertEqual(first.clip.key, second.clip.key)
        XCTAssertEqual(f.tone.calls, 1)
        XCTAssertEqual(first.path, second.path)
        XCTAssertEqual(BlobHash(of: try Data(contentsOf: first.path)), first.clip.blob)
    }

    func testRealEspeakRepeatIsServedByLocalTier() async throws {
        let f = try ServiceFixture()
        let first = try await f.service.generateOrFetch(f.request("Hello world", engine: "espeak"))
        let second = try await f.service.generateOrFetch(f.request("Hello world", engine: "espeak"))
        XCTAssertEqual(first.tier, .engine)
        XCTAssertEqual(second.tier, .local)
        XCTAssertEqual(first.clip.voice, "en-us")
        XCTAssertEqual(first.clip.sampleRate, 22050)
        XCTAssertGreaterThan(first.clip.durationMs, 300)
    }

    func testConcurrentIdenticalRequestsCallTheEngineOnce() async throws {
        let f = try ServiceFixture()
        f.tone.latency = .milliseconds(200)
        let results = try await withThrowingTaskGroup(of: Generation.self) { group in
            for _ in 0..<10 { group.addTask { try await f.service.generateOrFetch(f.request("same words")) } }
            return try await group.reduce(into: [Generation]()) { $0.append($1) }
        }
        XCTAssertEqual(f.tone.calls, 1)
        XCTAssertEqual(Set(results.map(\.clip.key)).count, 1)
        XCTAssertEqual(try f.service.local.index.count(ClipFilter()), 1)
    }

    func testDistinctRequestsEachCallTheEngine() async throws {
        let f = try ServiceFixture()
        _ = try await f.service.generateOrFetch(f.request("one"))
        _ = try await f.service.generateOrFetch(f.request("one", voice: "b"))
        _ = try await f.service.generateOrFetch(f.request("two"))
        XCTAssertEqual(f.tone.calls, 3)
    }

    func testInvalidRequestsNeverReachTheEngineOrTheStore() async throws {
        let f = try ServiceFixture(maxText: 20)
        let bad: [(AudioRequest, String)] = [
            (f.request(""), "text"), (f.request(" \n\t "), "text"),
            (f.request(String(repeating: "x", count: 21)), "text"),
            (f.request("hi", voice: "zz"), "voice"), (f.request("hi", language: "en_US"), "language"),
            (f.request("hi", engine: "nope"), "engine"),
        ]
        for (request, field) in bad {
            do {
                _ = try await f.service.generateOrFetch(request)
                XCTFail("\(request) should be refused")
            } catch let error as TTSError {
                XCTAssertEqual(error.kind, .validation)
                XCTAssertEqual(error.field, field, error.message)
            }
        }
        XCTAssertEqual(f.tone.calls, 0)
        XCTAssertEqual(f.files(), [])
        XCTAssertEqual(try f.service.local.index.count(ClipFilter()), 0)
    }

    func testAnswerThatIsNotAudioIsNeverCached() async throws {
        let f = try ServiceFixture()
        f.tone.answer = { _ in Data("<html>oops</html>".utf8) }
        do {
            _ = try await f.service.generateOrFetch(f.request("broken"))
            XCTFail("garbage must not be stored")
        } catch let error as TTSError {
            XCTAssertEqual(error.kind, .content)
        }
        f.tone.answer = { _ in WAVAudio(format: PCMFormat(sampleRate: 16000), pcm: Data()).encoded() }
        await XCTAssertThrowsErrorAsync(try await f.service.generateOrFetch(f.request("silent")))
        XCTAssertEqual(f.files(), [])
        XCTAssertEqual(try f.service.local.index.count(ClipFilter()), 0)
    }

    /// "hi" cannot need a minute of audio: an answer far longer than its text is refused as
    /// content and nothing is stored; an answer within the bound is kept.
    func testAnswerFarLongerThanItsTextIsNotStored() async throws {
        let f = try ServiceFixture()
        f.tone.answer = { _ in WAVAudio(format: PCMFormat(sampleRate: 8000), pcm: Data(count: 8000 * 2 * 60)).encoded() }
        do {
            _ = try await f.service.generateOrFetch(f.request("hi"))
            XCTFail("a 60 s answer for 'hi' must not be stored")
        } catch let error as TTSError {
            XCTAssertEqual(error.kind, .content)
            XCTAssertTrue(error.message.contains("60 s of audio for a text of 2 Unicode scalars"), error.message)
        }
        XCTAssertEqual(f.files(), [])
        XCTAssertEqual(try f.service.local.count(matching: ClipFilter()), 0)
        f.tone.answer = { _ in WAVAudio(format: PCMFormat(sampleRate: 8000), pcm: Data(count: 8000 * 2 * 11)).encoded() }
        let kept = try await f.service.generateOrFetch(f.request("hi"))
        XCTAssertEqual(kept.tier, .engine)
    }

    func testRowWhoseBlobVanishedIsRegenerated() async throws {
        let f = try ServiceFixture()
        let first = try await f.service.generateOrFetch(f.request("fragile"))
        try FileManager.default.removeItem(at: first.path)
        let again = try await f.service.generateOrFetch(f.request("fragile"))
        XCTAssertEqual(again.tier, .engine)
        XCTAssertTrue(FileManager.default.fileExists(atPath: again.path.path))
        XCTAssertEqual(f.tone.calls, 2)
    }

    /// The row keeps the whole request, speakers included, so a dialogue clip whose file was
    /// lost is made again under the same key instead of failing.
    func testALostDialogueClipIsMadeAgainWithItsSpeakers() async throws {
        let f = try ServiceFixture()
        var request = f.request("Joe: Hi\nJane: Hello")
        request.speakers = [SpeakerVoice(name: "Joe", voice: "a"), SpeakerVoice(name: "Jane", voice: "b")]
        let first = try await f.service.generateOrFetch(request)
        XCTAssertEqual(first.clip.speakers, request.speakers)
        try FileManager.default.removeItem(at: first.path)

        let (clip, audio) = try await f.service.audio(for: first.clip)
        XCTAssertEqual(clip.key, first.clip.key)
        XCTAssertFalse(audio.isEmpty)
        XCTAssertEqual(f.tone.calls, 2, "made again by the engine")
    }

    func testIdenticalAudioForTwoRequestsIsOneBlob() async throws {
        let f = try ServiceFixture()
        let fixed = ToneEngine.tone(for: "fixed")
        f.tone.answer = { _ in fixed }
        let a = try await f.service.generateOrFetch(f.request("alpha"))
        let b = try await f.service.generateOrFetch(f.request("beta"))
        XCTAssertNotEqual(a.clip.key, b.clip.key)
        XCTAssertEqual(a.clip.blob, b.clip.blob)
        XCTAssertEqual(f.files().count, 1)
    }

    func testHitsAreCounted() async throws {
        let f = try ServiceFixture()
        let first = try await f.service.generateOrFetch(f.request("popular"))
        for _ in 0..<3 { _ = try await f.service.generateOrFetch(f.request("popular")) }
        try f.service.local.index.flush()
        XCTAssertEqual(try f.service.local.index.clip(for: first.clip.key)?.hits, 3)
    }

    func testCancelledCallerReturnsWithoutWaitingForTheEngine() async throws {
        let f = try ServiceFixture()
        f.tone.latency = .seconds(5)
        let task = Task { try await f.service.generateOrFetch(f.request("slow")) }
        try await Task.sleep(for: .milliseconds(100))
        let started = ContinuousClock.now
        task.cancel()
        do {
            _ = try await task.value
            XCTFail("a cancelled call must not succeed")
        } catch let error as TTSError {
            XCTAssertEqual(error.kind, .cancelled)
        }
        XCTAssertLessThan(started.duration(to: .now), .seconds(4), "cancellation waited for the engine")
        XCTAssertEqual(f.files(), [])
    }
}

func XCTAssertThrowsErrorAsync<T>(_ body: @autoclosure () async throws -> T, file: StaticString = #filePath, line: UInt = #line) async {
    do {
        _ = try await body()
        XCTFail("expected an error", file: file, line: line)
    } catch {}
}
