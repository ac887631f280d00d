/// Gemini's 30 prebuilt voices (every TTS model speaks them), with Google's one-word character.
enum GeminiVoices {
    static let all: [VoiceInfo] = [
        ("Zephyr", "bright"), ("Puck", "upbeat"), ("Charon", "informative"), ("Kore", "firm"),
        ("Fenrir", "excitable"), ("Leda", "youthful"), ("Orus", "firm"), ("Aoede", "breezy"),
        ("Callirrhoe", "easy-going"), ("Autonoe", "bright"), ("Enceladus", "breathy"), ("Iapetus", "clear"),
        ("Umbriel", "easy-going"), ("Algieba", "smooth"), ("Despina", "smooth"), ("Erinome", "clear"),
        ("Algenib", "gravelly"), ("Rasalgethi", "informative"), ("Laomedeia", "upbeat"), ("Achernar", "soft"),
        ("Alnilam", "firm"), ("Schedar", "even"), ("Gacrux", "mature"), ("Pulcherrima", "forward"),
        ("Achird", "friendly"), ("Zubenelgenubi", "casual"), ("Vindemiatrix", "gentle"), ("Sadachbia", "lively"),
        ("Sadaltager", "knowledgeable"), ("Sulafat", "warm"),
    ].map { VoiceInfo(name: $0.0, languages: [], summary: $0.1) }

    static let defaultVoice = "Kore"

    private static let byLowercasedName: [String: String] =
        Dictionary(uniqueKeysWithValues: all.map { ($0.name.lowercased(), $0.name) })

    /// The voice in Google's capitalisation, or nil when Gemini has no such prebuilt voice.
    static func canonical(_ name: String) -> String? { byLowercasedName[name.lowercased()] }
}
