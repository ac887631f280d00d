import Foundation
import TTSConcurrency
import TTSCore
import TTSEngines
import TTSStore

/// Everything one tts-repl process opens from its configuration: the store, the engines, the
/// log, and the service over them. Built once at start-up.
public final class Runtime: Sendable {
    public let configuration: Configuration
    public let layout: StoreLayout
    public let service: SpeechService
    public let logger: Logger
    /// What `config reload` may change while running (voice, log level, budget, prices).
    public let live: LiveConfiguration

    /// - Parameter notify: where one-line notices for people go (Redis degraded or back).
    public init(configuration: Configuration, notify: @escaping @Sendable (String) -> Void = { _ in }) throws {
        self.configuration = configuration
        live = LiveConfiguration(configuration)
        layout = StoreLayout(root: configuration.storeURL)
        do {
            try FileManager.default.createDirectory(at: configuration.storeURL, withIntermediateDirectories: true)
        } catch {
            throw TTSError.store("cannot create the store folder \(configuration.storeURL.path): \(FileSystemReason.describe(error, path: configuration.storeURL.path)). Set TTS_STORE or --store to a writable folder.")
        }
        let logger = Logger(file: configuration.logFileURL, level: configuration.logLevel)
        self.logger = logger
        let metrics = ServiceMetrics()
        let local = try LocalTier(layout: layout, budget: CacheBudget(maxBytes: configuration.cacheMaxBytes,
                                                                       hardMaxBytes: configuration.cacheHardMaxBytes),
                                  logger: logger, events: metrics)

        var engines = EngineRegistry()
        // A cache hit resolves its espeak voice from this list, without starting espeak-ng.
        engines.register(EspeakEngine(voiceListFile: layout.root.appendingPathComponent("espeak-voices.tsv")))
        if configuration.geminiAPIKeys.isEmpty {
            engines.markUnavailable("gemini", reason: "the gemini engine needs an API key: set GEMINI_API_KEY in the environment or in .env (`make demo` runs against a local stand-in), or use `engine espeak`")
        } else {
            var gemini = Runtime.geminiConfiguration(configuration)
            gemini.onRetry = { [metrics] in metrics.recordRetry() }
            engines.register(GeminiEngine(configuration: gemini))
        }
        let shared = try Runtime.sharedTier(configuration, logger: logger, metrics: metrics.registry, notify: notify)
        service = SpeechService(engines: engines, local: local, shared: shared, logger: logger,
                                maxTextCharacters: configuration.maxTextCharacters, metrics: metrics,
                                memoryEntries: configuration.memoryEntries)
        // Blobs a crash left named but maybe never flushed are rehashed before any is served.
        let recovery = try local.recover()
        if !recovery.dropped.isEmpty {
            logger.warn("recover-blobs", [("kept", .int(recovery.kept)), ("dropped", .int(recovery.dropped.count))])
            notify("note: \(recovery.dropped.count) clip(s) fetched from Redis just before the last crash or power cut did not reach the disk intact; they are fetched or made again when next asked for (damaged files were moved to \(layout.root.path)/quarantine).")
        } else if recovery.kept > 0 {
            logger.info("recover-blobs", [("kept", .int(recovery.kept)), ("dropped", .int(0))])
        }
        if shared.isEnabled {
            // Said once at start when Redis is missing, rather than at the first miss.
            // Bounded: the pool's connect (0.5 s) and command (2 s) timeouts end the probe first.
            _ = Blocking.wait(upTo: .seconds(3)) { await shared.probe() }
        }
    }

    static func geminiConfiguration(_ c: Configuration) -> GeminiConfiguration {
        let retry = RetryPolicy(attempts: c.retryAttempts, baseDelay: .milliseconds(c.retryBaseMs),
                                maxServerDelay: .seconds(c.retryMaxDelaySeconds))
        return GeminiConfiguration(baseURL: c.geminiBaseURL, apiKeys: c.geminiAPIKeys, model: c.geminiModel,
                                   requestTimeout: .seconds(c.requestTimeoutSeconds), retry: retry,
                                   rpm: c.requestsPerMinute, concurrency: c.concurrency)
    }

    private static func sharedTier(_ configuration: Configuration, logger: Logger, metrics: Metrics,
                                   notify: @escaping @Sendable (String) -> Void) throws -> SharedTier {
        guard let text = configuration.redisURL else { return .off }
        let target = try RedisTarget(parsing: text)
        let tier = redisTier(configuration, client: RedisClient(target))
        return SharedTier(tier: tier, describe: "Redis at \(target)", isDefaultServer: configuration.redisIsDefault,
                          logger: logger, metrics: metrics, notify: notify)
    }

    /// The Redis tier the configuration describes, over `client`: one place that maps the
    /// `REDIS_*` settings, for the shared cache and for the queue (which keeps its own client).
    static func redisTier(_ configuration: Configuration, client: RedisClient) -> RedisTier {
        RedisTier(client: client, prefix: configuration.redisPrefix, ttlSeconds: configuration.redisTTLSeconds,
                  shareAudio: configuration.redisShareAudio, maxAudioBytes: configuration.redisAudioMaxBytes)
    }

    /// Flushes blobs not yet on the disk, buffered hit counts and shared counters, and closes
    /// the index.
    public func close() {
        service.close()
    }
}
