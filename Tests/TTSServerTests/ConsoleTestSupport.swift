import Foundation
import Synchronization
import TTSCore
import TTSEngines
import XCTest
@testable import TTSServer

/// A WAV of `frames` 16-bit mono samples at 8 kHz whose sample `i` is `sample(i)`.
func consoleWAV(frames: Int, sampleRate: Int = 8000, _ sample: (Int) -> Int16) -> Data {
    var pcm = Data(capacity: frames * 2)
    for i in 0..<frames {
        let value = UInt16(bitPattern: sample(i))
        pcm.append(UInt8(value & 0xFF))
        pcm.append(UInt8(value >> 8))
    }
    return WAVAudio(format: PCMFormat(sampleRate: sampleRate), pcm: pcm).encoded()
}

/// A clip of `text` whose audio is a constant tone of `level`, and that audio.
func consoleClip(_ text: String, level: Int16 = 8000, frames: Int = 800) -> (Clip, Data) {
    let wav = consoleWAV(frames: frames) { i in i % 2 == 0 ? level : -level }
    let request = AudioRequest(text: text, voice: "en-us", language: "en-US", engine: "espeak", model: "")
    let clip = Clip(key: RequestKey(request), blob: BlobHash(of: wav), request: request, bytes: wav.count,
                    durationMs: frames * 1000 / 8000, sampleRate: 8000, createdAt: Date(timeIntervalSince1970: 1_790_000_000))
    return (clip, wav)
}

/// A stand-in for the service: clips in memory, counting audio reads so caching shows.
final class FakeCurator: CuratorBackend {
    struct State {
        var clips: [RequestKey: CuratedClip] = [:]
        var audio: [BlobHash: Data] = [:]
        var audioReads = 0
        var removed: [RequestKey] = []
        var voiceQueries: [String?] = []
    }

    let state = Mutex(State())
    /// What `regenerate` throws instead of answering, when set.
    let regenerateError: TTSError?

    init(_ clips: [(Clip, Data)] = [], regenerateError: TTSError? = nil) {
        self.regenerateError = regenerateError
        state.withLock { s in
            for (clip, wav) in clips {
                s.clips[clip.key] = CuratedClip(clip: clip, pinned: false)
                s.audio[clip.blob] = wav
            }
        }
    }

    var audioReads: Int { state.withLock { $0.audioReads } }

    func clip(for key: RequestKey) async throws -> CuratedClip? { state.withLock { $0.clips[key] } }

    func pinned(among keys: [RequestKey]) async throws -> Set<RequestKey> {
        state.withLock { s in Set(keys.filter { s.clips[$0]?.pinned == true }) }
    }

    func setPinned(_ key: RequestKey, _ pinned: Bool) async throws -> Bool {
        state.withLock { s in
            guard s.clips[key] != nil else { return false }
            s.clips[key]!.pinned = pinned
            return true
        }
    }

    func remove(_ key: RequestKey) async throws -> Bool {
        state.withLock { s in
            s.removed.append(key)
            return s.clips.removeValue(forKey: key) != nil
        }
    }

    func regenerate(_ key: RequestKey) async throws -> Regenerated? {
        if let regenerateError { throw regenerateError }
        return state.withLock { s -> Regenerated? in
            guard var old = s.clips[key] else { return nil }
            // New audio under the same key, as an engine's second take would be.
            let (_, wav) = consoleClip(old.clip.text, level: 12000)
            old.clip.blob = BlobHash(of: wav)
            old.clip.bytes = wav.count
            s.audio[old.clip.blob] = wav
            s.clips[key] = old
            return Regenerated(clip: old, tier: "engine")
        }
    }

    func audio(of clip: Clip) async throws -> Data {
        try state.withLock { s in
            s.audioReads += 1
            guard let wav = s.audio[clip.blob] else { throw TTSError.store("blob \(clip.blob.short) is missing") }
            return wav
        }
    }

    func statistics() async throws -> JSONValue {
        .object([("local", .object([("clips", .int(state.withLock { $0.clips.count }))])), ("process", .object([]))])
    }

    func voices(engine: String?) async throws -> VoiceList {
        state.withLock { $0.voiceQueries.append(engine) }
        let name = engine ?? "espeak"
        guard ["espeak", "gemini"].contains(name) else { throw TTSError.validation("engine", "unknown engine '\(name)'") }
        return VoiceList(engine: name, engines: ["espeak", "gemini"], defaults: RequestDefaults(engine: "espeak"),
                         voices: [VoiceInfo(name: name == "espeak" ? "en-us" : "Kore", languages: ["en-US"], summary: "test voice")])
    }
}

/// Runs the routes on one request.
func consoleAnswer(_ routes: ConsoleRoutes, _ method: String, _ path: String, query: [(name: String, value: String)] = [],
                   headers: [(name: String, value: String)] = [], body: Data = Data()) async -> ServerResponse? {
    await routes.handle(ServerRequest(method: method, path: path, query: query, headers: headers, body: body))
}

extension ServerResponse {
    var bodyData: Data {
        if case .bytes(let data) = body { return data }
        return Data()
    }

    var jsonBody: JSONValue? { try? JSONValue.parse(String(decoding: bodyData, as: UTF8.self)) }
}

/// Unpacks a ZIP archive with Python's `zipfile` (an implementation independent of ours) after
/// `unzip -tq` checked every entry's CRC: file name → bytes.
func unzipIndependently(_ archive: Data, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Data] {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("console-zip-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let zipURL = folder.appendingPathComponent("archive.zip")
    try archive.write(to: zipURL)
    XCTAssertEqual(try run("/usr/bin/env", ["unzip", "-tq", zipURL.path]).status, 0, "unzip -t found a damaged entry", file: file, line: line)
    let script = """
    import json, sys, zipfile
    with zipfile.ZipFile(sys.argv[1]) as z:
        assert z.testzip() is None
        print(json.dumps({i.filename: z.read(i).hex() for i in z.infolist()}))
    """
    let result = try run("/usr/bin/env", ["python3", "-c", script, zipURL.path])
    XCTAssertEqual(result.status, 0, "python3 zipfile could not read the archive: \(result.output)", file: file, line: line)
    guard case .object(let pairs) = try JSONValue.parse(result.output) else { return [:] }
    var files: [String: Data] = [:]
    for (name, value) in pairs {
        let hex = Array((value.stringValue ?? "").utf8)
        var bytes = Data(capacity: hex.count / 2)
        var i = 0
        while i + 1 < hex.count {
            bytes.append(UInt8(String(decoding: hex[i...i + 1], as: UTF8.self), radix: 16) ?? 0)
            i += 2
        }
        files[name] = bytes
    }
    return files
}

private func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: output, as: UTF8.self))
}
