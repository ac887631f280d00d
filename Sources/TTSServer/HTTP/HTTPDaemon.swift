import CMicroHTTPD
import Foundation
import Glibc
import Synchronization
import TTSCore

/// What the daemon asks of the layer above it: answers, and word of every finished exchange.
///
/// The daemon's threads (libmicrohttpd's pool) call `answerAtOnce` and `bodyTooLarge` and
/// `finished`: they may do short blocking work (a `stat`, a log line) but must never wait for
/// an engine. Anything that may wait goes through `respond`, which runs as a Swift task while
/// the connection is suspended, so no server thread is held.
public protocol HTTPExchangeHandler: Sendable {
    /// The answer when it needs no waiting (a blob from the disk, a health probe, a refusal);
    /// nil sends the request to `respond`.
    func answerAtOnce(_ request: ServerRequest) -> ServerResponse?
    func respond(_ request: ServerRequest) async -> ServerResponse
    /// The answer for a body past the limit (the body is not read any further).
    func bodyTooLarge(_ request: ServerRequest, limit: Int) -> ServerResponse
    /// Called once the answer was sent, or the client went away.
    func finished(_ exchange: FinishedExchange)
}

/// One finished request, for the access log and the request metrics. No header values: they
/// may carry tokens.
public struct FinishedExchange: Sendable {
    public var method: String
    public var path: String
    public var clientAddress: String
    public var status: Int
    public var bytes: Int
    public var tier: String?
    public var seconds: Double
    /// False when the client went away or the connection failed before the answer was sent.
    public var completed: Bool
}

/// Limits and identity of the HTTP daemon, set once at start.
public struct HTTPDaemonConfiguration: Sendable {
    public var address: ListenAddress
    /// libmicrohttpd's worker threads, each with its own epoll loop.
    public var threads: Int = 2
    /// Connections open at once; past it, new ones wait in the kernel's backlog until one closes.
    public var connectionLimit: Int = 1024
    /// Connections one client address may hold open at once (0: no limit of its own).
    public var perClientConnectionLimit: Int = 0
    /// A connection that sends or accepts nothing for this long is closed (slow clients).
    /// Suspended connections (waiting for the engine) are not timed.
    public var idleTimeoutSeconds: Int = 30
    /// Request bodies past this many bytes get `bodyTooLarge` (413); nothing more is read.
    public var maxBodyBytes: Int = 64 << 10
    /// PEM text of the certificate chain and private key: HTTPS when set.
    public var tlsCertificatePEM: String?
    public var tlsKeyPEM: String?

    public init(address: ListenAddress) {
        self.address = address
    }
}

/// The HTTP server's edge on GNU libmicrohttpd: the only file with MHD calls.
///
/// - Threads: an internal thread pool (`threads`), each polling with epoll; `MHD_USE_TURBO`.
/// - Bodies are counted as they arrive and never buffered past `maxBodyBytes`.
/// - A request that needs the handler's `respond` suspends its connection; the task queues
///   the answer and resumes it. So a hundred requests waiting for an engine hold no thread,
///   and cached answers never queue behind them.
/// - Answers come from memory (copied once into libmicrohttpd) or from a file descriptor
///   (sendfile), so a blob is never read into memory.
/// - Or from a stream (`StreamPump`): chunked, sent as produced, with no thread held while the
///   producer is slow.
/// - `stop(grace:)` stops accepting (`MHD_quiesce_daemon`), waits for requests in flight, then
///   cancels what remains and stops the daemon.
///
/// ```swift
/// let daemon = try HTTPDaemon(configuration, handler: router)
/// print(daemon.address)            // 127.0.0.1:41234 when asked for port 0
/// await daemon.stop(grace: .seconds(10))
/// ```
public final class HTTPDaemon: Sendable {
    /// Where it listens, with the port the kernel chose when asked for 0.
    public let address: ListenAddress
    public let isTLS: Bool
    private let core: DaemonCore
    /// The daemon handle and the quiesced listen socket, under one lock; nil once stopped.
    private let state: Mutex<DaemonState>

