import CShims
import Foundation
import TTSConcurrency
import Glibc
import TTSCore
import TTSStore

/// A clip's audio in a delivery format, as a file under `<store>/converted/` (or, for a dry
/// run, only computed).
public struct ConvertedAudio: Sendable, Equatable {
    /// Empty when the conversion was not stored (an export's dry run).
    public var path: String
    /// SHA-256 of the file's bytes, lowercase hex: a strong validator for HTTP, and what an
    /// export manifest records.
    public var sha256: String
    public var bytes: Int
    public var durationMs: Int
    public var sampleRate: Int
    public var encoding: AudioEncoding
    /// kbit/s for MP3 and Opus; nil for the others.
    public var bitrate: Int?

    public var mimeType: String { encoding.mimeType }
}

/// Audio converted from the stored WAV blobs, cached by (blob, target) next to them: the one
/// conversion path of export, `say --encoding` and the HTTP server.
///
/// ```
/// <store>/converted/<target>/ab/cd/<blob>.<ext>     e.g. converted/24000-mp3-64k/3f/a2/3fa2….mp3
/// ```
///
/// A blob is immutable, so its conversion to a given target (rate, encoding, bit rate or
/// quality: every setting is in the folder name) never needs redoing: the second request
/// finds the file and converts nothing.
///
/// - The source is read with its hash checked: a damaged blob is refused, never converted.
/// - Files are written like blobs: bytes to a temp file in `<store>/tmp`, fsync, read-only,
///   then linked under their name (never replacing one: another process that got there first
///   wins, and its file is the answer), so a crash or a failed encode leaves no partial file.
/// - Single-flight per conversion in this process: concurrent requests for the same file
///   wait for the first one's result instead of converting again.
/// - Blocking (disk, fsync, the codecs): `converted(_:to:)` runs on a Dispatch thread, never on
///   the cooperative pool; the exporter's own thread calls `convert(_:to:store:)` directly.
/// - Removed with its blob (`BlobStore.remove`: eviction, `rm`, `gc` of orphans), and by `gc`
///   when its blob is gone; the whole folder may be deleted at any time, it is rebuilt on demand.
///
/// ```swift
/// let mp3 = try await service.conversions.converted(clip, to: try AudioTarget(encoding: .mp3).validated())
/// // mp3.path, mp3.sha256, mp3.mimeType == "audio/mpeg"
/// ```
public final class ConvertedAudioCache: Sendable {
    public let blobs: BlobStore
    private let counters: ConversionCounters?
    private let flights = ConversionFlights()

    /// `metrics`: where conversions made, cache hits and failures are counted (`stats`).
    public init(blobs: BlobStore, metrics: ServiceMetrics? = nil) {
        self.blobs = blobs
        counters = metrics.map(ConversionCounters.init)
    }

    public var root: URL { blobs.layout.convertedURL }

    public func url(for blob: BlobHash, target: AudioTarget) -> URL {
        URL(fileURLWithPath: path(for: blob, target: target), isDirectory: false)
    }

    func path(for blob: BlobHash, target: AudioTarget) -> String {
        let hex = blob.hex
        return root.path + "/" + shard(blob, target) + "/" + hex + "." + target.encoding.fileExtension
    }

    private func shard(_ blob: BlobHash, _ target: AudioTarget) -> String {
        let hex = blob.hex
        return "\(target.name)/\(hex.prefix(2))/\(hex.dropFirst(2).prefix(2))"
    }

    /// The clip's audio in `target`, converted once and cached: the entry point of the HTTP
    /// server and of `say --encoding`. Throws `TTSError` (`.validation` for a target the clip
    /// cannot be converted to, `.store` for a missing or damaged blob or a disk error), its
    /// message naming the clip and the reason.
    public func converted(_ clip: Clip, to target: AudioTarget) async throws -> ConvertedAudio {
        try await Blocking.run { [self] in try convert(clip, to: target).audio }
    }

    /// The same, blocking, for callers already on their own thread (the exporter). `converted`
    /// says whether this call did the conversion (a cache miss). With `store: false` (dry runs)
    /// a miss is converted in memory only and `audio.path` is empty.
    public func convert(_ clip: Clip, to requested: AudioTarget, store: Bool = true) throws -> (audio: ConvertedAudio, converted: Bool) {
        let target: AudioTarget
        do {
            target = try requested.validated()
        } catch let error as TTSError {
            throw TTSError(error.kind, "cannot convert clip \(clip.key.short) to \(requested.encoding.rawValue): \(error.message)",
                           field: error.field)
        }
        // 16-bit PCM at the clip's own rate is the blob itself (every engine stores 16-bit PCM).
        if target.encoding == .pcm16 && target.outputRate(forSourceRate: clip.sampleRate) == clip.sampleRate {
            guard blobs.size(of: clip.blob) == clip.bytes else {
                throw TTSError.store("cannot give clip \(clip.key.short) as WAV: its audio (blob \(clip.blob.short)) is missing or damaged; `say` it again to restore it")
            }
            return (ConvertedAudio(path: blobs.path(for: clip.blob), sha256: clip.blob.hex, bytes: clip.bytes,
                                   durationMs: clip.durationMs, sampleRate: clip.sampleRate, encoding: .pcm16), false)
        }
        let path = path(for: clip.blob, target: target)
        if let hit = cached(clip, target: target, path: path) {
            counters?.hit()
            return (hit, false)
        }
        do {
            let result = try flights.run(path) { () throws -> (ConvertedAudio, Bool) in
                // A request that waited for the same conversion finds its file now.
                if let hit = cached(clip, target: target, path: path) { return (hit, false) }
                return (try make(clip, target: target, path: path, store: store), true)
            }
            if result.1 { counters?.made() } else { counters?.hit() }
            return result
        } catch {
            counters?.failed()
            let known = error as? TTSError
            throw TTSError(known?.kind ?? .store,
                           "cannot convert clip \(clip.key.short) ('\(clip.text.prefix(40))') to \(target.name): \(known?.message ?? String(describing: error))",
                           field: known?.field)
        }
    }

