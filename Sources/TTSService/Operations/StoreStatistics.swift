import Foundation
import TTSConcurrency
import TTSCore
import TTSStore

/// The figures of `stats`: the local tier from its index (persistent), this process from its
/// metrics, and every machine sharing Redis from the shared counters.
public struct StoreStatistics: Sendable {
    public var usage: ClipUsage
    public var groups: [ClipGroup]
    /// Files and bytes under `<store>/converted/` (MP3, Opus, … made from the blobs).
    public var converted: (files: Int, bytes: Int) = (0, 0)
    public var process: ServiceMetrics.Snapshot
    /// Redis counters (`hits.local`, `hits.redis`, `engine.calls`, `bytes.served`); nil when
    /// Redis is off or unreachable.
    public var shared: [String: Int]?
    /// Every node of a Redis Cluster (keys, memory, latency); empty for a single server.
    public var redisNodes: [RedisNodeDiagnosis] = []
    public var pricePerCall: Double
    public var pricePerAudioSecond: Double

    /// Money the local tier's recorded hits saved (each hit is an engine call not made), or nil
    /// when no price is configured.
    public var localMoneySaved: Double? {
        guard pricePerCall > 0 || pricePerAudioSecond > 0 else { return nil }
        return Double(usage.hits) * pricePerCall + Double(usage.hitAudioMs) / 1000 * pricePerAudioSecond
    }

    /// The same across every machine sharing Redis, from its hit counters; per call only,
    /// since the shared counters do not record audio seconds. Nil without a per-call price.
    public var sharedMoneySaved: Double? {
        guard pricePerCall > 0, let shared else { return nil }
        return Double((shared["hits.local"] ?? 0) + (shared["hits.redis"] ?? 0)) * pricePerCall
    }

    /// Gathers the figures: one pass over the index, one Redis round trip.
    public static func gather(service: SpeechService, pricePerCall: Double, pricePerAudioSecond: Double) async throws -> StoreStatistics {
        let index = service.local.index, conversions = service.conversions
        let (usage, groups, converted) = try await Blocking.run { (try index.usage(), try index.breakdown(), conversions.usage()) }
        var statistics = StoreStatistics(usage: usage, groups: groups, process: service.metrics.snapshot,
                                         shared: await service.shared.counters(),
                                         pricePerCall: pricePerCall, pricePerAudioSecond: pricePerAudioSecond)
        statistics.converted = converted
        if statistics.shared != nil { statistics.redisNodes = await service.shared.clusterNodes() }
        return statistics
    }

    /// Store-wide values for the metrics exposition, computed at scrape time.
    public var gauges: [Gauge] {
        var gauges = [
            Gauge("tts_store_clips", help: "Clips in the local index", value: Double(usage.clips)),
            Gauge("tts_store_blobs", help: "Distinct blobs the local index points at", value: Double(usage.blobs)),
            Gauge("tts_store_bytes", help: "Bytes of those blobs on disk", value: Double(usage.bytes)),
            Gauge("tts_store_dedup_saved_bytes", help: "Bytes saved by storing identical audio once", value: Double(usage.bytesSavedByDedup)),
            Gauge("tts_store_pinned_clips", help: "Clips protected from eviction", value: Double(usage.pinned)),
            Gauge("tts_store_hits", help: "Local hits recorded in the index, all processes", value: Double(usage.hits)),
            Gauge("tts_store_converted_bytes", help: "Bytes of converted audio (MP3, Opus, …) under converted/", value: Double(converted.bytes)),
        ]
        for (name, value) in (shared ?? [:]).sorted(by: { $0.key < $1.key }) {
            gauges.append(Gauge("tts_shared_counter", help: "Counters shared through Redis by every process", labels: [("name", name)],
                                value: Double(value)))
        }
        return gauges
    }
}
