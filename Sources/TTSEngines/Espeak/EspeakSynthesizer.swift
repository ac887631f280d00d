import Foundation
import Synchronization
import TTSConcurrency
import TTSCore

/// Speaks for one `EspeakEngine` (and its copies) through an `EspeakZygote`, one request at a
/// time as before (the in-process library was one serial queue), started on the first miss.
///
/// The zygote is restarted when it died between requests (the retry happens before anything
/// reached the caller), and stopped when the last copy of the engine goes away, so it leaves
/// neither a zombie nor an orphan; if this process dies instead, the zygote reads the end of
/// its stdin and exits.
///
/// ```swift
/// let samples = try await synthesizer.synthesize("Hello", voice: "gmw/en-US")
/// ```
final class EspeakSynthesizer: Sendable {
    /// Mono 16-bit PCM samples and the rate espeak produced them at.
    struct Samples: Sendable {
        var sampleRate: Int
        var pcm: [Int16]
    }

    /// Receives one buffer of samples and the rate they are at.
    typealias PieceSink = @Sendable (_ sampleRate: Int, _ samples: UnsafeBufferPointer<Int16>) -> Void

    private struct State {
        /// The zygote when one runs; nil before the first miss and after a failed start.
        var zygote: EspeakZygote?
        /// Whether a request holds the zygote; the others wait in `waiting`, first come first.
        var busy = false
        var waiting: [CheckedContinuation<Void, Never>] = []
    }

    /// Guards the zygote slot and the turn-taking; never held across I/O.
    private let state = Mutex(State())

    init() {}

    deinit {
        // No request runs (each holds a reference), so the zygote is idle and stops at once
        // (a kill and a wait: well under a millisecond). Not through `Blocking.threads`: the
        // last reference may be dropped by one of its threads while it holds its lock.
        state.withLock { $0.zygote }?.stop()
    }

    /// The running zygote's process id, for tests.
    var zygotePID: pid_t? { state.withLock { $0.zygote?.pid } }

    /// Speaks `text` with the voice file `voice` (`gmw/en-US`). Throws `.cancelled` when the
    /// task is cancelled before its turn or while the child speaks.
    func synthesize(_ text: String, voice: String, pieces: PieceSink? = nil) async throws -> Samples {
        if Task.isCancelled { throw Self.cancelledError(voice: voice) }
        await takeTurn()
        defer { passTurn() }
        let flag = CancellationFlag()
        return try await withTaskCancellationHandler {
            // The task may have been cancelled while earlier requests held the zygote.
            if Task.isCancelled { throw Self.cancelledError(voice: voice) }
            return try await Blocking.run { try self.speak(text, voice: voice, cancellation: flag, pieces: pieces) }
        } onCancel: {
            flag.cancel()
            self.state.withLock { $0.zygote }?.cancel()
        }
    }

    // MARK: Turns

    private func takeTurn() async {
        await withCheckedContinuation { continuation in
            let now = state.withLock { state -> Bool in
                if state.busy {
                    state.waiting.append(continuation)
                    return false
                }
                state.busy = true
                return true
            }
            if now { continuation.resume() }
        }
    }

    private func passTurn() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if state.waiting.isEmpty {
                state.busy = false
                return nil
            }
            return state.waiting.removeFirst()
        }
        next?.resume()
    }

    // MARK: On a blocking thread, holding the turn

    private func speak(_ text: String, voice: String, cancellation: CancellationFlag, pieces: PieceSink?) throws -> Samples {
        var forwarded = false
        for attempt in 1...2 {
            let zygote = try runningZygote()
            do {
                let rate = zygote.sampleRate
                let (pcm, outcome) = try zygote.speak(text, voice: voice) { buffer in
                    forwarded = true
                    pieces?(rate, buffer)
                }
                if cancellation.isCancelled { throw Self.cancelledError(voice: voice) }
                switch outcome {
                case .spoken:
                    return Samples(sampleRate: rate, pcm: pcm)
                case .voiceFailed(let status):
                    throw TTSError(.internal, "espeak-ng lists voice '\(voice)' but could not load it (error \(status)): pick another voice from `voices`, and report this")
                case .synthesisFailed(let status):
                    throw TTSError(.internal, "espeak-ng failed to synthesize with voice '\(voice)' (error \(status)); try again, and report it if it repeats")
                case .childCrashed(let signal, let code):
                    let how = signal != 0 ? "was killed by signal \(signal)" : "exited with status \(code)"
                    throw TTSError(.internal, "espeak-ng's synthesis process \(how) while speaking \"\(text.prefix(40))\" with voice '\(voice)'; nothing was stored. Try again, and report it if it repeats")
                }
            } catch let died as EspeakZygote.Died {
                discard(zygote)
                if cancellation.isCancelled { throw Self.cancelledError(voice: voice) }
                // Retry once on a new zygote, unless the caller already has part of the audio.
                guard attempt == 1, !forwarded else {
                    throw TTSError(.internal, "espeak-ng's helper process died while speaking with voice '\(voice)' (\(died.detail)); try again")
                }
            }
        }
        preconditionFailure("the second attempt returns or throws")
    }

    /// The zygote, started now if none runs.
    private func runningZygote() throws -> EspeakZygote {
        if let zygote = state.withLock({ $0.zygote }) { return zygote }
        let zygote = try EspeakZygote.start()
        state.withLock { $0.zygote = zygote }
        return zygote
    }

    private func discard(_ zygote: EspeakZygote) {
        state.withLock { state in
            if state.zygote === zygote { state.zygote = nil }
        }
        zygote.stop()
    }

    private static func cancelledError(voice: String) -> TTSError {
        TTSError(.cancelled, "espeak-ng synthesis with voice '\(voice)' was cancelled; nothing was stored")
    }
}

/// Set by a task's cancellation handler (any thread), read by the blocking thread.
private final class CancellationFlag: Sendable {
    private let cancelled = Mutex(false)

    var isCancelled: Bool { cancelled.withLock { $0 } }
    func cancel() { cancelled.withLock { $0 = true } }
}
