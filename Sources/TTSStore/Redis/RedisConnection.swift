import CHiredis
import Foundation
import TTSCore

/// One blocking connection to a Redis server: a hiredis context, logged in (AUTH) and on the
/// right database (SELECT) before the initializer returns.
///
/// Every call blocks the calling thread for a network round trip, so call it from a thread of
/// its own, never from Swift's cooperative pool: `RedisPool` runs the calls on a Dispatch
/// queue of its own and bridges to async/await. This is the only file that sees hiredis.
///
/// ```swift
/// let connection = try RedisConnection(url: try RedisURL(parsing: "redis://127.0.0.1"))
/// _ = try connection.command(["SET", "greeting", "hello"])
/// let reply = try connection.command(["GET", "greeting"])   // .string(Data("hello".utf8))
/// ```
///
/// Once an I/O error, a timeout or a protocol error has happened the context is freed and
/// `isBroken` is true: the reply stream may be out of step, so the connection is never reused.
public final class RedisConnection: @unchecked Sendable {
    // @unchecked: the context pointer is only touched while `contextLock` is held.

    public let url: RedisURL
    public let commandTimeout: Duration

    /// Guards `context`; hiredis contexts are not thread-safe.
    private let contextLock = NSLock()
    private var context: UnsafeMutablePointer<redisContext>?

    /// Connects, sets the command timeout, sends AUTH and SELECT (or PING, so a server that
    /// wants a password says so now rather than on the first real command).
    /// Throws `.store` errors that name the server (password redacted) and what to fix.
    public init(url: RedisURL, connectTimeout: Duration = .milliseconds(500),
                commandTimeout: Duration = .seconds(2)) throws {
        self.url = url
        self.commandTimeout = commandTimeout
        RedisConnection.ignoreBrokenPipes
        let connectTV = RedisConnection.timeval(connectTimeout)
        let raw: UnsafeMutablePointer<redisContext>?
        switch url.endpoint {
        case let .tcp(host, port):
            raw = redisConnectWithTimeout(host, Int32(port), connectTV)
        case let .unix(path):
            raw = redisConnectUnixWithTimeout(path, connectTV)
        }
        guard let raw else {
            throw TTSError.store("Cannot connect to Redis at \(url): out of memory creating the connection.")
        }
        if raw.pointee.err != 0 {
            let reason = RedisConnection.errorString(raw)
            redisFree(raw)
            throw TTSError.store("Cannot connect to Redis at \(url): \(reason). Start redis-server there or fix REDIS_URL.")
        }
        if redisSetTimeout(raw, RedisConnection.timeval(commandTimeout)) != REDIS_OK {
            let reason = RedisConnection.errorString(raw)
            redisFree(raw)
            throw TTSError.store("Cannot set a command timeout on the Redis connection to \(url): \(reason).")
        }
        // hiredis frees its read buffer after every reply that left more than 16 KiB unused, so
        // each audio-sized reply would grow it again from nothing (and past 128 KiB through
        // fresh mmap'ed pages). Keeping up to 1 MiB per connection lets clip-sized replies
        // reuse it; larger ones still hand the memory back.
        raw.pointee.reader.pointee.maxbuf = 1 << 20
        context = raw
        try logIn()
    }

    /// hiredis writes with write(2): a write to a socket the server has closed would raise
    /// SIGPIPE and kill the whole process instead of returning EPIPE. Ignored once, process-wide.
    private static let ignoreBrokenPipes: Void = { _ = signal(SIGPIPE, SIG_IGN) }()

    deinit {
        if let context { redisFree(context) }
    }

    /// Whether the connection failed and was closed; a broken connection answers every call
    /// with a `.store` error.
    public var isBroken: Bool {
        contextLock.lock()
        defer { contextLock.unlock() }
        return context == nil
    }

    /// Closes the socket now rather than at deinit.
    public func close() {
        contextLock.lock()
        defer { contextLock.unlock() }
        if let context { redisFree(context) }
        context = nil
    }

