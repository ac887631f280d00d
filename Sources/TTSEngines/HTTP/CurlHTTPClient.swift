import CCurl
import CShims
import Foundation
import Synchronization
import TTSConcurrency

/// The HTTP client of tts-repl, on libcurl: the only file that calls curl.
///
/// - Connections are reused: each pooled easy handle keeps its connection cache, and
///   `curl_easy_reset` between requests keeps live connections.
/// - TLS verification is always on; the usual proxy variables (`https_proxy`, `no_proxy`…) work
///   because libcurl honours them by default.
/// - `curl_easy_perform` blocks, so each transfer runs on a thread of its own (never on Swift's
///   cooperative pool, nor on libdispatch's, which grows too slowly to keep eight 200 ms calls in
///   flight on two cores), bridged with a checked continuation. See `BlockingThreads`.
/// - Cancelling the calling task sets a flag that the transfer-progress callback checks; curl then
///   aborts the transfer (within about a second when the peer is silent).
///
/// ```swift
/// let client = CurlHTTPClient()
/// let response = try await client.send(HTTPRequest(url: "http://127.0.0.1:8080/health"))
/// ```
public final class CurlHTTPClient: HTTPTransport {
    private let configuration: HTTPClientConfiguration
    private let handles: CurlHandlePool
    /// One real thread per transfer in progress, up to `maxConcurrentTransfers`.
    private let threads: BlockingThreads

    public init(configuration: HTTPClientConfiguration = HTTPClientConfiguration()) {
        _ = CurlGlobal.warmingUp
        self.configuration = configuration
        self.handles = CurlHandlePool(maxIdle: configuration.maxIdleHandles)
        self.threads = BlockingThreads(name: "tts.http.curl", maxThreads: configuration.maxConcurrentTransfers)
    }

    public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        let transfer = CurlTransfer(maxBodyBytes: configuration.maxBodyBytes)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<HTTPResponse, Error>) in
                threads.run { [self] in
                    continuation.resume(with: Result { try perform(request, transfer) })
                }
            }
        } onCancel: {
            transfer.cancel()
        }
    }

    /// The body is handed on from curl's write callback as each piece arrives: nothing is
    /// buffered beyond what one callback delivers, and the size limit does not apply.
    public func stream(_ request: HTTPRequest) async throws -> HTTPStreamingResponse {
        let (body, bodyContinuation) = AsyncThrowingStream<Data, Error>.makeStream()
        let transfer = CurlTransfer(maxBodyBytes: .max)
        // The consumer stopped reading (or its task was cancelled): abort the transfer.
        bodyContinuation.onTermination = { _ in transfer.cancel() }
        let status = try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (head: CheckedContinuation<Int, Error>) in
                let gate = HeadGate(head)
                transfer.sink = CurlTransfer.Sink(
                    head: { gate.resume(.success($0)) },
                    body: { bodyContinuation.yield($0) })
                threads.run { [self] in
                    do {
                        let response = try perform(request, transfer)
                        gate.resume(.success(response.status))  // an answer without a body
                        bodyContinuation.finish()
                    } catch {
                        gate.resume(.failure(error))
                        bodyContinuation.finish(throwing: error)
                    }
                }
            }
        } onCancel: {
            transfer.cancel()
        }
        return HTTPStreamingResponse(status: status, body: body)
    }

    private func perform(_ request: HTTPRequest, _ transfer: CurlTransfer) throws -> HTTPResponse {
        if transfer.isCancelled { throw HTTPFailure(.cancelled, "the request was cancelled before it started") }
        let handle = handles.checkOut()
        var reusable = true
        defer { handles.checkIn(handle, reusable: reusable) }
        do {
            return try handle.perform(request, transfer, configuration)
        } catch {
            // A handle whose transfer was aborted mid-way may hold a half-read connection.
            reusable = false
            throw error
        }
    }
}

/// `curl_global_init` must run once per process, before any other thread uses curl.
///
/// libcurl is loaded on first use (`CLazyLibraries`), which costs about 4 ms with its TLS,
/// Kerberos and LDAP libraries. A client starts that load on a thread of its own, so a process
/// that only answers from the cache never waits for it, and a miss rarely does.
private enum CurlGlobal {
    static let initialized: Bool = tts_curl_global_init_all() == CURLE_OK
    static func ensureInitialized() { precondition(initialized, "curl_global_init failed") }
    /// Starts the load once per process, however many clients are made.
    static let warmingUp: Void = Thread.detachNewThread { _ = initialized }
}

/// Resumes a continuation once: the status of a streamed answer is known either at its first
/// body byte or, for an empty body, when the transfer ends.
private final class HeadGate: @unchecked Sendable {
    // @unchecked: `continuation` is only touched under `lock`.
    private let lock = NSLock()
    private var continuation: CheckedContinuation<Int, Error>?

    init(_ continuation: CheckedContinuation<Int, Error>) { self.continuation = continuation }

