import Foundation
import TTSCore

/// Google Gemini text-to-speech over HTTPS (libcurl).
///
/// One engine value paces all its calls (a shared requests-per-minute budget and in-flight
/// limit), retries transient failures with jittered backoff or the delay Google asks for, and
/// moves to the next API key when one is invalid or out of daily quota. Copies of the value share
/// that state.
///
/// ```swift
/// let engine = GeminiEngine(configuration: GeminiConfiguration(apiKeys: [key]))
/// let request = try await engine.resolve(AudioRequest(text: "Have a wonderful day!", engine: "gemini", model: ""))
/// let wav = try await engine.synthesize(request)
/// ```
///
/// Tests pass a `transport` and a `clock` to see every call and every wait.
public struct GeminiEngine: SpeechEngine {
    public let name = "gemini"
    public let configuration: GeminiConfiguration
    let transport: any HTTPTransport
    private let clock: any EngineClock
    let pacer: RequestPacer
    private let keys: APIKeyRing

    public init(configuration: GeminiConfiguration, transport: (any HTTPTransport)? = nil,
                clock: any EngineClock = SystemEngineClock()) {
        self.configuration = configuration
        self.transport = transport ?? CurlHTTPClient(configuration: HTTPClientConfiguration(
            connectTimeout: configuration.connectTimeout, totalTimeout: configuration.requestTimeout,
            maxIdleHandles: max(configuration.concurrency, 1), maxConcurrentTransfers: max(configuration.concurrency, 1)))
        self.clock = clock
        self.pacer = RequestPacer(requestsPerMinute: configuration.rpm, maxInFlight: configuration.concurrency, clock: clock)
        self.keys = APIKeyRing(keys: configuration.apiKeys, clock: clock)
    }

    public var defaultModel: String { configuration.model }

    public func voices() async throws -> [VoiceInfo] { GeminiVoices.all }

    /// Fills in Kore and the configured model, puts voices in Google's capitalisation, and
    /// rejects unknown voices and speaker counts other than two.
    public func resolve(_ request: AudioRequest) async throws -> AudioRequest {
        try resolveNow(request)
    }

    /// The voices are built in: resolving never waits.
    public func resolveAtOnce(_ request: AudioRequest) throws -> AudioRequest? {
        try resolveNow(request)
    }

    private func resolveNow(_ request: AudioRequest) throws -> AudioRequest {
        var resolved = request
        if resolved.model.isEmpty { resolved.model = configuration.model }
        resolved.voice = try Self.canonicalVoice(resolved.voice.isEmpty ? GeminiVoices.defaultVoice : resolved.voice, field: "voice")
        guard resolved.speakers.isEmpty || resolved.speakers.count == 2 else {
            throw TTSError.validation("speakers", "Gemini reads dialogues of exactly two speakers, not \(resolved.speakers.count): give two, as in Joe=Kore,Jane=Puck, or none")
        }
        for index in resolved.speakers.indices {
            resolved.speakers[index].voice = try Self.canonicalVoice(resolved.speakers[index].voice, field: "speakers")
        }
        return resolved
    }

    private static func canonicalVoice(_ voice: String, field: String) throws -> String {
        guard let canonical = GeminiVoices.canonical(voice) else {
            throw TTSError.validation(field, "'\(voice)' is not a Gemini voice: run `voices gemini` to list the 30 prebuilt voices (Kore, Puck, Zephyr, …)")
        }
        return canonical
    }

    /// Calls `generateContent` until it yields audio, a failure that retrying cannot fix, or the
    /// retry budget is spent. Returns a complete WAV file.
    public func synthesize(_ request: AudioRequest) async throws -> Data {
        let label = RequestLabel(request)
        let model = request.model.isEmpty ? configuration.model : request.model
        let url = "\(configuration.baseURL)/v1beta/models/\(model):generateContent"
        return try await attempting(label, url: url, body: GeminiRequestBody(request).encoded()) { http, key in
            await send(http, label: label, key: key)
        }
    }