    /// Sends one command and waits for its reply. Arguments are binary safe.
    /// A Redis error reply is returned as `.error`; a failed connection throws `.store`.
    public func command(_ arguments: [Data]) throws -> RedisReply {
        precondition(!arguments.isEmpty, "a Redis command needs at least its name")
        contextLock.lock()
        defer { contextLock.unlock() }
        let context = try liveContext(for: arguments)
        let reply = RedisConnection.withArgv(arguments) { argc, argv, lengths in
            redisCommandArgv(context, argc, argv, lengths)
        }
        guard let reply else { throw failure(during: arguments) }
        defer { freeReplyObject(reply) }
        return RedisConnection.convert(reply.assumingMemoryBound(to: redisReply.self))
    }

    public func command(_ arguments: [String]) throws -> RedisReply {
        try command(arguments.map { Data($0.utf8) })
    }

    /// Sends several commands in one write and reads their replies in order: one round trip.
    public func pipeline(_ commands: [[Data]]) throws -> [RedisReply] {
        guard !commands.isEmpty else { return [] }
        contextLock.lock()
        defer { contextLock.unlock() }
        let context = try liveContext(for: commands[0])
        for arguments in commands {
            precondition(!arguments.isEmpty, "a Redis command needs at least its name")
            let status = RedisConnection.withArgv(arguments) { argc, argv, lengths in
                redisAppendCommandArgv(context, argc, argv, lengths)
            }
            if status != REDIS_OK { throw failure(during: arguments) }
        }
        var replies: [RedisReply] = []
        replies.reserveCapacity(commands.count)
        for arguments in commands {
            var raw: UnsafeMutableRawPointer?
            guard redisGetReply(context, &raw) == REDIS_OK, let raw else { throw failure(during: arguments) }
            replies.append(RedisConnection.convert(raw.assumingMemoryBound(to: redisReply.self)))
            freeReplyObject(raw)
        }
        return replies
    }

    // MARK: - Log-in

    private func logIn() throws {
        if let password = url.password {
            var arguments = ["AUTH"]
            if let user = url.username { arguments.append(user) }
            arguments.append(password)
            let reply = try command(arguments)
            if let message = reply.errorMessage {
                close()
                if message.contains("without any password configured") {
                    throw TTSError.store("Redis at \(url) has no password set, but REDIS_URL gives one: remove the password from REDIS_URL.")
                }
                if message.hasPrefix("WRONGPASS") || message.localizedCaseInsensitiveContains("invalid") {
                    throw TTSError.store("Redis refused the password for \(url): check REDIS_URL.")
                }
                throw TTSError.store("Redis at \(url) refused to log in: \(RedisConnection.firstLine(message)). Check REDIS_URL.")
            }
        }
        let reply = try url.database != 0
            ? command(["SELECT", String(url.database)])
            : command(["PING"])
        if let message = reply.errorMessage {
            close()
            if message.hasPrefix("NOAUTH") {
                throw TTSError.store("Redis at \(url) requires a password: add it to REDIS_URL (redis://:PASSWORD@host:port).")
            }
            if url.database != 0 {
                throw TTSError.store("Redis at \(url) has no database \(url.database) (\(RedisConnection.firstLine(message))): use a smaller number in REDIS_URL.")
            }
            throw TTSError.store("Redis at \(url) answered PING with an error: \(RedisConnection.firstLine(message)).")
        }
    }

    // MARK: - Failures

    /// The context, or a `.store` error when it was closed. Caller holds `contextLock`.
    private func liveContext(for arguments: [Data]) throws -> UnsafeMutablePointer<redisContext> {
        guard let context else {
            throw TTSError.store("The Redis connection to \(url) was closed after an earlier failure; \(RedisConnection.name(of: arguments)) was not sent.")
        }
        return context
    }