    func resume(_ result: Result<Int, Error>) {
        let waiting = lock.withLock { () -> CheckedContinuation<Int, Error>? in
            defer { continuation = nil }
            return continuation
        }
        waiting?.resume(with: result)
    }
}

/// State one transfer shares with curl's callbacks, passed to them through `user_data`.
private final class CurlTransfer: @unchecked Sendable {
    /// Where a streamed transfer's answer goes instead of `body`.
    struct Sink {
        /// Called once, with the HTTP status, before the first body piece.
        var head: (Int) -> Void
        var body: (Data) -> Void
    }

    let maxBodyBytes: Int
    /// Written only by the curl thread during the transfer, read by it afterwards.
    var body = Data()
    /// Header lines of the last answer (a 100 Continue's are dropped when the next one starts).
    var headers: [(name: String, value: String)] = []
    var exceededLimit = false
    /// Set before the transfer starts; read by the curl thread only.
    var sink: Sink?
    var sentHead = false
    /// The easy handle running this transfer, for `curl_easy_getinfo` inside callbacks.
    var handle: UnsafeMutableRawPointer?
    private let cancelled = Atomic<Bool>(false)

    init(maxBodyBytes: Int) { self.maxBodyBytes = maxBodyBytes }

    func cancel() { cancelled.store(true, ordering: .relaxed) }
    var isCancelled: Bool { cancelled.load(ordering: .relaxed) }
}

/// Idle easy handles, each with its own live connections. Guarded by one lock.
private final class CurlHandlePool: @unchecked Sendable {
    private let maxIdle: Int
    private let idleLock = NSLock()
    private var idle: [CurlEasyHandle] = []

    init(maxIdle: Int) { self.maxIdle = maxIdle }

    func checkOut() -> CurlEasyHandle {
        idleLock.lock()
        let handle = idle.popLast()
        idleLock.unlock()
        return handle ?? CurlEasyHandle()
    }

    func checkIn(_ handle: CurlEasyHandle, reusable: Bool) {
        guard reusable else { return }  // deinit cleans it up
        idleLock.lock()
        if idle.count < maxIdle { idle.append(handle) }
        idleLock.unlock()
    }
}

