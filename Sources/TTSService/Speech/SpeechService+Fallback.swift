import TTSCore

/// Serving when the engine cannot answer: a cache hit never needs the engine (hits are looked
/// up before any engine call, so a spent quota or an outage never stops them); a miss can be
/// answered by a fallback engine (`TTS_FALLBACK_ENGINE`, e.g. espeak) instead of failing.
///
/// The fallback's clip is a request of its own (its engine, its default voice), so it is keyed
/// and cached apart: the real voice is fetched on the first request after the engine is back.
///
/// ```swift
/// let answer = try await service.generateOrFetch(request, fallbackEngine: "espeak")
/// answer.fallbackFor   // the quota error, when espeak answered
/// ```
extension SpeechService {
    public func generateOrFetch(_ request: AudioRequest, fallbackEngine: String?) async throws -> Generation {
        do {
            return try await generateOrFetch(request)
        } catch let error as TTSError {
            guard let fallbackEngine, Self.fallbackApplies(to: error),
                  fallbackEngine != request.engine.trimmingCharacters(in: .whitespaces).lowercased() else { throw error }
            // The requested voice, model and style belong to the other engine; the text and the
            // language carry over. A dialogue is read by one voice.
            let fallback = AudioRequest(text: request.text, language: request.language, engine: fallbackEngine, model: "")
            logger.warn("fallback", [("engine", .string(request.engine)), ("fallback", .string(fallbackEngine)),
                                     ("error", .string(error.message))])
            var generation = try await generateOrFetch(fallback)
            generation.fallbackFor = error
            return generation
        }
    }

    /// Spent quotas and transient failures (after their retries) are outages; a refused
    /// request (validation, content) or a local problem would fail with any engine.
    static func fallbackApplies(to error: TTSError) -> Bool {
        error.kind == .quota || error.kind == .api
    }
}
