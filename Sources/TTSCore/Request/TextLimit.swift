/// How much text one request may carry, and how much audio an engine may answer for it.
///
/// The limit counts Unicode scalars, not characters: a grapheme cluster can hold any number of
/// combining marks (10 MB of them count as one "character"), while every scalar costs the
/// normalizer, the key and the engine work. Before any normalization the raw text is also held
/// to four UTF-8 bytes per allowed scalar, so an oversized input is refused without walking it.
///
/// ```swift
/// let limit = TextLimit(maxScalars: 5000)      // 5000 scalars, 20000 bytes
/// try limit.checkRaw(text, field: "text")      // before NFC and whitespace folding
/// try limit.checkNormalized(normalized, field: "text")
/// ```
public struct TextLimit: Sendable, Equatable {
    public let maxScalars: Int

    public init(maxScalars: Int) {
        self.maxScalars = maxScalars
    }

    /// UTF-8 never needs more than four bytes per scalar; more raw bytes than that cannot
    /// normalize into an accepted text unless most of it is whitespace to fold.
    public var maxBytes: Int { maxScalars * 4 }

    /// Refuses raw input over `maxBytes` (an O(1) count for native strings), before any
    /// normalization work.
    public func checkRaw(_ text: String, field: String) throws {
        let bytes = text.utf8.count
        if bytes > maxBytes { throw tooLong(field, scalars: text.unicodeScalars.count, bytes: bytes) }
    }

    /// Refuses normalized text over `maxScalars` (or, defensively, `maxBytes`).
    public func checkNormalized(_ text: String, field: String) throws {
        let bytes = text.utf8.count
        let scalars = bytes <= maxScalars ? bytes : text.unicodeScalars.count  // ASCII-fast when short
        if scalars > maxScalars || bytes > maxBytes { throw tooLong(field, scalars: scalars, bytes: bytes) }
    }

    private func tooLong(_ field: String, scalars: Int, bytes: Int) -> TTSError {
        TTSError.validation(field, "\(field) is \(scalars) Unicode scalars (\(bytes) UTF-8 bytes); the limits are \(maxScalars) scalars and \(maxBytes) UTF-8 bytes (TTS_MAX_TEXT_CHARS). Split it into shorter clips.")
    }

    // MARK: - The audio a text may need

    /// The longest audio an engine may answer for `text`: 10 seconds plus one second per
    /// scalar. Slow, spelled-out speech (digits read one by one, a style such as "very
    /// slowly") stays well under a second per scalar; an answer longer than this is not
    /// speech of the text (a looping model, silence padding, a wrong clip) and is not stored.
    public static func longestAudioMs(for text: String) -> Int {
        (10 + text.unicodeScalars.count) * 1000
    }

    /// Throws a content error when `audio` is longer than any reading of `request`'s text.
    public static func checkAnswer(_ audio: WAVAudio, for request: AudioRequest) throws {
        let longest = longestAudioMs(for: request.text)
        guard audio.durationMs > longest else { return }
        throw TTSError(.content, "\(request.engine) returned \(audio.durationMs / 1000) s of audio for a text of \(request.text.unicodeScalars.count) Unicode scalars (at most \(longest / 1000) s is plausible); it was not stored. Try again, or another voice.")
    }
}
