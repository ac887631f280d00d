import Foundation
import TTSCore
import TTSService

/// The web console's routes: the page and its two assets, and the endpoints the page needs
/// beyond the native API's speech, listing and blob routes. Every answer, above all an error, is
/// in the native API's shape, so a script can call these endpoints as the page does.
///
/// | route | answer |
/// |---|---|
/// | `GET /`, `/console.css`, `/console.js` | the page (no token needed: it holds no data) |
/// | `GET /v1/clips/{key}/waveform?points=N` | `{key, blob, duration_ms, points, peaks:[0…1]}` |
/// | `POST`/`DELETE /v1/clips/{key}/pin` | the clip with `pinned` |
/// | `DELETE /v1/clips/{key}` | `{key, removed: true}` |
/// | `POST /v1/clips/{key}/regenerate` | the new clip with `tier` |
/// | `GET /v1/pins?keys=K1,K2` | `{pinned:[keys]}` for a page of the list |
/// | `POST /v1/export` `{keys:[…]}` | `application/zip`: the WAVs and `manifest.csv` |
/// | `GET /v1/stats` | the `stats` figures, budget and health |
/// | `GET /v1/voices?engine=E` | `{engine, engines, defaults, voices:[…]}` |
///
/// In a router: the page before the token check, the rest after it, ahead of the router's own
/// 404 and 405 answers (`DELETE /v1/clips/{key}` shares its path with the native API's GET).
///
/// ```swift
/// let console = ConsoleRoutes(backend: ServiceCuratorBackend(runtime: runtime))
/// if let page = ConsoleRoutes.page(request) { return page }                  // no token needed
/// if ConsoleRoutes.claims(request), !access.admits(request) { return unauthorized }
/// if let answer = await console.handle(request) { return answer }           // nil: not the console's
/// ```
public final class ConsoleRoutes: Sendable {
    public let backend: any CuratorBackend
    /// An export holds its archive in memory: at most this many clips and bytes of audio.
    public let maxExportClips: Int
    public let maxExportBytes: Int
    /// Keys one `GET /v1/pins` may ask about (a page of the list).
    public static let maxPinQuery = 500
    private let waveforms: WaveformCache

    public init(backend: any CuratorBackend, maxExportClips: Int = 1000, maxExportBytes: Int = 256 << 20,
                waveformCacheEntries: Int = 1024) {
        self.backend = backend
        self.maxExportClips = maxExportClips
        self.maxExportBytes = maxExportBytes
        waveforms = WaveformCache(capacity: waveformCacheEntries)
    }

    /// Whether a path is one of the page's own files, which the server answers without a token:
    /// the page must load to ask for one, and it holds no data.
    public static func isPublic(_ path: String) -> Bool {
        ConsoleAsset(path: path) != nil
    }

    /// The page or one of its files, answered at once and without a token (nil for any other
    /// path). A router calls this before its token check.
    public static func page(_ request: ServerRequest) -> ServerResponse? {
        guard let asset = ConsoleAsset(path: request.path) else { return nil }
        let method = request.method.uppercased()
        guard method == "GET" || method == "HEAD" else { return methodNotAllowed("GET, HEAD") }
        return asset.response(ifNoneMatch: request.header("If-None-Match"))
    }

    /// Whether `handle` answers this request (method and path), without doing any work: a router
    /// asks before its own 404 and 405 answers, and checks the token for these as for its own.
    /// `GET /v1/clips/{key}` is not the console's; `DELETE` of it is.
    public static func claims(_ request: ServerRequest) -> Bool {
        if ConsoleAsset(path: request.path) != nil { return true }
        guard let route = ConsolePath(path: request.path) else { return false }
        if case .clip = route { return request.method.uppercased() == "DELETE" }
        return true
    }

