import Dispatch
import Foundation
import Synchronization
import TTSConcurrency
import TTSCore
import TTSService
import TTSStore

/// The server's one way into the cache: `SpeechBackend` and `CacheCatalog` over a
/// `SpeechService`. Every call into the service's parts (index, blobs, shared tier, engines)
/// is in this file, so the HTTP faces never depend on how the service is put together.
///
/// A miss that waits for the engine longer than `missTimeout` is answered with a `.cancelled`
/// error carrying `retryAfter` (503 with `Retry-After` on every face); the generation goes on
/// and stores the clip, so the client's retry is a hit.
///
/// ```swift
/// let backend = ServiceBackend(runtime: runtime)
/// let generation = try await backend.speak(AudioRequest(text: "Hello", engine: "espeak", model: ""))
/// ```
public final class ServiceBackend: SpeechBackend, CacheCatalog {
    private let service: SpeechService
    public let defaults: RequestDefaults
    public let missTimeout: Duration
    /// What `Retry-After` says after a miss timed out.
    public let retryAfterSeconds: Int
    /// Whether Redis being unreachable makes the server not ready (it was configured
    /// explicitly); a default Redis that is absent only means the local tier serves alone.
    private let redisRequired: Bool
    private let pricePerCall: Double
    private let pricePerAudioSecond: Double
    /// Answers the requests whose miss outlived `missTimeout`.
    private let watchdog: DeadlineWatchdog

    public init(service: SpeechService, defaults: RequestDefaults, missTimeout: Duration = .seconds(60),
                retryAfterSeconds: Int = 5, redisRequired: Bool = false, pricePerCall: Double = 0,
                pricePerAudioSecond: Double = 0) {
        self.service = service
        self.defaults = defaults
        self.missTimeout = missTimeout
        self.retryAfterSeconds = retryAfterSeconds
        self.redisRequired = redisRequired
        self.pricePerCall = pricePerCall
        self.pricePerAudioSecond = pricePerAudioSecond
        watchdog = DeadlineWatchdog(tick: min(.milliseconds(100), missTimeout / 2))
    }

    /// The backend of a tts-repl process: its service, with the configured engine, model,
    /// voice and language as defaults.
    public convenience init(runtime: Runtime, missTimeout: Duration = .seconds(60)) {
        let configuration = runtime.configuration
        self.init(service: runtime.service,
                  defaults: RequestDefaults(engine: configuration.engine,
                                            model: configuration.engine == "gemini" ? configuration.geminiModel : "",
                                            voice: configuration.voice, language: configuration.language),
                  missTimeout: missTimeout, redisRequired: !configuration.redisIsDefault,
                  pricePerCall: configuration.pricePerCall, pricePerAudioSecond: configuration.pricePerAudioSecond)
    }

    // MARK: SpeechBackend

