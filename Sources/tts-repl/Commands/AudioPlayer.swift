import Foundation
import Synchronization
import TTSCore

/// The audio players tts-repl knows, best first, and how each is told to play a file or raw
/// PCM from its standard input. `play` and `say --stream` find one on the PATH.
struct AudioPlayer: Sendable {
    let name: String
    /// Flags before a WAV file's path.
    let fileFlags: [String]
    /// Flags that make it play a WAV stream of unknown length from standard input, when it can
    /// (its format then comes with the header): such a player is started before the first
    /// chunk is there, so its start-up is not added to the time to first audio.
    let wavStreamFlags: [String]?
    /// Flags that make it play raw little-endian 16-bit PCM of `format` from standard input.
    let rawFlags: @Sendable (PCMFormat) -> [String]

    static let known: [AudioPlayer] = [
        // aplay plays a data chunk declaring 0xFFFFFFFF bytes until the end of its input.
        AudioPlayer(name: "aplay", fileFlags: ["-q"], wavStreamFlags: ["-q", "-t", "wav", "-"]) {
            ["-q", "-t", "raw", "-f", "S16_LE", "-r", "\($0.sampleRate)", "-c", "\($0.channels)", "-"]
        },
        AudioPlayer(name: "paplay", fileFlags: [], wavStreamFlags: nil) {
            ["--raw", "--format=s16le", "--rate=\($0.sampleRate)", "--channels=\($0.channels)"]
        },
        AudioPlayer(name: "ffplay", fileFlags: ["-nodisp", "-autoexit", "-loglevel", "error"],
                    wavStreamFlags: ["-nodisp", "-autoexit", "-loglevel", "error", "-f", "wav", "-i", "-"]) {
            ["-nodisp", "-autoexit", "-loglevel", "error", "-f", "s16le", "-ar", "\($0.sampleRate)", "-ac", "\($0.channels)", "-i", "-"]
        },
        // sox's `play`: every format but Opus (Debian's sox cannot read it).
        AudioPlayer(name: "play", fileFlags: ["-q"], wavStreamFlags: nil) {
            ["-q", "-t", "raw", "-e", "signed", "-b", "16", "-r", "\($0.sampleRate)", "-c", "\($0.channels)", "-"]
        },
    ]

    /// Whether it plays files in `encoding`: aplay takes only WAV; paplay (libsndfile) and
    /// ffplay take every format; sox's `play` all but Opus.
    func plays(_ encoding: AudioEncoding) -> Bool {
        switch name {
        case "aplay": encoding.isWAV
        case "play": encoding != .opus
        default: true
        }
    }

    /// The first known player on the PATH that plays `encoding`; `what` says what could not be
    /// played without one.
    static func find(for what: String, encoding: AudioEncoding = .pcm16) throws -> AudioPlayer {
        let searchPath = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        let candidates = known.filter { $0.plays(encoding) }
        guard let player = candidates.first(where: { player in
            searchPath.contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(player.name)") }
        }) else {
            throw TTSError(.config, "no audio player for \(encoding.rawValue) found: install one of \(candidates.map(\.name).joined(separator: ", ")) (alsa-utils, pulseaudio-utils, ffmpeg, sox). \(what)")
        }
        return player
    }
}

/// A player process fed through a pipe as a stream arrives: a WAV stream (header first, started
/// before the format is known) or raw PCM (started once it is).
///
/// Writes go through one serial queue (a pipe blocks while the player is a buffer behind, which
/// for a cached clip is most of its length), never on Swift's cooperative pool. A player that
/// exits early only ends the playback: broken-pipe errors are dropped.
final class StreamingPlayback: @unchecked Sendable {
    // @unchecked: `input` is written to only on `queue`; `process` is thread-safe for what is used.
    let player: AudioPlayer
    private let process = Process()
    private let input: FileHandle
    private let queue = DispatchQueue(label: "tts-repl.playback")
    /// Whether the player expects a WAV header before the samples.
    private let expectsHeader: Bool
    private let firstWrite = Mutex<ContinuousClock.Instant?>(nil)

    /// `format` nil: the player reads a WAV stream (`wavStreamFlags`), whose header `begin`
    /// sends; otherwise raw PCM of `format`.
    init(_ player: AudioPlayer, format: PCMFormat?) throws {
        // A player that exits early must not kill us with SIGPIPE on the next write.
        signal(SIGPIPE, SIG_IGN)
        self.player = player
        expectsHeader = format == nil
        let pipe = Pipe()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [player.name] + (format.map(player.rawFlags) ?? player.wavStreamFlags ?? [])
        process.standardInput = pipe
        input = pipe.fileHandleForWriting
        try process.run()
    }

    /// The stream's format is known: a WAV-stream player gets its header now.
    func begin(_ format: PCMFormat) {
        guard expectsHeader else { return }
        let header = WAVAudio.streamingHeader(for: format)
        queue.async { [input] in try? input.write(contentsOf: header) }
    }

    func write(_ pcm: Data) {
        queue.async { [self] in
            try? input.write(contentsOf: pcm)
            firstWrite.withLock { $0 = $0 ?? .now }
        }
    }

    /// When the first samples were in the player's pipe.
    var firstAudioAt: ContinuousClock.Instant? { firstWrite.withLock { $0 } }

    /// Closes the player's input once everything queued is written, and waits for it to finish
    /// playing. Cancelling the waiting task stops the player.
    func finish() async -> Int32 {
        queue.async { [input] in try? input.close() }
        await withTaskCancellationHandler {
            while process.isRunning { try? await Task.sleep(for: .milliseconds(20)) }
        } onCancel: {
            stop()
        }
        return process.terminationStatus
    }

    /// Stops playback now.
    func stop() {
        if process.isRunning { process.terminate() }
        queue.async { [input] in try? input.close() }
    }
}
