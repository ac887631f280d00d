import Foundation
import TTSCore
import TTSService
@testable import TTSServer

/// A `SpeechBackend` double for the faces' tests: records every request and format asked for,
/// answers with one small WAV file in a temporary folder (removed by `cleanUp`), and fails on
/// demand.
final class RecordingBackend: SpeechBackend, @unchecked Sendable {
    let defaults: RequestDefaults
    let folder: URL
    let wavURL: URL
    let wav: WAVAudio
    /// Which tier the next answers claim.
    var tier: Tier = .engine
    /// Thrown by `speak` when set.
    var speakError: TTSError?
    /// Ends `speakStreaming`'s sequence after its first piece when set.
    var streamFailure: TTSError?
    /// Formats `audio(of:as:)` can encode; others throw a validation error as the real backend does.
    var encodable: Set<String> = []

    private let lock = NSLock()
    private var _requests: [AudioRequest] = []
    private var _formats: [DeliveryFormat] = []
    var requests: [AudioRequest] { lock.withLock { _requests } }
    var formats: [DeliveryFormat] { lock.withLock { _formats } }

    init(defaults: RequestDefaults, sampleRate: Int = 24_000) throws {
        self.defaults = defaults
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("faces-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        // 0.1 s of a ramp: distinct, non-zero samples, so a shifted or truncated copy shows.
        var pcm = Data()
        for i in 0..<(sampleRate / 10) {
            let sample = Int16(truncatingIfNeeded: i * 37)
            withUnsafeBytes(of: sample.littleEndian) { pcm.append(contentsOf: $0) }
        }
        wav = WAVAudio(format: PCMFormat(sampleRate: sampleRate), pcm: pcm)
        wavURL = folder.appendingPathComponent("clip.wav")
        try wav.encoded().write(to: wavURL)
    }

    func cleanUp() {
        try? FileManager.default.removeItem(at: folder)
    }

    func speak(_ request: AudioRequest) async throws -> Generation {
        lock.withLock { _requests.append(request) }
        if let speakError { throw speakError }
        let bytes = wav.encoded()
        let clip = Clip(key: RequestKey(request), blob: BlobHash(of: bytes), request: request, bytes: bytes.count,
                        durationMs: wav.durationMs, sampleRate: wav.format.sampleRate)
        return Generation(clip: clip, tier: tier, path: wavURL, elapsedMs: 1)
    }

    /// Streams the clip's samples in two pieces; with `streamFailure` set, ends with it after the first.
    func speakStreaming(_ request: AudioRequest) async throws -> AsyncThrowingStream<SpeechStreamEvent, Error> {
        let generation = try await speak(request)
        let pcm = wav.pcm, failure = streamFailure
        return AsyncThrowingStream { continuation in
            continuation.yield(.started(SpeechStreamStart(key: generation.clip.key, format: wav.format, tier: generation.tier)))
            let half = pcm.count / 4 * 2
            continuation.yield(.audio(pcm.subdata(in: 0..<half)))
            if let failure { return continuation.finish(throwing: failure) }
            continuation.yield(.audio(pcm.subdata(in: half..<pcm.count)))
            continuation.yield(.finished(generation.clip))
            continuation.finish()
        }
    }

    func audio(of generation: Generation, as format: DeliveryFormat) async throws -> DeliveredAudio {
        lock.withLock { _formats.append(format) }
        switch format {
        case .wav:
            return DeliveredAudio(content: .file(path: generation.path.path, length: wav.encoded().count), mimeType: "audio/wav")
        case .pcm(let rate):
            return DeliveredAudio(content: .bytes(wav.pcm), mimeType: "audio/L16;rate=\(rate)")
        case .encoded(let name):
            guard encodable.contains(name) else {
                throw TTSError.validation("format", "format '\(name)' cannot be made here; available: wav, pcm")
            }
            return DeliveredAudio(content: .bytes(Data("encoded \(name)".utf8)), mimeType: "audio/\(name)")
        }
    }
}

extension ServerResponse {
    /// The body's bytes (in memory or read from its file).
    func bodyBytes() throws -> Data {
        switch body {
        case .empty: return Data()
        case .bytes(let data): return data
        case .file(let path, let offset, let length):
            return try Data(contentsOf: URL(fileURLWithPath: path)).subdata(in: offset..<(offset + length))
        case .stream:
            throw TTSError(.api, "a streamed body is read over HTTP, not here")
        }
    }

    /// The body's bytes, a stream read to its end (throwing what ends it).
    func collectedBody() async throws -> Data {
        guard case .stream(let pieces) = body else { return try bodyBytes() }
        var collected = Data()
        for try await piece in pieces { collected.append(piece) }
        return collected
    }

    /// The body parsed as JSON.
    func json() throws -> JSONValue {
        try JSONValue.parse(String(decoding: try bodyBytes(), as: UTF8.self))
    }
}

func jsonRequest(_ path: String, _ body: String) -> ServerRequest {
    ServerRequest(method: "POST", path: path, headers: [("Content-Type", "application/json")], body: Data(body.utf8))
}
