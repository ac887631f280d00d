import Foundation
import Synchronization
import XCTest
import TTSCore
import TTSEngines
@testable import TTSService

/// An engine that streams a clip in pieces only as the test releases them, so a test can put a
/// second caller exactly in the middle of a stream. Counts its calls; can fail after N pieces.
final class GatedStreamEngine: SpeechEngine, @unchecked Sendable {
    let name = "gated"
    let defaultModel = "gated-1"
    static let format = PCMFormat(sampleRate: 16_000)
    static let pieceCount = 6
    static let pieceBytes = 3_200  // 100 ms

    private struct State {
        var calls = 0
        var permits = 0
        var waiter: CheckedContinuation<Void, Never>?
        /// The next call fails after this many pieces (then it is cleared).
        var failAfter: Int?
    }
    private let state = Mutex(State())

    var calls: Int { state.withLock { $0.calls } }
    func failNextCall(afterPieces pieces: Int) { state.withLock { $0.failAfter = pieces } }

    /// Lets `count` more pieces out.
    func release(_ count: Int = GatedStreamEngine.pieceCount) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.permits += count
            guard let waiter = state.waiter else { return nil }
            state.waiter = nil
            state.permits -= 1  // taken by the waiting piece
            return waiter
        }
        waiter?.resume()
    }

    private func nextPermit() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = state.withLock { state -> Bool in
                if state.permits > 0 {
                    state.permits -= 1
                    return true
                }
                state.waiter = continuation
                return false
            }
            if ready { continuation.resume() }
        }
    }

    func voices() async throws -> [VoiceInfo] { [VoiceInfo(name: "a")] }

    func resolve(_ request: AudioRequest) async throws -> AudioRequest {
        var resolved = request
        if resolved.voice.isEmpty { resolved.voice = "a" }
        if resolved.model.isEmpty { resolved.model = defaultModel }
        return resolved
    }

    /// Unary calls wait for the same permits, one per piece.
    func synthesize(_ request: AudioRequest) async throws -> Data {
        state.withLock { $0.calls += 1 }
        for _ in 0..<Self.pieceCount { await nextPermit() }
        return WAVAudio(format: Self.format, pcm: Self.pcm(for: request.text)).encoded()
    }

    func stream(_ request: AudioRequest) -> AsyncThrowingStream<AudioChunk, Error> {
        let failAfter = state.withLock { state -> Int? in
            state.calls += 1
            defer { state.failAfter = nil }
            return state.failAfter
        }
        return AsyncThrowingStream { continuation in
            Task {
                continuation.yield(.format(Self.format))
                let pcm = Self.pcm(for: request.text)
                for index in 0..<Self.pieceCount {
                    await nextPermit()
                    if index == failAfter {
                        continuation.finish(throwing: TTSError(.api, "gated engine: the stream broke off after \(index) pieces"))
                        return
                    }
                    continuation.yield(.audio(pcm.subdata(in: index * Self.pieceBytes..<(index + 1) * Self.pieceBytes)))
                }
                continuation.finish()
            }
        }
    }

    /// Distinct, non-silent samples per text.
    static func pcm(for text: String) -> Data {
        let seed = SHA256.hash(text).bytes
        return Data((0..<pieceCount * pieceBytes).map { UInt8(truncatingIfNeeded: Int(seed[$0 % 32]) &+ $0 / 7) })
    }
}

/// What a service stream delivered.
struct HeardStream {
    var start: SpeechStreamStart?
    var pieces: [Data] = []
    var clip: Clip?
    var error: Error?
    var pcm: Data { pieces.reduce(into: Data()) { $0.append($1) } }
}

/// Reads `events` to the end (or, with `stopAfterAudio`, until that many pieces were heard).
func listen(_ events: AsyncThrowingStream<SpeechStreamEvent, Error>, stopAfterAudio: Int? = nil) async -> HeardStream {
    var heard = HeardStream()
    do {
        for try await event in events {
            switch event {
            case let .started(start):
                XCTAssertNil(heard.start, "started is sent once")
                heard.start = start
            case let .audio(pcm):
                XCTAssertNotNil(heard.start, "audio before started")
                heard.pieces.append(pcm)
                if heard.pieces.count == stopAfterAudio { return heard }
            case let .finished(clip):
                XCTAssertNil(heard.clip)
                heard.clip = clip
            }
        }
    } catch {
        heard.error = error
    }
    return heard
}

extension ServiceFixture {
    /// The fixture's service with the gated engine registered too.
    static func withGatedEngine() throws -> (ServiceFixture, GatedStreamEngine) {
        let gated = GatedStreamEngine()
        return (try ServiceFixture(extraEngines: [gated]), gated)
    }

    /// Files left in the store's tmp folder.
    func tmpFiles() -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: layout.tmpURL.path)) ?? []
    }
}