    public init(_ configuration: HTTPDaemonConfiguration, handler: any HTTPExchangeHandler) throws {
        let core = DaemonCore(handler: handler, maxBodyBytes: configuration.maxBodyBytes)
        var flags = MHD_USE_INTERNAL_POLLING_THREAD.rawValue | MHD_USE_EPOLL.rawValue
            | MHD_ALLOW_SUSPEND_RESUME.rawValue | MHD_USE_ITC.rawValue | MHD_USE_TURBO.rawValue
        if configuration.address.isIPv6 { flags |= MHD_USE_IPv6.rawValue }
        let tls = configuration.tlsCertificatePEM != nil && configuration.tlsKeyPEM != nil
        if tls { flags |= MHD_USE_TLS.rawValue }
        // libmicrohttpd hands the PEM text to GnuTLS at start; the C strings live until then.
        let started: OpaquePointer? = configuration.address.withSocketAddress { socketAddress in
            withOptionalCString(tls ? configuration.tlsCertificatePEM : nil) { cert in
                withOptionalCString(tls ? configuration.tlsKeyPEM : nil) { key in
                    tts_mhd_start(UInt32(flags), socketAddress,
                                  accessHandler, core.context,
                                  requestCompleted, core.context,
                                  connectionNotified, core.context,
                                  UInt32(max(1, configuration.threads)), UInt32(max(1, configuration.connectionLimit)),
                                  UInt32(max(0, configuration.perClientConnectionLimit)),
                                  UInt32(max(0, configuration.idleTimeoutSeconds)), cert, key)
                }
            }
        }
        guard let daemon = started else {
            let reason = String(cString: strerror(errno))
            core.release()
            throw TTSError(.config, "cannot listen on \(configuration.address)\(tls ? " with TLS" : ""): \(reason). Is another server on that port? Choose another with --listen (port 0: any free one)\(tls ? ", and check that --tls-cert and --tls-key are a matching PEM pair" : "").")
        }
        self.core = core
        isTLS = tls
        address = configuration.address.with(port: Int(tts_mhd_bound_port(daemon)))
        state = Mutex(DaemonState(daemon: DaemonHandle(raw: daemon)))
    }

    /// Requests received and not yet finished.
    public var requestsInFlight: Int { core.inFlight.load(ordering: .acquiring) }

    /// Stops accepting connections, waits up to `grace` for requests in flight, cancels the
    /// handlers still running (they answer 503) and waits a little for them to resume their
    /// connections, then stops the daemon. Returns whether every request finished within
    /// `grace`. Idempotent.
    @discardableResult
    public func stop(grace: Duration) async -> Bool {
        // Its own task: the caller is usually a cancelled one (Ctrl-C, SIGTERM), in which every
        // sleep below would return at once.
        await Task { await stopNow(grace: grace) }.value
    }

    private func stopNow(grace: Duration) async -> Bool {
        guard let daemon = state.withLock({ $0.daemon }) else { return true }
        let listener = MHD_quiesce_daemon(daemon.raw)
        // The socket stays open until MHD_stop_daemon (its threads may still hold it), but stops
        // listening now: new clients are refused at once instead of waiting in the backlog.
        if listener >= 0 { shutdown(listener, Int32(SHUT_RDWR)) }
        let deadline = ContinuousClock.now + grace
        while requestsInFlight > 0 && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        let drained = requestsInFlight == 0
        // A suspended connection must be resumed before MHD_stop_daemon: cancelled handlers
        // answer at once, and are given a bounded moment to do so.
        core.cancelHandlers()
        let resumeDeadline = ContinuousClock.now + .seconds(2)
        while core.suspendedCount > 0 && ContinuousClock.now < resumeDeadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        let stuck = core.suspendedCount > 0
        let handle = state.withLock { state -> DaemonHandle? in
            defer { state.daemon = nil }
            return state.daemon
        }
        guard let handle else { return drained }
        if stuck {
            // Stopping now would be undefined behaviour in libmicrohttpd; the process is about to
            // end anyway, so the daemon is left to it.
            return false
        }
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            // MHD_stop_daemon joins the daemon's threads: not on the cooperative pool.
            Thread.detachNewThread {
                MHD_stop_daemon(handle.raw)
                if listener >= 0 { close(listener) }
                done.resume()
            }
        }
        core.release()
        return drained
    }
}

/// The running daemon's handle. libmicrohttpd's calls on it are thread-safe.
private struct DaemonHandle: @unchecked Sendable {
    let raw: OpaquePointer
}

private struct DaemonState: Sendable {
    var daemon: DaemonHandle?
}

private struct ConnectionHandle: @unchecked Sendable {
    /// libmicrohttpd's connection; `MHD_resume_connection` may be called from any thread.
    let raw: OpaquePointer
}

