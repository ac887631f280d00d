import CEspeak
import Dispatch
import Foundation
import TTSCore

/// The door to the espeak-ng C library in this process, for the voice list only: synthesis
/// runs in a child of the zygote (`EspeakSynthesizer`), because in process the library's
/// statics drift with every phrase spoken and one request would not always give the same bytes.
///
/// espeak-ng keeps its state in C globals and is not re-entrant: two calls at once crash it.
/// It must also be initialised once and never terminated (`espeak_Terminate` followed by a new
/// initialisation hangs). So every call goes through one process-wide serial `DispatchQueue`,
/// off Swift's small cooperative thread pool. No C type leaves this file.
///
/// ```swift
/// let voices = try await EspeakLibrary.shared.voices()
/// ```
final class EspeakLibrary: @unchecked Sendable {
    // @unchecked: the mutable state below is confined to `queue` (checked with
    // dispatchPrecondition).

    static let shared = EspeakLibrary()

    /// A voice as espeak describes it, before the engine turns it into a `VoiceInfo`.
    struct Voice: Sendable, Equatable {
        /// espeak's display name, `English_(America)` in the CLI, `English (America)` here.
        var name: String
        /// The voice file's path under `voices/`, such as `gmw/en-US` or `mb/mb-de4`.
        var identifier: String
        /// Language strings in espeak's order, best first (`en-us`, `en`).
        var languages: [String]
    }

    private let queue = DispatchQueue(label: "tts-repl.espeak", qos: .userInitiated)

    // Confined to `queue`.
    private var startup: Result<Int, TTSError>?
    private var cachedVoices: [Voice]?

    private init() {}

    // MARK: Async surface

    /// Every voice espeak lists, MBROLA ones included (the caller filters).
    func voices() async throws -> [Voice] {
        try await onQueue { try self.listVoices() }
    }

    /// Runs `job` on the espeak queue and resumes the caller with its result.
    private func onQueue<T: Sendable>(_ job: @escaping @Sendable () throws -> T) async throws -> T {
        if Task.isCancelled { throw TTSError(.cancelled, "espeak-ng call cancelled before it started") }
        return try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Result { try job() })
            }
        }
    }

    // MARK: On the queue

    /// Initialises espeak the first time and returns its sample rate; remembers a failure so
    /// later calls report it instead of retrying a half-initialised library.
    private func sampleRate() throws -> Int {
        dispatchPrecondition(condition: .onQueue(queue))
        if let startup { return try startup.get() }
        // DONT_EXIT: without it espeak calls exit() when its data files are missing.
        let rate = espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, nil, Int32(espeakINITIALIZE_DONT_EXIT))
        let result: Result<Int, TTSError>
        if rate > 0 {
            result = .success(Int(rate))
        } else {
            result = .failure(TTSError(.config, "espeak-ng could not start (its data files were not found or could not be read): install espeak-ng and espeak-ng-data (`apt-get install espeak-ng`), or use the gemini engine"))
        }
        startup = result
        return try result.get()
    }

    private func listVoices() throws -> [Voice] {
        dispatchPrecondition(condition: .onQueue(queue))
        _ = try sampleRate()
        if let cachedVoices { return cachedVoices }
        var voices: [Voice] = []
        if var entry = espeak_ListVoices(nil) {
            // A NULL-terminated array of pointers into espeak's own storage: copy out now.
            while let voice = entry.pointee {
                voices.append(Voice(
                    name: voice.pointee.name.map { String(cString: $0) } ?? "",
                    identifier: voice.pointee.identifier.map { String(cString: $0) } ?? "",
                    languages: Self.languageStrings(voice.pointee.languages)))
                entry += 1
            }
        }
        cachedVoices = voices
        return voices
    }

    /// Decodes espeak's packed language list: a priority byte, then a NUL-terminated language
    /// string, repeated, ended by a zero priority byte.
    private static func languageStrings(_ packed: UnsafePointer<CChar>?) -> [String] {
        guard var cursor = packed else { return [] }
        var result: [String] = []
        // Bounded: espeak's voice files allow a handful of languages; 64 is far above any.
        for _ in 0..<64 where cursor.pointee != 0 {
            let language = String(cString: cursor + 1)
            result.append(language)
            cursor += 1 + strlen(cursor + 1) + 1
        }
        return result
    }
}
