import Foundation
import TTSCore

/// One event of a streamed answer (`SpeechService.speakStreaming`): `.started` first, then
/// `.audio` pieces, then `.finished` once the clip is stored; any failure ends the sequence
/// with a thrown `TTSError` instead of `.finished`.
///
/// ```swift
/// for try await event in try await service.speakStreaming(request) {
///     switch event {
///     case .started(let start): player.open(start.format)
///     case .audio(let pcm): player.write(pcm)
///     case .finished(let clip): print("cached as", clip.key.short)
///     }
/// }
/// ```
public enum SpeechStreamEvent: Sendable {
    case started(SpeechStreamStart)
    /// Little-endian PCM in `SpeechStreamStart.format`, whole frames; the clip is the
    /// concatenation of every piece.
    case audio(Data)
    /// The clip as stored: the audio streamed is exactly its WAV file's samples.
    case finished(Clip)
}

/// What a stream carries, sent before its audio.
public struct SpeechStreamStart: Sendable, Equatable {
    /// The resolved request's key.
    public var key: RequestKey
    public var format: PCMFormat
    /// Where the audio comes from: `.local`/`.redis` for a cached clip sent at once, `.engine`
    /// for a generation heard while it is made.
    public var tier: Tier
    /// Whether this caller joined a generation another caller started (and received the audio
    /// made so far first).
    public var isFollower: Bool

    public init(key: RequestKey, format: PCMFormat, tier: Tier, isFollower: Bool = false) {
        self.key = key
        self.format = format
        self.tier = tier
        self.isFollower = isFollower
    }
}