    /// Runs `attempt` with a usable key until it succeeds, fails in a way retrying cannot fix,
    /// or the retry budget is spent: backoff or Google's asked delay between attempts, keys
    /// benched for invalidity or daily quota. Unary and streamed calls share these rules.
    func attempting<T>(_ label: RequestLabel, url: String, body: Data,
                               _ attempt: (HTTPRequest, String) async -> Result<T, AttemptFailure>) async throws -> T {
        let policy = configuration.retry
        var attemptNumber = 1
        var benchedBecause: TTSError?
        while true {
            guard let (keyIndex, key) = await keys.usableKey() else {
                throw await noUsableKey(label, lastAnswer: benchedBecause)
            }
            let failure: AttemptFailure
            switch await attempt(HTTPRequest(method: "POST", url: url, headers: [
                ("Content-Type", "application/json"), ("x-goog-api-key", key),
            ], body: body, timeout: configuration.requestTimeout), key) {
            case let .success(value): return value
            case let .failure(failed): failure = failed
            }
            switch failure.next {
            case .stop:
                throw failure.error
            case let .benchKey(reason):
                await keys.bench(keyIndex, reason, for: policy.dailyQuotaBench)
                benchedBecause = failure.error
            case let .retry(asked):
                if let asked, asked > policy.maxServerDelay.seconds {
                    var error = failure.error
                    error.kind = .quota
                    error.retryAfter = asked
                    error.message += "; Google asks to wait \(Self.seconds(asked)), longer than the \(Self.seconds(policy.maxServerDelay.seconds)) this program waits: try again after that"
                    throw error
                }
                guard attemptNumber < policy.attempts else {
                    var error = failure.error
                    error.message += attemptNumber == 1 ? " (not retried: one attempt is configured)"
                        : " (gave up after \(attemptNumber) attempts; try again later)"
                    throw error
                }
                do {
                    try await clock.sleep(seconds: asked ?? policy.backoffDelay(beforeRetry: attemptNumber))
                } catch {
                    throw Self.cancelled(label)
                }
                attemptNumber += 1
                configuration.onRetry()
            }
        }
    }

    /// One paced HTTP call, its outcome read as audio or a failure.
    private func send(_ http: HTTPRequest, label: RequestLabel, key: String) async -> Result<Data, AttemptFailure> {
        do {
            try await pacer.acquire()
        } catch {
            return .failure(AttemptFailure(error: Self.cancelled(label), next: .stop))
        }
        let outcome: Result<Data, AttemptFailure>
        do {
            outcome = GeminiAnswer.interpret(try await transport.send(http), label: label, key: key)
        } catch let failure as HTTPFailure {
            outcome = .failure(Self.transportFailure(failure, label: label))
        } catch {
            outcome = .failure(AttemptFailure(error: TTSError(.api, "Gemini \(label) failed: \(error)"), next: .retry(after: nil)))
        }
        await pacer.release()
        return outcome
    }

    static func transportFailure(_ failure: HTTPFailure, label: RequestLabel) -> AttemptFailure {
        let message = "Gemini \(label) got no answer: \(failure.detail)"
        switch failure.reason {
        case .cancelled:
            return AttemptFailure(error: cancelled(label), next: .stop)
        case .timedOut:
            return AttemptFailure(error: TTSError(.api, message + " — the service is slow or unreachable"), next: .retry(after: nil))
        case .couldNotConnect:
            return AttemptFailure(error: TTSError(.api, message + " — check the network, the proxy settings and the Gemini base URL"), next: .retry(after: nil))
        case .tls:
            return AttemptFailure(error: TTSError(.api, message + " — the server's certificate could not be verified; check the system CA certificates and any proxy"), next: .stop)
        case .bodyTooLarge:
            return AttemptFailure(error: TTSError(.api, message + " — split the text into shorter clips"), next: .stop)
        case .transport:
            return AttemptFailure(error: TTSError(.api, message), next: .retry(after: nil))
        }
    }

    static func cancelled(_ label: RequestLabel) -> TTSError {
        TTSError(.cancelled, "Gemini \(label) was cancelled")
    }

    /// Why a request cannot be sent with any key; `lastAnswer` is Google's answer that benched
    /// the last key, kept so the message still carries the status and Google's words.
    private func noUsableKey(_ label: RequestLabel, lastAnswer: TTSError?) async -> TTSError {
        if await keys.isEmpty {
            return TTSError(.auth, "Gemini \(label) was not sent: no API key is configured. Set GEMINI_API_KEY, or use the offline engine (espeak).")
        }
        let (summary, quotaOnly) = await keys.exhaustion()
        let last = lastAnswer.map { " Last answer: \($0.message)" } ?? ""
        if quotaOnly {
            return TTSError(.quota, "Gemini \(label) cannot be sent: \(summary). Daily quotas reset at midnight Pacific time; add a key from another project or try again then.\(last)",
                            retryAfter: lastAnswer?.retryAfter, httpStatus: lastAnswer?.httpStatus)
        }
        return TTSError(.auth, "Gemini \(label) cannot be sent: \(summary). Replace the invalid keys with valid ones from AI Studio.\(last)",
                        httpStatus: lastAnswer?.httpStatus)
    }

    private static func seconds(_ value: Double) -> String {
        value < 10 ? String(format: "%.1f s", value) : "\(Int(value.rounded())) s"
    }
}
