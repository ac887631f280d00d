import Foundation
import TTSCore

/// How a model takes a delivery style, which depends on its generation.
enum GeminiModelFamily: Equatable {
    /// 2.5 and 3.1: style goes in front of the text, "Say cheerfully: …".
    case styleInText
    /// 3.8 and later: the text is read verbatim; style travels as `speech_metadata` on the part.
    case styleAsMetadata

    init(model: String) {
        // "gemini-3.8-flash-tts" → 3.8; names without a version read as the older family.
        let version = model.split(separator: "-").dropFirst().first.flatMap { Double($0) } ?? 0
        self = version >= 3.8 ? .styleAsMetadata : .styleInText
    }
}

/// The JSON body of `generateContent` for a TTS request, camelCase as the REST API documents it.
struct GeminiRequestBody: Encodable {
    var contents: [Content]
    var generationConfig: GenerationConfig

    struct Content: Encodable {
        var role = "user"
        var parts: [Part]
    }

    struct Part: Encodable {
        var text: String
        var speechMetadata: SpeechMetadata?
        enum CodingKeys: String, CodingKey {
            case text
            case speechMetadata = "speech_metadata"  // spelled so by the 3.8 API
        }
    }

    struct SpeechMetadata: Encodable { var style: String }

    struct GenerationConfig: Encodable {
        var responseModalities = ["AUDIO"]
        var speechConfig: SpeechConfig
    }

    struct SpeechConfig: Encodable {
        var voiceConfig: VoiceConfig?
        var multiSpeakerVoiceConfig: MultiSpeakerVoiceConfig?
        var languageCode: String?
    }

    struct VoiceConfig: Encodable {
        var prebuiltVoiceConfig: PrebuiltVoiceConfig
        init(_ voice: String) { prebuiltVoiceConfig = PrebuiltVoiceConfig(voiceName: voice) }
    }

    struct PrebuiltVoiceConfig: Encodable { var voiceName: String }

    struct MultiSpeakerVoiceConfig: Encodable { var speakerVoiceConfigs: [SpeakerVoiceConfig] }

    struct SpeakerVoiceConfig: Encodable {
        var speaker: String
        var voiceConfig: VoiceConfig
    }

    /// The body for a resolved request.
    init(_ request: AudioRequest) {
        var part = Part(text: request.text)
        if !request.style.isEmpty {
            switch GeminiModelFamily(model: request.model) {
            case .styleInText: part.text = "Say \(request.style): \(request.text)"
            case .styleAsMetadata: part.speechMetadata = SpeechMetadata(style: request.style)
            }
        }
        var speech = SpeechConfig()
        if request.speakers.count == 2 {
            speech.multiSpeakerVoiceConfig = MultiSpeakerVoiceConfig(speakerVoiceConfigs: request.speakers.map {
                SpeakerVoiceConfig(speaker: $0.name, voiceConfig: VoiceConfig($0.voice))
            })
        } else {
            speech.voiceConfig = VoiceConfig(request.voice)
        }
        // Only when the user chose one: the model detects the language itself, and unsupported
        // codes have caused 500s.
        if !request.language.isEmpty { speech.languageCode = request.language }
        contents = [Content(parts: [part])]
        generationConfig = GenerationConfig(speechConfig: speech)
    }

    func encoded() -> Data {
        // Encoding plain strings and arrays cannot fail.
        (try? JSONEncoder().encode(self)) ?? Data()
    }
}
