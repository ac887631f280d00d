import Foundation
import Synchronization
import TTSCore

/// The offline engine: espeak-ng, linked in (no CLI, no shell), 22,050 Hz mono WAV. Each
/// synthesis runs in a forked child of a helper process (`EspeakSynthesizer`), so one request
/// always gives the same bytes.
///
/// Voice names are espeak language names in lower case (`en-us`, `de`, `vi-vn-x-central`),
/// as `espeak-ng --voices` lists them. A request without a voice gets the voice for its
/// language (`en-US` → `en-us`, `de-AT` → `de`), or `en-us` when it names no language.
///
/// ```swift
/// let engine = EspeakEngine()
/// let request = try await engine.resolve(AudioRequest(text: "Hallo", language: "de-AT",
///                                                     engine: "espeak", model: ""))
/// let wav = try await engine.synthesize(request)   // voice "de", model "espeak-ng"
/// ```
public struct EspeakEngine: SpeechEngine {
    public let name = "espeak"
    public let defaultModel = "espeak-ng"
    /// The voice for requests that name neither a voice nor a language.
    public static let defaultVoice = "en-us"

    /// Where the voice list is kept between processes (`<store>/espeak-voices.tsv`), or nil.
    let voiceList: EspeakVoiceList?

    /// - Parameter voiceListFile: where to keep espeak's voice list between processes, so a
    ///   request answered from the cache never initialises espeak-ng (3–5 ms and its audio
    ///   back end): the list is read from the file when its stamp names this library version.
    public init(voiceListFile: URL? = nil) {
        voiceList = voiceListFile.map(EspeakVoiceList.init)
    }

    /// This engine's helper process, shared by its copies; started on the first miss and
    /// stopped when the last copy goes away.
    let synthesizer = EspeakSynthesizer()

    /// One voice per espeak language name, sorted by name. MBROLA voices are left out: espeak
    /// lists them, but they need the separate MBROLA synthesizer, which is not installed.
    public func voices() async throws -> [VoiceInfo] {
        try await catalog().voices
    }

    /// The installed voices do not change while the process runs: list them once. Every
    /// `resolve` needs the catalog, and a cache hit must not wait for the synthesis queue.
    private let cachedCatalog = CatalogCache()

    final class CatalogCache: Sendable {
        let catalog = Mutex<EspeakVoiceCatalog?>(nil)
    }

    private func catalog() async throws -> EspeakVoiceCatalog {
        if let catalog = cachedCatalog.catalog.withLock({ $0 }) { return catalog }
        let voices: [EspeakLibrary.Voice]
        if let kept = voiceList?.read() {
            voices = kept
        } else {
            voices = try await EspeakLibrary.shared.voices()
            voiceList?.write(voices)
        }
        let catalog = EspeakVoiceCatalog(voices)
        cachedCatalog.catalog.withLock { $0 = catalog }
        return catalog
    }

    public func resolve(_ request: AudioRequest) async throws -> AudioRequest {
        try await resolved(request).request
    }

    func resolved(_ request: AudioRequest) async throws -> (request: AudioRequest, catalog: EspeakVoiceCatalog) {
        let catalog = try await catalog()
        return (try Self.resolved(request, in: catalog, defaultModel: defaultModel), catalog)
    }

    /// Once the voice list is loaded, resolving needs nothing else.
    public func resolveAtOnce(_ request: AudioRequest) throws -> AudioRequest? {
        guard let catalog = cachedCatalog.catalog.withLock({ $0 }) else { return nil }
        return try Self.resolved(request, in: catalog, defaultModel: defaultModel)
    }

    private static func resolved(_ request: AudioRequest, in catalog: EspeakVoiceCatalog, defaultModel: String) throws -> AudioRequest {
        var resolved = request
        if request.model.isEmpty {
            resolved.model = defaultModel
        } else if request.model != defaultModel {
            throw TTSError.validation("model", "espeak has one model, '\(defaultModel)'; '\(request.model)' is not one of its models. Leave the model empty or use \(defaultModel).")
        }
        if request.voice.isEmpty {
            resolved.voice = try catalog.voice(forLanguage: request.language)
        } else {
            resolved.voice = try catalog.knownVoice(request.voice)
        }
        return resolved
    }

    /// Speaks a request (resolving it first if needed) and returns a canonical WAV file.
    public func synthesize(_ request: AudioRequest) async throws -> Data {
        let samples = try await speak(request, pieces: nil)
        let pcm = Self.littleEndianBytes(samples.pcm)
        return WAVAudio(format: PCMFormat(sampleRate: samples.sampleRate), pcm: pcm).encoded()
    }

