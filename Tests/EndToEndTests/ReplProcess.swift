import Foundation
import XCTest
import TestSupport

/// Runs the built `tts-repl` as a user would: a real process with its own temporary store.
struct ReplProcess {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        var jsonLines: [[String: Any]] {
            stdout.split(separator: "\n").compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }
        }
    }

    /// The folder holding the built products (next to this test bundle).
    static var productsDirectory: URL {
        if let override = ProcessInfo.processInfo.environment["TTS_PRODUCTS_DIR"] {
            return URL(fileURLWithPath: override)
        }
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
        while url.path != "/" {
            if FileManager.default.isExecutableFile(atPath: url.appendingPathComponent("tts-repl").path) { return url }
            url.deleteLastPathComponent()
        }
        return Bundle.main.bundleURL
    }

    static var binary: URL { productsDirectory.appendingPathComponent("tts-repl") }

    let store: URL
    var environment: [String: String]
    var workingDirectory: URL
    /// The temporary folder goes when the last copy of this value does.
    private let removal: FolderRemoval

    /// A fresh store in a temporary folder; Redis off unless a test asks for it, so tests do
    /// not share state through a server.
    init() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("tts-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        store = root.appendingPathComponent("store")
        workingDirectory = root
        removal = FolderRemoval(root)
        var env = ProcessInfo.processInfo.environment
        for name in ["TTS_STORE", "TTS_ENGINE", "TTS_VOICE", "TTS_LANGUAGE", "TTS_MAX_TEXT_CHARS", "GEMINI_API_KEY",
                     "GEMINI_BASE_URL", "GEMINI_MODEL", "TTS_LOG_LEVEL", "TTS_LOG_FILE"] {
            env[name] = nil
        }
        env["TTS_STORE"] = store.path
        env["REDIS_URL"] = "off"
        environment = env
    }

    func launch(_ arguments: [String], stdin: Data? = nil) throws -> Process {
        let process = Process()
        process.executableURL = ReplProcess.binary
        process.arguments = arguments
        process.environment = environment
        process.currentDirectoryURL = workingDirectory
        return process
    }

    /// Runs to completion (bounded: a hung process is killed after `timeout` seconds).
    @discardableResult
    func run(_ arguments: [String], stdin: String? = nil, stdinBytes: Data? = nil, timeout: TimeInterval = 60) throws -> Result {
        let process = try launch(arguments)
        let out = Pipe(), err = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        let outData = DataCollector(out.fileHandleForReading)
        let errData = DataCollector(err.fileHandleForReading)
        if let bytes = stdinBytes ?? stdin.map({ Data($0.utf8) }) { input.fileHandleForWriting.write(bytes) }
        try input.fileHandleForWriting.close()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning {
            process.terminate()
            XCTFail("tts-repl \(arguments) did not finish within \(timeout) s")
        }
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: outData.text(), stderr: errData.text())
    }
}

/// Drains a pipe on a background thread so a chatty child never blocks on a full pipe.
final class DataCollector: @unchecked Sendable {
    private var data = Data()
    /// Guards `data` between the reading thread and the test.
    private let lock = NSLock()
    private let done = DispatchSemaphore(value: 0)

    init(_ handle: FileHandle) {
        Thread.detachNewThread { [self] in
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                lock.lock(); data.append(chunk); lock.unlock()
            }
            done.signal()
        }
    }

    func text() -> String {
        _ = done.wait(timeout: .now() + 10)
        lock.lock(); defer { lock.unlock() }
        return String(decoding: data, as: UTF8.self)
    }
}