    public func speak(_ request: AudioRequest) async throws -> Generation {
        let service = self.service
        let answer = ResumeOnce<Result<Generation, Error>?>()
        let generation = Mutex<Task<Void, Never>?>(nil)
        let outcome = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                answer.set(continuation)
                // The watchdog answers nil at the bound; the generation answers when it is done.
                // It is unstructured, so a client that stops waiting does not stop it: the clip
                // is stored and the retry is a hit. It starts on this thread (a hit finishes
                // here, with no hop); a miss goes on elsewhere from its first wait.
                let deadline = watchdog.add(after: missTimeout) { answer.resume(nil) }
                let task = Task.immediate {
                    let result: Result<Generation, Error>
                    do {
                        result = .success(try await service.generateOrFetch(request))
                    } catch {
                        result = .failure(error)
                    }
                    answer.resume(result)
                    self.watchdog.remove(deadline)
                }
                generation.withLock { $0 = task }
                if Task.isCancelled { task.cancel() }
            }
        } onCancel: {
            // The server is stopping: this request's generation may stop too.
            generation.withLock { $0 }?.cancel()
        }
        guard let outcome else {
            throw TTSError(.cancelled, "the engine has not finished '\(excerpt(request.text))' within \(Int(missTimeout.seconds)) s; it goes on in the background: ask again in \(retryAfterSeconds) s and the answer comes from the cache",
                           retryAfter: Double(retryAfterSeconds))
        }
        return try outcome.get()
    }

    public func speakStreaming(_ request: AudioRequest) async throws -> AsyncThrowingStream<SpeechStreamEvent, Error> {
        try await service.speakStreaming(request)
    }

    public func audio(of generation: Generation, as format: DeliveryFormat) async throws -> DeliveredAudio {
        let clip = generation.clip
        switch format {
        case .wav:
            return DeliveredAudio(content: .file(path: generation.filePath, length: clip.bytes), mimeType: "audio/wav",
                                  sha256: clip.blob.hex)
        case .pcm(let asked):
            let service = self.service
            let rate = asked > 0 ? asked : clip.sampleRate
            let pcm = try await Blocking.run { () throws -> Data in
                // A hash-checked read: a damaged blob is quarantined, never converted.
                let audio = try WAVAudio.decode(try service.local.verifiedAudio(of: clip))
                let converted = AudioTranscoder.convert(audio, to: AudioTarget(sampleRate: rate, encoding: .pcm16))
                return try WAVAudio.decode(converted.wav).pcm
            }
            return DeliveredAudio(content: .bytes(pcm), mimeType: "audio/L16;rate=\(rate);channels=1")
        case .encoded(let name):
            guard let encoding = AudioEncoding(named: name) else {
                throw TTSError.validation("format", "the format '\(name)' is not available on this server; available: \(ServiceBackend.availableFormats.joined(separator: ", "))")
            }
            // The one conversion path (cached under converted/, single-flight, hash-checked source).
            let converted = try await service.conversions.converted(clip, to: AudioTarget(encoding: encoding))
            return DeliveredAudio(content: .file(path: converted.path, length: converted.bytes),
                                  mimeType: converted.mimeType, sha256: converted.sha256)
        }
    }

    /// The formats `audio(of:as:)` produces here.
    public static let availableFormats = ["wav", "pcm", "mp3", "opus", "vorbis", "flac", "ulaw", "alaw"]

    // MARK: CacheCatalog

    public func clip(named word: String) throws -> ClipLookup {
        try service.local.lookUp(named: word)
    }

    public func clips(_ query: ClipQuery) throws -> [Clip] {
        let filter = ClipFilter(voice: query.voice, language: query.language, engine: query.engine, model: query.model,
                                textContains: query.match)
        return try service.local.clips(matching: filter, limit: query.limit, offset: query.offset)
    }

    public func path(of clip: Clip) -> String {
        service.local.blobs.path(for: clip.blob)
    }

    public func convertedBlob(_ sha256: String, as encoding: AudioEncoding) async throws -> DeliveredAudio? {
        guard let hash = BlobHash(hex: sha256) else { return nil }
        let index = service.local.index
        guard let clip = try await Blocking.run({ try index.clips(forBlob: hash).first }) else { return nil }
        let converted = try await service.conversions.converted(clip, to: AudioTarget(encoding: encoding))
        return DeliveredAudio(content: .file(path: converted.path, length: converted.bytes), mimeType: converted.mimeType,
                              sha256: converted.sha256)
    }

    public func blobFile(_ sha256: String) -> BlobFile? {
        BlobHash(hex: sha256).flatMap(service.local.blobs.file)
    }

    public var metrics: Metrics { service.metrics.registry }

    public func metricsExposition() async -> String {
        let figures = try? await StoreStatistics.gather(service: service, pricePerCall: pricePerCall,
                                                        pricePerAudioSecond: pricePerAudioSecond)
        return service.metrics.registry.exposition(gauges: figures?.gauges ?? [])
    }

    public func readiness() async -> [ReadinessCheck] {
        let blobs = service.local.blobs, index = service.local.index
        var checks: [ReadinessCheck] = []
        let problem: String?
        do {
            problem = try await Blocking.run { blobs.writeProbe() }
        } catch {
            problem = TTSError.message(of: error)
        }
        checks.append(ReadinessCheck("store", ready: problem == nil, problem ?? "\(blobs.layout.root.path) is writable"))
        do {
            let version = try await Blocking.run { try index.schemaVersion }
            checks.append(ReadinessCheck("index", ready: true, "schema version \(version)"))
        } catch {
            checks.append(ReadinessCheck("index", ready: false, TTSError.message(of: error)))
        }
        switch service.sharedTierStatus {
        case .off:
            checks.append(ReadinessCheck("redis", ready: true, "off: local tier only"))
        case .unreachable(let server):
            checks.append(ReadinessCheck("redis", ready: !redisRequired,
                                         "\(server) does not answer" + (redisRequired ? "" : "; the local tier serves alone")))
        case .reachable(let server):
            checks.append(ReadinessCheck("redis", ready: true, "\(server) answers"))
        }
        do {
            _ = try service.engines.engine(named: defaults.engine)
            checks.append(ReadinessCheck("engine", ready: true, "\(defaults.engine) is ready"))
        } catch {
            checks.append(ReadinessCheck("engine", ready: false, TTSError.message(of: error)))
        }
        return checks
    }
}


/// A continuation resumed by the first of several callers.
private final class ResumeOnce<T: Sendable>: Sendable {
    private let continuation = Mutex<CheckedContinuation<T, Never>?>(nil)

    func set(_ continuation: CheckedContinuation<T, Never>) {
        self.continuation.withLock { $0 = continuation }
    }

    func resume(_ value: T) {
        continuation.withLock { $0.take() }?.resume(returning: value)
    }
}
