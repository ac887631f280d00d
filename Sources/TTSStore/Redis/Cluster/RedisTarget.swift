import Foundation
import TTSCore

/// What `REDIS_URL` points at: one server, or the seed nodes of a Redis Cluster.
///
/// ```
/// redis://127.0.0.1:6379                          one server (a cluster node is detected)
/// redis+cluster://10.0.0.1:7000,10.0.0.2:7000     a cluster, by any of its nodes
/// redis+cluster://:s3cret@10.0.0.1:7000           the password is used on every node
/// ```
///
/// A plain `redis://` URL that turns out to name a cluster node (`cluster_enabled:1`) is
/// treated as the seed of that cluster, so either form works; `redis+cluster://` says it up
/// front and lists more than one seed, in case the first is down.
public struct RedisTarget: Sendable, Equatable, CustomStringConvertible {
    /// Servers to ask first; credentials are the same on each.
    public var seeds: [RedisURL]
    /// Given as `redis+cluster://`.
    public var isCluster: Bool

    public init(seeds: [RedisURL], isCluster: Bool) {
        precondition(!seeds.isEmpty, "a Redis target needs a server")
        self.seeds = seeds
        self.isCluster = isCluster
    }

    public init(_ url: RedisURL) { self.init(seeds: [url], isCluster: false) }

    /// Parses `redis://`, `unix://` or `redis+cluster://`; throws a `.config` error that shows
    /// the (redacted) input and says what is wrong.
    public init(parsing text: String) throws {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard trimmed.lowercased().hasPrefix("redis+cluster://") else {
            self.init(try RedisURL(parsing: trimmed))
            return
        }
        var rest = Substring(trimmed.dropFirst("redis+cluster://".count))
        var userInfo = ""
        if let at = rest.lastIndex(of: "@") {
            userInfo = String(rest[...at])
            rest = rest[rest.index(after: at)...]
        }
        var path = ""
        if let slash = rest.firstIndex(of: "/") {
            path = String(rest[slash...])
            rest = rest[..<slash]
        }
        if !path.isEmpty && path != "/" && path != "/0" {
            throw RedisURL.malformed(trimmed, "a Redis Cluster has only database 0; remove '\(path)'")
        }
        let hosts = rest.split(separator: ",", omittingEmptySubsequences: true)
        guard !hosts.isEmpty else {
            throw RedisURL.malformed(trimmed, "it names no node; write redis+cluster://host:port[,host:port…]")
        }
        let seeds = try hosts.map { try RedisURL(parsing: "redis://" + userInfo + $0) }
        self.init(seeds: seeds, isCluster: true)
    }

    /// The seeds with the password replaced by `***`.
    public var description: String {
        guard isCluster else { return seeds[0].description }
        let first = seeds[0]
        var userInfo = ""
        if first.username != nil || first.password != nil {
            userInfo = (first.username ?? "") + (first.password == nil ? "" : ":***") + "@"
        }
        return "redis+cluster://" + userInfo + seeds.map { RedisNodeAddress(url: $0)?.description ?? "\($0)" }.joined(separator: ",")
    }
}

/// One node of a cluster, as CLUSTER SLOTS names it.
public struct RedisNodeAddress: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    init?(url: RedisURL) {
        guard case let .tcp(host, port) = url.endpoint else { return nil }
        self.init(host: host, port: port)
    }

    /// `host:port` (as in MOVED and ASK replies); an IPv6 host keeps its colons and is split at
    /// the last one.
    init?(_ text: Substring) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]) else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        self.init(host: host, port: port)
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// The seed's URL pointed at this node: same credentials, database 0.
    func url(like seed: RedisURL) -> RedisURL {
        RedisURL(endpoint: .tcp(host: host, port: port), username: seed.username, password: seed.password, database: 0)
    }
}
