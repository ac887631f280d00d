import Foundation

/// The validated configuration of one tts-repl process, with the origin of every value.
///
/// Built once at the edge by `Configuration.load` (flags > environment > `.env` in the working
/// directory > defaults) and passed in; nothing below the executables reads the environment.
public struct Configuration: Sendable {
    public var storeURL: URL
    public var engine: String
    public var voice: String
    public var language: String
    public var maxTextCharacters: Int
    /// Entries of the memory tier (TTS_MEMORY_ENTRIES); 0: off.
    public var memoryEntries = 10_000
    /// nil when Redis is off on purpose (`--redis off`).
    public var redisURL: String?
    /// Whether REDIS_URL was left at its default: then an unreachable server is expected
    /// (a laptop without Redis) and reported quietly.
    public var redisIsDefault: Bool { origins[Setting.redisURL.name] == .default }
    public var redisPrefix: String
    public var redisShareAudio: Bool
    public var redisAudioMaxBytes: Int
    public var redisTTLSeconds: Int
    public var geminiAPIKeys: [String]
    public var geminiBaseURL: String
    public var geminiModel: String
    /// Total time for one engine HTTP call (TTS_REQUEST_TIMEOUT).
    public var requestTimeoutSeconds: Int
    public var retryAttempts: Int
    public var retryBaseMs: Int
    /// The longest wait a 429's RetryInfo may ask for before the call fails fast instead.
    public var retryMaxDelaySeconds: Int
    /// Engine requests per minute, shared by every generation in the process; nil = unlimited.
    public var requestsPerMinute: Int?
    /// Engine calls in flight at once.
    public var concurrency: Int
    /// TTS_FALLBACK_ENGINE: answers misses while the requested engine cannot; nil = none.
    public var fallbackEngine: String? = nil
    // Distributed pre-warming.
    /// How long a job may sit with a worker that stopped refreshing it before another takes it.
    public var queueReclaimSeconds: Int = 30
    /// Failed attempts after which a queued job is dead.
    public var queueMaxAttempts: Int = 3
    public var logLevel: LogLevel
    public var logFileURL: URL
    // Operations: the local tier's budget (nil = unlimited) and the prices behind `stats`'s
    // money-saved estimate (0 = not shown).
    public var cacheMaxBytes: Int? = nil
    /// TTS_CACHE_HARD_MAX_BYTES: never exceeded; nil = no hard limit.
    public var cacheHardMaxBytes: Int? = nil
    public var pricePerCall: Double = 0
    public var pricePerAudioSecond: Double = 0
    // Serving over HTTP: the listen address as given (parsed by `serve`) and the client tokens.
    public var serveListen: String = "127.0.0.1:8088"
    public var serveTokens: [String] = []
    /// OpenAI voice name (lowercased) → engine voice, overriding the built-in map.
    public var openAIVoiceMap: [String: String] = [:]
    /// The setting name → where its value came from.
    public var origins: [String: ConfigSource]

