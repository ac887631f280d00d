import Dispatch
import Foundation
import Synchronization
import TTSConcurrency
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
/// Each connection's blocking hiredis calls run on that connection's own serial Dispatch
/// queue, never on Swift's cooperative threads; the pool bridges them with continuations.
/// Each call holds a connection of its own for its duration. A connection
/// that fails is dropped (never handed out again) and the idle ones are re-checked with PING,
/// since they probably talk to the same dead server. Connecting again happens on the next
/// call, after an exponentially growing delay, so a pool outlives a Redis restart.
///
/// The bookkeeping is a lock rather than an actor: a Redis hit is a few tens of microseconds
/// of network, and hopping onto an actor and off again for every check-out and check-in cost
/// about as much. The queues stay one per connection because Dispatch gives a serial queue a
/// thread even when others are blocked, whereas concurrent queues (and `DispatchQueue.global()`)
/// share a small pool on Linux that grows only once a second: a stalled server must not
/// starve the store work that runs there.
///
/// ```swift
/// let pool = RedisPool(RedisPoolConfiguration(url: try RedisURL(parsing: "redis://127.0.0.1")))
/// let reply = try await pool.command(["PING"])          // .status("PONG")
/// let replies = try await pool.pipeline([["INCR", "a"], ["INCR", "b"]].map { $0.map { Data($0.utf8) } })
/// ```
///
/// Every failure to reach the server is a `TTSError` of kind `.store`.
public final class RedisPool: Sendable {
    public let configuration: RedisPoolConfiguration
    public var url: RedisURL { configuration.url }

    private struct IdleConnection {
        let connection: PooledConnection
        var lastUsed: ContinuousClock.Instant
        /// Set when another connection failed: check this one before trusting it.
        var suspect: Bool

        /// Whether it must answer a PING before it is used (suspect, or idle too long).
        func needsCheck(at now: ContinuousClock.Instant, after idleLimit: Duration) -> Bool {
            suspect || now - lastUsed > idleLimit
        }
    }

    private struct State {
        var idle: [IdleConnection] = []
        /// Idle plus checked out plus being connected.
        var openCount = 0
        var waiters: [CheckedContinuation<Step?, Never>] = []
        var reconnectDelay: Duration = .zero
        var nextConnectAttempt: ContinuousClock.Instant?
        var lastConnectError: TTSError?
        /// Highest `openCount` seen; lets tests check the bound.
        var peakConnectionCount = 0
        var connectionsMade = 0
        var isClosed = false
    }

    /// What `checkOut` does next, decided under the lock and done outside it.
    private enum Step {
        case use(PooledConnection)
        case check(PooledConnection)
        case connect
        case fail(TTSError)
        case wait
    }

    private let clock = ContinuousClock()
    private let state = Mutex(State())

    public init(_ configuration: RedisPoolConfiguration) {
        self.configuration = configuration
    }

    public convenience init(url: RedisURL, maxConnections: Int = 4) {
        self.init(RedisPoolConfiguration(url: url, maxConnections: maxConnections))
    }

    /// Open connections right now (idle, in use, or connecting); never above `maxConnections`.
    public var connectionCount: Int { state.withLock { $0.openCount } }

    var peakConnectionCount: Int { state.withLock { $0.peakConnectionCount } }

    /// Connections checked in and idle (tests wait for one: a check-in happens on the
    /// connection's thread, just after its caller was resumed).
    var idleConnectionCount: Int { state.withLock { $0.idle.count } }

    /// Runs `body` with a connection of its own, off the cooperative pool.
    /// The connection goes back to the pool afterwards, or is dropped if it broke.
    public func withConnection<T: Sendable>(
        _ body: @escaping @Sendable (RedisConnection) throws -> T
    ) async throws -> T {
        let pooled = try await checkOut()
        // Checked in on the connection's thread once the work left for after the answer is
        // done too (`AfterAnswer`): the next caller's command does not queue behind a row write.
        let result = await pooled.run({ Result { try body(pooled.connection) } }, then: { [self] in checkIn(pooled) })
        return try result.get()
    }