/// One `CURL *`, used by one thread at a time (the pool hands it out exclusively).
private final class CurlEasyHandle {
    private let raw: UnsafeMutableRawPointer
    /// curl writes its detailed message here during `curl_easy_perform`, so it needs a fixed address.
    private let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)

    init() {
        CurlGlobal.ensureInitialized()
        guard let raw = curl_easy_init() else { fatalError("curl_easy_init failed: out of memory") }
        self.raw = raw
    }

    deinit {
        curl_easy_cleanup(raw)
        errorBuffer.deallocate()
    }

    func perform(_ request: HTTPRequest, _ transfer: CurlTransfer,
                 _ configuration: HTTPClientConfiguration) throws -> HTTPResponse {
        curl_easy_reset(raw)  // keeps live connections, DNS and TLS session caches
        var headerList: UnsafeMutablePointer<curl_slist>?
        defer { curl_slist_free_all(headerList) }
        for header in request.headers {
            headerList = curl_slist_append(headerList, "\(header.name): \(header.value)")
        }
        // curl sends `Expect: 100-continue` for large bodies and then waits up to a second.
        headerList = curl_slist_append(headerList, "Expect:")

        let timeout = request.timeout ?? configuration.totalTimeout
        let context = Unmanaged.passUnretained(transfer).toOpaque()
        transfer.handle = raw
        var status = CURLE_OK
        func set(_ result: CURLcode) { if status == CURLE_OK { status = result } }
        set(tts_curl_setopt_string(raw, CURLOPT_URL, request.url))
        set(tts_curl_setopt_long(raw, CURLOPT_NOSIGNAL, 1))  // signals and threads do not mix
        set(tts_curl_setopt_long(raw, CURLOPT_SSL_VERIFYPEER, 1))
        set(tts_curl_setopt_long(raw, CURLOPT_SSL_VERIFYHOST, 2))
        set(tts_curl_setopt_long(raw, CURLOPT_CONNECTTIMEOUT_MS, configuration.connectTimeout.wholeMilliseconds))
        set(tts_curl_setopt_long(raw, CURLOPT_TIMEOUT_MS, timeout.wholeMilliseconds))
        set(tts_curl_setopt_string(raw, CURLOPT_USERAGENT, configuration.userAgent))
        set(tts_curl_setopt_string(raw, CURLOPT_ACCEPT_ENCODING, ""))  // whatever curl can decode
        set(tts_curl_setopt_pointer(raw, CURLOPT_HTTPHEADER, UnsafeMutableRawPointer(headerList)))
        set(tts_curl_setopt_string(raw, CURLOPT_CUSTOMREQUEST, request.method))
        if let body = request.body {
            set(tts_curl_setopt_offset(raw, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count)))
            if body.isEmpty {
                set(tts_curl_setopt_string(raw, CURLOPT_COPYPOSTFIELDS, ""))
            } else {
                set(body.withUnsafeBytes { tts_curl_setopt_pointer(raw, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: $0.baseAddress!)) })
            }
        } else if request.method == "GET" {
            set(tts_curl_setopt_long(raw, CURLOPT_HTTPGET, 1))
        } else if request.method == "HEAD" {
            set(tts_curl_setopt_long(raw, CURLOPT_NOBODY, 1))  // a HEAD answer has no body to wait for
        }
        if let file = configuration.trustedCertificatesFile { set(tts_curl_setopt_string(raw, CURLOPT_CAINFO, file)) }
        set(tts_curl_setopt_pointer(raw, CURLOPT_HEADERDATA, context))
        set(tts_curl_setopt_header_function(raw) { buffer, size, count, context in
            let transfer = Unmanaged<CurlTransfer>.fromOpaque(context!).takeUnretainedValue()
            let bytes = size * count
            guard let buffer else { return bytes }
            let line = String(decoding: UnsafeRawBufferPointer(start: buffer, count: bytes), as: UTF8.self)
            if line.hasPrefix("HTTP/") {
                transfer.headers = []
            } else if let colon = line.firstIndex(of: ":") {
                transfer.headers.append((String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)))
            }
            return bytes
        })
        set(tts_curl_setopt_pointer(raw, CURLOPT_WRITEDATA, context))
        set(tts_curl_setopt_write_function(raw) { buffer, size, count, context in
            let transfer = Unmanaged<CurlTransfer>.fromOpaque(context!).takeUnretainedValue()
            let bytes = size * count
            if let sink = transfer.sink {
                if !transfer.sentHead {
                    transfer.sentHead = true
                    var code = 0
                    _ = tts_curl_getinfo_long(transfer.handle, CURLINFO_RESPONSE_CODE, &code)
                    sink.head(code)
                }
                if let buffer, bytes > 0 { sink.body(Data(bytes: buffer, count: bytes)) }
                return bytes
            }
            if transfer.body.count + bytes > transfer.maxBodyBytes {
                transfer.exceededLimit = true
                return 0  // anything but `bytes` aborts with CURLE_WRITE_ERROR
            }
            if let buffer { transfer.body.append(UnsafeRawPointer(buffer).assumingMemoryBound(to: UInt8.self), count: bytes) }
            return bytes
        })
        set(tts_curl_setopt_long(raw, CURLOPT_NOPROGRESS, 0))
        set(tts_curl_setopt_pointer(raw, CURLOPT_XFERINFODATA, context))
        set(tts_curl_setopt_xferinfo_function(raw) { context, _, _, _, _ in
            Unmanaged<CurlTransfer>.fromOpaque(context!).takeUnretainedValue().isCancelled ? 1 : 0
        })
        errorBuffer[0] = 0
        set(tts_curl_setopt_pointer(raw, CURLOPT_ERRORBUFFER, errorBuffer))
        guard status == CURLE_OK else {
            throw HTTPFailure(.transport, "could not set up the HTTP request: \(String(cString: curl_easy_strerror(status)))")
        }

        let result = curl_easy_perform(raw)
        let curlMessage = String(cString: errorBuffer)
        let host = Self.hostDescription(request.url)
        switch result {
        case CURLE_OK:
            var code = 0
            _ = tts_curl_getinfo_long(raw, CURLINFO_RESPONSE_CODE, &code)
            return HTTPResponse(status: code, body: transfer.body, headers: transfer.headers)
        case CURLE_ABORTED_BY_CALLBACK:
            throw HTTPFailure(.cancelled, "the request to \(host) was cancelled")
        case CURLE_WRITE_ERROR where transfer.exceededLimit:
            throw HTTPFailure(.bodyTooLarge, "the answer from \(host) is larger than \(configuration.maxBodyBytes >> 20) MiB; the transfer was stopped")
        case CURLE_OPERATION_TIMEDOUT:
            throw HTTPFailure(.timedOut, "no complete answer from \(host) within \(timeout) (\(curlMessage))")
        case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY:
            throw HTTPFailure(.couldNotConnect, "could not connect to \(host): \(curlMessage.isEmpty ? String(cString: curl_easy_strerror(result)) : curlMessage)")
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CACERT_BADFILE:
            throw HTTPFailure(.tls, "TLS with \(host) failed: \(curlMessage)")
        default:
            let words = curlMessage.isEmpty ? String(cString: curl_easy_strerror(result)) : curlMessage
            throw HTTPFailure(.transport, "the request to \(host) failed: \(words) (curl error \(result.rawValue))")
        }
    }

    /// Scheme, host and port only: a URL's path or query could carry something private.
    private static func hostDescription(_ url: String) -> String {
        guard let components = URLComponents(string: url), let host = components.host else { return "the server" }
        return "\(components.scheme ?? "http")://\(host)\(components.port.map { ":\($0)" } ?? "")"
    }
}
