import CEspeakZygote
import Foundation
import Glibc
import Synchronization
import TTSCore

/// One running espeak-ng zygote (`Sources/CEspeakZygote`): a helper process that initialised
/// espeak-ng once and forks a child per synthesis, so every request starts from the same
/// library state and one request always yields the same bytes. espeak-ng 1.51 in process does
/// not: its statics drift with every phrase spoken, and no exported call resets them.
///
/// Every method blocks (pipe I/O): call them from `Blocking.run`, one request at a time
/// (`EspeakSynthesizer` sees to both). Only `cancel()` may be called from anywhere, any time.
final class EspeakZygote: Sendable {
    /// The zygote's process id.
    let pid: pid_t
    /// The rate espeak-ng speaks at, from the zygote's greeting.
    let sampleRate: Int
    private let requestFD: Int32
    private let responseFD: Int32
    /// Whether a request is between its 'S' and its EXITED frame: a cancel is only sent then,
    /// and the descriptors are closed only outside it. Guards nothing else.
    private let inFlight = Mutex(false)

    /// The pipe to the zygote broke: it died (killed, out of memory). The caller may start a
    /// new one and retry if nothing of the request reached its listener yet.
    struct Died: Error {
        var detail: String
    }

    /// How a request ended, beside its samples.
    enum Outcome {
        case spoken
        case voiceFailed(Int32)
        case synthesisFailed(Int32)
        /// The child ended without saying how: killed by `signal`, or exit code `code`.
        case childCrashed(signal: Int32, code: Int32)
    }

    /// Starts a zygote by re-executing this process's own binary and waits for its greeting.
    static func start() throws -> EspeakZygote {
        var pid: Int32 = 0, requestFD: Int32 = -1, responseFD: Int32 = -1
        let status = tts_espeak_zygote_spawn("/proc/self/exe", &pid, &requestFD, &responseFD)
        guard status == 0 else {
            throw TTSError(.internal, "could not start the espeak-ng helper process (\(String(cString: strerror(status)))); free some processes or memory and try again")
        }
        var greeting = (kind: Int32(0), value: Int32(0))
        let greeted = (try? readFrameHeader(responseFD)).map { greeting = $0 } != nil
        guard greeted, greeting.kind == Int32(TTS_ZYGOTE_HELLO), greeting.value > 0 else {
            close(requestFD)
            close(responseFD)
            reap(pid)
            throw TTSError(.config, "espeak-ng could not start (its data files were not found or could not be read): install espeak-ng and espeak-ng-data (`apt-get install espeak-ng`), or use the gemini engine")
        }
        return EspeakZygote(pid: pid, sampleRate: Int(greeting.value), requestFD: requestFD, responseFD: responseFD)
    }

    private init(pid: pid_t, sampleRate: Int, requestFD: Int32, responseFD: Int32) {
        self.pid = pid
        self.sampleRate = sampleRate
        self.requestFD = requestFD
        self.responseFD = responseFD
    }

    /// Speaks `text` with the voice file `voice` in a fresh child of the zygote. `piece` sees
    /// each buffer as it arrives; the samples are also returned whole.
    func speak(_ text: String, voice: String, piece: (UnsafeBufferPointer<Int16>) -> Void) throws -> (pcm: [Int16], outcome: Outcome) {
        var request: [UInt8] = [UInt8(ascii: "S")]
        for field in [Array(voice.utf8), Array(text.utf8)] {
            withUnsafeBytes(of: Int32(field.count)) { request.append(contentsOf: $0) }
            request.append(contentsOf: field)
        }
        defer { inFlight.withLock { $0 = false } }
        // Under the lock, so a cancel is written after the request, never before it.
        try inFlight.withLock { busy in
            busy = true
            try Self.writeAll(requestFD, request)
        }
        var pcm: [Int16] = []
        var outcome: Outcome?
        var buffer: [Int16] = []
        while true {
            let (kind, value) = try Self.readFrameHeader(responseFD)
            switch Int(kind) {
            case TTS_ZYGOTE_AUDIO:
                guard value >= 0, value % 2 == 0 else { throw Died(detail: "a malformed audio frame of \(value) bytes") }
                buffer = [Int16](repeating: 0, count: Int(value) / 2)
                try buffer.withUnsafeMutableBytes { try Self.readAll(responseFD, $0) }
                pcm.append(contentsOf: buffer)
                buffer.withUnsafeBufferPointer(piece)
            case TTS_ZYGOTE_END:
                outcome = value == 0 ? .spoken : .synthesisFailed(value)
            case TTS_ZYGOTE_VOICE_FAILED:
                outcome = .voiceFailed(value)
            case TTS_ZYGOTE_EXITED:
                return (pcm, outcome ?? .childCrashed(signal: tts_wait_signal(value), code: tts_wait_exit_code(value)))
            default:
                throw Died(detail: "an unknown frame \(kind)")
            }
        }
    }

    /// Asks the child speaking now, if any, to stop; it ends at its next buffer.
    func cancel() {
        inFlight.withLock { busy in
            guard busy else { return }
            var byte = UInt8(ascii: "C")
            _ = write(requestFD, &byte, 1)
        }
    }

    /// Ends the zygote and waits for it, so it leaves no zombie. Closing its stdin alone ends
    /// it (that is how it goes when this process dies); the kill makes it immediate even in the
    /// middle of a request, so this never waits on espeak. Call once.
    func stop() {
        endRequests()
        close(responseFD)
        kill(pid, SIGKILL)
        Self.reap(pid)
    }

    /// Closes the zygote's stdin: it finishes what it is doing and exits. Tests use it alone.
    func endRequests() {
        close(requestFD)
    }

    private static func reap(_ pid: pid_t) {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    }

    // MARK: Pipe I/O

    private static func readFrameHeader(_ fd: Int32) throws -> (kind: Int32, value: Int32) {
        var header: (Int32, Int32) = (0, 0)
        try withUnsafeMutableBytes(of: &header) { try readAll(fd, $0) }
        return header
    }

    private static func readAll(_ fd: Int32, _ bytes: UnsafeMutableRawBufferPointer) throws {
        var done = 0
        while done < bytes.count {
            let got = read(fd, bytes.baseAddress! + done, bytes.count - done)
            if got < 0 && errno == EINTR { continue }
            guard got > 0 else { throw Died(detail: got == 0 ? "its output ended" : "reading failed: \(String(cString: strerror(errno)))") }
            done += got
        }
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let written = write(fd, raw.baseAddress! + done, raw.count - done)
                if written < 0 && errno == EINTR { continue }
                guard written > 0 else { throw Died(detail: "writing failed: \(String(cString: strerror(errno)))") }
                done += written
            }
        }
    }
}
