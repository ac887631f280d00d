import Foundation
import TTSCore

/// What `health` reports about the Redis server, or about every node of a cluster.
public struct RedisDiagnosis: Sendable, Equatable {
    /// PING round trip, in milliseconds (includes taking a connection from the pool); the
    /// slowest node's for a cluster.
    public var latencyMs: Double
    /// `redis_version` from INFO server (of the first node for a cluster).
    public var version: String?
    /// Every node of a cluster, masters first; empty for a single server.
    public var nodes: [RedisNodeDiagnosis] = []
}

/// One cluster node as `health` and `stats` show it.
public struct RedisNodeDiagnosis: Sendable, Equatable {
    public var address: String
    public var isMaster: Bool
    /// Nil when the node did not answer; `problem` then says why.
    public var latencyMs: Double?
    public var version: String?
    /// Keys in the node's database (DBSIZE), all tenants included.
    public var keys: Int?
    public var usedMemoryBytes: Int?
    public var problem: String?

    public init(address: String, isMaster: Bool, latencyMs: Double? = nil, version: String? = nil, keys: Int? = nil,
                usedMemoryBytes: Int? = nil, problem: String? = nil) {
        self.address = address
        self.isMaster = isMaster
        self.latencyMs = latencyMs
        self.version = version
        self.keys = keys
        self.usedMemoryBytes = usedMemoryBytes
        self.problem = problem
    }

    /// The node as `health --json` and `stats --json` show it.
    public var json: JSONValue {
        .object([("address", .string(address)), ("role", .string(isMaster ? "master" : "replica")),
                 ("latency_ms", latencyMs.map { .double($0) } ?? .null), ("keys", keys.map { .int($0) } ?? .null),
                 ("used_memory_bytes", usedMemoryBytes.map { .int($0) } ?? .null),
                 ("problem", problem.map { .string($0) } ?? .null)])
    }
}

/// Maintenance of the shared tier: removing a clip (`rm`) and the `health` probe.
extension RedisTier {
    /// Deletes the clip's entry. Returns whether it was there.
    @discardableResult
    public func remove(_ key: RequestKey) async throws -> Bool {
        let clipKey = try await clipKey(key)
        let reply = try await client.command(["DEL", clipKey], routing: clipKey)
        if let message = reply.errorMessage {
            throw TTSError.store("Redis at \(client.description) refused to remove clip \(key.short): \(message.prefix(200)).")
        }
        return (reply.integer ?? 0) > 0
    }

    /// One PING round trip and the server's version; on a cluster, the same for every node
    /// plus its key count and memory.
    public func diagnose() async throws -> RedisDiagnosis {
        guard try await client.isCluster() else {
            let started = ContinuousClock.now
            let pong = try await client.command(["PING"], routing: nil)
            let latency = started.duration(to: .now)
            guard pong == .status("PONG") else {
                throw TTSError.store("Redis at \(client.description) answered PING with \(pong.errorMessage ?? "\(pong)").")
            }
            let info = try await client.command(["INFO", "server"], routing: nil)
            return RedisDiagnosis(latencyMs: latency.milliseconds, version: RedisTier.infoField("redis_version", in: info))
        }
        var nodes: [RedisNodeDiagnosis] = []
        for (address, isMaster, flags) in try await client.nodes() {
            var node = RedisNodeDiagnosis(address: address.description, isMaster: isMaster)
            if flags.contains("fail") { node.problem = "the cluster marks it failed (\(flags))" }
            do {
                let started = ContinuousClock.now
                let pong = try await client.command(["PING"], on: address)
                node.latencyMs = started.duration(to: .now).milliseconds
                if pong != .status("PONG") { node.problem = "answered PING with \(pong.errorMessage ?? "\(pong)")" }
                let info = try await client.command(["INFO"], on: address)
                node.version = RedisTier.infoField("redis_version", in: info)
                node.usedMemoryBytes = RedisTier.infoField("used_memory", in: info).flatMap { Int($0) }
                node.keys = try await client.command(["DBSIZE"], on: address).integer
            } catch {
                node.problem = node.problem ?? TTSError.message(of: error)
            }
            nodes.append(node)
        }
        let answering = nodes.filter { $0.problem == nil }
        guard !answering.isEmpty else {
            throw TTSError.store("No node of Redis Cluster \(client.description) answers: \(nodes.first?.problem ?? "no nodes known").")
        }
        return RedisDiagnosis(latencyMs: answering.compactMap(\.latencyMs).max() ?? 0, version: answering.first?.version,
                              nodes: nodes)
    }

    static func infoField(_ name: String, in info: RedisReply) -> String? {
        info.text?.split(whereSeparator: \.isNewline)
            .first { $0.hasPrefix(name + ":") }
            .map { String($0.dropFirst(name.count + 1)).trimmingCharacters(in: .whitespaces) }
    }
}