/// What the C callbacks reach through their context pointer: the handler, the body limit, and
/// the requests in flight.
private final class DaemonCore: Sendable {
    let handler: any HTTPExchangeHandler
    let maxBodyBytes: Int
    let inFlight = Atomic<Int>(0)
    /// Handler tasks running while their connection is suspended, by exchange.
    private let running = Mutex<[ObjectIdentifier: Task<Void, Never>]>([:])
    /// The retain the C side holds on this object, until `release`.
    private let retained = Mutex<Unmanaged<DaemonCore>?>(nil)

    init(handler: any HTTPExchangeHandler, maxBodyBytes: Int) {
        self.handler = handler
        self.maxBodyBytes = maxBodyBytes
        retained.withLock { $0 = Unmanaged.passRetained(self) }
    }

    var context: UnsafeMutableRawPointer { Unmanaged.passUnretained(self).toOpaque() }

    func release() {
        retained.withLock {
            $0?.release()
            $0 = nil
        }
    }

    var suspendedCount: Int { running.withLock { $0.count } }

    /// Starts `body` as a task for `owner` (an exchange waiting for its answer, or a stream
    /// being pumped), registered before it can finish and unregister itself.
    func run(_ owner: AnyObject & Sendable, _ body: @escaping @Sendable () async -> Void) {
        running.withLock { running in
            running[ObjectIdentifier(owner)] = Task {
                await body()
                self.untrack(owner)
            }
        }
    }

    /// Starts `body` on the calling thread (`Task.immediate`), where it runs until it first
    /// waits; registered once that returns, unless it has finished by then.
    func runImmediately(_ owner: AnyObject & Sendable, _ body: @escaping @Sendable () async -> Void) {
        let id = ObjectIdentifier(owner)
        let finished = Mutex(false)
        let task = Task.immediate {
            await body()
            // Registered already: unregister; not yet: say so, and it never will be.
            finished.withLock { $0 = true }
            self.untrack(owner)
        }
        running.withLock { running in
            if !finished.withLock({ $0 }) { running[id] = task }
        }
    }

    func untrack(_ owner: AnyObject & Sendable) {
        _ = running.withLock { $0.removeValue(forKey: ObjectIdentifier(owner)) }
    }

    func cancelHandlers() {
        for task in running.withLock({ Array($0.values) }) { task.cancel() }
    }
}

/// One request from its first byte to its completion. Created by the access handler, retained
/// through libmicrohttpd's per-request pointer, released by the completion callback.
///
/// Fields are touched by the connection's daemon thread only, except `pending`, which the
/// handler task fills before it resumes the connection.
private final class Exchange: @unchecked Sendable {
    let started = ContinuousClock.now
    var request: ServerRequest
    var bodyOverflow = false
    /// What was queued, for the access log.
    var sent: ServerResponse?
    /// The streamed body being sent, when the answer is a stream (for the bytes it sent).
    var stream: StreamPump?
    /// The handler's answer, once it came after the connection was suspended.
    let pending = Mutex<ServerResponse?>(nil)
    /// Where the handler task stands against the daemon thread that started it.
    private let handoff = Mutex(Handoff.running)

    private enum Handoff {
        case running
        /// The handler answered before the daemon thread looked: no suspension needed.
        case answered(ServerResponse)
        /// The daemon thread suspended the connection: the handler resumes it with its answer.
        case suspended
        case taken
    }

    init(request: ServerRequest) {
        self.request = request
    }

    /// The handler's answer when it is ready, else the connection is suspended (under the
    /// lock, so the handler's resume always comes after the suspension).
    func answerOrSuspend(_ connection: OpaquePointer) -> ServerResponse? {
        handoff.withLock { state -> ServerResponse? in
            if case .answered(let answer) = state {
                state = .taken
                return answer
            }
            state = .suspended
            MHD_suspend_connection(connection)
            return nil
        }
    }

    /// Hands the handler's answer over; true when the connection was suspended and must be
    /// resumed to send it.
    func deliver(_ answer: ServerResponse) -> Bool {
        handoff.withLock { state -> Bool in
            guard case .suspended = state else {
                state = .answered(answer)
                return false
            }
            pending.withLock { $0 = answer }
            return true
        }
    }
}

// MARK: - C callbacks

