import Foundation
import Synchronization
import TTSCore

/// One generation in progress, heard by any number of listeners: every listener receives every
/// piece from the start (the pieces so far at once, then the rest as they come), so the Nth
/// caller for a key that is still streaming costs no engine call (Home Assistant shares a
/// synthesis in progress the same way).
///
/// The producer calls `start`, `send` for each piece, and `finish` once; a listener that goes
/// away (its stream terminated) is dropped without affecting the others or the producer. The
/// pieces are kept in memory until the generation ends, for listeners that join late.
final class StreamBroadcast: Sendable {
    let key: RequestKey
    private let metrics: ServiceMetrics
    private let state = Mutex(State())

    private struct State {
        var start: SpeechStreamStart?
        var pieces: [Data] = []
        var listeners: [Int: Listener] = [:]
        var nextID = 0
        var outcome: Result<Clip, Error>?
    }

    private struct Listener {
        var continuation: AsyncThrowingStream<SpeechStreamEvent, Error>.Continuation
        /// When the listener asked, for its time to first audio.
        var asked: ContinuousClock.Instant
        var isFollower: Bool
        var heardAudio = false
    }

    init(key: RequestKey, metrics: ServiceMetrics) {
        self.key = key
        self.metrics = metrics
    }

    /// Whether the producer has sent the format (and so may have sent audio).
    var hasStarted: Bool { state.withLock { $0.start != nil } }

    /// A new listener's stream: what was sent so far, then the rest live.
    func listen(asked: ContinuousClock.Instant, isFollower: Bool) -> AsyncThrowingStream<SpeechStreamEvent, Error> {
        let (stream, continuation) = AsyncThrowingStream<SpeechStreamEvent, Error>.makeStream()
        let ended: Result<Clip, Error>? = state.withLock { state in
            var listener = Listener(continuation: continuation, asked: asked, isFollower: isFollower)
            if let start = state.start {
                continuation.yield(.started(Self.start(start, isFollower: isFollower)))
                for piece in state.pieces { deliver(piece, to: &listener, tier: start.tier) }
            }
            if let outcome = state.outcome { return outcome }
            let id = state.nextID
            state.nextID += 1
            state.listeners[id] = listener
            // Called on the listener's side (outside this lock) when it stops listening.
            continuation.onTermination = { [weak self] _ in
                _ = self?.state.withLock { $0.listeners.removeValue(forKey: id) }
            }
            return nil
        }
        if let ended { end(continuation, with: ended, asked: asked) }
        return stream
    }

    func start(_ start: SpeechStreamStart) {
        state.withLock { state in
            guard state.start == nil, state.outcome == nil else { return }
            state.start = start
            for listener in state.listeners.values {
                listener.continuation.yield(.started(Self.start(start, isFollower: listener.isFollower)))
            }
        }
    }

    func send(_ piece: Data) {
        guard !piece.isEmpty else { return }
        state.withLock { state in
            guard let start = state.start, state.outcome == nil else { return }
            state.pieces.append(piece)
            for id in state.listeners.keys { deliver(piece, to: &state.listeners[id]!, tier: start.tier) }
        }
    }

    /// Ends every listener's stream: `.finished(clip)` after the audio, or the error.
    func finish(_ outcome: Result<Clip, Error>) {
        let listeners = state.withLock { state -> [Listener] in
            guard state.outcome == nil else { return [] }
            // The pieces stay: a listener joining before the registry drops this broadcast
            // still hears the whole clip.
            state.outcome = outcome
            defer { state.listeners.removeAll() }
            return Array(state.listeners.values)
        }
        // Outside the lock: finishing runs each stream's onTermination, which takes it.
        for listener in listeners { end(listener.continuation, with: outcome, asked: listener.asked) }
    }

    private func deliver(_ piece: Data, to listener: inout Listener, tier: Tier) {
        listener.continuation.yield(.audio(piece))
        if !listener.heardAudio {
            listener.heardAudio = true
            metrics.recordFirstAudio(tier: tier, seconds: listener.asked.duration(to: .now).seconds)
        }
    }

    private static func start(_ start: SpeechStreamStart, isFollower: Bool) -> SpeechStreamStart {
        var start = start
        start.isFollower = isFollower
        return start
    }

    /// Ends one listener's stream; a complete one counts as a request answered by the tier
    /// that made the clip, as a unary request would.
    private func end(_ continuation: AsyncThrowingStream<SpeechStreamEvent, Error>.Continuation,
                     with outcome: Result<Clip, Error>, asked: ContinuousClock.Instant) {
        switch outcome {
        case let .success(clip):
            let tier = state.withLock { $0.start?.tier } ?? .engine
            metrics.recordRequest(tier: tier, bytes: clip.bytes, seconds: asked.duration(to: .now).seconds)
            continuation.yield(.finished(clip))
            continuation.finish()
        case let .failure(error):
            continuation.finish(throwing: error)
        }
    }
}

/// The generations streaming now in this process, by key: where a second caller finds the
/// first one's broadcast.
final class StreamBroadcasts: Sendable {
    private let live = Mutex<[RequestKey: StreamBroadcast]>([:])

    /// The broadcast in progress for `key`, or a new one from `make` (then `isNew`).
    func join(_ key: RequestKey, orStart make: () -> StreamBroadcast) -> (broadcast: StreamBroadcast, isNew: Bool) {
        live.withLock { live in
            if let running = live[key] { return (running, false) }
            let broadcast = make()
            live[key] = broadcast
            return (broadcast, true)
        }
    }

    func remove(_ broadcast: StreamBroadcast) {
        live.withLock { live in
            if live[broadcast.key] === broadcast { live[broadcast.key] = nil }
        }
    }

    var count: Int { live.withLock { $0.count } }
}
