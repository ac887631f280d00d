import Foundation
import TTSConcurrency
import TTSCore
import TTSService
import TTSStore

/// A text-to-speech cache: asks the engine (espeak-ng, or Gemini with an API key) only for
/// audio that neither this machine's store nor the shared Redis tier already has.
///
/// Open one per process and share it: every method may be called from any task at once, and
/// concurrent requests for the same audio share one engine call. Close it before the process
/// ends, so hit counts and blobs not yet flushed reach the disk.
///
/// ```swift
/// import TTSKit
///
/// let cache = try SpeechCache.openFromEnvironment()        // TTS_STORE, TTS_ENGINE, .env, …
/// defer { cache.close() }
/// let spoken = try await cache.speak(cache.request("Good morning"))
/// print(spoken.tier, spoken.url.path)                      // engine …, then local …
/// ```
public final class SpeechCache: Sendable {
    private let runtime: Runtime
    private var service: SpeechService { runtime.service }

    /// The settings the cache was opened with (store folder, default engine and voice, Redis).
    public var configuration: Configuration { runtime.configuration }

    private init(runtime: Runtime) {
        self.runtime = runtime
    }

    /// Opens (creating when needed) the store `configuration.storeURL` names, the engines and,
    /// when configured, Redis.
    ///
    /// ```swift
    /// var settings = try Configuration.load(environment: [:])
    /// settings.storeURL = URL(fileURLWithPath: "/var/cache/tts")
    /// let cache = try SpeechCache.open(settings)
    /// ```
    ///
    /// - Parameter notify: one-line notices meant for a person (Redis unreachable or back).
    /// - Throws: `TTSError` of kind `.store` when the store cannot be created or opened.
    public static func open(_ configuration: Configuration,
                            notify: @escaping @Sendable (String) -> Void = { _ in }) throws -> SpeechCache {
        SpeechCache(runtime: try Runtime(configuration: configuration, notify: notify))
    }

    /// Opens the cache the way `tts-repl` does: settings from `overrides`, then the process
    /// environment, then the `.env` file (values earlier in that list win).
    ///
    /// ```swift
    /// let cache = try SpeechCache.openFromEnvironment(overrides: ["TTS_ENGINE": "espeak"])
    /// ```
    ///
    /// - Parameters:
    ///   - overrides: settings by name (`TTS_STORE`, `TTS_ENGINE`, …), as `--flags` would give.
    ///   - dotEnv: the `.env` file to read; by default the one in the current folder, if any.
    /// - Throws: `TTSError` of kind `.config` naming a setting that is not valid.
    public static func openFromEnvironment(overrides: [String: String] = [:], dotEnv: URL? = nil,
                                           notify: @escaping @Sendable (String) -> Void = { _ in }) throws -> SpeechCache {
        let file = dotEnv ?? URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(".env")
        let configuration = try Configuration.load(flags: overrides, environment: ProcessInfo.processInfo.environment,
                                                   dotEnv: try DotEnv.load(file))
        return try open(configuration, notify: notify)
    }

    /// A request for `text` with the configured engine, voice and language.
    ///
    /// ```swift
    /// var request = cache.request("Bonjour")
    /// request.voice = "fr"
    /// ```
    public func request(_ text: String) -> AudioRequest {
        AudioRequest(text: text, voice: configuration.voice, language: configuration.language, engine: configuration.engine,
                     model: configuration.engine == "gemini" ? configuration.geminiModel : "")
    }

    /// The audio for `request`: from this machine's store when there, else from Redis, else
    /// made by the engine and stored in both.
    ///
    /// ```swift
    /// let spoken = try await cache.speak(cache.request("Press one for sales"))
    /// let wav = try Data(contentsOf: spoken.url)
    /// ```
    ///
    /// - Throws: `TTSError`: `.validation` for a request no engine would accept (empty text,
    ///   unknown voice), `.api`/`.quota`/`.auth`/`.content` from the engine, `.store` for disk
    ///   or SQLite trouble.
    public func speak(_ request: AudioRequest) async throws -> SpokenClip {
        let generation = try await service.generateOrFetch(request)
        return SpokenClip(clip: generation.clip, tier: generation.tier, url: generation.path)
    }

