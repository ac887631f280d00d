import Foundation
import Synchronization
import TTSCore

/// The way to Redis for the shared tier and the queue: one server, or a Redis Cluster, behind
/// one interface that routes each call by the key it is about.
///
/// hiredis 0.14 knows nothing of clusters, so this is where cluster support lives: the slot
/// map from `CLUSTER SLOTS`, a `RedisPool` per node, `MOVED` (the map is refreshed and the
/// call repeated on the right node) and `ASK` (one `ASKING` hop to the node importing the
/// slot), and failover: when a node cannot be reached, the map is asked again and, if another
/// node (its promoted replica) now serves the slot, the call is repeated there once. While no
/// node serves the slot (the election), calls fail with `.store` errors and the shared tier
/// runs degraded, as with a single server that is down.
///
/// Whether the target is a cluster is known from `redis+cluster://`, or found on the first call
/// from `INFO cluster` (`cluster_enabled:1`) of a plain `redis://` URL.
///
/// Limits: an `ASK` hop sends `ASKING` before the first command of a pipeline only (a
/// transaction caught mid-migration fails and is repeated by the caller's next attempt);
/// replicas are never read from.
///
/// ```swift
/// let client = RedisClient(try RedisTarget(parsing: "redis+cluster://127.0.0.1:7000"))
/// let reply = try await client.command(["GET", "tts:clip:{ab12…}"].map { Data($0.utf8) },
///                                      routing: Data("tts:clip:{ab12…}".utf8))
/// ```
public final class RedisClient: Sendable {
    public let target: RedisTarget
    /// The settings every node's pool gets (its `url` is that of the first seed).
    public let configuration: RedisPoolConfiguration

    private struct State {
        /// Nil until known: given by the URL, or asked on the first call.
        var isCluster: Bool?
        var map: RedisSlotMap?
        var pools: [RedisNodeAddress: RedisPool] = [:]
        var lastRefresh: ContinuousClock.Instant?
        var redirects = 0
        var refreshes = 0
    }

    private let seedPool: RedisPool
    private let state: Mutex<State>

    /// A map is asked again at most this often when nodes fail, so a dead node's calls do not
    /// each cost a `CLUSTER SLOTS`.
    private static let refreshInterval: Duration = .milliseconds(100)
    /// Redirects followed for one call before it fails (a slot bouncing between two nodes
    /// during a resharding settles in one or two).
    private static let maxRedirects = 5

    public convenience init(_ target: RedisTarget, maxConnections: Int = 4) {
        self.init(target, configuration: RedisPoolConfiguration(url: target.seeds[0], maxConnections: maxConnections))
    }

    /// - Parameter configuration: timeouts and size of each node's pool; its `url` is ignored
    ///   in favour of the target's first seed.
    public init(_ target: RedisTarget, configuration: RedisPoolConfiguration) {
        self.target = target
        var configuration = configuration
        configuration.url = target.seeds[0]
        self.configuration = configuration
        seedPool = RedisPool(configuration)
        var initial = State()
        if target.isCluster { initial.isCluster = true }
        if let address = RedisNodeAddress(url: target.seeds[0]) { initial.pools[address] = seedPool }
        state = Mutex(initial)
    }

    /// One server through an existing pool (never treated as a cluster unless it says so).
    public convenience init(pool: RedisPool) {
        self.init(pool: pool, target: RedisTarget(pool.url))
    }

    private init(pool: RedisPool, target: RedisTarget) {
        self.target = target
        configuration = pool.configuration
        seedPool = pool
        var initial = State()
        if let address = RedisNodeAddress(url: pool.url) { initial.pools[address] = pool }
        state = Mutex(initial)
    }

    /// How to name the target in messages (password masked).
    public var description: String { target.description }

    /// Redirects (MOVED and ASK) followed so far.
    public var redirectsFollowed: Int { state.withLock { $0.redirects } }
    /// Slot maps asked for so far.
    public var mapRefreshes: Int { state.withLock { $0.refreshes } }

    /// What `isCluster()` found, or what the URL says while it has not asked yet.
    public var isKnownCluster: Bool { state.withLock { $0.isCluster ?? target.isCluster } }

    /// Whether the target is a Redis Cluster; asks the server the first time for a plain URL.
    /// Throws `.store` when it cannot be reached (asked again on the next call).
    public func isCluster() async throws -> Bool {
        if let known = state.withLock({ $0.isCluster }) {
            if known, state.withLock({ $0.map == nil }) { try await refreshMap(force: true) }
            return known
        }
        let info = try await seedPool.command(["INFO", "cluster"])
        // An error (NOAUTH, LOADING) decides nothing: asked again on the next call.
        if let message = info.errorMessage {
            throw TTSError.store("Redis at \(target) answered INFO cluster with \(message.prefix(200))")
        }
        let cluster = info.text?.split(whereSeparator: \.isNewline)
            .contains { $0.trimmingCharacters(in: .whitespaces) == "cluster_enabled:1" } ?? false
        state.withLock { $0.isCluster = cluster }
        if cluster { try await refreshMap(force: true) }
        return cluster
    }