    /// The answer when the request is the console's, nil when it is not (the router tries its
    /// other routes). Authentication is the router's job, before this is called; the page's own
    /// files (`isPublic`) need none.
    public func handle(_ request: ServerRequest) async -> ServerResponse? {
        if let page = Self.page(request) { return page }
        let method = request.method.uppercased()
        do {
            guard let route = ConsolePath(path: request.path) else { return nil }
            // `/v1/clips/{key}` answers GET in the native API; only its DELETE is the console's.
            if case .clip = route, method != "DELETE" { return nil }
            guard route.methods.contains(method) else { return Self.methodNotAllowed(route.methods.joined(separator: ", ")) }
            switch route {
            case .stats:
                return .json(200, body(try await backend.statistics()), headers: [("Cache-Control", "no-store")])
            case .voices:
                let engine = request.queryValue("engine").flatMap { $0.isEmpty ? nil : $0 }
                return .json(200, body(try await backend.voices(engine: engine).json))
            case .pins:
                return try await pins(request)
            case .export:
                return try await export(request)
            case .waveform(let key):
                return try await waveform(try clipKey(key), request)
            case .pin(let key):
                return try await pin(try clipKey(key), method == "POST")
            case .clip(let key):
                let key = try clipKey(key)
                guard try await backend.remove(key) else { throw noClip(key) }
                return .json(200, body(.object([("key", .string(key.hex)), ("removed", true)])))
            case .regenerate(let key):
                let key = try clipKey(key)
                guard let made = try await backend.regenerate(key) else { throw noClip(key) }
                guard case .object(let fields) = made.clip.json else { return nil }
                return ServerResponse(status: 200, headers: [("Content-Type", "application/json"), ("X-TTS-Tier", made.tier)],
                                      body: .bytes(body(.object(fields + [("tier", .string(made.tier))]))), tier: made.tier)
            }
        } catch let error as APIError {
            return error.response(.native)
        } catch let error as TTSError {
            return APIError(error).response(.native)
        } catch {
            return APIError(status: 500, "the console's request failed: \(error)").response(.native)
        }
    }

    // MARK: - Routes

    /// The console's API paths, from the request path; the key is still text, checked by the
    /// route that takes it.
    private enum ConsolePath {
        case stats, voices, pins, export
        case waveform(String), pin(String), clip(String), regenerate(String)

        init?(path: String) {
            let parts = path.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count >= 3, parts[0].isEmpty, parts[1] == "v1" else { return nil }
            switch (parts.count, parts[2]) {
            case (3, "stats"): self = .stats
            case (3, "voices"): self = .voices
            case (3, "pins"): self = .pins
            case (3, "export"): self = .export
            case (4, "clips"): self = .clip(String(parts[3]))
            case (5, "clips"):
                let key = String(parts[3])
                switch parts[4] {
                case "waveform": self = .waveform(key)
                case "pin": self = .pin(key)
                case "regenerate": self = .regenerate(key)
                default: return nil
                }
            default: return nil
            }
        }

        var methods: [String] {
            switch self {
            case .stats, .voices, .pins, .waveform: ["GET"]
            case .export, .regenerate: ["POST"]
            case .pin: ["POST", "DELETE"]
            case .clip: ["DELETE"]
            }
        }
    }

    private func waveform(_ key: RequestKey, _ request: ServerRequest) async throws -> ServerResponse {
        var points = Waveform.defaultPoints
        if let text = request.queryValue("points") {
            guard let n = Int(text), Waveform.pointRange.contains(n) else {
                throw APIError(status: 400, "points must be a whole number from \(Waveform.pointRange.lowerBound) to \(Waveform.pointRange.upperBound), not '\(text)'",
                               field: "points")
            }
            points = n
        }
        guard let curated = try await backend.clip(for: key) else { throw noClip(key) }
        let clip = curated.clip
        // Immutable for this blob and point count, but the key may come to name another blob
        // (regenerate), so the answer is revalidated rather than kept.
        let etag = "\"\(clip.blob.hex.prefix(16))-\(points)\""
        let validators: [(name: String, value: String)] = [("ETag", etag), ("Cache-Control", "no-cache")]
        if request.header("If-None-Match") == etag { return ServerResponse(status: 304, headers: validators) }
        let cacheKey = WaveformCache.Key(blob: clip.blob, points: points)
        let peaks: [Float]
        if let cached = waveforms.peaks(for: cacheKey) {
            peaks = cached
        } else {
            peaks = Waveform.peaks(of: try WAVAudio.decode(try await backend.audio(of: clip)), points: points)
            waveforms.remember(peaks, for: cacheKey)
        }
        let answer: JSONValue = .object([
            ("key", .string(key.hex)), ("blob", .string(clip.blob.hex)), ("duration_ms", .int(clip.durationMs)),
            ("points", .int(peaks.count)),
            // Three decimals: a canvas a few hundred pixels high shows no finer step.
            ("peaks", .array(peaks.map { .double((Double($0) * 1000).rounded() / 1000) })),
        ])
        return .json(200, body(answer), headers: validators)
    }

    private func pin(_ key: RequestKey, _ pinned: Bool) async throws -> ServerResponse {
        guard try await backend.setPinned(key, pinned), let curated = try await backend.clip(for: key) else { throw noClip(key) }
        return .json(200, body(curated.json))
    }

