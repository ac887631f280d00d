import Dispatch
import Foundation
import TTSCore

/// How a `RedisPool` connects, how many connections it may hold, and how it recovers.
///
/// ```swift
/// let configuration = RedisPoolConfiguration(url: try RedisURL(parsing: "redis://127.0.0.1"),
///                                            maxConnections: 4)
/// ```
public struct RedisPoolConfiguration: Sendable {
    public var url: RedisURL
    /// Upper bound on open connections; callers beyond it wait for one to come back.
    public var maxConnections: Int
    /// Short, so that a down server turns into a `.store` error quickly and the service can
    /// carry on from the local tier.
    public var connectTimeout: Duration
    /// How long one command (or one pipeline) may wait for its replies.
    public var commandTimeout: Duration
    /// A connection idle longer than this is checked with PING before it is handed out
    /// (servers and NAT boxes drop idle sockets silently).
    public var healthCheckAfterIdle: Duration
    /// First wait after a failed connect; doubles on each further failure up to
    /// `maxReconnectDelay`. During the wait, calls fail at once with the last connect error
    /// instead of each paying a connect timeout.
    public var initialReconnectDelay: Duration
    public var maxReconnectDelay: Duration

    public init(url: RedisURL, maxConnections: Int = 4,
                connectTimeout: Duration = .milliseconds(500),
                commandTimeout: Duration = .seconds(2),
                healthCheckAfterIdle: Duration = .seconds(3),
                initialReconnectDelay: Duration = .milliseconds(100),
                maxReconnectDelay: Duration = .seconds(5)) {
        self.url = url
        self.maxConnections = max(1, maxConnections)
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        self.healthCheckAfterIdle = healthCheckAfterIdle
        self.initialReconnectDelay = initialReconnectDelay
        self.maxReconnectDelay = maxReconnectDelay
    }
}

