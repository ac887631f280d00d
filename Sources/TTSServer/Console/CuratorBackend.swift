import Foundation
import TTSCore
import TTSEngines
import TTSService

/// What the web console needs of the cache beyond speaking: look clips up, pin, remove,
/// regenerate, read their audio, and the figures and voices its pickers and dashboard show.
/// The console's routes speak only through it, so they can be tested against a stand-in and
/// re-pointed at the service without touching the routes.
///
/// Every method throws `TTSError`; the routes turn it into the native error shape.
///
/// ```swift
/// let console = ConsoleRoutes(backend: ServiceCuratorBackend(runtime: runtime))
/// if let answer = await console.handle(request) { return answer }
/// ```
public protocol CuratorBackend: Sendable {
    /// The local clip under `key` and whether it is pinned; nil when the local tier has none.
    func clip(for key: RequestKey) async throws -> CuratedClip?
    /// Which of `keys` are pinned (one page of the list at a time).
    func pinned(among keys: [RequestKey]) async throws -> Set<RequestKey>
    /// Pins or unpins; false when the local tier has no clip under `key`.
    func setPinned(_ key: RequestKey, _ pinned: Bool) async throws -> Bool
    /// Removes the clip from both tiers (as `rm KEY`); false when the local tier had none.
    func remove(_ key: RequestKey) async throws -> Bool
    /// Removes the clip and asks for it again with the same fields, so the engine makes it anew;
    /// a pinned clip stays pinned. Nil when the local tier has no clip under `key`; a
    /// validation error when the row cannot rebuild the request (a dialogue's speakers).
    func regenerate(_ key: RequestKey) async throws -> Regenerated?
    /// The clip's WAV bytes, hash-checked.
    func audio(of clip: Clip) async throws -> Data
    /// The `stats` figures (as `tts-repl --json stats`), plus the cache budget and the health of
    /// Redis and the engines.
    func statistics() async throws -> JSONValue
    /// The engine's voices; `engine` nil means the server's default engine.
    func voices(engine: String?) async throws -> VoiceList
}

/// A clip with its pin, which the index keeps beside the clip rather than in it.
public struct CuratedClip: Sendable, Equatable {
    public var clip: Clip
    public var pinned: Bool

    public init(clip: Clip, pinned: Bool) {
        self.clip = clip
        self.pinned = pinned
    }

    /// The clip's `ls --json` fields and `pinned`.
    public var json: JSONValue { .object(clip.jsonFields + [("pinned", .bool(pinned))]) }
}

/// The clip a regeneration produced, and the tier that answered (`engine` unless another
/// process or machine made it again first).
public struct Regenerated: Sendable, Equatable {
    public var clip: CuratedClip
    public var tier: String

    public init(clip: CuratedClip, tier: String) {
        self.clip = clip
        self.tier = tier
    }
}

/// An engine's voices for the console's pickers, with the engines there are and the server's
/// defaults, so one request fills every picker.
public struct VoiceList: Sendable, Equatable {
    public var engine: String
    public var engines: [String]
    public var defaults: RequestDefaults
    public var voices: [VoiceInfo]

    public init(engine: String, engines: [String], defaults: RequestDefaults, voices: [VoiceInfo]) {
        self.engine = engine
        self.engines = engines
        self.defaults = defaults
        self.voices = voices
    }

    /// Voices in the fields `voices --json` prints (`engine`, `voice`, `languages`, `description`).
    public var json: JSONValue {
        .object([
            ("engine", .string(engine)),
            ("engines", .array(engines.map { .string($0) })),
            ("defaults", .object([("engine", .string(defaults.engine)), ("model", .string(defaults.model)),
                                  ("voice", .string(defaults.voice)), ("language", .string(defaults.language))])),
            ("voices", .array(voices.map { v in
                .object([("engine", .string(engine)), ("voice", .string(v.name)),
                         ("languages", .array(v.languages.map { .string($0) })), ("description", .string(v.summary))])
            })),
        ])
    }
}