    // MARK: - Calls

    /// Runs `body` with a connection to the node serving `key`'s slot (any node when `key` is
    /// nil), off the cooperative pool. `body` should pass each reply through
    /// `RedisClient.check(_:)` before trusting it, so a redirect repeats it on the right node.
    ///
    /// `inlineWhenFree`: a short call that may run on the caller's thread
    /// (`RedisPool.withConnection(inlineWhenFree:_:)`).
    public func withConnection<T: Sendable>(routing key: Data?, inlineWhenFree: Bool = false,
                                            _ body: @escaping @Sendable (RedisConnection) throws -> T) async throws -> T {
        guard try await isCluster() else { return try await seedPool.withConnection(inlineWhenFree: inlineWhenFree, body) }
        let slot = key.map { RedisSlot(key: $0) }
        var asking: RedisNodeAddress?
        var retriedAfterFailure = false
        for _ in 0...RedisClient.maxRedirects {
            let node = try asking ?? owner(of: slot)
            let pool = self.pool(for: node)
            let ask = asking != nil
            asking = nil
            do {
                return try await pool.withConnection(inlineWhenFree: inlineWhenFree) { connection in
                    if ask {
                        let reply = try connection.command(["ASKING"])
                        if let message = reply.errorMessage {
                            throw TTSError.store("Redis Cluster node \(node) refused ASKING: \(message.prefix(200)).")
                        }
                    }
                    return try body(connection)
                }
            } catch let redirect as RedisRedirect {
                state.withLock { $0.redirects += 1 }
                switch redirect.kind {
                case .moved:
                    state.withLock { $0.map?.assign(redirect.slot, to: redirect.node) }
                    try? await refreshMap(force: false)
                case .ask:
                    asking = redirect.node
                }
            } catch let error as TTSError where error.kind == .store && !retriedAfterFailure {
                // The node may have been replaced by its replica: ask for the map again and
                // repeat once if the slot moved; otherwise this is an outage for the caller.
                retriedAfterFailure = true
                try? await refreshMap(force: false)
                guard let now = try? owner(of: slot), now != node else { throw error }
            }
        }
        throw TTSError.store("Redis Cluster \(target) kept redirecting a command for slot \(slot?.description ?? "any") (more than \(RedisClient.maxRedirects) times); the cluster may be resharding. Try again.")
    }

    /// One command, routed by `key` (nil: any node).
    public func command(_ arguments: [Data], routing key: Data?) async throws -> RedisReply {
        try await withConnection(routing: key) { connection in
            let reply = try connection.command(arguments)
            try RedisClient.checkRedirect(reply)
            return reply
        }
    }

    public func command(_ arguments: [String], routing key: String?) async throws -> RedisReply {
        try await command(arguments.map { Data($0.utf8) }, routing: key.map { Data($0.utf8) })
    }

    /// Several commands in one round trip to the node serving `key`; every command must be
    /// about keys of that one slot.
    public func pipeline(_ commands: [[Data]], routing key: Data?) async throws -> [RedisReply] {
        try await withConnection(routing: key) { connection in
            let replies = try connection.pipeline(commands)
            for reply in replies { try RedisClient.checkRedirect(reply) }
            return replies
        }
    }

    /// Commands about keys of different slots, in as few round trips as the layout allows: one
    /// pipeline for a single server, one per node for a cluster (a command redirected there is
    /// repeated on its own). Replies in the order of `commands`.
    public func scatter(_ commands: [(routing: Data, command: [Data])]) async throws -> [RedisReply] {
        guard !commands.isEmpty else { return [] }
        guard try await isCluster() else { return try await seedPool.pipeline(commands.map(\.command)) }
        var groups: [RedisNodeAddress: [Int]] = [:]
        for (i, entry) in commands.enumerated() {
            groups[try owner(of: RedisSlot(key: entry.routing)), default: []].append(i)
        }
        var replies = [RedisReply](repeating: .nil, count: commands.count)
        for (node, indices) in groups {
            let batch = try await pool(for: node).pipeline(indices.map { commands[$0].command })
            for (i, reply) in zip(indices, batch) {
                replies[i] = RedisRedirect(reply) == nil
                    ? reply
                    : try await command(commands[i].command, routing: commands[i].routing)
            }
        }
        return replies
    }

    /// Throws a MOVED or ASK reply as a redirect for `withConnection` to follow. A no-op for a
    /// single server.
    public static func checkRedirect(_ reply: RedisReply) throws {
        try RedisRedirect.check(reply)
    }

    /// Every master's address (one entry, the server itself, for a single server).
    public func masters() async throws -> [RedisNodeAddress] {
        guard try await isCluster() else {
            return [RedisNodeAddress(url: seedPool.url) ?? RedisNodeAddress(host: "\(seedPool.url)", port: 0)]
        }
        return state.withLock { $0.map?.masters ?? [] }
    }