    /// Facts of the cached file, or nil when it is not there (or unreadable: it is made again).
    /// The file's SHA-256 and size were recorded in an extended attribute when it was made, so
    /// a hit is a `stat` and a `getxattr`, not a read and a hash of the whole file (a cached
    /// export of thousands of clips); without the attribute (another file system, or lost in
    /// a crash before it reached the disk) the file is read and hashed.
    private func cached(_ clip: Clip, target: AudioTarget, path: String) -> ConvertedAudio? {
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, info.st_size > 0 else { return nil }
        let size = Int(info.st_size)
        let rate = target.outputRate(forSourceRate: clip.sampleRate)
        if let recorded = Self.recordedDigest(path), recorded.bytes == size {
            var audio = ConvertedAudio(path: path, sha256: recorded.sha256, bytes: size, durationMs: clip.durationMs,
                                       sampleRate: rate, encoding: target.encoding, bitrate: target.effectiveBitrate)
            if target.encoding.isWAV {
                guard let header = try? Self.readPrefix(path, 4096), let wav = WAVFacts(header, fileSize: size) else { return nil }
                audio.sampleRate = wav.sampleRate
                audio.durationMs = wav.durationMs
            }
            return audio
        }
        guard let bytes = try? DurableFile.readAll(path), !bytes.isEmpty else { return nil }
        if target.encoding.isWAV && WAVFacts(bytes) == nil { return nil }
        var audio = facts(of: bytes, clip: clip, target: target)
        audio.path = path
        return audio
    }

    /// `user.tts.sha256` = "<hex>:<bytes>", set on the temp file before it is named.
    private static let digestAttribute = "user.tts.sha256"

    private static func recordDigest(_ audio: ConvertedAudio, on path: String) {
        let value = Array("\(audio.sha256):\(audio.bytes)".utf8)
        _ = setxattr(path, digestAttribute, value, value.count, 0)  // best effort: a hit rehashes without it
    }

    private static func recordedDigest(_ path: String) -> (sha256: String, bytes: Int)? {
        var buffer = [UInt8](repeating: 0, count: 96)
        let length = getxattr(path, digestAttribute, &buffer, buffer.count)
        guard length > 65 else { return nil }
        let text = String(decoding: buffer[0..<length], as: UTF8.self)
        let parts = text.split(separator: ":")
        guard parts.count == 2, parts[0].utf8.count == 64, BlobHash(hex: String(parts[0])) != nil,
              let bytes = Int(parts[1]) else { return nil }
        return (String(parts[0]), bytes)
    }