    private func pins(_ request: ServerRequest) async throws -> ServerResponse {
        let words = (request.queryValue("keys") ?? "").split(separator: ",").map(String.init)
        guard words.count <= Self.maxPinQuery else {
            throw APIError(status: 400, "at most \(Self.maxPinQuery) keys per request, not \(words.count)", field: "keys")
        }
        let keys = try words.map { word -> RequestKey in
            guard let key = RequestKey(hex: word) else {
                throw APIError(status: 400, "'\(word)' is not a clip key (64 hex digits)", field: "keys")
            }
            return key
        }
        let pinned = try await backend.pinned(among: keys)
        return .json(200, body(.object([("pinned", .array(keys.filter(pinned.contains).map { .string($0.hex) }))])))
    }

    /// `{"keys":[…]}` → a ZIP of the clips' WAV files (named as `export` names them) and a
    /// `manifest.csv` in the columns `export` writes. Unknown keys are refused, not skipped, so
    /// the archive is what the person selected.
    private func export(_ request: ServerRequest) async throws -> ServerResponse {
        let parsed = try? JSONValue.parse(String(decoding: request.body, as: UTF8.self))
        guard case .array(let items)? = parsed?["keys"] else {
            throw APIError(status: 400, "the body must be JSON like {\"keys\":[\"<64-hex key>\", …]}", field: "keys")
        }
        var keys: [RequestKey] = []
        for item in items {
            guard let key = item.stringValue.flatMap(RequestKey.init(hex:)) else {
                throw APIError(status: 400, "'\(item.serialized())' is not a clip key (64 hex digits)", field: "keys")
            }
            if !keys.contains(key) { keys.append(key) }
        }
        guard !keys.isEmpty else { throw APIError(status: 400, "select at least one clip to export", field: "keys") }
        guard keys.count <= maxExportClips else {
            throw APIError(status: 413, "an export from the console holds at most \(maxExportClips) clips, not \(keys.count): export fewer at once, or use `export` in tts-repl for a whole selection")
        }
        var clips: [Clip] = []
        var total = 0
        for key in keys {
            guard let curated = try await backend.clip(for: key) else { throw noClip(key) }
            clips.append(curated.clip)
            total += curated.clip.bytes
        }
        guard total <= maxExportBytes else {
            throw APIError(status: 413, "the selected clips hold \(formatBytes(total)) of audio, more than the console's \(formatBytes(maxExportBytes)) per export: export fewer at once, or use `export` in tts-repl")
        }
        let template = try FileNameTemplate()
        var archive = Data()
        archive.reserveCapacity(total + clips.count * 200 + 4096)
        var zip = ZipWriter { archive.append($0) }
        var entries: [ManifestEntry] = []
        for (n, clip) in clips.enumerated() {
            let wav = try await backend.audio(of: clip)
            let name = template.render(ExportItem(clip: clip, n: n + 1))
            try zip.add(name, wav, modified: clip.createdAt)
            entries.append(ManifestEntry(file: name, text: clip.text, voice: clip.voice, language: clip.language,
                                         engine: clip.engine, model: clip.model, durationMs: clip.durationMs,
                                         sampleRate: clip.sampleRate, bytes: wav.count, sha256: clip.blob.hex, key: clip.key.hex))
        }
        try zip.add("manifest.csv", ExportManifest.encode(entries, as: .csv))
        try zip.finish()
        let stamp = UTCTimestamp.string(from: Date()).filter { $0.isNumber }
        return ServerResponse(status: 200, headers: [
            ("Content-Type", "application/zip"),
            ("Content-Disposition", "attachment; filename=\"tts-clips-\(stamp).zip\""),
            ("Cache-Control", "no-store"),
        ], body: .bytes(archive))
    }

    // MARK: - Helpers

    /// A key in a path is the full 64-hex key: anything else names no clip.
    private func clipKey(_ text: String) throws -> RequestKey {
        guard let key = RequestKey(hex: text) else {
            throw APIError(status: 404, "no clip has the key '\(text)': the console's routes take the full 64-hex key (see GET /v1/clips)", field: "key", kind: "not_found")
        }
        return key
    }

    private func noClip(_ key: RequestKey) -> APIError {
        APIError(status: 404, "no clip has the key \(key.hex) in the local tier (removed, or never made here)", field: "key", kind: "not_found")
    }

    private static func methodNotAllowed(_ allowed: String) -> ServerResponse {
        var answer = APIError(status: 405, "this path answers \(allowed) only").response(.native)
        answer.headers.append(("Allow", allowed))
        return answer
    }

    private func body(_ value: JSONValue) -> Data { Data(value.serializedUTF8()) }
}
