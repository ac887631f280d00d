import Foundation
import TTSCore

/// What `health` reports about the Redis server.
public struct RedisDiagnosis: Sendable, Equatable {
    /// PING round trip, in milliseconds (includes taking a connection from the pool).
    public var latencyMs: Double
    /// `redis_version` from INFO server.
    public var version: String?
}

/// Maintenance of the shared tier: removing a clip (`rm`) and the `health` probe.
extension RedisTier {
    /// Deletes the clip's metadata. Returns whether it was there.
    ///
    /// The blob key is left to its time-to-live: other clips (on other machines too) may point
    /// at the same audio, and telling would mean scanning every clip of the key space.
    @discardableResult
    public func remove(_ key: RequestKey) async throws -> Bool {
        let reply = try await pool.command(["DEL", clipKey(key)])
        if let message = reply.errorMessage {
            throw TTSError.store("Redis at \(pool.url) refused to remove clip \(key.short): \(message.prefix(200)).")
        }
        return (reply.integer ?? 0) > 0
    }

    /// One PING round trip and the server's version.
    public func diagnose() async throws -> RedisDiagnosis {
        let started = ContinuousClock.now
        let pong = try await pool.command(["PING"])
        let latency = started.duration(to: .now)
        guard pong == .status("PONG") else {
            throw TTSError.store("Redis at \(pool.url) answered PING with \(pong.errorMessage ?? "\(pong)").")
        }
        let info = try await pool.command(["INFO", "server"])
        let version = info.text?.split(whereSeparator: \.isNewline)
            .first { $0.hasPrefix("redis_version:") }
            .map { String($0.dropFirst("redis_version:".count)).trimmingCharacters(in: .whitespaces) }
        return RedisDiagnosis(latencyMs: latency.milliseconds, version: version)
    }
}