private let accessHandler: MHD_AccessHandlerCallback = { context, connection, url, method, _, uploadData, uploadSize, perRequest in
    guard let context, let connection, let perRequest, let uploadSize else { return .NO }
    let core = Unmanaged<DaemonCore>.fromOpaque(context).takeUnretainedValue()

    guard let existing = perRequest.pointee else {
        let exchange = Exchange(request: readRequest(connection, url: url, method: method))
        perRequest.pointee = Unmanaged.passRetained(exchange).toOpaque()
        core.inFlight.add(1, ordering: .acquiringAndReleasing)
        // A declared length past the limit is refused before any of the body is read.
        if let declared = exchange.request.header("Content-Length").flatMap({ Int($0) }), declared > core.maxBodyBytes {
            exchange.bodyOverflow = true
            return queue(core.handler.bodyTooLarge(exchange.request, limit: core.maxBodyBytes), on: connection, for: exchange, core: core)
        }
        return .YES
    }
    let exchange = Unmanaged<Exchange>.fromOpaque(existing).takeUnretainedValue()

    if uploadSize.pointee > 0 {
        let count = uploadSize.pointee
        uploadSize.pointee = 0
        if exchange.bodyOverflow { return .YES }
        if exchange.request.body.count + count > core.maxBodyBytes {
            // Counted, not kept: the rest is discarded as it arrives, and the 413 is queued
            // once the body has ended (libmicrohttpd drops a chunked upload's connection when
            // an answer is queued in the middle of it).
            exchange.bodyOverflow = true
            exchange.request.body = Data()
            return .YES
        }
        if let uploadData { exchange.request.body.append(UnsafeRawPointer(uploadData).assumingMemoryBound(to: UInt8.self), count: count) }
        return .YES
    }
    if exchange.sent != nil { return .YES }
    if exchange.bodyOverflow {
        return queue(core.handler.bodyTooLarge(exchange.request, limit: core.maxBodyBytes), on: connection, for: exchange, core: core)
    }
    // Called again after the handler task resumed the connection: its answer is waiting.
    if let answer = exchange.pending.withLock({ $0 }) {
        return queue(answer, on: connection, for: exchange, core: core)
    }
    if let answer = core.handler.answerAtOnce(exchange.request) {
        return queue(answer, on: connection, for: exchange, core: core)
    }
    let handle = ConnectionHandle(raw: connection)
    let request = exchange.request
    // The handler starts on this thread and runs here until it first waits: a cached answer
    // (a memory-tier hit) is made without a hop to another thread and queued at once, so it
    // never waits for the cooperative pool that misses' completions use. A handler that waits
    // (a miss, a SQLite listing) goes on elsewhere while the connection is suspended.
    core.runImmediately(exchange) {
        let answer = await core.handler.respond(request)
        if exchange.deliver(answer) { MHD_resume_connection(handle.raw) }
    }
    if let answer = exchange.answerOrSuspend(connection) {
        return queue(answer, on: connection, for: exchange, core: core)
    }
    return .YES
}

private let requestCompleted: MHD_RequestCompletedCallback = { context, _, perRequest, termination in
    guard let context, let perRequest, let pointer = perRequest.pointee else { return }
    perRequest.pointee = nil
    let core = Unmanaged<DaemonCore>.fromOpaque(context).takeUnretainedValue()
    let exchange = Unmanaged<Exchange>.fromOpaque(pointer).takeRetainedValue()
    core.inFlight.subtract(1, ordering: .acquiringAndReleasing)
    let sent = exchange.sent
    core.handler.finished(FinishedExchange(
        method: exchange.request.method, path: exchange.request.path, clientAddress: exchange.request.clientAddress,
        status: sent?.status ?? 0,
        bytes: exchange.request.method == "HEAD" ? 0 : exchange.stream?.bytesSent ?? sent?.bodyLength ?? 0, tier: sent?.tier,
        seconds: exchange.started.duration(to: .now).seconds,
        completed: termination == .REQUEST_TERMINATED_COMPLETED_OK))
}

/// Sets TCP_NODELAY on every accepted connection: a keep-alive client on loopback otherwise
/// waits ~40 ms per request (Nagle's algorithm against delayed ACKs).
private let connectionNotified: MHD_NotifyConnectionCallback = { _, connection, _, code in
    guard code == .CONNECTION_NOTIFY_STARTED, let connection else { return }
    let fd = tts_mhd_connection_fd(connection)
    guard fd >= 0 else { return }
    var yes: Int32 = 1
    setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &yes, socklen_t(MemoryLayout<Int32>.size))
}

// MARK: - Requests and responses

