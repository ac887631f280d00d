import TTSCore
import TTSEngines

/// The engines this process can use, by name. An engine that is configured out (Gemini without
/// an API key) stays listed with the reason, so the error says what to do instead of "unknown".
public struct EngineRegistry: Sendable {
    private var engines: [String: any SpeechEngine] = [:]
    private var unavailable: [String: String] = [:]

    public init() {}

    public mutating func register(_ engine: any SpeechEngine) {
        engines[engine.name] = engine
        unavailable[engine.name] = nil
    }

    /// Names an engine that exists but cannot be used here, and why.
    public mutating func markUnavailable(_ name: String, reason: String) {
        engines[name] = nil
        unavailable[name] = reason
    }

    public var names: [String] { (Array(engines.keys) + Array(unavailable.keys)).sorted() }

    public func engine(named name: String) throws -> any SpeechEngine {
        if let engine = engines[name] { return engine }
        if let reason = unavailable[name] { throw TTSError(.auth, reason) }
        throw TTSError.validation("engine", "unknown engine '\(name)'; available: \(names.joined(separator: ", "))")
    }
}
