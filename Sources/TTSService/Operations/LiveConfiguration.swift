import Foundation
import Synchronization
import TTSCore
import TTSStore

/// The configuration as it is now: loaded at start, changed by `config reload` for what can
/// change while running (voice, log level, cache budget, prices); the rest needs a restart.
///
/// ```swift
/// let live = LiveConfiguration(configuration) { try Configuration.load(environment: env) }
/// let outcome = await live.reload(applying: runtime)
/// ```
public final class LiveConfiguration: Sendable {
    /// Guards the current configuration and the loader.
    private let state: Mutex<State>

    private struct State {
        var current: Configuration
        var loader: (@Sendable () throws -> Configuration)?
    }

    /// Settings `reload` applies to a running process.
    public static let liveSettings: Set<String> = [
        Setting.voice.name, Setting.logLevel.name, Setting.cacheMaxBytes.name, Setting.pricePerCall.name,
        Setting.pricePerAudioSecond.name,
    ]

    public init(_ configuration: Configuration, loader: (@Sendable () throws -> Configuration)? = nil) {
        state = Mutex(State(current: configuration, loader: loader))
    }

    public var current: Configuration { state.withLock { $0.current } }

    /// How to read the configuration again: flags as given at start, the environment, `.env`.
    public func setLoader(_ loader: @escaping @Sendable () throws -> Configuration) {
        state.withLock { $0.loader = loader }
    }

    /// What one reload did.
    public struct ReloadOutcome: Sendable {
        public struct Change: Sendable {
            public var setting: String
            public var old: String
            public var new: String
        }
        /// Applied now.
        public var applied: [Change] = []
        /// Changed in the files but only used at start: restart tts-repl to use them.
        public var needsRestart: [Change] = []
        /// Why the new values were refused; the old configuration stays in force.
        public var rejected: [String] = []
        public var previous: Configuration
        public var current: Configuration
    }

    /// Loads the configuration again and applies what can change live. When the new
    /// configuration does not load (an invalid value) or names a voice the engine lacks, the old
    /// one stays and `rejected` says why. `validateVoice` checks a voice against an engine.
    public func reload(logger: Logger, budget: CacheBudget,
                       validateVoice: @Sendable (_ engine: String, _ voice: String) async throws -> Void) async -> ReloadOutcome {
        let (old, loader) = state.withLock { ($0.current, $0.loader) }
        var outcome = ReloadOutcome(previous: old, current: old)
        guard let loader else {
            outcome.rejected.append("this process cannot re-read its configuration")
            return outcome
        }
        let new: Configuration
        do {
            new = try loader()
        } catch {
            outcome.rejected.append(TTSError.message(of: error) + "; the previous configuration stays in force")
            return outcome
        }
        var next = old
        for setting in Setting.all {
            let before = old.displayValue(of: setting), after = new.displayValue(of: setting)
            guard before != after else {
                next.origins[setting.name] = new.origins[setting.name] ?? next.origins[setting.name]
                continue
            }
            let change = ReloadOutcome.Change(setting: setting.name, old: before, new: after)
            guard LiveConfiguration.liveSettings.contains(setting.name) else {
                outcome.needsRestart.append(change)
                continue
            }
            if setting == .voice, !new.voice.isEmpty {
                do {
                    try await validateVoice(old.engine, new.voice)
                } catch {
                    let reason = TTSError.message(of: error)
                    outcome.rejected.append("TTS_VOICE '\(new.voice)' was not applied: \(reason); the voice stays '\(before)'")
                    continue
                }
            }
            switch setting {
            case .voice: next.voice = new.voice
            case .logLevel: next.logLevel = new.logLevel
            case .cacheMaxBytes: next.cacheMaxBytes = new.cacheMaxBytes
            case .pricePerCall: next.pricePerCall = new.pricePerCall
            case .pricePerAudioSecond: next.pricePerAudioSecond = new.pricePerAudioSecond
            default: continue
            }
            next.origins[setting.name] = new.origins[setting.name]
            outcome.applied.append(change)
        }
        logger.minimumLevel = next.logLevel
        if next.cacheMaxBytes != old.cacheMaxBytes { budget.maxBytes = next.cacheMaxBytes }
        state.withLock { $0.current = next }
        outcome.current = next
        return outcome
    }
}

extension Configuration {
    /// The value of a setting as `config` shows it; API keys as their last four characters,
    /// passwords not at all.
    public func displayValue(of setting: Setting) -> String {
        switch setting {
        case .store: return storeURL.path
        case .engine: return engine
        case .voice: return voice
        case .language: return language
        case .maxTextChars: return String(maxTextCharacters)
        case .memoryEntries: return String(memoryEntries)
        case .redisURL: return redisURL.map(Configuration.redactURL) ?? "off"
        case .redisPrefix: return redisPrefix
        case .redisAudio: return redisShareAudio ? "on" : "off"
        case .redisAudioMaxBytes: return String(redisAudioMaxBytes)
        case .redisTTL: return String(redisTTLSeconds)
        case .geminiAPIKey: return geminiAPIKeys.map(Configuration.redact).joined(separator: ",")
        case .geminiBaseURL: return geminiBaseURL
        case .geminiModel: return geminiModel
        case .requestTimeout: return String(requestTimeoutSeconds)
        case .retryAttempts: return String(retryAttempts)
        case .retryBaseMs: return String(retryBaseMs)
        case .retryMaxDelay: return String(retryMaxDelaySeconds)
        case .rpm: return requestsPerMinute.map(String.init) ?? ""
        case .concurrency: return String(concurrency)
        case .fallbackEngine: return fallbackEngine ?? ""
        case .logLevel: return logLevel.rawValue
        case .logFile: return logFileURL.path
        case .cacheMaxBytes: return cacheMaxBytes.map(String.init) ?? ""
        case .cacheHardMaxBytes: return cacheHardMaxBytes.map(String.init) ?? ""
        case .pricePerCall: return Configuration.formatPrice(pricePerCall)
        case .pricePerAudioSecond: return Configuration.formatPrice(pricePerAudioSecond)
        case .serveListen: return serveListen
        case .serveTokens: return serveTokens.map(Configuration.redact).joined(separator: ",")
        case .openAIVoiceMap: return openAIVoiceMap.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
        default: return "(not shown: add it to Configuration.displayValue)"
        }
    }

    static func formatPrice(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }

    /// `redis://user:secret@host` → `redis://user:…@host` (also `password=` in a query): no
    /// part of a password is shown, since unlike an API key it is often short.
    static func redactURL(_ url: String) -> String {
        var text = url
        if let scheme = text.range(of: "://"), let at = text[scheme.upperBound...].firstIndex(of: "@"),
           let colon = text[scheme.upperBound..<at].firstIndex(of: ":") {
            text.replaceSubrange(text.index(after: colon)..<at, with: "…")
        }
        if let range = text.range(of: "password=") {
            let end = text[range.upperBound...].firstIndex(of: "&") ?? text.endIndex
            text.replaceSubrange(range.upperBound..<end, with: "…")
        }
        return text
    }
}