    /// `withConnection`, run on the caller's own thread when `InlineBlocking` has room and an
    /// idle connection in good standing is at hand (used recently, not suspect): a short call
    /// then pays no hop to the connection's thread and back. Otherwise exactly `withConnection`.
    public func withConnection<T: Sendable>(inlineWhenFree: Bool,
                                            _ body: @escaping @Sendable (RedisConnection) throws -> T) async throws -> T {
        if inlineWhenFree, let result = InlineBlocking.run({ () -> Result<T, any Error>? in
            guard let pooled = checkOutAtOnce() else { return nil }
            let result = Result { try body(pooled.connection) }
            checkIn(pooled)
            return result
        }), let result {
            return try result.get()
        }
        return try await withConnection(body)
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
        let (idle, waiters) = state.withLock { state in
            state.isClosed = true
            defer {
                state.openCount -= state.idle.count
                state.idle.removeAll()
                state.waiters.removeAll()
            }
            return (state.idle, state.waiters)
        }
        for entry in idle { entry.connection.connection.close() }
        for waiter in waiters { waiter.resume(returning: nil) }
    }

    // MARK: - Checking out and in

    private func checkOut() async throws -> PooledConnection {
        // Bounded: each pass either returns, throws, drops a dead connection, or waits for a
        // check-in; there are at most `maxConnections` connections to drop.
        while true {
            let now = clock.now
            var step = state.withLock { decide(&$0, now: now) }
            if case .wait = step {
                // Decided again and registered under one lock: a check-in in between would
                // otherwise find no waiter to wake. Woken with nil: decide once more.
                let decided = await withCheckedContinuation { (waiter: CheckedContinuation<Step?, Never>) in
                    let immediate = state.withLock { state -> Step? in
                        let step = decide(&state, now: clock.now)
                        guard case .wait = step else { return step }
                        state.waiters.append(waiter)
                        return nil
                    }
                    if let immediate { waiter.resume(returning: immediate) }
                }
                guard let decided else { continue }
                step = decided
            }
            switch step {
            case let .use(connection):
                return connection
            case let .check(pooled):
                let alive = await pooled.run { (try? pooled.connection.command(["PING"])) == .status("PONG") }
                if alive { return pooled }
                pooled.connection.close()
                dropOne()
            case .connect:
                return try await connect()
            case let .fail(error):
                throw error
            case .wait:
                continue
            }
        }
    }

    /// An idle connection that needs no check (not suspect, used within
    /// `healthCheckAfterIdle`), taken without waiting; nil when there is none.
    private func checkOutAtOnce() -> PooledConnection? {
        let now = clock.now
        return state.withLock { state -> PooledConnection? in
            guard !state.isClosed, let entry = state.idle.last,
                  !entry.needsCheck(at: now, after: configuration.healthCheckAfterIdle) else { return nil }
            state.idle.removeLast()
            return entry.connection
        }
    }

    /// What a caller wanting a connection does next; takes what it decides on (an idle
    /// connection, a slot to connect in) under the caller's hold of the lock.
    private func decide(_ state: inout State, now: ContinuousClock.Instant) -> Step {
        if state.isClosed {
            return .fail(TTSError.store("The Redis pool for \(url) was closed; no more commands are sent."))
        }
        if let entry = state.idle.popLast() {
            return entry.needsCheck(at: now, after: configuration.healthCheckAfterIdle) ? .check(entry.connection) : .use(entry.connection)
        }
        guard state.openCount < configuration.maxConnections else { return .wait }
        if let next = state.nextConnectAttempt, now < next, let lastConnectError = state.lastConnectError {
            // Backing off after a failed connect: wait for a connection in use if there is
            // one (the server may well be fine), else fail at once rather than wait it out.
            guard state.openCount == 0 else { return .wait }
            let wait = RedisConnection.milliseconds(next - now)
            return .fail(TTSError(.store, lastConnectError.message + " (Next connection attempt in \(wait) ms.)"))
        }
        state.openCount += 1
        state.peakConnectionCount = max(state.peakConnectionCount, state.openCount)
        return .connect
    }

    /// Callers waiting for a connection (tests wait for one to queue up).
    var waiterCount: Int { state.withLock { $0.waiters.count } }

