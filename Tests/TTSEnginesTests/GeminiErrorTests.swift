import FakeGeminiServer
import Foundation
import TTSCore
import XCTest
@testable import TTSEngines

/// Every row of the fact sheet's error table, and the 200 answers without usable audio: the
/// `TTSError` kind, whether it was retried, and a message naming the request, the status and
/// Google's words — never the key.
final class GeminiErrorTests: XCTestCase {
    func testUnknownVoiceAnswered400IsAValidationErrorNotRetried() async throws {
        let server = try startFakeGemini()
        let engine = makeEngine(server)
        var request = try await resolvedRequest(engine)
        request.voice = "Bob"  // past resolve, so the server judges it
        let error = await synthesisError(engine, request)
        XCTAssertEqual(error?.kind, .validation)
        XCTAssertEqual(error?.httpStatus, 400)
        XCTAssertTrue(error?.message.contains("HTTP 400 INVALID_ARGUMENT: Voice name Bob is not supported") ?? false, error?.message ?? "")
        XCTAssertTrue(error?.message.contains("Have a wonderful day!") ?? false)
        XCTAssertEqual(server.counters().requests, 1)
    }

    func testInvalidKeyIsAnAuthErrorWithGooglesMessage() async throws {
        let server = try startFakeGemini(.init(invalidKeys: [primaryKey]))
        let error = await synthesisError(makeEngine(server), try await resolvedRequest(makeEngine(server)))
        XCTAssertEqual(error?.kind, .auth)
        XCTAssertEqual(error?.httpStatus, 400)
        XCTAssertTrue(error?.message.contains("API key not valid") ?? false, error?.message ?? "")
        XCTAssertTrue(error?.message.contains(redactedKey(primaryKey)) ?? false)
        XCTAssertEqual(server.counters().requests, 1)
    }

    func testFailedPreconditionIsAnAuthErrorNotRetried() async throws {
        let server = try startFakeGemini()
        server.inject(FaultSpec(.status(400), count: nil, googleStatus: "FAILED_PRECONDITION",
                                message: "User location is not supported for the API use."))
        let engine = makeEngine(server)
        let error = await synthesisError(engine, try await resolvedRequest(engine))
        XCTAssertEqual(error?.kind, .auth)
        XCTAssertTrue(error?.message.contains("HTTP 400 FAILED_PRECONDITION: User location is not supported") ?? false, error?.message ?? "")
        XCTAssertEqual(server.counters().requests, 1)
    }

    func testPermissionDeniedIsAnAuthErrorNotRetried() async throws {
        let server = try startFakeGemini()
        server.inject(FaultSpec(.status(403), count: nil))
        let engine = makeEngine(server)
        let error = await synthesisError(engine, try await resolvedRequest(engine))
        XCTAssertEqual(error?.kind, .auth)
        XCTAssertTrue(error?.message.contains("HTTP 403 PERMISSION_DENIED") ?? false, error?.message ?? "")
        XCTAssertEqual(server.counters().requests, 1)
    }

    func testNoConfiguredKeyIsAnAuthErrorAndNothingIsSent() async throws {
        let server = try startFakeGemini()
        let engine = makeEngine(server, keys: [])
        let error = await synthesisError(engine, try await resolvedRequest(engine))
        XCTAssertEqual(error?.kind, .auth)
        XCTAssertTrue(error?.message.contains("no API key") ?? false)
        XCTAssertEqual(server.counters().requests, 0)
    }

    func testUnknownModelIsAValidationErrorOnTheModelField() async throws {
        let server = try startFakeGemini()
        let engine = makeEngine(server)
        let error = await synthesisError(engine, try await resolvedRequest(engine, model: "gemini-9.9-tts"))
        XCTAssertEqual(error?.kind, .validation)
        XCTAssertEqual(error?.field, "model")
        XCTAssertTrue(error?.message.contains("HTTP 404 NOT_FOUND: models/gemini-9.9-tts is not found for API version v1beta") ?? false, error?.message ?? "")
        XCTAssertEqual(server.counters().requests, 1)
    }

