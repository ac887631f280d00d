import Foundation
import TTSCore

extension StoreStatistics {
    /// The figures as `tts-repl --json stats` prints them and `GET /v1/stats` answers: one
    /// shape for scripts and for the web console's dashboard.
    public func json(store: String) -> JSONValue {
        let u = usage, p = process
        func date(_ value: Date?) -> JSONValue { value.map { .string(UTCTimestamp.string(from: $0)) } ?? .null }
        var local: [(String, JSONValue)] = [
            ("store", .string(store)), ("clips", .int(u.clips)), ("pinned", .int(u.pinned)), ("blobs", .int(u.blobs)),
            ("bytes", .int(u.bytes)), ("logical_bytes", .int(u.logicalBytes)), ("dedup_saved_bytes", .int(u.bytesSavedByDedup)),
            ("hits", .int(u.hits)), ("hit_audio_ms", .int(u.hitAudioMs)), ("oldest", date(u.oldest)), ("newest", date(u.newest)),
            ("converted_files", .int(converted.files)), ("converted_bytes", .int(converted.bytes)),
        ]
        if let saved = localMoneySaved { local.append(("money_saved", .double(saved))) }
        let process: JSONValue = .object([
            ("hits", .object([("memory", .int(p.memoryHits)), ("local", .int(p.localHits)), ("redis", .int(p.redisHits))])),
            ("engine_requests", .int(p.engineRequests)),
            ("engine_calls", .object(p.engineCalls.sorted { $0.key < $1.key }.map { ($0.key, .int($0.value)) })),
            ("retries", .int(p.retries)), ("bytes_served", .int(p.bytesServed)),
            ("corrupt_blobs", .int(p.corruptBlobs)), ("evicted_clips", .int(p.evictedClips)),
            ("conversions", .object([("made", .int(p.conversionsMade)), ("cached", .int(p.conversionHits)),
                                     ("failed", .int(p.conversionFailures))])),
        ])
        var redis: JSONValue = .null
        if let shared {
            var fields: [(String, JSONValue)] = shared.sorted { $0.key < $1.key }.map { ($0.key, .int($0.value)) }
            if let saved = sharedMoneySaved { fields.append(("money_saved", .double(saved))) }
            if !redisNodes.isEmpty { fields.append(("nodes", .array(redisNodes.map(\.json)))) }
            redis = .object(fields)
        }
        let groups: JSONValue = .array(self.groups.map {
            .object([("engine", .string($0.engine)), ("voice", .string($0.voice)), ("language", .string($0.language)),
                     ("clips", .int($0.clips)), ("bytes", .int($0.bytes)), ("hits", .int($0.hits))])
        })
        var prices: [(String, JSONValue)] = []
        if pricePerCall > 0 { prices.append(("per_call", .double(pricePerCall))) }
        if pricePerAudioSecond > 0 { prices.append(("per_audio_second", .double(pricePerAudioSecond))) }
        return .object([("local", .object(local)), ("process", process), ("redis", redis), ("by_group", groups),
                        ("prices", .object(prices))])
    }
}
