import Foundation
import TTSCore
import TTSStore
import TTSService

/// What the native API and the operations endpoints need of the store besides speech: clips by
/// key, listings, blob files, metrics and readiness. Like `SpeechBackend`, one protocol so the
/// routes never reach into the service's parts.
public protocol CacheCatalog: Sendable {
    /// A clip by full key or unique prefix (SQLite; may block briefly: call off the pool).
    func clip(named word: String) throws -> ClipLookup
    /// Clips matching `query`, newest first (as `ls`).
    func clips(_ query: ClipQuery) throws -> [Clip]
    /// Where the clip's WAV file is (the `path` field of `info --json`).
    func path(of clip: Clip) -> String
    /// The blob named by 64 lowercase hex digits: its file and size; nil when absent.
    /// One `stat`, cheap enough for a daemon thread.
    func blobFile(_ sha256: String) -> BlobFile?
    /// A stored blob in another encoding (`/v1/blobs/<sha256>.mp3`), converted once and cached;
    /// nil when no clip has that blob.
    func convertedBlob(_ sha256: String, as encoding: AudioEncoding) async throws -> DeliveredAudio?
    /// The registry the HTTP metrics join, so `/metrics` shows them with the service's.
    var metrics: Metrics { get }
    /// The Prometheus exposition: the service's families, the HTTP ones and store gauges.
    func metricsExposition() async -> String
    /// Whether this process can answer speech requests now: store, index, Redis, engine.
    func readiness() async -> [ReadinessCheck]
}

/// `GET /v1/clips?match=&voice=&lang=&engine=&model=&limit=&offset=`, as `ls` takes them.
public struct ClipQuery: Sendable, Equatable {
    public var match: String?
    public var voice: String?
    public var language: String?
    public var engine: String?
    public var model: String?
    public var limit: Int = 20
    public var offset: Int = 0
    public init() {}
}

/// One line of `/readyz`.
public struct ReadinessCheck: Sendable {
    public var name: String
    public var ready: Bool
    public var detail: String
    public init(_ name: String, ready: Bool, _ detail: String) {
        self.name = name
        self.ready = ready
        self.detail = detail
    }
}
