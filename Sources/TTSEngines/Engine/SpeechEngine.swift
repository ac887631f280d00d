import Foundation
import TTSCore

/// A voice an engine offers.
public struct VoiceInfo: Sendable, Hashable, Codable {
    /// What a person types (`Kore`, `en-us`).
    public var name: String
    /// BCP-47 tags the voice speaks, best first; empty when the voice speaks any language.
    public var languages: [String]
    /// A short human description (`firm`, `English (America)`).
    public var summary: String

    public init(name: String, languages: [String] = [], summary: String = "") {
        self.name = name
        self.languages = languages
        self.summary = summary
    }
}

/// Something that turns a request into WAV bytes: espeak-ng offline, Gemini over HTTPS, or a
/// test double. The service calls an engine only on a miss in every tier.
///
/// Engines are injected into the service through this protocol so tests can swap them.
public protocol SpeechEngine: Sendable {
    /// The engine's name as it appears in keys and commands: `espeak`, `gemini`.
    var name: String { get }
    /// The model used when the request names none.
    var defaultModel: String { get }
    /// Every voice this engine offers.
    func voices() async throws -> [VoiceInfo]
    /// Fills in what the user left open (voice for the language, model) and rejects what this
    /// engine cannot do (unknown voice) with a validation error naming the accepted values.
    /// Runs before keying, so the key names a concrete voice and model.
    func resolve(_ request: AudioRequest) async throws -> AudioRequest
    /// `resolve`, when it can answer without waiting (what it needs, such as the voice list, is
    /// at hand); nil when only `resolve` can. Lets a cache hit be answered without suspending:
    /// `SpeechService.cachedHit`.
    func resolveAtOnce(_ request: AudioRequest) throws -> AudioRequest?
    /// Produces a complete WAV file for a resolved request. Throws `TTSError`.
    func synthesize(_ request: AudioRequest) async throws -> Data
    /// The same audio as `synthesize`, in pieces as the engine makes them: `.format` first, then
    /// `.audio` pieces of whole frames. The sequence ends normally only when the audio is
    /// complete (Gemini's `STOP`); any other end throws a `TTSError`. Ending the iteration (or
    /// cancelling the iterating task) stops the engine.
    ///
    /// The default calls `synthesize` and yields its audio as one piece, so engines that cannot
    /// stream, and test doubles, work unchanged.
    func stream(_ request: AudioRequest) -> AsyncThrowingStream<AudioChunk, Error>
}

extension SpeechEngine {
    /// Test doubles and engines that must always wait: nil, so callers take `resolve`.
    public func resolveAtOnce(_ request: AudioRequest) throws -> AudioRequest? { nil }

    public func stream(_ request: AudioRequest) -> AsyncThrowingStream<AudioChunk, Error> {
        streamBySynthesizing(request)
    }

    /// `synthesize`, seen as a stream of one piece: for engines (or models) that cannot stream.
    public func streamBySynthesizing(_ request: AudioRequest) -> AsyncThrowingStream<AudioChunk, Error> {
        AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    let audio = try WAVAudio.decode(try await synthesize(request))
                    continuation.yield(.format(audio.format))
                    continuation.yield(.audio(audio.pcm))
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}