    private static func readPrefix(_ path: String, _ count: Int) throws -> Data {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw ExportFileSystem.posixError("cannot open \(path)") }
        defer { close(descriptor) }
        var buffer = [UInt8](repeating: 0, count: count)
        let n = read(descriptor, &buffer, count)
        guard n >= 0 else { throw ExportFileSystem.posixError("cannot read \(path)") }
        return Data(buffer[0..<n])
    }

    private func facts(of bytes: Data, clip: Clip, target: AudioTarget) -> ConvertedAudio {
        var rate = target.outputRate(forSourceRate: clip.sampleRate)
        var duration = clip.durationMs
        if target.encoding.isWAV, let wav = WAVFacts(bytes) {
            rate = wav.sampleRate
            duration = wav.durationMs
        }
        return ConvertedAudio(path: "", sha256: SHA256.hash(bytes).hex, bytes: bytes.count, durationMs: duration,
                              sampleRate: rate, encoding: target.encoding, bitrate: target.effectiveBitrate)
    }

    private func make(_ clip: Clip, target: AudioTarget, path: String, store: Bool) throws -> ConvertedAudio {
        guard blobs.contains(clip.blob) else {
            throw TTSError.store("its audio (blob \(clip.blob.short)) is missing from the store; `say` it again to restore it")
        }
        // A hash-checked read: a damaged blob is refused, not converted.
        let source = try WAVAudio.decode(try blobs.read(clip.blob, verify: true))
        let encoded = try Self.encode(source, to: target)
        var audio = facts(of: encoded, clip: clip, target: target)
        guard store else { return audio }
        try ExportFileSystem.makeFolders("converted/" + shard(clip.blob, target), under: blobs.layout.root.path)
        let temp = ExportFileSystem.temporaryPath(in: blobs.layout.tmpURL.path)
        defer { unlink(temp) }
        try ExportFileSystem.writeNew(encoded, to: temp, mode: 0o444)
        Self.recordDigest(audio, on: temp)
        if link(temp, path) != 0 {
            let code = errno
            // Another process made the same conversion first: its file is the answer (an Ogg
            // file's bytes differ between runs by their random stream serial number).
            if code == EEXIST, let theirs = cached(clip, target: target, path: path) { return theirs }
            throw ExportFileSystem.posixError("cannot name the converted file \(path)", code: code)
        }
        audio.path = path
        return audio
    }

    /// WAV targets through `AudioTranscoder`, the compressed ones through libsndfile; the
    /// samples are resampled first when the target's rate differs (Opus takes only a few).
    static func encode(_ audio: WAVAudio, to target: AudioTarget) throws -> Data {
        if target.encoding.isWAV { return AudioTranscoder.convert(audio, to: target).wav }
        let rate = target.outputRate(forSourceRate: audio.format.sampleRate)
        let (samples, channels) = AudioTranscoder.pcm16(audio, rate: rate)
        do {
            return try SndfileEncoder.encode(samples, channels: channels, sampleRate: rate, as: target.encoding,
                                             setting: target.settingValue ?? 0)
        } catch let error as SndfileError {
            throw TTSError.validation("encoding", "the \(target.encoding.rawValue) encoder refused it: \(error.description)")
        }
    }

    /// Files and bytes under `converted/`, for `stats`. Blocking (a walk of the folder).
    public func usage() -> (files: Int, bytes: Int) {
        var files = 0, bytes = 0
        guard let walker = FileManager.default.enumerator(atPath: root.path) else { return (0, 0) }
        while let relative = walker.nextObject() as? String {
            var info = stat()
            guard stat(root.path + "/" + relative, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { continue }
            files += 1
            bytes += Int(info.st_size)
        }
        return (files, bytes)
    }
}

/// Conversions in progress in this process, by file path: a second caller for the same file
/// waits for the first to finish, then finds its file. Blocking on purpose (callers are on
/// Dispatch or export threads, never on the cooperative pool).
private final class ConversionFlights: @unchecked Sendable {
    /// Guards `running`; signalled whenever a conversion ends.
    private let condition = NSCondition()
    private var running = Set<String>()

    func run<T>(_ key: String, _ body: () throws -> T) throws -> T {
        condition.lock()
        while running.contains(key) { condition.wait() }
        running.insert(key)
        condition.unlock()
        defer {
            condition.lock()
            running.remove(key)
            condition.broadcast()
            condition.unlock()
        }
        return try body()
    }
}

/// The conversion counters of `ServiceMetrics`, as the cache records them.
private struct ConversionCounters: Sendable {
    let metrics: ServiceMetrics
    init(_ metrics: ServiceMetrics) { self.metrics = metrics }
    func made() { metrics.recordConversion(.converted) }
    func hit() { metrics.recordConversion(.cached) }
    func failed() { metrics.recordConversion(.failed) }
}

/// Sample rate and length from a WAV header of any format tag (PCM or G.711), for cached
/// files whose facts the manifest needs.
struct WAVFacts {
    var sampleRate: Int
    var frames: Int
    var durationMs: Int { sampleRate == 0 ? 0 : Int(Int64(frames) * 1000 / Int64(sampleRate)) }

    /// `fileSize`: the whole file's size when `data` holds only its beginning.
    init?(_ data: Data, fileSize: Int? = nil) {
        let total = fileSize ?? data.count
        let bytes = [UInt8](data.prefix(4096))
        guard bytes.count >= 12, bytes[0..<4].elementsEqual("RIFF".utf8), bytes[8..<12].elementsEqual("WAVE".utf8) else { return nil }
        func le16(_ i: Int) -> Int { Int(bytes[i]) | Int(bytes[i + 1]) << 8 }
        func le32(_ i: Int) -> Int { le16(i) | le16(i + 2) << 16 }
        var offset = 12
        var rate = 0, blockAlign = 0
        while offset + 8 <= bytes.count {
            let id = String(decoding: bytes[offset..<offset + 4], as: UTF8.self)
            let size = le32(offset + 4)
            let body = offset + 8
            if id == "fmt ", size >= 16, body + 16 <= bytes.count {
                rate = le32(body + 4)
                blockAlign = le16(body + 12)
            } else if id == "data" {
                guard rate > 0, blockAlign > 0, size <= total - body else { return nil }
                sampleRate = rate
                frames = size / blockAlign
                return
            }
            offset = body + size + (size & 1)
        }
        return nil
    }
}