    func testTransientStatusesAreRetriedThenReportedAsApiErrors() async throws {
        for status in [408, 499, 500, 502, 503, 504] {
            let server = try startFakeGemini()
            server.inject(FaultSpec(.status(status), count: nil))
            let clock = ManualClock()
            let engine = makeEngine(server, clock: clock)
            let error = await synthesisError(engine, try await resolvedRequest(engine))
            XCTAssertEqual(error?.kind, .api, "status \(status)")
            XCTAssertEqual(error?.httpStatus, status)
            XCTAssertTrue(error?.message.contains("HTTP \(status)") ?? false, error?.message ?? "")
            XCTAssertTrue(error?.message.contains("gave up after 3 attempts") ?? false, error?.message ?? "")
            XCTAssertEqual(server.counters().requests, 3, "status \(status)")
            XCTAssertEqual(clock.recordedSleeps.count, 2)
        }
    }

    func testA500IsRetriedUntilAudioArrives() async throws {
        let server = try startFakeGemini()
        server.inject(FaultSpec(.status(500), count: 2))
        let engine = makeEngine(server)
        let wav = try await engine.synthesize(try await resolvedRequest(engine))
        XCTAssertNoThrow(try WAVAudio.decode(wav))
        XCTAssertEqual(server.counters().requests, 3)
    }

    func testRateLimitIsRetriedAfterTheAskedDelayThenReportedAsQuota() async throws {
        let server = try startFakeGemini()
        server.inject(FaultSpec(.status(429), count: nil, retryDelay: "2.5s"))
        let clock = ManualClock()
        let engine = makeEngine(server, clock: clock)
        let error = await synthesisError(engine, try await resolvedRequest(engine))
        XCTAssertEqual(error?.kind, .quota)
        XCTAssertEqual(error?.retryAfter, 2.5)
        XCTAssertTrue(error?.message.contains("HTTP 429 RESOURCE_EXHAUSTED: You exceeded your current quota") ?? false, error?.message ?? "")
        XCTAssertEqual(clock.recordedSleeps, [2.5, 2.5], "RetryInfo.retryDelay replaces the backoff")
        XCTAssertEqual(server.counters().requests, 3)
    }

    func testRateLimitAskingForMoreThanTheMaximumFailsFastSayingHowLong() async throws {
        let server = try startFakeGemini()
        server.inject(FaultSpec(.status(429), count: nil, retryDelay: "45.837906927s"))
        let clock = ManualClock()
        let engine = makeEngine(server, retry: RetryPolicy(maxServerDelay: .seconds(30)), clock: clock)
        let error = await synthesisError(engine, try await resolvedRequest(engine))
        XCTAssertEqual(error?.kind, .quota)
        XCTAssertEqual(error?.retryAfter ?? 0, 45.837906927, accuracy: 1e-9)
        XCTAssertTrue(error?.message.contains("wait 46 s") ?? false, error?.message ?? "")
        XCTAssertEqual(clock.recordedSleeps, [])
        XCTAssertEqual(server.counters().requests, 1)
    }

    func testPerDayQuotaWithOneKeyIsAQuotaErrorNotRetried() async throws {
        let server = try startFakeGemini()
        server.inject(FaultSpec(.shape("per-day-429"), count: nil))
        let clock = ManualClock()
        let engine = makeEngine(server, clock: clock)
        let error = await synthesisError(engine, try await resolvedRequest(engine))
        XCTAssertEqual(error?.kind, .quota)
        XCTAssertEqual(error?.httpStatus, 429)
        XCTAssertTrue(error?.message.contains("out of daily quota") ?? false, error?.message ?? "")
        XCTAssertTrue(error?.message.contains("You exceeded your current quota") ?? false, error?.message ?? "")
        XCTAssertEqual(server.counters().requests, 1)
        XCTAssertEqual(clock.recordedSleeps, [])
    }

    func testEmptyContentWithFinishReasonOtherIsRetried() async throws {
        let server = try startFakeGemini()
        server.inject(FaultSpec(.shape("empty-other"), count: 2))
        let engine = makeEngine(server)
        _ = try await engine.synthesize(try await resolvedRequest(engine))
        XCTAssertEqual(server.counters().requests, 3)

        server.inject(FaultSpec(.shape("empty-other"), count: nil))
        let error = await synthesisError(engine, try await resolvedRequest(engine))
        XCTAssertEqual(error?.kind, .api)
        XCTAssertTrue(error?.message.contains("HTTP 200") ?? false)
        XCTAssertTrue(error?.message.contains("finishReason OTHER") ?? false, error?.message ?? "")
    }

