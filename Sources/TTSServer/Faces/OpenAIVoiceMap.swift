/// Which engine voice reads a request that names one of OpenAI's voices (`alloy`, `nova`, …).
///
/// OpenAI's SDKs only offer their own voice names, so each maps to an engine voice of a
/// similar character; `TTS_OPENAI_VOICE_MAP` overrides single entries. A name that is not an
/// OpenAI voice (`Kore`, `de`) is taken as the engine's own voice name and passes through.
///
/// ```swift
/// let map = OpenAIVoiceMap(overrides: ["alloy": "Puck"])
/// map.voice(for: "alloy", engine: "gemini")   // "Puck"
/// map.voice(for: "nova", engine: "gemini")    // "Leda"
/// map.voice(for: "Kore", engine: "gemini")    // "Kore"
/// ```
public struct OpenAIVoiceMap: Sendable, Equatable {
    /// OpenAI voice (lowercased) → engine voice, from the setting; checked before the built-in maps.
    public var overrides: [String: String]

    public init(overrides: [String: String] = [:]) {
        self.overrides = Dictionary(overrides.map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: { _, last in last })
    }

    /// OpenAI's built-in voices, each with the Gemini prebuilt voice nearest in character
    /// (Google's one-word descriptions: Kore firm, Leda youthful, Algenib gravelly, …).
    static let gemini: [String: String] = [
        "alloy": "Kore", "ash": "Orus", "ballad": "Algieba", "coral": "Aoede", "echo": "Charon",
        "fable": "Puck", "onyx": "Algenib", "nova": "Leda", "sage": "Iapetus", "shimmer": "Zephyr",
        "verse": "Achird", "marin": "Sulafat", "cedar": "Schedar",
    ]

    /// espeak has one voice per accent, not per character: OpenAI's voices spread over its
    /// English accents, so different OpenAI voices still sound different.
    static let espeak: [String: String] = [
        "alloy": "en-us", "ash": "en-gb", "ballad": "en-gb-scotland", "coral": "en-us", "echo": "en-gb-x-rp",
        "fable": "en-gb-x-rp", "onyx": "en-gb-x-gbclan", "nova": "en-us", "sage": "en-029", "shimmer": "en-us",
        "verse": "en-gb-x-gbcwmd", "marin": "en-us", "cedar": "en-gb",
    ]

    /// The engine voice for `name` on `engine`.
    public func voice(for name: String, engine: String) -> String {
        let key = name.lowercased()
        if let voice = overrides[key] { return voice }
        let builtIn = engine == "gemini" ? Self.gemini : engine == "espeak" ? Self.espeak : [:]
        return builtIn[key] ?? name
    }
}