    /// The clip stored on this machine under `key`, or nil when there is none (or its file is
    /// missing or damaged: asking for it again with `speak` makes it again).
    ///
    /// ```swift
    /// if let clip = try cache.clip(forKey: key) { print(clip.text, clip.durationMs) }
    /// ```
    public func clip(forKey key: RequestKey) throws -> Clip? {
        try service.local.clip(for: key)
    }

    /// Where the WAV file of a stored clip is.
    public func url(for clip: Clip) -> URL {
        service.local.url(for: clip)
    }

    /// Makes sure every request is cached, making the missing ones a few at a time, and
    /// reports progress as it goes. A request that fails does not stop the others; the result
    /// lists it.
    ///
    /// ```swift
    /// let result = try await cache.prewarm(menu.map(cache.request)) { print("\($0.done)/\($0.total)") }
    /// ```
    ///
    /// - Parameters:
    ///   - concurrency: engine calls at a time.
    ///   - progress: called now and then with the counts so far, and once at the end.
    public func prewarm(_ requests: [AudioRequest], concurrency: Int = 4,
                        progress: @escaping @Sendable (PrewarmProgress) -> Void = { _ in }) async throws -> PrewarmResult {
        let entries = requests.enumerated().map { offset, request in
            PhraseEntry(line: offset + 1, text: request.text, voice: request.voice, language: request.language,
                        engine: request.engine, model: request.model, style: request.style)
        }
        let list = PhraseList(source: "prewarm", format: .text, entries: entries, lineCount: entries.count)
        let options = PrewarmOptions(concurrency: max(1, concurrency), progressInterval: .milliseconds(200))
        let summary = try await Prewarmer(service: service).run(list, defaults: request(""), options: options, progress: progress)
        return PrewarmResult(unique: summary.unique, cached: summary.cached, generated: summary.generated,
                             failed: summary.failed + summary.problems, cancelled: summary.cancelled)
    }

    /// Writes the stored clips `selection` picks into `directory` as WAV files named after
    /// their text and key (`good-morning-1a2b3c4d.wav`), with a `manifest.csv`; files already there and
    /// identical are left alone, so running it again changes nothing.
    ///
    /// ```swift
    /// let written = try await cache.export(.matching(voice: "en-us"), to: URL(fileURLWithPath: "out"))
    /// ```
    public func export(_ selection: ClipSelection, to directory: URL) async throws -> ExportResult {
        let local = service.local
        let planned = try await Blocking.run { try ExportPlan.items(in: local, matching: selection.filter) }
        let items = try await service.checkedForExport(planned)
        let options = ExportOptions(directory: directory, template: try FileNameTemplate())
        let summary = try await Exporter(local: local).export(items, options: options)
        return ExportResult(planned: summary.planned, exported: summary.exported, skipped: summary.skipped,
                            directory: directory)
    }

    /// What the store holds and how often it answered.
    ///
    /// ```swift
    /// let stats = try await cache.stats()
    /// print("\(stats.clips) clips, \(stats.bytes) bytes, \(stats.hits) hits")
    /// ```
    public func stats() async throws -> CacheStatistics {
        let figures = try await StoreStatistics.gather(service: service, pricePerCall: 0, pricePerAudioSecond: 0)
        return CacheStatistics(clips: figures.usage.clips, blobs: figures.usage.blobs, bytes: figures.usage.bytes,
                               pinned: figures.usage.pinned, hits: figures.usage.hits)
    }

    /// Flushes what is buffered (hit counts, blobs not yet on the disk, shared counters) and
    /// closes the store. Call it once, when done; blocks briefly (at most about two seconds
    /// when Redis is slow). The cache must not be used afterwards.
    public func close() {
        runtime.close()
    }
}