    func testTextInsteadOfAudioIsAContentErrorNotRetried() async throws {
        let server = try startFakeGemini()
        server.inject(FaultSpec(.shape("text-instead-of-audio"), count: nil))
        let engine = makeEngine(server)
        let error = await synthesisError(engine, try await resolvedRequest(engine))
        XCTAssertEqual(error?.kind, .content)
        XCTAssertTrue(error?.message.contains("text instead of audio") ?? false, error?.message ?? "")
        XCTAssertTrue(error?.message.contains("I'm sorry") ?? false, "Google's words are quoted")
        XCTAssertEqual(server.counters().requests, 1)
    }

    func testBlockedPromptIsAContentErrorNamingTheReason() async throws {
        let server = try startFakeGemini()
        server.inject(FaultSpec(.shape("blocked"), count: nil))
        let engine = makeEngine(server)
        let error = await synthesisError(engine, try await resolvedRequest(engine))
        XCTAssertEqual(error?.kind, .content)
        XCTAssertTrue(error?.message.contains("blockReason SAFETY") ?? false, error?.message ?? "")
        XCTAssertEqual(server.counters().requests, 1)
    }

    func testTruncatedAudioIsRetriedAndNeverReturned() async throws {
        let server = try startFakeGemini()
        server.inject(FaultSpec(.shape("truncated"), count: nil))
        let engine = makeEngine(server)
        let error = await synthesisError(engine, try await resolvedRequest(engine))
        XCTAssertEqual(error?.kind, .api)
        XCTAssertTrue(error?.message.contains("cut short") ?? false, error?.message ?? "")
        XCTAssertEqual(server.counters().requests, 3)
    }

    func testInvalidBase64IsAnApiErrorAndRetried() async throws {
        let server = try startFakeGemini()
        server.inject(FaultSpec(.shape("bad-base64"), count: nil))
        let engine = makeEngine(server)
        let error = await synthesisError(engine, try await resolvedRequest(engine))
        XCTAssertEqual(error?.kind, .api)
        XCTAssertTrue(error?.message.contains("not valid base64") ?? false, error?.message ?? "")
        XCTAssertEqual(server.counters().requests, 3)
    }

    func testThirtyMegabyteAnswerIsDecoded() async throws {
        let server = try startFakeGemini()
        server.inject(FaultSpec(.shape("huge")))
        let engine = makeEngine(server)
        let wav = try await engine.synthesize(try await resolvedRequest(engine))
        let audio = try WAVAudio.decode(wav)
        XCTAssertEqual(audio.pcm.count, 22_500_000)
        XCTAssertEqual(audio.format, PCMFormat(sampleRate: 24_000))
    }

    func testSilentServerTimesOutAsAnApiError() async throws {
        let server = try startFakeGemini()
        server.inject(FaultSpec(.shape("hang"), count: nil))
        let engine = makeEngine(server, retry: RetryPolicy(attempts: 1), timeout: .milliseconds(300))
        let error = await synthesisError(engine, try await resolvedRequest(engine))
        XCTAssertEqual(error?.kind, .api)
        XCTAssertTrue(error?.message.contains("no complete answer") ?? false, error?.message ?? "")
    }

    func testClosedPortIsAnApiErrorSayingItCouldNotConnect() async throws {
        let server = try startFakeGemini()
        let engine = makeEngine(server, retry: RetryPolicy(attempts: 2))
        let request = try await resolvedRequest(engine)
        server.stop()  // the port is now closed
        let error = await synthesisError(engine, request)
        XCTAssertEqual(error?.kind, .api)
        XCTAssertTrue(error?.message.contains("could not connect") ?? false, error?.message ?? "")
    }

    func testCancellingDuringAHangingTransferReturnsCancelled() async throws {
        let server = try startFakeGemini()
        server.inject(FaultSpec(.shape("hang"), count: nil))
        let engine = makeEngine(server, timeout: .seconds(60))
        let request = try await resolvedRequest(engine)
        let call = Task { try await engine.synthesize(request) }
        for _ in 0..<500 where server.counters().requests == 0 {
            try await Task.sleep(for: .milliseconds(10))
        }
        XCTAssertEqual(server.counters().requests, 1, "the request reached the server")
        call.cancel()
        do {
            _ = try await call.value
            XCTFail("a cancelled call returned audio")
        } catch let error as TTSError {
            XCTAssertEqual(error.kind, .cancelled, error.message)
            XCTAssertTrue(error.message.contains(RequestKey(request).short))
        }
        XCTAssertEqual(server.counters().requests, 1, "a cancelled call is not retried")
    }
}