    /// Loads and validates; throws a `.config` error naming the variable and what it accepts.
    ///
    /// - Parameters:
    ///   - flags: values given on the command line, by setting name (`TTS_STORE`, …).
    ///   - environment: the process environment.
    ///   - dotEnv: values read from `.env`.
    public static func load(flags: [String: String] = [:], environment: [String: String],
                            dotEnv: [String: String] = [:]) throws -> Configuration {
        var origins: [String: ConfigSource] = [:]
        func raw(_ setting: Setting) -> String? {
            let candidates: [(String?, ConfigSource)] = [
                (flags[setting.name], .flag), (environment[setting.name], .environment), (dotEnv[setting.name], .dotenv),
            ]
            for (value, source) in candidates {
                if let value, !value.trimmingCharacters(in: .whitespaces).isEmpty {
                    origins[setting.name] = source
                    return value.trimmingCharacters(in: .whitespaces)
                }
            }
            origins[setting.name] = .default
            return nil
        }
        /// The value given, else the declared default (nil when the setting is then unset).
        func value(_ setting: Setting) -> String? { raw(setting) ?? setting.defaultValue }
        /// For settings declared with a default: parsed by their kind.
        func typed<T>(_ setting: Setting, _ parse: (Setting) -> (String) throws -> T) throws -> T {
            guard let text = value(setting) else { preconditionFailure("\(setting.name) is declared without a default") }
            return try parse(setting)(text)
        }

        let home = environment["HOME"].map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser
        let cacheHome = environment["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : URL(fileURLWithPath: $0) }
            ?? home.appendingPathComponent(".cache")
        let storeURL = raw(.store).map { URL(fileURLWithPath: expandTilde($0, home: home)) }
            ?? cacheHome.appendingPathComponent("tts-repl")

        let keys = (raw(.geminiAPIKey) ?? "").split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }

        let engine = try Setting.engine.choice(raw(.engine) ?? (keys.isEmpty ? "espeak" : "gemini"))

        let language = raw(.language) ?? ""
        if !language.isEmpty && !LanguageTag.isWellFormed(language) {
            throw TTSError.config("TTS_LANGUAGE is '\(language)', not a well-formed BCP-47 tag; use e.g. en-US or de-DE")
        }

        let maxTextCharacters = try typed(.maxTextChars, Setting.wholeNumber)

        var redisURL: String? = value(.redisURL)
        if let url = redisURL {
            if url.lowercased() == "off" || url.lowercased() == "none" {
                redisURL = nil
            } else if !(url.hasPrefix("redis://") || url.hasPrefix("unix://") || url.hasPrefix("redis+cluster://")) {
                throw TTSError.config("REDIS_URL must start with redis://, unix:// or redis+cluster://, or be 'off'")
            }
        }

        let redisPrefix = value(.redisPrefix) ?? ""
        guard redisPrefix.count <= 64, !redisPrefix.contains(where: { $0.isWhitespace || $0.isNewline }) else {
            throw TTSError.config("TTS_REDIS_PREFIX is '\(redisPrefix)'; accepted: up to 64 characters without spaces, e.g. tts: or team-a:tts:")
        }
        let redisShareAudio = try typed(.redisAudio, Setting.onOff)
        let redisAudioMaxBytes = try typed(.redisAudioMaxBytes, Setting.byteSize)
        let redisTTLSeconds = try typed(.redisTTL, Setting.seconds)

        let baseURL = value(.geminiBaseURL) ?? ""
        guard let parsed = URL(string: baseURL), ["http", "https"].contains(parsed.scheme ?? ""), parsed.host != nil else {
            throw TTSError.config("GEMINI_BASE_URL is '\(baseURL)'; accepted: an http(s) URL such as https://generativelanguage.googleapis.com")
        }

        let requestTimeoutSeconds = try typed(.requestTimeout, Setting.seconds)
        let retryAttempts = try typed(.retryAttempts, Setting.wholeNumber)
        let retryBaseMs = try typed(.retryBaseMs, Setting.wholeNumber)
        let retryMaxDelaySeconds = try typed(.retryMaxDelay, Setting.seconds)
        let requestsPerMinute = try value(.rpm).map(Setting.rpm.wholeNumber)
        let concurrency = try typed(.concurrency, Setting.wholeNumber)

        guard let logLevel = LogLevel(rawValue: try typed(.logLevel, Setting.choice)) else {
            preconditionFailure("TTS_LOG_LEVEL's choices are the log levels")
        }
        let logFileURL = raw(.logFile).map { URL(fileURLWithPath: expandTilde($0, home: home)) }
            ?? storeURL.appendingPathComponent("tts.log")

        let cacheMaxBytes = try value(.cacheMaxBytes).map(Setting.cacheMaxBytes.byteSize)
        let cacheHardMaxBytes = try value(.cacheHardMaxBytes).map(Setting.cacheHardMaxBytes.byteSize)
        let pricePerCall = try typed(.pricePerCall, Setting.price)
        let pricePerAudioSecond = try typed(.pricePerAudioSecond, Setting.price)
        let queueReclaimSeconds = try typed(.queueReclaim, Setting.wholeNumber)
        let queueMaxAttempts = try typed(.queueMaxAttempts, Setting.wholeNumber)

        let serveListen = value(.serveListen) ?? ""
        let serveTokens = (raw(.serveTokens) ?? "").split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }

        var configuration = Configuration(
            storeURL: storeURL, engine: engine, voice: raw(.voice) ?? "", language: language,
            maxTextCharacters: maxTextCharacters, redisURL: redisURL, redisPrefix: redisPrefix,
            redisShareAudio: redisShareAudio, redisAudioMaxBytes: redisAudioMaxBytes, redisTTLSeconds: redisTTLSeconds,
            geminiAPIKeys: keys,
            geminiBaseURL: baseURL, geminiModel: value(.geminiModel) ?? "",
            requestTimeoutSeconds: requestTimeoutSeconds, retryAttempts: retryAttempts, retryBaseMs: retryBaseMs,
            retryMaxDelaySeconds: retryMaxDelaySeconds, requestsPerMinute: requestsPerMinute, concurrency: concurrency,
            logLevel: logLevel, logFileURL: logFileURL, cacheMaxBytes: cacheMaxBytes, cacheHardMaxBytes: cacheHardMaxBytes, pricePerCall: pricePerCall,
            pricePerAudioSecond: pricePerAudioSecond, origins: origins)
        configuration.memoryEntries = try typed(.memoryEntries, Setting.wholeNumber)
        configuration.queueReclaimSeconds = queueReclaimSeconds
        configuration.queueMaxAttempts = queueMaxAttempts
        configuration.serveListen = serveListen
        configuration.serveTokens = serveTokens
        configuration.openAIVoiceMap = try parseVoiceMap(raw(.openAIVoiceMap) ?? "", name: Setting.openAIVoiceMap.name)
        if let fallback = try value(.fallbackEngine).map(Setting.fallbackEngine.choice), fallback != "off" {
            configuration.fallbackEngine = fallback
        }
        return configuration
    }

    /// `alloy=Kore,echo=Puck`: names before `=` are lowercased (OpenAI's voices are), voices
    /// after it kept as written (Gemini's are capitalised).
    public static func parseVoiceMap(_ text: String, name: String) throws -> [String: String] {
        var map: [String: String] = [:]
        for entry in text.split(separator: ",") {
            let pair = entry.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2, !pair[0].isEmpty, !pair[1].isEmpty else {
                throw TTSError.config("\(name) has '\(entry)'; accepted: a comma list of openai-voice=engine-voice, e.g. alloy=Kore,echo=Puck")
            }
            map[pair[0].lowercased()] = pair[1]
        }
        return map
    }

    /// A byte count: `4194304`, `512KiB`, `4MiB`, `1GiB` (also KB/MB/GB and K/M/G, all binary);
    /// nil when it is none.
    public static func byteSize(_ text: String) -> Int? {
        let units: [(String, Int)] = [("gib", 1 << 30), ("mib", 1 << 20), ("kib", 1 << 10), ("gb", 1 << 30), ("mb", 1 << 20),
                                      ("kb", 1 << 10), ("g", 1 << 30), ("m", 1 << 20), ("k", 1 << 10), ("b", 1)]
        let lower = text.lowercased().replacingOccurrences(of: " ", with: "")
        var multiplier = 1
        var digits = lower
        for (suffix, factor) in units where lower.hasSuffix(suffix) {
            multiplier = factor
            digits = String(lower.dropLast(suffix.count))
            break
        }
        guard let value = Int(digits), value >= 0, value <= Int.max / multiplier else { return nil }
        return value * multiplier
    }

    /// A duration in whole seconds: `3600`, `90s`, `45m`, `12h`, `30d`; nil when it is none.
    public static func seconds(_ text: String) -> Int? {
        let units: [Character: Int] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
        let lower = text.lowercased()
        var multiplier = 1
        var digits = lower
        if let last = lower.last, let factor = units[last] {
            multiplier = factor
            digits = String(lower.dropLast())
        }
        guard let value = Int(digits), value >= 0, value <= Int.max / multiplier else { return nil }
        return value * multiplier
    }

    private static func expandTilde(_ path: String, home: URL) -> String {
        if path == "~" { return home.path }
        if path.hasPrefix("~/") { return home.path + path.dropFirst(1) }
        return path
    }

    /// Every secret this configuration holds, for `Redactor`: the API keys, the serve tokens and
    /// the Redis password (as written in the URL and percent-decoded).
    public var secrets: [String] {
        var list = geminiAPIKeys + serveTokens
        if let password = redisURL.flatMap(Configuration.redisPassword(in:)) {
            list.append(password)
            if let decoded = password.removingPercentEncoding { list.append(decoded) }
        }
        return list
    }

    /// The password in a Redis URL: `redis://user:pass@host` or `…?password=pass`; nil when
    /// there is none.
    public static func redisPassword(in url: String) -> String? {
        if let scheme = url.range(of: "://"), let at = url[scheme.upperBound...].firstIndex(of: "@"),
           let colon = url[scheme.upperBound..<at].firstIndex(of: ":") {
            let password = String(url[url.index(after: colon)..<at])
            if !password.isEmpty { return password }
        }
        if let range = url.range(of: "password=") {
            let end = url[range.upperBound...].firstIndex(of: "&") ?? url.endIndex
            let password = String(url[range.upperBound..<end])
            if !password.isEmpty { return password }
        }
        return nil
    }

    /// Shows a secret as its last four characters, for `config` and diagnostics; a short one
    /// (under 12 characters) not at all, since four would be most of it.
    public static func redact(_ secret: String) -> String {
        secret.count >= 12 ? "…" + secret.suffix(4) : "…"
    }
}
