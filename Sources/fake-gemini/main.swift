// fake-gemini: a loopback stand-in for Gemini's TTS endpoint (see FakeGeminiServer).
//
//   fake-gemini --port 0 --port-file FILE [--latency-ms N] [--rpm-per-key N]
//               [--fault SPEC]… [--invalid-key KEY]…
//               [--stream-chunk-bytes N] [--first-chunk-ms N] [--chunk-ms N] [--stream-wav]
import FakeGeminiServer
import Foundation

let usage = """
    usage: fake-gemini [--port N] [--port-file FILE] [--latency-ms N] [--rpm-per-key N] [--rpm-window-s N]
                       [--fault STATUS_OR_SHAPE[@CHUNKS][:COUNT[:RETRYDELAY]]]… [--invalid-key KEY]…
                       [--stream-chunk-bytes N] [--first-chunk-ms N] [--chunk-ms N] [--stream-wav]
    Serves POST /v1beta/models/{model}:generateContent and :streamGenerateContent?alt=sse on
    127.0.0.1 only. Streams send --stream-chunk-bytes of audio per event (default 9600), the first
    after --first-chunk-ms, the others --chunk-ms apart.
    Shapes: \(FaultSpec.shapes.sorted().joined(separator: ", ")). COUNT may be * (every request).
    stream-error, stream-cut and stream-other happen in a stream after CHUNKS audio events (default 1).
    """

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("fake-gemini: \(message)\n".utf8))
    exit(2)
}

var port = 0
var portFile: String?
var options = FakeGeminiServer.Options()
var arguments = CommandLine.arguments.dropFirst()
while let flag = arguments.popFirst() {
    func value() -> String {
        guard let value = arguments.popFirst() else { fail("\(flag) needs a value\n\(usage)") }
        return value
    }
    func number() -> Int {
        let text = value()
        guard let n = Int(text), n >= 0 else { fail("\(flag) needs a whole number, not '\(text)'") }
        return n
    }
    switch flag {
    case "--port": port = number()
    case "--port-file": portFile = value()
    case "--latency-ms": options.latencyMs = number()
    case "--rpm-per-key": options.rpmPerKey = number()
    case "--rpm-window-s": options.rpmWindowSeconds = Double(number())
    case "--invalid-key": options.invalidKeys.insert(value())
    case "--stream-chunk-bytes": options.streamChunkBytes = max(1, number())
    case "--first-chunk-ms": options.firstChunkDelayMs = number()
    case "--chunk-ms": options.chunkDelayMs = number()
    case "--stream-wav": options.streamWAV = true
    case "--fault":
        do { options.faults.append(try FaultSpec(flag: value())) } catch { fail("\(error)") }
    case "-h", "--help": print(usage); exit(0)
    default: fail("unknown flag \(flag)\n\(usage)")
    }
}

// A parent that spawns us from a Dispatch thread (XCTest, Foundation's Process) may pass on a
// signal mask blocking SIGTERM; unblock it before any thread starts, so `kill` stops us.
var stopSignals = sigset_t()
sigemptyset(&stopSignals)
for signal in [SIGTERM, SIGINT, SIGHUP] { sigaddset(&stopSignals, signal) }
pthread_sigmask(SIG_UNBLOCK, &stopSignals, nil)

let server: FakeGeminiServer
do { server = try FakeGeminiServer(port: port, options: options) } catch { fail("\(error)") }
if let portFile {
    // Written then renamed, so a reader never sees a half-written number.
    let temporary = portFile + ".tmp"
    do {
        try Data("\(server.port)\n".utf8).write(to: URL(fileURLWithPath: temporary))
        _ = rename(temporary, portFile)
    } catch {
        fail("cannot write the port file \(portFile): \(error)")
    }
}
FileHandle.standardOutput.write(Data("fake-gemini listening on \(server.baseURL)\n".utf8))
while true { sleep(3600) }
