import CEspeak
import Dispatch
import Foundation
import TTSCore

/// The one door to the espeak-ng C library in this process.
///
/// espeak-ng keeps its state in C globals and is not re-entrant: two calls at once crash it.
/// It must also be initialised once and never terminated (`espeak_Terminate` followed by a new
/// initialisation hangs). So every call goes through one process-wide serial `DispatchQueue`,
/// which also keeps synthesis (milliseconds to seconds of CPU) off Swift's small cooperative
/// thread pool. This is the only file that calls espeak; no C type leaves it.
///
/// ```swift
/// let voices = try await EspeakLibrary.shared.voices()
/// let samples = try await EspeakLibrary.shared.synthesize("Hello", voice: "gmw/en-US")
/// ```
final class EspeakLibrary: @unchecked Sendable {
    // @unchecked: the mutable state below is confined to `queue` (checked with
    // dispatchPrecondition); the only cross-thread object, `CancellationFlag`, has its own lock.

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

    /// Mono 16-bit PCM samples and the rate espeak produced them at.
    struct Samples: Sendable {
        var sampleRate: Int
        var pcm: [Int16]
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

    /// Speaks `text` (plain UTF-8; `<` is text, not SSML) with the voice whose file is `voice`
    /// (an identifier such as `gmw/en-US`; a name also works where espeak finds it) and returns
    /// the samples. Throws `.cancelled` if the calling task is cancelled before its turn on the
    /// queue or while espeak is speaking.
    ///
    /// `pieces`, when given, sees each buffer as espeak's callback delivers it (on the espeak
    /// queue, with the sample rate), so a caller can pass audio on before the text is done.
    func synthesize(_ text: String, voice: String, pieces: PieceSink? = nil) async throws -> Samples {
        let flag = CancellationFlag()
        return try await withTaskCancellationHandler {
            try await onQueue {
                // The task may have been cancelled while earlier jobs held the queue.
                if flag.isCancelled { throw Self.cancelledError(voice: voice) }
                return try self.speak(text, voice: voice, cancellation: flag, pieces: pieces)
            }
        } onCancel: {
            flag.cancel()
        }
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
            espeak_SetSynthCallback(collectSamples)
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

    /// Receives one buffer of samples and the rate they are at.
    typealias PieceSink = @Sendable (_ sampleRate: Int, _ samples: UnsafeBufferPointer<Int16>) -> Void

    private func speak(_ text: String, voice: String, cancellation: CancellationFlag, pieces: PieceSink?) throws -> Samples {
        dispatchPrecondition(condition: .onQueue(queue))
        let rate = try sampleRate()
        let status = espeak_SetVoiceByName(voice)
        guard status == EE_OK else {
            throw TTSError(.internal, "espeak-ng lists voice '\(voice)' but could not load it (error \(status.rawValue)): pick another voice from `voices`, and report this")
        }
        let collector = SampleCollector(cancellation: cancellation, sampleRate: rate, pieces: pieces)
        let result: espeak_ERROR = withExtendedLifetime(collector) {
            text.withCString { cText in
                // No espeakSSML: '<' and '&' in user text are spoken, never parsed as markup.
                espeak_Synth(cText, strlen(cText) + 1, 0, POS_CHARACTER, 0,
                             UInt32(espeakCHARS_UTF8 | espeakENDPAUSE), nil,
                             Unmanaged.passUnretained(collector).toOpaque())
            }
        }
        if cancellation.isCancelled { throw Self.cancelledError(voice: voice) }
        guard result == EE_OK else {
            throw TTSError(.internal, "espeak-ng failed to synthesize with voice '\(voice)' (error \(result.rawValue)); try again, and report it if it repeats")
        }
        return Samples(sampleRate: rate, pcm: collector.samples)
    }

    private static func cancelledError(voice: String) -> TTSError {
        TTSError(.cancelled, "espeak-ng synthesis with voice '\(voice)' was cancelled; nothing was stored")
    }
}

/// espeak's synth callback: appends each buffer to the `SampleCollector` passed as
/// `user_data`, and asks espeak to stop (returns 1) once the request is cancelled.
/// A plain function with no captures, so it converts to a C function pointer.
private func collectSamples(_ wav: UnsafeMutablePointer<Int16>?, _ count: Int32,
                            _ events: UnsafeMutablePointer<espeak_EVENT>?) -> Int32 {
    // espeak sets user_data on every event, including the list terminator, so the first is enough.
    guard let context = events?.pointee.user_data else { return 0 }
    let collector = Unmanaged<SampleCollector>.fromOpaque(context).takeUnretainedValue()
    if let wav, count > 0 {
        let buffer = UnsafeBufferPointer(start: wav, count: Int(count))
        collector.samples.append(contentsOf: buffer)
        collector.pieces?(collector.sampleRate, buffer)
    }
    return collector.cancellation.isCancelled ? 1 : 0
}

/// The samples of one synthesis, filled by the callback on the espeak queue.
private final class SampleCollector {
    var samples: [Int16] = []
    let cancellation: CancellationFlag
    let sampleRate: Int
    let pieces: EspeakLibrary.PieceSink?
    init(cancellation: CancellationFlag, sampleRate: Int, pieces: EspeakLibrary.PieceSink?) {
        self.cancellation = cancellation
        self.sampleRate = sampleRate
        self.pieces = pieces
    }
}

/// Set by a task's cancellation handler (any thread), read on the espeak queue.
private final class CancellationFlag: @unchecked Sendable {
    // @unchecked: `cancelled` is only touched under `lock`.
    private let lock = NSLock()
    private var cancelled = false

    var isCancelled: Bool { lock.withLock { cancelled } }
    func cancel() { lock.withLock { cancelled = true } }
}
