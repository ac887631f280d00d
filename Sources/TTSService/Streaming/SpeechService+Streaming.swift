import Foundation
import TTSConcurrency
import TTSCore
import TTSEngines
import TTSStore

/// Generate-or-fetch as a stream: first audio while the rest is still being made, cached only
/// when complete.
///
/// - A cached clip (local tier) is sent at once: its format, its samples in a few pieces.
/// - A miss starts one generation per key in this process, heard by every caller that asks
///   while it runs (`StreamBroadcast`): a follower receives the pieces so far, then the rest.
///   The generation runs inside the same single-flight as unary requests, so a unary request
///   for the key waits for it (and a streamed one joins a unary generation in progress), and
///   under the same Redis lock: a Redis hit, or a clip another machine finishes, is sent whole.
/// - The engine's pieces go to the listeners and to a temporary file at the same time; only a
///   stream that ends complete becomes a blob, through the unary write path (`storeGenerated`).
///   A stream that fails, is cut or ends otherwise leaves nothing in the store.
/// - The generation belongs to no caller: when every listener has gone, it still completes and
///   is cached (it is paid for). Shutdown waits for it like for any flight (`drain`).
extension SpeechService {
    /// Pieces a cached clip is sent in: the first one starts playback without the whole file
    /// having to cross an HTTP connection first.
    static let cachedPieceBytes = 64 << 10

    /// Streams the audio for `request`. Validation errors (and a failed look-up) are thrown here,
    /// before any audio; everything after — engine failures included — ends the returned
    /// sequence with an error. See `SpeechStreamEvent` for the order of events.
    ///
    /// ```swift
    /// let events = try await service.speakStreaming(AudioRequest(text: "Hello", engine: "gemini", model: ""))
    /// for try await event in events { … }
    /// ```
    public func speakStreaming(_ request: AudioRequest) async throws -> AsyncThrowingStream<SpeechStreamEvent, Error> {
        let asked = ContinuousClock.now
        let resolved = try await prepare(request)
        let key = RequestKey(resolved)
        if let clip = try local.clip(for: key), let audio = await cachedAudio(of: clip) {
            local.recordHit(key)
            _ = finish(clip, tier: .local, started: asked)
            return sendingAtOnce(clip, audio, tier: .local, asked: asked)
        }
        let (broadcast, isNew) = streams.join(key) { StreamBroadcast(key: key, metrics: metrics) }
        let events = broadcast.listen(asked: asked, isFollower: !isNew)
        if isNew {
            metrics.recordStream(.started)
            // Unstructured on purpose: the generation outlives a caller who stops listening.
            Task { await produce(broadcast, request: resolved) }
        } else {
            metrics.recordFollowerJoined()
        }
        return events
    }

    /// Streams being generated now in this process.
    public var streamsInProgress: Int { streams.count }

    /// Runs one streamed generation for every listener of `broadcast`, then lets it go.
    private func produce(_ broadcast: StreamBroadcast, request: AudioRequest) async {
        let key = broadcast.key
        do {
            let generation = try await flights.run(key) { [self] in
                if let clip = try local.clip(for: key) {
                    return Generation(clip: clip, tier: .local, path: local.url(for: clip), elapsedMs: 0)
                }
                return try await fetchSharedOrGenerate(request, key: key) { request, key in
                    try await self.generateStreaming(request, key: key, into: broadcast)
                }
            }
            // Made elsewhere (a unary flight, Redis, the local tier meanwhile): send it whole.
            if !broadcast.hasStarted {
                guard let audio = await cachedAudio(of: generation.clip) else {
                    throw TTSError.store("the clip for request \(key.short) was stored but cannot be read back; ask again to regenerate it")
                }
                broadcast.start(SpeechStreamStart(key: key, format: audio.format, tier: generation.tier))
                for piece in Self.pieces(of: audio) { broadcast.send(piece) }
            }
            metrics.recordStream(.completed)
            // Out of the registry before anyone hears the end: a listener that asks again at
            // once must start a new stream (or hit the cache), not join this finished one and
            // hear its failure replayed.
            streams.remove(broadcast)
            broadcast.finish(.success(generation.clip))
        } catch {
            metrics.recordStream(.failed)
            streams.remove(broadcast)
            broadcast.finish(.failure(error))
        }
    }

    /// The engine's stream, teed to the listeners and to a temporary file; a complete stream
    /// is stored through the unary write path.
    private func generateStreaming(_ request: AudioRequest, key: RequestKey,
                                   into broadcast: StreamBroadcast) async throws -> Generation {
        let engine = try engines.engine(named: request.engine)
        let started = ContinuousClock.now
        // The engine starts at once (its stream runs its own task); the temporary file is
        // opened while it works on its first chunk, not before the call.
        let chunks = engine.stream(request)
        var spool: StreamSpool?
        var format: PCMFormat?
        let pcm: Data
        do {
            spool = try await StreamSpool.create(in: local.layout.tmpURL, for: key)
            for try await chunk in chunks {
                switch chunk {
                case let .format(announced):
                    guard format == nil else { continue }
                    format = announced
                    broadcast.start(SpeechStreamStart(key: key, format: announced, tier: .engine))
                case let .audio(piece):
                    guard format != nil else {
                        throw TTSError(.internal, "\(request.engine) streamed audio before its format for request \(key.short); report this")
                    }
                    broadcast.send(piece)
                    spool!.append(piece)
                }
            }
            guard format != nil else {
                throw TTSError(.api, "\(request.engine) ended the stream for request \(key.short) without any audio; try again")
            }
            pcm = try await spool!.contents()
            await spool!.discard()
        } catch {
            // Removed before the listeners hear of the failure: nothing is left behind.
            await spool?.discard()
            recordEngineFailure(error, request: request, key: key, started: started)
            throw error
        }
        let wav = WAVAudio(format: format!, pcm: pcm).encoded()
        metrics.recordEngineCall(error: nil, seconds: started.duration(to: .now).seconds, bytes: wav.count)
        return try await storeGenerated(wav, for: request, key: key, engineStarted: started)
    }

    /// A stored clip's samples, hash-checked; nil when the blob is damaged (then quarantined,
    /// and the request is a miss) or unreadable.
    private func cachedAudio(of clip: Clip) async -> WAVAudio? {
        try? await Blocking.run { [local] in try WAVAudio.decode(local.verifiedAudio(of: clip)) }
    }

    private func sendingAtOnce(_ clip: Clip, _ audio: WAVAudio, tier: Tier,
                               asked: ContinuousClock.Instant) -> AsyncThrowingStream<SpeechStreamEvent, Error> {
        let (stream, continuation) = AsyncThrowingStream<SpeechStreamEvent, Error>.makeStream()
        continuation.yield(.started(SpeechStreamStart(key: clip.key, format: audio.format, tier: tier)))
        for piece in Self.pieces(of: audio) { continuation.yield(.audio(piece)) }
        metrics.recordFirstAudio(tier: tier, seconds: asked.duration(to: .now).seconds)
        continuation.yield(.finished(clip))
        continuation.finish()
        return stream
    }

    /// The samples in pieces of at most `cachedPieceBytes`, each a whole number of frames.
    private static func pieces(of audio: WAVAudio) -> [Data] {
        let pcm = audio.pcm
        let size = cachedPieceBytes - cachedPieceBytes % max(1, audio.format.bytesPerFrame)
        return stride(from: 0, to: pcm.count, by: size).map { pcm.subdata(in: pcm.startIndex + $0..<pcm.startIndex + min($0 + size, pcm.count)) }
    }
}
