/// The OpenAI- and Gemini-compatible faces, as the router calls them. They live in their own
/// files (written beside this server) and are plugged in by `installed(backend:)`; a face that
/// is not plugged in answers 501 in its API's error shape.
///
/// Auth is the router's: a face is only called for a request that passed the token check.
public struct CompatibilityFaces: Sendable {
    /// `POST /v1/audio/speech`.
    public var openAISpeech: (@Sendable (ServerRequest) async -> ServerResponse)?
    /// `POST /v1beta|v1/models/{model}:generateContent` (stream false) and
    /// `:streamGenerateContent` (stream true).
    public var geminiGenerate: (@Sendable (ServerRequest, _ model: String, _ stream: Bool) async -> ServerResponse)?

    public init(openAISpeech: (@Sendable (ServerRequest) async -> ServerResponse)? = nil,
                geminiGenerate: (@Sendable (ServerRequest, _ model: String, _ stream: Bool) async -> ServerResponse)? = nil) {
        self.openAISpeech = openAISpeech
        self.geminiGenerate = geminiGenerate
    }

    /// The faces `tts-repl serve` runs with: OpenAI's `/v1/audio/speech` and Gemini's
    /// `generateContent` / `streamGenerateContent`, both over `backend`.
    public static func installed(backend: any SpeechBackend, voiceMap: OpenAIVoiceMap = OpenAIVoiceMap()) -> CompatibilityFaces {
        let openAI = OpenAIFace(backend: backend, voiceMap: voiceMap), gemini = GeminiFace(backend: backend)
        return CompatibilityFaces(openAISpeech: { await openAI.speech($0) },
                                  geminiGenerate: { await gemini.generateContent($0, model: $1, stream: $2) })
    }
}
