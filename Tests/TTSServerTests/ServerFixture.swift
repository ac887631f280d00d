import Foundation
import Synchronization
import XCTest
import TTSCore
import TTSEngines
import TTSServer
import TTSService
import TTSStore

/// An engine that holds every synthesis until the test opens it: misses that wait on a slow
/// engine, without any timing. `waiting` says how many calls are held.
final class GateEngine: SpeechEngine, Sendable {
    let name = "gate"
    let defaultModel = "gate-1"
    private let state = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>], calls: Int)>((false, [], 0))

    var waiting: Int { state.withLock { $0.waiters.count } }
    var calls: Int { state.withLock { $0.calls } }

    func open() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.open = true
            defer { state.waiters = [] }
            return state.waiters
        }
        waiters.forEach { $0.resume() }
    }

    func voices() async throws -> [VoiceInfo] { [VoiceInfo(name: "a")] }

    func resolve(_ request: AudioRequest) async throws -> AudioRequest {
        var resolved = request
        if resolved.voice.isEmpty { resolved.voice = "a" }
        if resolved.model.isEmpty { resolved.model = defaultModel }
        guard resolved.voice == "a" else { throw TTSError.validation("voice", "gate has no voice '\(resolved.voice)'") }
        return resolved
    }

    func synthesize(_ request: AudioRequest) async throws -> Data {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow = state.withLock { state -> Bool in
                state.calls += 1
                if state.open { return true }
                state.waiters.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
        var pcm = Data()
        for i in 0..<1600 {
            let sample = Int16(6000 * sin(Double(i) * 0.1))
            pcm.append(UInt8(truncatingIfNeeded: sample))
            pcm.append(UInt8(truncatingIfNeeded: sample >> 8))
        }
        return WAVAudio(format: PCMFormat(sampleRate: 16000), pcm: pcm).encoded()
    }
}

/// A server started in-process on a free loopback port over a temporary store, with the
/// espeak engine (the default) and the gate engine; a libcurl client pointed at it.
final class ServerFixture: Sendable {
    let root: URL
    let gate = GateEngine()
    let chunks = ChunkEngine()
    let service: SpeechService
    let backend: ServiceBackend
    let server: SpeechServer
    let client: CurlHTTPClient
    let logURL: URL
    private let stopped = Atomic<Bool>(false)

    struct Options {
        var tokens: [String] = []
        var maxText = 5000
        var missTimeout: Duration = .seconds(60)
        var defaultEngine = "espeak"
        var geminiUnavailable = false
        var tlsFiles: (cert: String, key: String)?
        var idleTimeoutSeconds = 30
    }

    init(_ options: Options = Options()) throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("tts-server-\(UUID().uuidString)")
        let layout = StoreLayout(root: root)
        var engines = EngineRegistry()
        engines.register(EspeakEngine())
        engines.register(gate)
        engines.register(chunks)
        if options.geminiUnavailable { engines.markUnavailable("gemini", reason: "the gemini engine needs an API key") }
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        logURL = root.appendingPathComponent("tts.log")
        let logger = Logger(file: logURL, level: .info)
        service = SpeechService(engines: engines, index: try ClipIndex(url: layout.indexURL), blobs: try BlobStore(layout: layout),
                                logger: logger, maxTextCharacters: options.maxText)
        backend = ServiceBackend(service: service, defaults: RequestDefaults(engine: options.defaultEngine),
                                 missTimeout: options.missTimeout)
        var configuration = ServerConfiguration(listen: try ListenAddress(parsing: "127.0.0.1:0"))
        configuration.tokens = options.tokens
        configuration.tlsCertificateFile = options.tlsFiles?.cert
        configuration.tlsKeyFile = options.tlsFiles?.key
        configuration.idleTimeoutSeconds = options.idleTimeoutSeconds
        server = try SpeechServer(configuration, backend: backend, logger: logger)
        var clientConfiguration = HTTPClientConfiguration(totalTimeout: .seconds(60))
        clientConfiguration.trustedCertificatesFile = options.tlsFiles?.cert
        client = CurlHTTPClient(configuration: clientConfiguration)
    }

    var baseURL: String { server.baseURL }

    func send(_ method: String, _ path: String, headers: [(name: String, value: String)] = [], body: String? = nil) async throws -> HTTPResponse {
        try await client.send(HTTPRequest(method: method, url: baseURL + path, headers: headers, body: body.map { Data($0.utf8) }))
    }

    func get(_ path: String, headers: [(name: String, value: String)] = []) async throws -> HTTPResponse {
        try await send("GET", path, headers: headers)
    }

    func post(_ path: String, _ json: String, headers: [(name: String, value: String)] = []) async throws -> HTTPResponse {
        try await send("POST", path, headers: [("Content-Type", "application/json")] + headers, body: json)
    }

    /// Waits (bounded) until `condition` holds; fails the test when it never does.
    func eventually(_ what: String, _ condition: () -> Bool, file: StaticString = #filePath, line: UInt = #line) async {
        for _ in 0..<1000 where !condition() {
            try? await Task.sleep(for: .milliseconds(10))
        }
        XCTAssertTrue(condition(), "never happened: \(what)", file: file, line: line)
    }

    /// Stops the server, lets held engine calls go, closes the index and removes the store.
    func tearDown() async {
        gate.open()
        if !stopped.exchange(true, ordering: .relaxed) { await server.stop(grace: .seconds(5)) }
        service.close()
        try? FileManager.default.removeItem(at: root)
    }

    func stop(grace: Duration) async -> Bool {
        stopped.store(true, ordering: .relaxed)
        return await server.stop(grace: grace)
    }
}

extension HTTPResponse {
    var json: JSONValue? { try? JSONValue.parse(String(decoding: body, as: UTF8.self)) }
    var text: String { String(decoding: body, as: UTF8.self) }
}

/// Runs `body` against a fresh server and always tears it down.
func withServer(_ options: ServerFixture.Options = ServerFixture.Options(),
                _ body: (ServerFixture) async throws -> Void) async throws {
    let fixture = try ServerFixture(options)
    do {
        try await body(fixture)
    } catch {
        await fixture.tearDown()
        throw error
    }
    await fixture.tearDown()
}
