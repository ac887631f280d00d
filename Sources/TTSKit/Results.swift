import Foundation
import TTSCore
import TTSStore

/// The answer to `SpeechCache.speak`: the clip, which tier served it and where its WAV is.
///
/// ```swift
/// let spoken = try await cache.speak(cache.request("Hello"))
/// if spoken.tier == .engine { print("made just now") }
/// ```
public struct SpokenClip: Sendable {
    /// The clip as stored: its key, text, voice, duration, …
    public let clip: Clip
    /// `.memory` (answered lately by this open cache), `.local` (this machine's store),
    /// `.redis` (the shared tier) or `.engine` (made now).
    public let tier: Tier
    /// The WAV file. It is read-only and shared by every clip with the same audio: copy it
    /// before changing it.
    public let url: URL
}

/// What `SpeechCache.prewarm` did.
///
/// ```swift
/// let result = try await cache.prewarm(requests)
/// if result.failed > 0 { print("\(result.failed) requests failed; see the log") }
/// ```
public struct PrewarmResult: Sendable, Equatable {
    /// Distinct requests (duplicates are made once).
    public var unique: Int
    /// Already in the store or in Redis.
    public var cached: Int
    /// Made by the engine now.
    public var generated: Int
    /// Not valid, or the engine failed on them.
    public var failed: Int
    /// The calling task was cancelled before the end.
    public var cancelled: Bool
}

/// Which stored clips `SpeechCache.export` writes.
///
/// ```swift
/// try await cache.export(.all, to: out)
/// try await cache.export(.matching(voice: "en-gb", text: "menu"), to: out)
/// ```
public struct ClipSelection: Sendable {
    let filter: ClipFilter

    /// Every stored clip.
    public static let all = ClipSelection(filter: ClipFilter())

    /// Clips with this voice, language, engine and model (each when given) whose text contains
    /// `text`.
    public static func matching(voice: String? = nil, language: String? = nil, engine: String? = nil,
                                model: String? = nil, text: String? = nil) -> ClipSelection {
        ClipSelection(filter: ClipFilter(voice: voice, language: language, engine: engine, model: model, textContains: text))
    }
}

/// What `SpeechCache.export` wrote.
public struct ExportResult: Sendable, Equatable {
    /// Files the selection asked for.
    public var planned: Int
    /// Files written now.
    public var exported: Int
    /// Files already there and identical, left alone.
    public var skipped: Int
    public var directory: URL
}

/// What the store holds (`SpeechCache.stats`).
public struct CacheStatistics: Sendable, Equatable {
    /// Clips (requests) stored.
    public var clips: Int
    /// Distinct audio files (identical audio is stored once).
    public var blobs: Int
    /// Bytes of those files.
    public var bytes: Int
    /// Clips protected from eviction.
    public var pinned: Int
    /// Times a stored clip answered a request, all processes together.
    public var hits: Int
}