private func readRequest(_ connection: OpaquePointer, url: UnsafePointer<CChar>?, method: UnsafePointer<CChar>?) -> ServerRequest {
    let collected = Collected()
    let context = Unmanaged.passUnretained(collected).toOpaque()
    MHD_get_connection_values(connection, .HEADER_KIND, { context, _, key, value in
        guard let context, let key else { return .YES }
        let collected = Unmanaged<Collected>.fromOpaque(context).takeUnretainedValue()
        collected.headers.append((String(cString: key), value.map { String(cString: $0) } ?? ""))
        return .YES
    }, context)
    MHD_get_connection_values(connection, .GET_ARGUMENT_KIND, { context, _, key, value in
        guard let context, let key else { return .YES }
        let collected = Unmanaged<Collected>.fromOpaque(context).takeUnretainedValue()
        collected.query.append((String(cString: key), value.map { String(cString: $0) } ?? ""))
        return .YES
    }, context)
    let client = tts_mhd_client_address(connection).map(ListenAddress.describe) ?? ""
    return ServerRequest(method: method.map { String(cString: $0) } ?? "GET", path: url.map { String(cString: $0) } ?? "/",
                         query: collected.query, headers: collected.headers, clientAddress: client)
}

/// Filled by the value iterators while `readRequest` runs.
private final class Collected {
    var headers: [(name: String, value: String)] = []
    var query: [(name: String, value: String)] = []
}

private func queue(_ answer: ServerResponse, on connection: OpaquePointer, for exchange: Exchange, core: DaemonCore) -> MHD_Result {
    var answer = answer
    var response: OpaquePointer?
    if case .stream(let chunks) = answer.body {
        let pump = StreamPump(connection: ConnectionHandle(raw: connection))
        response = pump.makeResponse()
        if response != nil {
            exchange.stream = pump
            core.run(pump) { await pump.pump(chunks) }
        }
    } else {
        response = makeResponse(answer.body)
    }
    if response == nil {
        // The file vanished between the look-up and the open (evicted, removed).
        answer = ServerResponse(status: 404, headers: [("Content-Type", "text/plain; charset=utf-8")],
                                body: .bytes(Data("not found: the file was removed; ask again\n".utf8)))
        response = makeResponse(answer.body)
    }
    guard let response else { return .NO }
    defer { MHD_destroy_response(response) }
    for header in answer.headers {
        _ = MHD_add_response_header(response, header.name, header.value)
    }
    if exchange.bodyOverflow { _ = MHD_add_response_header(response, "Connection", "close") }
    exchange.sent = answer
    return MHD_queue_response(connection, UInt32(answer.status), response)
}

private func makeResponse(_ body: ServerResponse.Body) -> OpaquePointer? {
    switch body {
    case .empty:
        return MHD_create_response_from_buffer(0, nil, .RESPMEM_PERSISTENT)
    case .bytes(let data):
        return data.withUnsafeBytes { buffer in
            MHD_create_response_from_buffer(buffer.count, UnsafeMutableRawPointer(mutating: buffer.baseAddress),
                                            .RESPMEM_MUST_COPY)
        }
    case .stream:
        return nil
    case .file(let path, let offset, let length):
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        // libmicrohttpd closes the descriptor when it destroys the response.
        guard let response = MHD_create_response_from_fd_at_offset64(UInt64(length), fd, UInt64(offset)) else {
            close(fd)
            return nil
        }
        return response
    }
}

private func withOptionalCString<T>(_ text: String?, _ body: (UnsafePointer<CChar>?) -> T) -> T {
    guard let text else { return body(nil) }
    return text.withCString { body($0) }
}


// MARK: - Streamed bodies

/// A body sent as it is produced (chunked transfer encoding), without holding a server thread
/// while the producer is slow.
///
/// The producer (a task reading the stream) appends to a bounded buffer; libmicrohttpd's content
/// reader copies from it. When the buffer is empty the reader suspends the connection (the only
/// place besides the access handler where libmicrohttpd allows it) and returns 0; the producer
/// resumes it with the next bytes or the end. When the buffer is full the producer waits for the
/// reader (backpressure: at most `bufferLimit` bytes per connection). A stream that throws ends
/// the transfer with `MHD_CONTENT_READER_END_WITH_ERROR`: the connection is closed without the
/// terminating chunk, so the client sees a cut transfer.
///
/// libmicrohttpd sends the answer's head together with its first body bytes, so a client sees
/// the status once the first bytes exist (a WAV header at once; raw PCM with its first audio).
private final class StreamPump: Sendable {
    static let bufferLimit = 256 << 10
    static let blockSize = 32 << 10

    private enum End: Sendable { case complete, failed }

