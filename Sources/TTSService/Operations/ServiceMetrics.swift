import TTSCore
import TTSStore

/// The data path's counters and latency histograms, registered once in a `Metrics` registry.
///
/// Every series is created up front (all tiers, all outcomes), so recording is one atomic add
/// or one histogram observation and never allocates: the local-hit path stays in the
/// microseconds. `metrics` and `serve-metrics` print `registry`.
///
/// ```swift
/// let metrics = ServiceMetrics()
/// metrics.recordRequest(tier: .local, bytes: 4410, seconds: 0.000_012)
/// print(metrics.registry.exposition())
/// ```
public final class ServiceMetrics: Sendable {
    public let registry: Metrics
    private let lookups: [Counter]          // by Tier, in `Tier.all` order
    private let requestSeconds: [Histogram] // by Tier
    private let bytesServed: Counter
    private let engineCalls: [Counter]      // by EngineOutcome
    private let engineSeconds: Histogram
    private let engineRetries: Counter
    private let bytesGenerated: Counter
    private let corruptBlobs: Counter
    private let evictedClips: Counter
    private let evictedBytes: Counter
    private let conversions: [Counter]      // by ConversionOutcome
    private let firstAudioSeconds: [Histogram]  // by Tier
    private let streams: [Counter]              // by StreamOutcome
    private let followersJoined: Counter

    /// How an engine call ended: `ok`, or the `TTSError.Kind` it failed with.
    public static let engineOutcomes = ["ok"] + TTSError.Kind.allCases.map(\.rawValue)

    public init(registry: Metrics = Metrics()) {
        self.registry = registry
        let tiers = Tier.allCases
        lookups = tiers.map {
            registry.counter("tts_requests_total", help: "Requests answered, by the tier that answered (engine = a miss in both tiers)",
                             labels: [("tier", $0.rawValue)])
        }
        requestSeconds = tiers.map {
            registry.histogram("tts_request_duration_seconds", help: "Time to answer a request, by the tier that answered",
                               labels: [("tier", $0.rawValue)])
        }
        bytesServed = registry.counter("tts_served_bytes_total", help: "WAV bytes handed out, from any tier")
        engineCalls = ServiceMetrics.engineOutcomes.map {
            registry.counter("tts_engine_calls_total", help: "Engine calls, by outcome (ok or the error kind)", labels: [("outcome", $0)])
        }
        engineSeconds = registry.histogram("tts_engine_call_duration_seconds", help: "Time of one engine call, retries included")
        engineRetries = registry.counter("tts_engine_retries_total", help: "Engine attempts repeated after a transient failure")
        bytesGenerated = registry.counter("tts_generated_bytes_total", help: "WAV bytes produced by engines and stored")
        corruptBlobs = registry.counter("tts_corrupt_blobs_total", help: "Blobs found damaged on a read and quarantined")
        evictedClips = registry.counter("tts_evicted_clips_total", help: "Clips evicted to keep the local tier under TTS_CACHE_MAX_BYTES")
        evictedBytes = registry.counter("tts_evicted_bytes_total", help: "Blob bytes freed by eviction")
        conversions = ConversionOutcome.allCases.map {
            registry.counter("tts_conversions_total", help: "Requests for converted audio (MP3, Opus, FLAC, …), by outcome: converted now, served from converted/, or failed",
                             labels: [("outcome", $0.rawValue)])
        }
        firstAudioSeconds = tiers.map {
            registry.histogram("tts_first_audio_seconds", help: "Time from a streamed request to its first audio, by the tier that answered",
                               labels: [("tier", $0.rawValue)])
        }
        streams = StreamOutcome.allCases.map {
            registry.counter("tts_streams_total", help: "Streamed generations (engine streams shared by their listeners), by stage: started, completed (cached), failed",
                             labels: [("outcome", $0.rawValue)])
        }
        followersJoined = registry.counter("tts_stream_followers_total", help: "Streamed requests that joined a generation already streaming for their key")
    }

    /// Where a streamed generation got to.
    public enum StreamOutcome: String, CaseIterable, Sendable { case started, completed, failed }

    /// Counts the local index's committed write transactions as
    /// `tts_index_write_transactions_total`: a run of hits should add a few batches, not one
    /// per request. Called once, by the service that owns the index.
    public func countWriteTransactions(of index: ClipIndex) {
        registry.counter("tts_index_write_transactions_total",
                         help: "Write transactions committed to the local SQLite index by this process (hit batches, new clips, removals)",
                         reading: { [index] in index.writeTransactions })
    }