    /// Passes on each buffer espeak's synthesis callback produces (about every 60 ms of audio),
    /// so a long text starts playing while espeak is still speaking. Ends with an error, after
    /// the audio, when the clip turned out to be pure silence.
    public func stream(_ request: AudioRequest) -> AsyncThrowingStream<AudioChunk, Error> {
        AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    let started = Mutex(false)
                    _ = try await speak(request) { sampleRate, buffer in
                        let first = started.withLock { (sent: inout Bool) -> Bool in
                            defer { sent = true }
                            return !sent
                        }
                        if first {
                            continuation.yield(.format(PCMFormat(sampleRate: sampleRate)))
                        }
                        continuation.yield(.audio(Self.littleEndianBytes(buffer)))
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    private func speak(_ request: AudioRequest, pieces: EspeakSynthesizer.PieceSink?) async throws -> EspeakSynthesizer.Samples {
        if Task.isCancelled {
            throw TTSError(.cancelled, "espeak-ng synthesis was cancelled before it started; nothing was stored")
        }
        let (resolved, catalog) = try await resolved(request)
        let samples = try await synthesizer.synthesize(
            resolved.text, voice: try catalog.identifier(of: resolved.voice), pieces: pieces)
        // Text with nothing speakable still yields a few hundred zero samples (the end pause);
        // a clip of pure silence is no audio, not something to cache.
        guard samples.pcm.contains(where: { $0 != 0 }) else {
            throw TTSError(.content, "espeak-ng produced no audio for voice '\(resolved.voice)' and text \"\(resolved.text.prefix(40))\"; the text may have nothing speakable in that language. Check the text or pick another voice.")
        }
        return samples
    }

    /// WAV samples are little-endian whatever the host's byte order. A closure, not the key
    /// path \.littleEndian: the key path is not optimised away and cost ~2.4 ms per clip, as
    /// much as the synthesis itself.
    private static func littleEndianBytes<C: Collection<Int16>>(_ samples: C) -> Data {
        samples.map { $0.littleEndian }.withUnsafeBytes { Data($0) }
    }
}

/// The usable espeak voices and the rules that pick one for a request.
struct EspeakVoiceCatalog {
    /// Sorted by name, one per name.
    let voices: [VoiceInfo]
    /// Voice name → espeak's voice file (`fr-fr` → `roa/fr`). Synthesis loads the voice by its
    /// file: espeak's own lookup by name does not find every language name (`fr-fr`,
    /// `chr-us-qaaa-x-west`), and with two voices for one language (`yue`) the file is the one
    /// this catalog listed, so a voice name always means the same sound.
    private let identifiers: [String: String]
    private var names: Dictionary<String, String>.Keys { identifiers.keys }

    init(_ espeakVoices: [EspeakLibrary.Voice]) {
        var byName: [String: VoiceInfo] = [:]
        var identifiers: [String: String] = [:]
        for voice in espeakVoices where !voice.identifier.hasPrefix("mb/") {
            guard let first = voice.languages.first?.lowercased(), !first.isEmpty,
                  byName[first] == nil else { continue }
            byName[first] = VoiceInfo(name: first, languages: voice.languages, summary: voice.name)
            identifiers[first] = voice.identifier
        }
        voices = byName.values.sorted { $0.name < $1.name }
        self.identifiers = identifiers
    }

    /// The voice for a BCP-47 tag: the voice of that exact name, else the voice named by its
    /// primary subtag, else a voice that lists the tag among its languages; `en-us` for no tag.
    func voice(forLanguage language: String) throws -> String {
        let tag = language.lowercased()
        if tag.isEmpty { return EspeakEngine.defaultVoice }
        if names.contains(tag) { return tag }
        let primary = Self.primarySubtag(tag)
        if names.contains(primary) { return primary }
        // espeak's voices list further languages they speak ("en-gb" also speaks "en"): the
        // first voice that lists the tag, or its primary subtag, is espeak's own choice too.
        for candidate in [tag, primary] {
            if let voice = voices.first(where: { $0.languages.contains { $0.lowercased() == candidate } }) {
                return voice.name
            }
        }
        let near = voices.map(\.name).filter { $0 == primary || $0.hasPrefix(primary + "-") }.prefix(3)
        let hint = near.isEmpty ? "" : " Voices close to it: \(near.joined(separator: ", "))."
        throw TTSError.validation("language", "espeak has no voice for language '\(language)'.\(hint) Name a voice explicitly, or list the voices with `voices` and pick one.")
    }

    /// The voice name, lowercased, if espeak has it.
    func knownVoice(_ voice: String) throws -> String {
        let name = voice.lowercased()
        if names.contains(name) { return name }
        let near = suggestions(for: name)
        let hint = near.isEmpty ? "" : " Did you mean \(near.joined(separator: ", "))?"
        throw TTSError.validation("voice", "espeak has no voice '\(voice)'.\(hint) List the voices with `voices`.")
    }

    /// The espeak voice file behind a voice name.
    func identifier(of voice: String) throws -> String {
        _ = try knownVoice(voice)
        return identifiers[voice.lowercased()]!
    }

    /// Up to three names close to `name`: same primary language first, then by edit distance.
    func suggestions(for name: String) -> [String] {
        let primary = Self.primarySubtag(name)
        let limit = max(2, name.count / 2)
        var ranked: [(name: String, distance: Int)] = []
        for candidate in voices.map(\.name) {
            var distance = editDistance(name, candidate)
            // A voice for the same language is worth suggesting even when spelled far apart.
            if Self.primarySubtag(candidate) == primary { distance = min(distance, limit) }
            if distance <= limit { ranked.append((candidate, distance)) }
        }
        ranked.sort { $0.distance != $1.distance ? $0.distance < $1.distance : $0.name < $1.name }
        return ranked.prefix(3).map(\.name)
    }

    private static func primarySubtag(_ tag: String) -> String {
        String(tag.prefix { $0 != "-" })
    }
}

/// Levenshtein distance over characters; names are short, so the O(n·m) table is fine.
private func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previous = Array(0...b.count)
    var current = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
        current[0] = i
        for j in 1...b.count {
            current[j] = min(previous[j] + 1, current[j - 1] + 1,
                             previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        swap(&previous, &current)
    }
    return previous[b.count]
}
