import Foundation
import Glibc
import TTSCore

/// The release-built `fake-gemini` on a free loopback port, for the prewarm scenarios.
final class FakeGemini {
    let child: ChildProcess
    let baseURL: String

    /// `extraArguments`: further flags, such as a stream's pacing (`--first-chunk-ms 300`).
    init(_ executable: URL, latencyMs: Int, folder: URL, extraArguments: [String] = []) throws {
        let portFile = folder.appendingPathComponent("fake-gemini.port").path
        child = try ChildProcess(executable: executable.path,
                                 ["--port", "0", "--port-file", portFile, "--latency-ms", String(latencyMs)] + extraArguments,
                                 environment: ["PATH": "/usr/bin:/bin"])
        var port: Int?
        for _ in 0..<100 {
            if let text = try? String(contentsOfFile: portFile, encoding: .utf8),
               let value = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                port = value
                break
            }
            usleep(50_000)
        }
        guard let port else {
            kill(child.pid, SIGKILL)
            _ = try? child.wait()
            throw HarnessError("fake-gemini did not write its port file within 5 s")
        }
        baseURL = "http://127.0.0.1:\(port)"
    }

    func stop() {
        kill(child.pid, SIGTERM)
        _ = try? child.wait()
    }

    /// Environment for a `tts-repl` child that talks to this server with `concurrency` calls
    /// in flight.
    func replEnvironment(home: URL, concurrency: Int) -> [String: String] {
        var environment = ChildProcess.replEnvironment(home: home)
        environment["GEMINI_API_KEY"] = "bench-key-not-secret"
        environment["GEMINI_BASE_URL"] = baseURL
        environment["TTS_CONCURRENCY"] = String(concurrency)
        return environment
    }

    /// `tts-repl serve` on the Gemini engine against this fake, on a free loopback port, its
    /// store `store`, Redis off; its port file and log in `folder`.
    func serve(_ repl: URL, name: String, store: URL, home: URL, folder: URL, concurrency: Int,
               samplePeakMemory: Bool = false) throws -> BackgroundServer {
        var environment = replEnvironment(home: home, concurrency: concurrency)
        environment["TTS_STORE"] = store.path
        environment["REDIS_URL"] = "off"
        environment["TTS_ENGINE"] = "gemini"
        let portFile = folder.appendingPathComponent("\(name).port")
        return try BackgroundServer(name: name, executable: repl.path,
                                    ["serve", "--listen", "127.0.0.1:0", "--port-file", portFile.path],
                                    environment: environment, folder: folder, portFile: portFile,
                                    samplePeakMemory: samplePeakMemory)
    }
}

/// Runs a one-shot `tts-repl --json …` to completion: wall seconds, the last JSON object it
/// printed (a command's summary), and the child's exit.
func runRepl(_ repl: URL, _ arguments: [String], environment: [String: String],
             samplePeakMemory: Bool = false) throws -> (seconds: Double, summary: JSONValue, exit: ChildProcess.Exit) {
    let start = monotonicNanos()
    let child = try ChildProcess(executable: repl.path, ["--json"] + arguments, environment: environment,
                                 samplePeakMemory: samplePeakMemory)
    var last: [UInt8] = []
    while let line = child.readLine() {
        if !line.isEmpty { last = line }
    }
    let exit = try child.wait()
    let seconds = Double(monotonicNanos() - start) / 1e9
    let text = String(decoding: last, as: UTF8.self)
    guard let summary = try? JSONValue.parse(text) else {
        throw HarnessError("tts-repl \(arguments.joined(separator: " ")) exited \(exit.status) and its last line is not JSON: \(text.prefix(300))")
    }
    return (seconds, summary, exit)
}
