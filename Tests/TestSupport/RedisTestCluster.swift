import Foundation
import TTSCore
import TTSStore
#if canImport(Glibc)
import Glibc
#endif

/// A throwaway Redis Cluster of its own for one test (masters, one replica each), for tests
/// that take nodes away (failover) and must not disturb the cluster other tests share.
/// Each node is a `RedisTestServer`; stopping one is killing that node.
public final class RedisTestCluster {
    public let nodes: [RedisTestServer]
    /// Every node's `requirepass` (and `masterauth`, so replicas can sync), when given.
    public let password: String?

    /// Starts `masters * 2` nodes, joins them with `redis-cli --cluster create` and waits
    /// (bounded) for `cluster_state:ok` and every replica attached and synced.
    public init(masters: Int = 3, nodeTimeoutMs: Int = 1000, password: String? = nil) throws {
        var nodes: [RedisTestServer] = []
        for _ in 0..<(masters * 2) {
            nodes.append(try RedisTestServer(password: password, extraArguments: [
                "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                "--cluster-port", String(try RedisTestServer.freePort()),
                "--cluster-node-timeout", String(nodeTimeoutMs),
                // A replica's first sync starts at once rather than after the default 5 s wait
                // for more replicas to share it.
                "--repl-diskless-sync-delay", "0",
            ] + (password.map { ["--masterauth", $0] } ?? [])))
        }
        self.nodes = nodes
        self.password = password
        let create = Process()
        create.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        create.arguments = ["redis-cli"] + (password.map { ["--no-auth-warning", "-a", $0] } ?? [])
            + ["--cluster", "create"] + nodes.map { "127.0.0.1:\($0.port)" }
            + ["--cluster-replicas", "1", "--cluster-yes"]
        create.standardOutput = FileHandle.nullDevice
        create.standardError = FileHandle.nullDevice
        try create.run()
        create.waitUntilExit()
        guard create.terminationStatus == 0 else {
            throw RedisTestServer.Failure(description: "redis-cli --cluster create exited with \(create.terminationStatus)")
        }
        // Bounded: 200 × 50 ms.
        for _ in 0..<200 {
            if isReady(replicas: masters) { return }
            usleep(50_000)
        }
        throw RedisTestServer.Failure(description: "the test cluster did not reach cluster_state:ok with \(masters) replicas synced")
    }

    /// Every node sees `cluster_state:ok`, and `replicas` replicas have finished their first
    /// sync: a replica listed in `CLUSTER NODES` but still syncing is not eligible for
    /// failover (its data counts as too old), so a master killed then would stay down.
    private func isReady(replicas: Int) -> Bool {
        var synced = 0
        for node in nodes {
            guard let connection = try? RedisConnection(url: node.url),
                  let info = try? connection.command(["CLUSTER", "INFO"]).text, info.contains("cluster_state:ok"),
                  let replication = try? connection.command(["INFO", "replication"]).text else { return false }
            if replication.contains("role:slave") {
                guard replication.contains("master_link_status:up") else { return false }
                synced += 1
            }
        }
        return synced == replicas
    }

    /// `redis+cluster://` with the first three nodes as seeds (and the password, if any).
    public var urlString: String {
        "redis+cluster://" + (password.map { ":\($0)@" } ?? "") + nodes.prefix(3).map { "127.0.0.1:\($0.port)" }.joined(separator: ",")
    }

    /// The node listening on `port`.
    public func node(port: Int) -> RedisTestServer? { nodes.first { $0.port == port } }

    public func stop() {
        for node in nodes { node.stop() }
    }
}
