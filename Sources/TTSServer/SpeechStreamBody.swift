import Foundation
import TTSCore
import TTSService

/// A speech stream turned into an HTTP body, split at its start: the answer's headers need the
/// key, tier and format that `.started` carries, and an error before it is still a plain error
/// answer. Every face frames the pieces its own way (WAV header, raw PCM, SSE events).
struct SpeechStreamBody: Sendable {
    let start: SpeechStreamStart
    /// The framed bytes: `head`, one `piece` per audio piece, `tail`; a failure after the start
    /// either ends it with `failure`'s bytes (an error event) or, when that is nil, with the
    /// error itself (the transfer is cut).
    let body: AsyncThrowingStream<Data, Error>

    /// Waits for `.started` (throwing what ends the stream before it), then forwards the rest.
    /// A client that goes away stops the forwarding, not the generation.
    ///
    /// ```swift
    /// let stream = try await SpeechStreamBody.open(events) { WAVAudio.streamingHeader(for: $0.format) }
    /// return ServerResponse(status: 200, body: .stream(stream.body))
    /// ```
    static func open(_ events: AsyncThrowingStream<SpeechStreamEvent, Error>,
                     head: @escaping @Sendable (SpeechStreamStart) -> Data,
                     piece: @escaping @Sendable (SpeechStreamStart, Data) -> Data = { $1 },
                     tail: @escaping @Sendable (SpeechStreamStart) -> Data = { _ in Data() },
                     failure: @escaping @Sendable (SpeechStreamStart, Error) -> Data? = { _, _ in nil }) async throws -> SpeechStreamBody {
        let (body, output) = AsyncThrowingStream<Data, Error>.makeStream()
        return try await withCheckedThrowingContinuation { (opened: CheckedContinuation<SpeechStreamBody, Error>) in
            let forwarding = Task {
                var started: SpeechStreamStart?
                do {
                    for try await event in events {
                        switch event {
                        case .started(let start):
                            started = start
                            output.yield(head(start))
                            opened.resume(returning: SpeechStreamBody(start: start, body: body))
                        case .audio(let pcm):
                            if let started { output.yield(piece(started, pcm)) }
                        case .finished:
                            break
                        }
                    }
                    guard let started else {
                        throw TTSError(.api, "the speech stream ended before it started; ask again")
                    }
                    output.yield(tail(started))
                    output.finish()
                } catch {
                    guard let started else { return opened.resume(throwing: error) }
                    if let last = failure(started, error) {
                        output.yield(last)
                        output.finish()
                    } else {
                        output.finish(throwing: error)
                    }
                }
            }
            output.onTermination = { _ in forwarding.cancel() }
        }
    }
}
