/// What a person asked to hear: text in a voice and language, from an engine and model.
///
/// A request is built from user input, then `normalized(maxTextCharacters:)` validates it and
/// brings the text to its canonical form; only a normalized request may be keyed or sent to an
/// engine. Voice resolution (filling in the engine's default voice for the language) is the
/// engine's job and happens before keying, so the key always names a concrete voice.
///
/// ```swift
/// let request = try AudioRequest(text: "Hello   world", voice: "en-us", engine: "espeak",
///                                model: "espeak-ng").normalized(maxTextCharacters: 5000)
/// request.text   // "Hello world"
/// ```
public struct AudioRequest: Sendable, Hashable, Codable {
    public var text: String
    /// Engine-specific voice name; empty means "the engine's default for the language".
    public var voice: String
    /// BCP-47 tag; empty means "let the engine decide" (Gemini detects the language itself).
    public var language: String
    public var engine: String
    public var model: String
    /// Delivery style ("cheerfully"); part of the key because it changes the audio.
    public var style: String
    /// Two-speaker dialogue: speaker name → voice. Empty for single-speaker requests.
    public var speakers: [SpeakerVoice]

    public init(text: String, voice: String = "", language: String = "", engine: String,
                model: String, style: String = "", speakers: [SpeakerVoice] = []) {
        self.text = text
        self.voice = voice
        self.language = language
        self.engine = engine
        self.model = model
        self.style = style
        self.speakers = speakers
    }

    /// Validates the request and returns it with its text normalized.
    ///
    /// Throws a validation error naming the field and what is accepted: empty or
    /// whitespace-only text, text or style longer than `maxTextCharacters` Unicode scalars
    /// (counted after normalization) or four UTF-8 bytes per scalar (counted before, so an
    /// oversized input costs no normalization work; see `TextLimit`), a language tag that is not well-formed BCP-47, an
    /// engine, model or voice with a control character, or a speaker without a name or voice
    /// or with ':' or ',' in either.
    ///
    /// The last two keep the request key unambiguous: its canonical form joins fields with
    /// U+001F and speakers with ':' and ',', so a field carrying one of them could make two
    /// different requests share a key, and one be served the other's audio.
    public func normalized(maxTextCharacters: Int) throws -> AudioRequest {
        let limit = TextLimit(maxScalars: maxTextCharacters)
        try limit.checkRaw(text, field: "text")
        try limit.checkRaw(style, field: "style")
        var copy = self
        copy.text = TextNormalizer.normalize(text)
        copy.voice = voice.trimmingWhitespace()
        copy.language = language.trimmingWhitespace()
        copy.engine = engine.trimmingWhitespace().lowercased()
        copy.model = model.trimmingWhitespace()
        copy.style = TextNormalizer.normalize(style)
        copy.speakers = speakers.map {
            SpeakerVoice(name: $0.name.trimmingWhitespace(), voice: $0.voice.trimmingWhitespace())
        }
        if copy.text.isEmpty {
            throw TTSError.validation("text", "text is empty: give the words to speak, e.g. `say Hello world`")
        }
        try limit.checkNormalized(copy.text, field: "text")
        try limit.checkNormalized(copy.style, field: "style")
        if !copy.language.isEmpty && !LanguageTag.isWellFormed(copy.language) {
            throw TTSError.validation("language", "language '\(copy.language)' is not a well-formed BCP-47 tag: use a code such as en-US, de-DE, pt-BR or ja")
        }
        if !copy.language.isEmpty { copy.language = LanguageTag.canonicalCase(copy.language) }
        if copy.engine.isEmpty {
            throw TTSError.validation("engine", "no engine given: use espeak or gemini")
        }
        for (field, value) in [("engine", copy.engine), ("model", copy.model), ("voice", copy.voice)]
        where value.containsControlCharacter {
            throw TTSError.validation(field, "\(field) \(value.debugDescription) contains a control character (from a paste or a script?): remove it and give the plain name")
        }
        for speaker in copy.speakers where speaker.name.isEmpty || speaker.voice.isEmpty {
            throw TTSError.validation("speakers", "each speaker needs a name and a voice, as in Joe=Kore,Jane=Puck")
        }
        for speaker in copy.speakers
        where [speaker.name, speaker.voice].contains(where: { $0.containsControlCharacter || $0.contains(where: { $0 == ":" || $0 == "," }) }) {
            throw TTSError.validation("speakers", "speaker \(speaker.name.debugDescription) with voice \(speaker.voice.debugDescription) contains ':', ',' or a control character: use plain names, as in Joe=Kore,Jane=Puck")
        }
        return copy
    }
}

/// One speaker of a two-speaker dialogue and the voice that reads their lines.
public struct SpeakerVoice: Sendable, Hashable, Codable {
    public var name: String
    public var voice: String
    public init(name: String, voice: String) {
        self.name = name
        self.voice = voice
    }

    /// `Joe:Kore,Jane:Puck`: how a list of speakers is stored in one text field (index column,
    /// Redis hash field, queue entry). Normalized names and voices hold no ':' or ','.
    public static func storedText(_ speakers: [SpeakerVoice]) -> String {
        speakers.map { "\($0.name):\($0.voice)" }.joined(separator: ",")
    }

    /// The speakers `storedText` wrote; malformed pairs are skipped.
    public static func list(storedText text: String) -> [SpeakerVoice] {
        text.split(separator: ",").compactMap { pair in
            let parts = pair.split(separator: ":", maxSplits: 1).map(String.init)
            return parts.count == 2 ? SpeakerVoice(name: parts[0], voice: parts[1]) : nil
        }
    }
}

extension String {
    /// Whether every byte is printable ASCII (U+0020–U+007E): no control character, and one
    /// Character per byte (the only ASCII pair that forms one Character is CR LF).
    var isPrintableASCII: Bool {
        utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F }
    }

    var containsControlCharacter: Bool {
        if isPrintableASCII { return false }
        return unicodeScalars.contains { $0.properties.generalCategory == .control }
    }

    func trimmingWhitespace() -> String {
        // Printable ASCII other than a space at both ends: nothing to trim (the common case,
        // checked without Unicode property look-ups).
        if let first = utf8.first, let last = utf8.last, first > 0x20, first < 0x7F, last > 0x20, last < 0x7F {
            return self
        }
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })!
        return String(scalars[first...last])
    }
}
