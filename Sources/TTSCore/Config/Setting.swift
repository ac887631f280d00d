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
/// what values it takes, its default and what it means. The table below is the one place
/// settings are declared; the loader (which parses with `kind` and falls back to
/// `defaultValue`), the `config` command, the error messages and the README's table all come
/// from it.
public struct Setting: Sendable, Hashable {
    /// What a value may be. The loader parses through it, so a message saying what is
    /// accepted can never disagree with what is.
    public enum Kind: Sendable, Hashable {
        /// Any text; checked where it is used (a URL, a path, a voice map).
        case text
        /// One of these words, case-insensitive.
        case choice([String])
        case wholeNumber(ClosedRange<Int>)
        /// Whole seconds, or a number with s, m, h or d (`30d`), within the range.
        case duration(ClosedRange<Int>)
        /// Bytes, or a number with KiB/MiB/GiB (`4MiB`).
        case byteSize
        case onOff
        /// A non-negative decimal number.
        case price

        /// What a value of this kind may be, for messages and `config --json`.
        public var accepted: String {
            switch self {
            case .text: "text"
            case .choice(let words): words.joined(separator: ", ")
            case .wholeNumber(let range): "a whole number from \(range.lowerBound) to \(range.upperBound)"
            case .duration(let range) where range.upperBound == Int.max:
                "seconds from \(range.lowerBound), or a number with s, m, h or d (e.g. 30d)"
            case .duration(let range): "seconds from \(range.lowerBound) to \(range.upperBound), or a number with s, m, h or d"
            case .byteSize: "a size such as 4194304, 512KiB, 4MiB or 1GiB"
            case .onOff: "on or off"
            case .price: "a non-negative number such as 0.0004 (0 hides the estimate)"
            }
        }
    }

    public let name: String
    public let flag: String?
    public let kind: Kind
    /// The value used when none is given, written as a user would write it; nil when the
    /// setting is then unset (what that means is `defaultText`).
    public let defaultValue: String?
    /// The default as `config` and the README show it.
    public let defaultText: String
    public let summary: String
    /// Secret values are never shown, logged or kept in history; `config` shows no part of them.
    public let isSecret: Bool

    /// - Parameters:
    ///   - defaultValue: what the loader uses when the setting is not given (nil: unset).
    ///   - shown: how the default reads for people, when the value alone does not say it.
    public init(_ name: String, flag: String? = nil, _ kind: Kind = .text, default defaultValue: String?,
                shown: String? = nil, _ summary: String, secret: Bool = false) {
        self.name = name
        self.flag = flag
        self.kind = kind
        self.defaultValue = defaultValue
        self.defaultText = shown ?? defaultValue ?? "unset"
        self.summary = summary
        self.isSecret = secret
    }

    private static let engines = ["espeak", "gemini"]

