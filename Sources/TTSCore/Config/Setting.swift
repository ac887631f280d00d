/// Where a configuration value came from, highest precedence first.
public enum ConfigSource: String, Sendable, Comparable {
    case flag
    case environment
    case dotenv = ".env"
    case `default`

    private var rank: Int {
        switch self {
        case .flag: 0
        case .environment: 1
        case .dotenv: 2
        case .default: 3
        }
    }
    public static func < (a: ConfigSource, b: ConfigSource) -> Bool { a.rank < b.rank }
}

/// One configuration variable: its environment name, the command-line flag that overrides it,
/// and what it means. The table below is the one place settings are declared; the loader, the
/// `config` command and the README's table all come from it.
public struct Setting: Sendable, Hashable {
    public let name: String
    public let flag: String?
    public let defaultText: String
    public let summary: String
    /// Secret values are never shown, logged or kept in history; `config` shows the last four
    /// characters at most.
    public let isSecret: Bool

    public init(_ name: String, flag: String? = nil, default defaultText: String, _ summary: String, secret: Bool = false) {
        self.name = name
        self.flag = flag
        self.defaultText = defaultText
        self.summary = summary
        self.isSecret = secret
    }

    public static let store = Setting("TTS_STORE", flag: "--store", default: "$XDG_CACHE_HOME/tts-repl, else ~/.cache/tts-repl", "Folder of the local tier: index.sqlite, blobs/, tts.log")
    public static let engine = Setting("TTS_ENGINE", flag: "--engine", default: "gemini when GEMINI_API_KEY is set, else espeak", "Speech engine: espeak or gemini")
    public static let voice = Setting("TTS_VOICE", flag: "--voice", default: "engine default (Kore; espeak: from the language)", "Voice name as the engine knows it")
    public static let language = Setting("TTS_LANGUAGE", flag: "--lang", default: "unset (engine decides; espeak: en-us)", "BCP-47 language tag, e.g. en-US")
    public static let maxTextChars = Setting("TTS_MAX_TEXT_CHARS", default: "5000", "Longest text accepted, in Unicode scalars (and 4 UTF-8 bytes per scalar before normalization)")
    public static let memoryEntries = Setting("TTS_MEMORY_ENTRIES", default: "10000", "Clips a long-lived process (REPL session, serve, worker) answers from memory, least recently used out; 0 turns the memory tier off")
    public static let redisURL = Setting("REDIS_URL", flag: "--redis", default: "redis://127.0.0.1:6379 (used when reachable)", "Shared tier: redis://[user:pass@]host[:port][/db], unix:///path?db=N, redis+cluster://host:port[,host:port…] (Redis Cluster), or off")
    public static let redisPrefix = Setting("TTS_REDIS_PREFIX", default: "tts:", "Prefix of every Redis key, so teams can share a server")
    public static let redisAudio = Setting("TTS_REDIS_AUDIO", default: "on", "Share WAV bytes through Redis (on/off), not only metadata")
    public static let redisAudioMaxBytes = Setting("TTS_REDIS_AUDIO_MAX_BYTES", default: "4MiB", "Largest clip whose bytes are shared through Redis")
    public static let redisTTL = Setting("TTS_REDIS_TTL", default: "30d", "Expiry of Redis entries, refreshed on a hit (e.g. 30d, 12h, 3600); 0 = never expire")
    public static let geminiAPIKey = Setting("GEMINI_API_KEY", default: "unset", "Gemini API key; several keys separated by commas rotate", secret: true)
    public static let geminiBaseURL = Setting("GEMINI_BASE_URL", default: "https://generativelanguage.googleapis.com", "Gemini endpoint (fake-gemini for tests and demos)")
    public static let geminiModel = Setting("GEMINI_MODEL", default: "gemini-3.8-flash-lite-tts", "Gemini TTS model")
    public static let requestTimeout = Setting("TTS_REQUEST_TIMEOUT", default: "120", "Total time for one engine HTTP call, in seconds (or 2m)")
    public static let retryAttempts = Setting("TTS_RETRY_ATTEMPTS", default: "3", "Attempts per engine call for transient errors (5xx, timeouts, 429)")
    public static let retryBaseMs = Setting("TTS_RETRY_BASE_MS", default: "1000", "First backoff in milliseconds; doubles per retry with full jitter, capped at 30 s")
    public static let retryMaxDelay = Setting("TTS_RETRY_MAX_DELAY", default: "60", "Longest wait a 429 may ask for before the call fails fast, in seconds")
    public static let rpm = Setting("TTS_RPM", default: "unset (no budget)", "Engine requests per minute for the whole process (token bucket)")
    public static let fallbackEngine = Setting("TTS_FALLBACK_ENGINE", default: "unset (no fallback)", "Engine that answers a miss while the requested one cannot (quota spent, API down), e.g. espeak; cached under its own key and marked as a fallback")
    public static let concurrency = Setting("TTS_CONCURRENCY", default: "4", "Engine calls in flight at once")
    // Distributed pre-warming (`prewarm --queue`, `worker`, `queue`).
    public static let queueReclaim = Setting("TTS_QUEUE_RECLAIM_S", default: "30", "Seconds a queued job may sit with a silent worker before another worker takes it over")
    public static let queueMaxAttempts = Setting("TTS_QUEUE_MAX_ATTEMPTS", default: "3", "Failed attempts after which a queued job moves to the dead-letter stream")
    public static let logLevel = Setting("TTS_LOG_LEVEL", default: "info", "debug, info, warn or error")
    public static let logFile = Setting("TTS_LOG_FILE", default: "<store>/tts.log", "JSON-lines log file")
    // Operations (stats, eviction).
    public static let cacheMaxBytes = Setting("TTS_CACHE_MAX_BYTES", default: "unset (unlimited)", "Budget of the local tier (e.g. 2GiB): least recently used unpinned clips are evicted after each write")
    public static let cacheHardMaxBytes = Setting("TTS_CACHE_HARD_MAX_BYTES", default: "unset (no hard limit)", "Hard limit of the local tier (e.g. 4GiB): unpinned clips are evicted to stay under it, and a write is refused when pinned clips leave no room")
    public static let pricePerCall = Setting("TTS_PRICE_PER_CALL", default: "0 (not shown)", "Price of one engine call, for the money-saved estimate of `stats`")
    public static let pricePerAudioSecond = Setting("TTS_PRICE_PER_AUDIO_SECOND", default: "0 (not shown)", "Price of one second of generated audio, for the money-saved estimate of `stats`")
    // The OpenAI-compatible endpoint (`serve`).
    public static let openAIVoiceMap = Setting("TTS_OPENAI_VOICE_MAP", default: "built in (alloy=Kore, … on gemini; alloy=en-us, … on espeak)", "OpenAI voice names mapped to engine voices, e.g. alloy=Kore,echo=Puck")

    // Serving over HTTP (`serve`).
    public static let serveListen = Setting("TTS_SERVE_LISTEN", default: "127.0.0.1:8088", "Address and port `serve` listens on (e.g. 0.0.0.0:8080, [::1]:8088; port 0: any free one)")
    public static let serveTokens = Setting("TTS_SERVE_TOKENS", default: "unset (no auth; loopback only)", "Tokens HTTP clients must present (Bearer or x-goog-api-key), separated by commas", secret: true)

    public static let all: [Setting] = [
        .store, .engine, .voice, .language, .maxTextChars, .memoryEntries, .redisURL,
        .redisPrefix, .redisAudio, .redisAudioMaxBytes, .redisTTL,
        .geminiAPIKey, .geminiBaseURL, .geminiModel, .requestTimeout, .retryAttempts, .retryBaseMs,
        .retryMaxDelay, .rpm, .fallbackEngine, .concurrency, .queueReclaim, .queueMaxAttempts, .logLevel, .logFile,
        .cacheMaxBytes, .cacheHardMaxBytes, .pricePerCall, .pricePerAudioSecond, .serveListen, .serveTokens,
        .openAIVoiceMap,
    ]

    public static func named(_ name: String) -> Setting? { all.first { $0.name == name } }
}