    private struct State: Sendable {
        var buffered = Data()
        var end: End?
        var readerSuspended = false
        /// The response was destroyed (sent, or the client went away): nothing more is wanted.
        var gone = false
        var spaceWaiter: CheckedContinuation<Void, Never>?
        var sent = 0
    }

    private let connection: ConnectionHandle
    private let state = Mutex(State())

    init(connection: ConnectionHandle) {
        self.connection = connection
    }

    var bytesSent: Int { state.withLock { $0.sent } }

    /// The libmicrohttpd response reading from this pump; it holds a retain until it is freed.
    func makeResponse() -> OpaquePointer? {
        let retained = Unmanaged.passRetained(self)
        guard let response = MHD_create_response_from_callback(UInt64.max /* MHD_SIZE_UNKNOWN */, Self.blockSize, streamReader,
                                                              retained.toOpaque(), streamFreed) else {
            retained.release()
            return nil
        }
        return response
    }

    /// Reads `chunks` into the buffer until they end, the client goes away or the task is
    /// cancelled (daemon stop), which cuts the transfer.
    func pump(_ chunks: AsyncThrowingStream<Data, Error>) async {
        var end = End.failed
        do {
            for try await chunk in chunks where !chunk.isEmpty {
                await waitForSpace()
                let (resume, gone) = state.withLock { state -> (Bool, Bool) in
                    guard !state.gone else { return (false, true) }
                    state.buffered.append(chunk)
                    defer { state.readerSuspended = false }
                    return (state.readerSuspended, false)
                }
                if resume { MHD_resume_connection(connection.raw) }
                if gone { return }
                try Task.checkCancellation()
            }
            try Task.checkCancellation()
            end = .complete
        } catch {}
        let resume = state.withLock { state -> Bool in
            state.end = end
            defer { state.readerSuspended = false }
            return state.readerSuspended
        }
        if resume { MHD_resume_connection(connection.raw) }
    }

    private func waitForSpace() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
                let ready = state.withLock { state -> Bool in
                    if state.gone || Task.isCancelled || state.buffered.count < Self.bufferLimit { return true }
                    state.spaceWaiter = waiter
                    return false
                }
                if ready { waiter.resume() }
            }
        } onCancel: {
            state.withLock { state -> CheckedContinuation<Void, Never>? in
                defer { state.spaceWaiter = nil }
                return state.spaceWaiter
            }?.resume()
        }
    }

    /// libmicrohttpd's content reader: on a daemon thread, never waits.
    fileprivate func read(into buffer: UnsafeMutablePointer<CChar>, max: Int) -> Int {
        let (result, waiter) = state.withLock { state -> (Int, CheckedContinuation<Void, Never>?) in
            if !state.buffered.isEmpty {
                let count = min(max, state.buffered.count)
                state.buffered.withUnsafeBytes { bytes in
                    UnsafeMutableRawPointer(buffer).copyMemory(from: bytes.baseAddress!, byteCount: count)
                }
                state.buffered = state.buffered.count == count
                    ? Data() : state.buffered.subdata(in: state.buffered.startIndex + count ..< state.buffered.endIndex)
                state.sent += count
                guard state.buffered.count < Self.bufferLimit, let waiter = state.spaceWaiter else { return (count, nil) }
                state.spaceWaiter = nil
                return (count, waiter)
            }
            switch state.end {
            case .complete: return (MHD_CONTENT_READER_END_OF_STREAM, nil)
            case .failed: return (MHD_CONTENT_READER_END_WITH_ERROR, nil)
            case nil:
                // Suspended under the lock, so the producer's resume always comes after it.
                state.readerSuspended = true
                MHD_suspend_connection(connection.raw)
                return (0, nil)
            }
        }
        waiter?.resume()
        return result
    }

    /// The response was destroyed: stop buffering, free a waiting producer.
    fileprivate func responseFreed() {
        state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.gone = true
            state.readerSuspended = false
            state.buffered = Data()
            defer { state.spaceWaiter = nil }
            return state.spaceWaiter
        }?.resume()
    }
}

private let streamReader: MHD_ContentReaderCallback = { context, _, buffer, max in
    guard let context, let buffer else { return MHD_CONTENT_READER_END_WITH_ERROR }
    return Unmanaged<StreamPump>.fromOpaque(context).takeUnretainedValue().read(into: buffer, max: max)
}

private let streamFreed: MHD_ContentReaderFreeCallback = { context in
    guard let context else { return }
    let pump = Unmanaged<StreamPump>.fromOpaque(context).takeRetainedValue()
    pump.responseFreed()
}
