import Foundation
import TTSCore

/// Streaming synthesis: `streamGenerateContent?alt=sse`, read as it arrives.
///
/// Until the first audio chunk has arrived, an attempt is like a unary call: an HTTP error, a
/// broken connection, an error event or a stream cut short before any audio is retried (or ends
/// with a quota, auth or content error) by the same rules. Once audio has been passed on, a
/// failure ends the sequence with an error: the caller has played part of the clip, and a new
/// attempt would not continue it. The call holds its pacing slot until the stream ends.
extension GeminiEngine {
    /// Models that cannot stream (the 2.5 previews) are called unary and seen as one chunk.
    public static func canStream(model: String) -> Bool { !model.hasPrefix("gemini-2.5") }

    public func stream(_ request: AudioRequest) -> AsyncThrowingStream<AudioChunk, Error> {
        let model = request.model.isEmpty ? configuration.model : request.model
        guard Self.canStream(model: model) else { return streamBySynthesizing(request) }
        let url = "\(configuration.baseURL)/v1beta/models/\(model):streamGenerateContent?alt=sse"
        let label = RequestLabel(request)
        let body = GeminiRequestBody(request).encoded()
        return AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    let opened = try await attempting(label, url: url, body: body) { http, key in
                        await open(http, label: label, key: key)
                    }
                    do {
                        try await opened.relay(to: continuation)
                        await pacer.release()
                        continuation.finish()
                    } catch {
                        await pacer.release()
                        throw error
                    }
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// One paced attempt: sends the request and reads until the first audio chunk. On success
    /// the pacing slot stays taken (the stream's relay releases it).
    private func open(_ http: HTTPRequest, label: RequestLabel, key: String) async -> Result<OpenedGeminiStream, AttemptFailure> {
        do {
            try await pacer.acquire()
        } catch {
            return .failure(AttemptFailure(error: Self.cancelled(label), next: .stop))
        }
        let outcome: Result<OpenedGeminiStream, AttemptFailure>
        do {
            let response = try await transport.stream(http)
            if response.status == 200 {
                let opened = OpenedGeminiStream(response.body, reader: GeminiStreamReader(label: label, key: key))
                outcome = try await opened.readUntilAudio().map { opened }
            } else {
                var body = Data()
                for try await piece in response.body where body.count < 1 << 20 { body.append(piece) }
                outcome = .failure(GeminiAnswer.failure(status: response.status, body: body, label: label, key: key))
            }
        } catch let failure as HTTPFailure {
            outcome = .failure(Self.transportFailure(failure, label: label))
        } catch {
            outcome = .failure(AttemptFailure(error: TTSError(.api, "Gemini \(label) failed: \(error)"), next: .retry(after: nil)))
        }
        if case .failure = outcome { await pacer.release() }
        return outcome
    }
}

/// A streamed answer that has delivered its first audio: the chunks read so far, and the rest
/// of the body still to read. Used by one task at a time.
final class OpenedGeminiStream: @unchecked Sendable {
    private var body: AsyncThrowingStream<Data, Error>.Iterator
    private var reader: GeminiStreamReader
    private var ready: [AudioChunk] = []
    private var ended = false
    private var audioChunks = 0

    init(_ body: AsyncThrowingStream<Data, Error>, reader: GeminiStreamReader) {
        self.body = body.makeAsyncIterator()
        self.reader = reader
    }

    /// Reads until audio has arrived or the body ended complete; a failure before that is the
    /// attempt's failure. Throws `HTTPFailure` when the transfer breaks.
    func readUntilAudio() async throws -> Result<Void, AttemptFailure> {
        while !reader.sentAudio && !ended {
            if let failure = try await step() { return .failure(failure) }
        }
        return .success(())
    }

    /// Passes every chunk on, then reads and passes the rest as it arrives. Throws when the
    /// stream breaks off or ends incomplete.
    func relay(to continuation: AsyncThrowingStream<AudioChunk, Error>.Continuation) async throws {
        while true {
            for chunk in ready {
                if case .audio = chunk { audioChunks += 1 }
                continuation.yield(chunk)
            }
            ready.removeAll()
            if ended { return }
            if Task.isCancelled { throw GeminiEngine.cancelled(reader.label) }
            do {
                if let failure = try await step() { throw failure.error }
            } catch let failure as HTTPFailure {
                var error = GeminiEngine.transportFailure(failure, label: reader.label).error
                error.message += " (the stream broke off after \(audioChunks) audio chunk(s))"
                throw error
            }
        }
    }

    /// One body piece (or the end): its chunks join `ready`; returns the failure it revealed.
    private func step() async throws -> AttemptFailure? {
        let result: Result<[AudioChunk], AttemptFailure>
        if let piece = try await body.next() {
            result = reader.push(piece)
        } else {
            if Task.isCancelled { return AttemptFailure(error: GeminiEngine.cancelled(reader.label), next: .stop) }
            ended = true
            result = reader.finish()
        }
        switch result {
        case let .success(chunks):
            ready.append(contentsOf: chunks)
            return nil
        case let .failure(failure):
            return failure
        }
    }
}
