import TTSCore
import TTSService

/// The REPL's mutable state: what the next `say` will ask for, and the last clip produced.
/// Owned by the shell's single command loop, so it needs no lock.
struct Session {
    var engine: String
    var voice: String
    var language: String
    var model: String
    var style: String
    var lastClip: Clip?
    /// The format of the last `say --encoding …`, which a bare `play` plays too.
    var lastTarget: AudioTarget?

    init(configuration: Configuration) {
        engine = configuration.engine
        voice = configuration.voice
        language = configuration.language
        model = configuration.engine == "gemini" ? configuration.geminiModel : ""
        style = ""
    }

    func request(text: String) -> AudioRequest {
        AudioRequest(text: text, voice: voice, language: language, engine: engine, model: model, style: style)
    }

    /// The prompt shows what the next `say` will use, e.g. `tts[espeak en-us]> `.
    var prompt: String {
        var parts = [engine]
        if !voice.isEmpty { parts.append(voice) }
        if !language.isEmpty { parts.append(language) }
        return "tts[\(parts.joined(separator: " "))]> "
    }
}