    /// A listener heard its first audio, `seconds` after it asked.
    public func recordFirstAudio(tier: Tier, seconds: Double) {
        firstAudioSeconds[ServiceMetrics.slot(tier)].observe(seconds)
    }

    public func recordStream(_ outcome: StreamOutcome) {
        streams[StreamOutcome.allCases.firstIndex(of: outcome)!].increment()
    }

    public func recordFollowerJoined() { followersJoined.increment() }

    public func recordRequest(tier: Tier, bytes: Int, seconds: Double) {
        let index = ServiceMetrics.slot(tier)
        lookups[index].increment()
        requestSeconds[index].observe(seconds)
        bytesServed.increment(by: bytes)
    }

    /// `error` nil for a call that returned audio.
    public func recordEngineCall(error: Error?, seconds: Double, bytes: Int = 0) {
        let outcome: String
        if let error {
            outcome = (error as? TTSError)?.kind.rawValue
                ?? (error is CancellationError ? TTSError.Kind.cancelled : TTSError.Kind.internal).rawValue
        } else {
            outcome = "ok"
        }
        let index = ServiceMetrics.engineOutcomes.firstIndex(of: outcome) ?? 0
        engineCalls[index].increment()
        engineSeconds.observe(seconds)
        bytesGenerated.increment(by: bytes)
    }

    /// For engines that retry (Gemini): one call per repeated attempt.
    public func recordRetry() { engineRetries.increment() }
    public func recordCorruptBlob() { corruptBlobs.increment() }
    public func recordConversion(_ outcome: ConversionOutcome) {
        conversions[ConversionOutcome.allCases.firstIndex(of: outcome)!].increment()
    }

    /// Conversions counted by outcome, for `stats`.
    public var conversionCounts: [ConversionOutcome: Int] {
        Dictionary(uniqueKeysWithValues: zip(ConversionOutcome.allCases, conversions.map(\.value)))
    }

    public func recordEviction(clips: Int, bytes: Int) {
        evictedClips.increment(by: clips)
        evictedBytes.increment(by: bytes)
    }

    /// This process's figures, for `stats`.
    public var snapshot: Snapshot {
        Snapshot(memoryHits: lookups[ServiceMetrics.slot(.memory)].value, localHits: lookups[ServiceMetrics.slot(.local)].value,
                 redisHits: lookups[ServiceMetrics.slot(.redis)].value, engineRequests: lookups[ServiceMetrics.slot(.engine)].value,
                 engineCalls: Dictionary(uniqueKeysWithValues: zip(ServiceMetrics.engineOutcomes, engineCalls.map(\.value))),
                 retries: engineRetries.value, bytesServed: bytesServed.value, corruptBlobs: corruptBlobs.value,
                 evictedClips: evictedClips.value, conversionsMade: conversionCounts[.converted] ?? 0,
                 conversionHits: conversionCounts[.cached] ?? 0, conversionFailures: conversionCounts[.failed] ?? 0)
    }

    /// The series of `tier` in the per-tier arrays (made from `Tier.allCases`).
    static func slot(_ tier: Tier) -> Int {
        // On every request: a switch, not a search of allCases (whose order it must follow).
        switch tier {
        case .memory: 0
        case .local: 1
        case .redis: 2
        case .engine: 3
        }
    }

    public struct Snapshot: Sendable, Equatable {
        /// Answered from this process's memory tier.
        public var memoryHits = 0
        public var localHits: Int
        public var redisHits: Int
        public var engineRequests: Int
        /// By outcome (`ok`, `api`, `quota`, …).
        public var engineCalls: [String: Int]
        public var retries: Int
        public var bytesServed: Int
        public var corruptBlobs: Int
        public var evictedClips: Int
        /// Conversions (MP3, Opus, …) encoded by this process, served from `converted/`, failed.
        public var conversionsMade = 0
        public var conversionHits = 0
        public var conversionFailures = 0
    }
}

/// How a request for converted audio ended.
public enum ConversionOutcome: String, Sendable, CaseIterable {
    /// Encoded by this request (a miss in `converted/`).
    case converted
    /// Served from `converted/` as it was.
    case cached
    case failed
}