    public static let store = Setting("TTS_STORE", flag: "--store", default: nil, shown: "$XDG_CACHE_HOME/tts-repl, else ~/.cache/tts-repl", "Folder of the local tier: index.sqlite, blobs/, tts.log")
    public static let engine = Setting("TTS_ENGINE", flag: "--engine", .choice(engines), default: nil, shown: "gemini when GEMINI_API_KEY is set, else espeak", "Speech engine: espeak or gemini")
    public static let voice = Setting("TTS_VOICE", flag: "--voice", default: nil, shown: "engine default (Kore; espeak: from the language)", "Voice name as the engine knows it")
    public static let language = Setting("TTS_LANGUAGE", flag: "--lang", default: nil, shown: "unset (engine decides; espeak: en-us)", "BCP-47 language tag, e.g. en-US")
    public static let maxTextChars = Setting("TTS_MAX_TEXT_CHARS", .wholeNumber(1...1_000_000), default: "5000", "Longest text accepted, in Unicode scalars (and 4 UTF-8 bytes per scalar before normalization)")
    public static let memoryEntries = Setting("TTS_MEMORY_ENTRIES", .wholeNumber(0...10_000_000), default: "10000", "Clips a long-lived process (REPL session, serve, worker) answers from memory, least recently used out; 0 turns the memory tier off")
    public static let redisURL = Setting("REDIS_URL", flag: "--redis", default: "redis://127.0.0.1:6379", shown: "redis://127.0.0.1:6379 (used when reachable)", "Shared tier: redis://[user:pass@]host[:port][/db], unix:///path?db=N, redis+cluster://host:port[,host:port…] (Redis Cluster), or off")
    public static let redisPrefix = Setting("TTS_REDIS_PREFIX", default: "tts:", "Prefix of every Redis key, so teams can share a server")
    public static let redisAudio = Setting("TTS_REDIS_AUDIO", .onOff, default: "on", "Share WAV bytes through Redis (on/off), not only metadata")
    public static let redisAudioMaxBytes = Setting("TTS_REDIS_AUDIO_MAX_BYTES", .byteSize, default: "4MiB", "Largest clip whose bytes are shared through Redis")
    public static let redisTTL = Setting("TTS_REDIS_TTL", .duration(0...Int.max), default: "30d", "Expiry of Redis entries, refreshed on a hit (e.g. 30d, 12h, 3600); 0 = never expire")
    public static let geminiAPIKey = Setting("GEMINI_API_KEY", default: nil, "Gemini API key; several keys separated by commas rotate", secret: true)
    public static let geminiBaseURL = Setting("GEMINI_BASE_URL", default: "https://generativelanguage.googleapis.com", "Gemini endpoint (fake-gemini for tests and demos)")
    public static let geminiModel = Setting("GEMINI_MODEL", default: "gemini-3.8-flash-lite-tts", "Gemini TTS model")
    public static let requestTimeout = Setting("TTS_REQUEST_TIMEOUT", .duration(1...Int.max), default: "120", "Total time for one engine HTTP call, in seconds (or 2m)")
    public static let retryAttempts = Setting("TTS_RETRY_ATTEMPTS", .wholeNumber(1...20), default: "3", "Attempts per engine call for transient errors (5xx, timeouts, 429)")
    public static let retryBaseMs = Setting("TTS_RETRY_BASE_MS", .wholeNumber(1...600_000), default: "1000", "First backoff in milliseconds; doubles per retry with full jitter, capped at 30 s")
    public static let retryMaxDelay = Setting("TTS_RETRY_MAX_DELAY", .duration(0...Int.max), default: "60", "Longest wait a 429 may ask for before the call fails fast, in seconds")
    public static let rpm = Setting("TTS_RPM", .wholeNumber(1...1_000_000), default: nil, shown: "unset (no budget)", "Engine requests per minute for the whole process (token bucket)")
    public static let fallbackEngine = Setting("TTS_FALLBACK_ENGINE", .choice(engines + ["off"]), default: nil, shown: "unset (no fallback)", "Engine that answers a miss while the requested one cannot (quota spent, API down), e.g. espeak; cached under its own key and marked as a fallback")
    public static let concurrency = Setting("TTS_CONCURRENCY", .wholeNumber(1...256), default: "4", "Engine calls in flight at once")
    // Distributed pre-warming (`prewarm --queue`, `worker`, `queue`).
    public static let queueReclaim = Setting("TTS_QUEUE_RECLAIM_S", .wholeNumber(1...86_400), default: "30", "Seconds a queued job may sit with a silent worker before another worker takes it over")
    public static let queueMaxAttempts = Setting("TTS_QUEUE_MAX_ATTEMPTS", .wholeNumber(1...100), default: "3", "Failed attempts after which a queued job moves to the dead-letter stream")
    public static let logLevel = Setting("TTS_LOG_LEVEL", .choice(["debug", "info", "warn", "error"]), default: "info", "debug, info, warn or error")
    public static let logFile = Setting("TTS_LOG_FILE", default: nil, shown: "<store>/tts.log", "JSON-lines log file")
    // Operations (stats, eviction).
    public static let cacheMaxBytes = Setting("TTS_CACHE_MAX_BYTES", .byteSize, default: nil, shown: "unset (unlimited)", "Budget of the local tier (e.g. 2GiB): least recently used unpinned clips are evicted after each write")
    public static let cacheHardMaxBytes = Setting("TTS_CACHE_HARD_MAX_BYTES", .byteSize, default: nil, shown: "unset (no hard limit)", "Hard limit of the local tier (e.g. 4GiB): unpinned clips are evicted to stay under it, and a write is refused when pinned clips leave no room")
    public static let pricePerCall = Setting("TTS_PRICE_PER_CALL", .price, default: "0", shown: "0 (not shown)", "Price of one engine call, for the money-saved estimate of `stats`")
    public static let pricePerAudioSecond = Setting("TTS_PRICE_PER_AUDIO_SECOND", .price, default: "0", shown: "0 (not shown)", "Price of one second of generated audio, for the money-saved estimate of `stats`")
    // The OpenAI-compatible endpoint (`serve`).
    public static let openAIVoiceMap = Setting("TTS_OPENAI_VOICE_MAP", default: nil, shown: "built in (alloy=Kore, … on gemini; alloy=en-us, … on espeak)", "OpenAI voice names mapped to engine voices, e.g. alloy=Kore,echo=Puck")

    // Serving over HTTP (`serve`).
    public static let serveListen = Setting("TTS_SERVE_LISTEN", default: "127.0.0.1:8088", "Address and port `serve` listens on (e.g. 0.0.0.0:8080, [::1]:8088; port 0: any free one)")
    public static let serveTokens = Setting("TTS_SERVE_TOKENS", default: nil, shown: "unset (no auth; loopback only)", "Tokens HTTP clients must present (Bearer or x-goog-api-key), separated by commas", secret: true)

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

/// Parsing a value of a setting by its kind; every refusal names the variable, the value and
/// what `kind` accepts.
extension Setting {
    private func refuse(_ text: String) -> TTSError {
        TTSError.config("\(name) is '\(text)'; accepted: \(kind.accepted)")
    }

    public func wholeNumber(_ text: String) throws -> Int {
        guard case .wholeNumber(let range) = kind, let number = Int(text), range.contains(number) else { throw refuse(text) }
        return number
    }

    public func seconds(_ text: String) throws -> Int {
        guard case .duration(let range) = kind, let seconds = Configuration.seconds(text), range.contains(seconds) else { throw refuse(text) }
        return seconds
    }

    public func byteSize(_ text: String) throws -> Int {
        guard kind == .byteSize, let bytes = Configuration.byteSize(text) else { throw refuse(text) }
        return bytes
    }

    /// on/off, true/false, yes/no, 1/0.
    public func onOff(_ text: String) throws -> Bool {
        guard kind == .onOff else { throw refuse(text) }
        switch text.lowercased() {
        case "on", "true", "yes", "1": return true
        case "off", "false", "no", "0": return false
        default: throw refuse(text)
        }
    }

    public func price(_ text: String) throws -> Double {
        guard kind == .price, let value = Double(text), value.isFinite, value >= 0 else { throw refuse(text) }
        return value
    }

    /// The word, lowercased.
    public func choice(_ text: String) throws -> String {
        let word = text.lowercased()
        guard case .choice(let words) = kind, words.contains(word) else { throw refuse(word) }
        return word
    }
}
