import Foundation
import XCTest
@testable import TTSCore

/// A seeded generator (SplitMix64) so property-style tests are repeatable: a failure message
/// prints the seed, and the same seed reproduces the same inputs.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func bytes(_ count: Int) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(count)
        while out.count < count {
            var word = next()
            for _ in 0..<min(8, count - out.count) {
                out.append(UInt8(truncatingIfNeeded: word))
                word >>= 8
            }
        }
        return out
    }
}

/// A directory under the system temp dir that the test removes when it ends.
func makeTemporaryDirectory(_ test: XCTestCase) throws -> URL {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("ttscore-tests-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    return url
}

/// The absolute path of a command-line tool on PATH, or nil.
func findTool(_ name: String) -> String? {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
    for dir in path.split(separator: ":") {
        let candidate = "\(dir)/\(name)"
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    return nil
}

/// Finds a tool a test needs. When it is missing the test is skipped on a developer machine, but
/// fails under CI (CI set), where a missing tool means the set-up is broken, not that the
/// feature is optional.
func requireTool(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
    if let path = findTool(name) { return path }
    let message = "\(name) is not installed (apt-get install it); this test needs it"
    if ProcessInfo.processInfo.environment["CI"] != nil {
        XCTFail(message, file: file, line: line)
        throw MissingTool(message: message)  // a thrown non-skip error is a second failure
    }
    throw XCTSkip(message)
}

struct MissingTool: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

struct ToolResult {
    var status: Int32
    var stdout: Data
    var stderr: Data
    var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    var stderrText: String { String(decoding: stderr, as: UTF8.self) }
}

/// Runs a tool to completion and collects its output. Output goes to files rather than pipes so
/// a chatty tool can never block on a full pipe while we wait for it.
func runTool(_ path: String, _ arguments: [String], in directory: URL) throws -> ToolResult {
    let id = UUID().uuidString
    let outURL = directory.appendingPathComponent("\(id).stdout")
    let errURL = directory.appendingPathComponent("\(id).stderr")
    _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
    _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
    let out = try FileHandle(forWritingTo: outURL)
    let err = try FileHandle(forWritingTo: errURL)
    defer { try? out.close(); try? err.close() }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    process.currentDirectoryURL = directory
    process.standardInput = FileHandle.nullDevice
    process.standardOutput = out
    process.standardError = err
    try process.run()
    process.waitUntilExit()
    return ToolResult(status: process.terminationStatus,
                      stdout: try Data(contentsOf: outURL), stderr: try Data(contentsOf: errURL))
}

/// The Unicode scalars of a string, for comparisons that must not treat canonically
/// equivalent strings as equal (Swift's `==` on String does).
func scalars(_ s: String) -> [UInt32] { s.unicodeScalars.map(\.value) }