/// A bounded set of `RedisConnection`s shared by async callers.
///
/// Each connection lives on its own serial `DispatchQueue`, so hiredis's blocking calls never
/// occupy Swift's cooperative threads; the pool bridges them with continuations. A connection
/// that fails is dropped (never handed out again) and the idle ones are re-checked with PING,
/// since they probably talk to the same dead server. Connecting again happens on the next
/// call, after an exponentially growing delay, so a pool outlives a Redis restart.
///
/// ```swift
/// let pool = RedisPool(RedisPoolConfiguration(url: try RedisURL(parsing: "redis://127.0.0.1")))
/// let reply = try await pool.command(["PING"])          // .status("PONG")
/// let replies = try await pool.pipeline([["INCR", "a"], ["INCR", "b"]].map { $0.map { Data($0.utf8) } })
/// ```
///
/// Every failure to reach the server is a `TTSError` of kind `.store`.
public actor RedisPool {
    public nonisolated let configuration: RedisPoolConfiguration
    public nonisolated var url: RedisURL { configuration.url }

    private struct IdleConnection {
        let pooled: PooledConnection
        var lastUsed: ContinuousClock.Instant
        /// Set when another connection failed: check this one before trusting it.
        var suspect: Bool
    }

    private let clock = ContinuousClock()
    private var idle: [IdleConnection] = []
    /// Idle plus checked out plus being connected.
    private var openCount = 0
    private var waiters: [CheckedContinuation<Void, Never>] = []
    private var reconnectDelay: Duration = .zero
    private var nextConnectAttempt: ContinuousClock.Instant?
    private var lastConnectError: TTSError?
    private var connectionsMade = 0
    /// Highest `openCount` seen; lets tests check the bound.
    private(set) var peakConnectionCount = 0
    private var isClosed = false

    public init(_ configuration: RedisPoolConfiguration) {
        self.configuration = configuration
    }

    public init(url: RedisURL, maxConnections: Int = 4) {
        self.init(RedisPoolConfiguration(url: url, maxConnections: maxConnections))
    }

    /// Open connections right now (idle, in use, or connecting); never above `maxConnections`.
    public var connectionCount: Int { openCount }

    /// Runs `body` with a connection of its own, on that connection's thread.
    /// The connection goes back to the pool afterwards, or is dropped if it broke.
    public func withConnection<T: Sendable>(
        _ body: @escaping @Sendable (RedisConnection) throws -> T
    ) async throws -> T {
        let pooled = try await checkOut()
        do {
            let value = try await pooled.run(body)
            checkIn(pooled)
            return value
        } catch {
            checkIn(pooled)
            throw error
        }
    }

    public func command(_ arguments: [Data]) async throws -> RedisReply {
        try await withConnection { try $0.command(arguments) }
    }

    public func command(_ arguments: [String]) async throws -> RedisReply {
        try await withConnection { try $0.command(arguments) }
    }

    /// Several commands in one round trip on one connection; replies in order.
    public func pipeline(_ commands: [[Data]]) async throws -> [RedisReply] {
        try await withConnection { try $0.pipeline(commands) }
    }

    /// Closes the idle connections and refuses further calls; connections in use close when
    /// they come back.
    public func close() {
        isClosed = true
        for entry in idle { entry.pooled.connection.close() }
        openCount -= idle.count
        idle.removeAll()
        let pending = waiters
        waiters.removeAll()
        for waiter in pending { waiter.resume() }
    }

    // MARK: - Checking out and in

    private func checkOut() async throws -> PooledConnection {
        // Bounded: each pass either returns, throws, drops a dead connection, or waits for a
        // check-in; there are at most `maxConnections` connections to drop.
        while true {
            if isClosed {
                throw TTSError.store("The Redis pool for \(url) was closed; no more commands are sent.")
            }
            if var entry = idle.popLast() {
                let now = clock.now
                if entry.suspect || now - entry.lastUsed > configuration.healthCheckAfterIdle {
                    let alive = (try? await entry.pooled.run { try $0.command(["PING"]) }) == .status("PONG")
                    if !alive {
                        entry.pooled.connection.close()
                        openCount -= 1
                        wakeOneWaiter()
                        continue
                    }
                    entry.suspect = false
                }
                return entry.pooled
            }
            if openCount < configuration.maxConnections {
                if let next = nextConnectAttempt, clock.now < next, let lastConnectError {
                    let wait = RedisConnection.milliseconds(next - clock.now)
                    throw TTSError(.store, lastConnectError.message + " (Next connection attempt in \(wait) ms.)")
                }
                openCount += 1
                peakConnectionCount = max(peakConnectionCount, openCount)
                do {
                    let pooled = try await connect()
                    reconnectDelay = .zero
                    nextConnectAttempt = nil
                    lastConnectError = nil
                    return pooled
                } catch {
                    openCount -= 1
                    let storeError = (error as? TTSError)
                        ?? TTSError.store("Cannot connect to Redis at \(url): \(error).")
                    reconnectDelay = reconnectDelay == .zero
                        ? configuration.initialReconnectDelay
                        : min(reconnectDelay * 2, configuration.maxReconnectDelay)
                    nextConnectAttempt = clock.now + reconnectDelay
                    lastConnectError = storeError
                    wakeOneWaiter()
                    throw storeError
                }
            }
            await withCheckedContinuation { waiters.append($0) }
        }
    }

    private func checkIn(_ pooled: PooledConnection) {
        if pooled.connection.isBroken || isClosed {
            pooled.connection.close()
            openCount -= 1
            if pooled.connection.isBroken {
                for i in idle.indices { idle[i].suspect = true }
            }
        } else {
            idle.append(IdleConnection(pooled: pooled, lastUsed: clock.now, suspect: false))
        }
        wakeOneWaiter()
    }

    private func wakeOneWaiter() {
        if !waiters.isEmpty { waiters.removeFirst().resume() }
    }

    /// Connects on the new connection's own queue: a connect may block for the timeout.
    private func connect() async throws -> PooledConnection {
        connectionsMade += 1
        let queue = DispatchQueue(label: "tts.redis.connection.\(connectionsMade)")
        let configuration = self.configuration
        let connection: RedisConnection = try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Result {
                    try RedisConnection(url: configuration.url,
                                        connectTimeout: configuration.connectTimeout,
                                        commandTimeout: configuration.commandTimeout)
                })
            }
        }
        return PooledConnection(connection: connection, queue: queue)
    }
}

/// A connection and the serial queue its blocking calls run on.
private final class PooledConnection: Sendable {
    let connection: RedisConnection
    let queue: DispatchQueue

    init(connection: RedisConnection, queue: DispatchQueue) {
        self.connection = connection
        self.queue = queue
    }

    func run<T: Sendable>(_ body: @escaping @Sendable (RedisConnection) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { [connection] in
                continuation.resume(with: Result { try body(connection) })
            }
        }
    }
}