    /// Builds the error for a failed call and frees the context, whose reply stream is now
    /// out of step. Caller holds `contextLock`.
    private func failure(during arguments: [Data]) -> TTSError {
        guard let context else {
            return TTSError.store("The Redis connection to \(url) was closed.")
        }
        var reason = RedisConnection.errorString(context)
        let code = context.pointee.err
        if code == REDIS_ERR_IO && (reason.contains("temporarily unavailable") || reason.contains("timed out")) {
            reason = "no answer within \(RedisConnection.milliseconds(commandTimeout)) ms"
        } else if code == REDIS_ERR_EOF {
            reason = "the server closed the connection"
        }
        redisFree(context)
        self.context = nil
        return TTSError.store("Redis at \(url) failed during \(RedisConnection.name(of: arguments)): \(reason). The connection was dropped; the next call reconnects.")
    }

    // MARK: - C plumbing

    /// Lays the arguments out in one buffer and hands hiredis pointers and lengths into it.
    private static func withArgv<R>(
        _ arguments: [Data],
        _ body: (Int32, UnsafeMutablePointer<UnsafePointer<CChar>?>, UnsafePointer<Int>) -> R
    ) -> R {
        let total = arguments.reduce(0) { $0 + $1.count }
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: max(total, 1), alignment: 1)
        defer { buffer.deallocate() }
        var pointers: [UnsafePointer<CChar>?] = []
        var lengths: [Int] = []
        pointers.reserveCapacity(arguments.count)
        lengths.reserveCapacity(arguments.count)
        var offset = 0
        for argument in arguments {
            let start = buffer + offset
            argument.withUnsafeBytes { source in
                if let base = source.baseAddress, source.count > 0 {
                    start.copyMemory(from: base, byteCount: source.count)
                }
            }
            pointers.append(UnsafePointer(start.assumingMemoryBound(to: CChar.self)))
            lengths.append(argument.count)
            offset += argument.count
        }
        return pointers.withUnsafeMutableBufferPointer { argv in
            lengths.withUnsafeBufferPointer { argvLengths in
                body(Int32(arguments.count), argv.baseAddress!, argvLengths.baseAddress!)
            }
        }
    }

    private static func convert(_ reply: UnsafeMutablePointer<redisReply>) -> RedisReply {
        let r = reply.pointee
        switch r.type {
        case REDIS_REPLY_STATUS:
            return .status(text(r))
        case REDIS_REPLY_ERROR:
            return .error(text(r))
        case REDIS_REPLY_INTEGER:
            return .integer(Int(r.integer))
        case REDIS_REPLY_STRING:
            guard let str = r.str else { return .string(Data()) }
            guard r.len >= 4096 else { return .string(Data(bytes: str, count: r.len)) }
            // Large values (audio) are taken over rather than copied: hiredis allocated `str`
            // with malloc, and frees it with the reply only while the pointer is still set.
            reply.pointee.str = nil
            return .string(Data(bytesNoCopy: str, count: r.len, deallocator: .free))
        case REDIS_REPLY_ARRAY:
            var elements: [RedisReply] = []
            elements.reserveCapacity(r.elements)
            for i in 0..<r.elements {
                if let element = r.element[i] { elements.append(convert(element)) } else { elements.append(.nil) }
            }
            return .array(elements)
        default:
            return .nil
        }
    }

    private static func text(_ r: redisReply) -> String {
        guard let str = r.str else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: str, count: r.len), as: UTF8.self)
    }

    private static func errorString(_ context: UnsafeMutablePointer<redisContext>) -> String {
        withUnsafeBytes(of: context.pointee.errstr) { raw in
            let bytes = raw.prefix { $0 != 0 }
            let message = String(decoding: bytes, as: UTF8.self)
            return message.isEmpty ? "unknown error (code \(context.pointee.err))" : message
        }
    }

    private static func timeval(_ duration: Duration) -> Glibc.timeval {
        let (seconds, attoseconds) = duration.components
        return Glibc.timeval(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
    }

    static func milliseconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        return Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000)
    }

    /// The command name for messages; arguments are never shown (they may hold secrets or audio).
    private static func name(of arguments: [Data]) -> String {
        guard let first = arguments.first else { return "a command" }
        return String(decoding: first.prefix(24), as: UTF8.self).uppercased()
    }

    private static func firstLine(_ message: String) -> String {
        String(message.prefix { $0 != "\n" && $0 != "\r" }.prefix(200))
    }
}