    private func checkIn(_ pooled: PooledConnection) {
        let broken = pooled.connection.isBroken
        let now = clock.now
        let (woken, closeIt) = state.withLock { state -> ([CheckedContinuation<Step?, Never>], Bool) in
            let closeIt = broken || state.isClosed
            if closeIt {
                if broken { for i in state.idle.indices { state.idle[i].suspect = true } }
                return (Self.forgetOne(&state), true)
            }
            state.idle.append(IdleConnection(connection: pooled, lastUsed: now, suspect: false))
            return (state.waiters.isEmpty ? [] : [state.waiters.removeFirst()], false)
        }
        if closeIt { pooled.connection.close() }
        for waiter in woken { waiter.resume(returning: nil) }
    }

    /// Forgets a connection that was closed, and lets a waiter try in its place.
    private func dropOne() {
        let woken = state.withLock { Self.forgetOne(&$0) }
        for waiter in woken { waiter.resume(returning: nil) }
    }

    /// Counts one connection less; returns the waiters to wake: one, to try in its place, or
    /// every one when it was the last. A waiter woken then, while the pool backs off after a
    /// failed connect, fails at once (no connection is left to wait for) and wakes nobody:
    /// the others, woken one at a time, would wait for a check-in that never comes (a dead
    /// master's pool, whose slots went to its replica, hung a queue worker that way).
    private static func forgetOne(_ state: inout State) -> [CheckedContinuation<Step?, Never>] {
        state.openCount -= 1
        if state.openCount == 0 {
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        return state.waiters.isEmpty ? [] : [state.waiters.removeFirst()]
    }

    /// Connects on the new connection's own queue: a connect may block for the timeout.
    private func connect() async throws -> PooledConnection {
        let number = state.withLock { state in
            state.connectionsMade += 1
            return state.connectionsMade
        }
        let queue = DispatchQueue(label: "tts.redis.connection.\(number)")
        let configuration = self.configuration
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<RedisConnection, any Error>, Never>) in
            queue.async {
                continuation.resume(returning: Result {
                    try RedisConnection(url: configuration.url, connectTimeout: configuration.connectTimeout,
                                        commandTimeout: configuration.commandTimeout)
                })
            }
        }
        switch result {
        case let .success(connection):
            let closed = state.withLock { state -> Bool in
                state.reconnectDelay = .zero
                state.nextConnectAttempt = nil
                state.lastConnectError = nil
                if state.isClosed { state.openCount -= 1 }
                return state.isClosed
            }
            if closed {
                // close() came while this connect was under way: nothing more is sent.
                connection.close()
                throw TTSError.store("The Redis pool for \(url) was closed; no more commands are sent.")
            }
            return PooledConnection(connection: connection, queue: queue)
        case let .failure(error):
            let storeError = (error as? TTSError) ?? TTSError.store("Cannot connect to Redis at \(url): \(error).")
            let now = clock.now
            // Every waiter hears about it: each then fails at once with this error (within the
            // back-off) instead of waiting for a check-in that may never come.
            let waiters = state.withLock { state -> [CheckedContinuation<Step?, Never>] in
                state.openCount -= 1
                state.reconnectDelay = state.reconnectDelay == .zero
                    ? configuration.initialReconnectDelay
                    : min(state.reconnectDelay * 2, configuration.maxReconnectDelay)
                state.nextConnectAttempt = now + state.reconnectDelay
                state.lastConnectError = storeError
                defer { state.waiters.removeAll() }
                return state.waiters
            }
            for waiter in waiters { waiter.resume(returning: nil) }
            throw storeError
        }
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

    /// Runs blocking work on this connection's queue without blocking a cooperative thread;
    /// `finally` runs there after the answer and what `work` left for after it.
    func run<T: Sendable>(_ work: @escaping @Sendable () -> T, then finally: @escaping @Sendable () -> Void = {}) async -> T {
        await withCheckedContinuation { continuation in
            queue.async {
                AfterAnswer.answering(work, then: { continuation.resume(returning: $0) })
                finally()
            }
        }
    }
}