    /// Every node of the cluster as `CLUSTER NODES` lists it (failed ones too, which
    /// `CLUSTER SLOTS` leaves out, as it does replicas that have not synced yet), masters first.
    /// Asked of each node the map names, then of the seeds, until one answers: during a
    /// failover the first master may be the one that is down.
    public func nodes() async throws -> [(address: RedisNodeAddress, isMaster: Bool, flags: String)] {
        guard try await isCluster() else { return try await masters().map { ($0, true, "master") } }
        let known = state.withLock { $0.map?.allNodes ?? [] }
        let candidates = known + target.seeds.compactMap { RedisNodeAddress(url: $0) }.filter { !known.contains($0) }
        var text: String?
        var lastError: (any Error)?
        for node in candidates where text == nil {
            do {
                let reply = try await command(["CLUSTER", "NODES"], on: node)
                if let message = reply.errorMessage { throw TTSError.store("Redis at \(node) answered CLUSTER NODES with \(message.prefix(200))") }
                text = reply.text
            } catch {
                lastError = error
            }
        }
        guard let text else {
            throw lastError ?? TTSError.store("Redis Cluster \(target) has no node to ask for its members.")
        }
        let nodes = text.split(whereSeparator: \.isNewline).compactMap { line -> (RedisNodeAddress, Bool, String)? in
            let fields = line.split(separator: " ")
            guard fields.count >= 3 else { return nil }
            let endpoint = fields[1].prefix { $0 != "@" && $0 != "," }
            guard let address = RedisNodeAddress(endpoint), address.port > 0 else { return nil }
            let flags = fields[2].split(separator: ",").filter { $0 != "myself" }.joined(separator: ",")
            return (address, flags.contains("master"), flags)
        }
        return nodes.filter(\.1) + nodes.filter { !$0.1 }
    }

    /// One command on one named node (health checks, per-node figures).
    public func command(_ arguments: [String], on node: RedisNodeAddress) async throws -> RedisReply {
        guard try await isCluster() else { return try await seedPool.command(arguments) }
        return try await pool(for: node).command(arguments)
    }

    /// Closes every node's pool.
    public func close() {
        let pools = state.withLock { Array($0.pools.values) }
        seedPool.close()
        for pool in pools { pool.close() }
    }

    // MARK: - The slot map

    private func owner(of slot: RedisSlot?) throws -> RedisNodeAddress {
        let found = state.withLock { state -> RedisNodeAddress? in
            guard let map = state.map else { return nil }
            guard let slot else { return map.masters.first }
            return map.owner(of: slot)
        }
        guard let found else {
            throw TTSError.store("Redis Cluster \(target) has no node serving slot \(slot?.description ?? "any") right now (a failover may be under way); it is asked again on the next call.")
        }
        return found
    }

    private func pool(for node: RedisNodeAddress) -> RedisPool {
        state.withLock { state in
            if let pool = state.pools[node] { return pool }
            var configuration = configuration
            configuration.url = node.url(like: target.seeds[0])
            let pool = RedisPool(configuration)
            state.pools[node] = pool
            return pool
        }
    }

    /// Asks the known nodes, then the seeds, for `CLUSTER SLOTS` until one answers.
    /// Without `force`, does nothing when the map was asked for very recently.
    func refreshMap(force: Bool) async throws {
        let now = ContinuousClock.now
        let (due, known) = state.withLock { state -> (Bool, [RedisNodeAddress]) in
            if !force, let last = state.lastRefresh, now - last < RedisClient.refreshInterval { return (false, []) }
            state.lastRefresh = now
            state.refreshes += 1
            return (true, state.map?.allNodes ?? [])
        }
        guard due else { return }
        var candidates = known
        for seed in target.seeds.compactMap(RedisNodeAddress.init(url:)) where !candidates.contains(seed) {
            candidates.append(seed)
        }
        var lastError: (any Error)?
        for node in candidates {
            do {
                let reply = try await pool(for: node).command(["CLUSTER", "SLOTS"])
                if let map = RedisSlotMap.parse(reply, askedNode: node) {
                    state.withLock { $0.map = map }
                    return
                }
                lastError = TTSError.store("Redis at \(node) answered CLUSTER SLOTS with \(reply.errorMessage.map { String($0.prefix(200)) } ?? "no slots")")
            } catch {
                lastError = error
            }
        }
        throw TTSError.store("Cannot read the slot map of Redis Cluster \(target): \(lastError.map { TTSError.message(of: $0) } ?? "no node to ask"). Check REDIS_URL.")
    }

    /// The master serving `key`'s slot by the current map.
    func node(serving key: String) async throws -> RedisNodeAddress {
        _ = try await isCluster()
        return try owner(of: RedisSlot(key: key))
    }

    /// Test hook: pretend `slot` is served by `node`, as a map gone stale would.
    func pretendOwner(of slot: RedisSlot, is node: RedisNodeAddress) {
        state.withLock { $0.map?.assign(slot, to: node) }
    }
}
