import CShims
import Foundation
import Synchronization
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
    /// Whether the file's bytes are known to be on disk: synced by a `flush()`, written with an
    /// fsync, or checked whole after the machine restarted. False for a conversion written since
    /// the last flush: every reader sees it whole until then, but a power cut may still lose or
    /// tear it, so an export links it under a lasting name only after a `flush()`.
    public var durable: Bool = true

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
/// - Files are written whole to a temp file in `<store>/tmp`, read-only, then linked under
///   their name (never replacing a sound one: another process that got there first wins, and
///   its file is the answer), so a failed encode or a crashed process leaves no partial file.
/// - No fsync per file (issue 20: on a quiet machine the fsync, a journal commit, cost FLAC a
///   fifth of its throughput against the `flac` CLI). A converted file is derived and can be
///   made again, so a power cut may lose one but must never leave a torn one under its name:
///   the temp file's `user.tts.sha256` attribute records its digest, size and the machine's
///   boot id before it is named. A file from this boot is whole (a power cut is a new boot);
///   one from an earlier boot is read and hashed once on its first hit and replaced when it
///   does not match. `flush()` puts the conversions written so far on disk with one syncfs(2)
///   and drops their boot id (an export calls it per batch, and the cache every
///   `flushEvery` conversions). Where the attribute cannot be set, the file is fsynced instead.
/// - Single-flight per conversion in this process: concurrent requests for the same file
///   wait for the first one's result instead of converting again.
/// - Blocking (disk, syncfs, the codecs): `converted(_:to:)` runs on a Dispatch thread, never on
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
    private let unsynced = UnsyncedConversions()
    /// Shard folders this process made or found: a conversion into one of them skips the
    /// mkdir of each level (four failing `mkdir` and four `stat` a file). A folder deleted
    /// meanwhile (the whole `converted/` may go at any time) shows as `ENOENT` when the file
    /// is named, and is made again.
    private let folders = Mutex(Set<String>())
    /// This boot of the machine, recorded on every file written without an fsync; nil where
    /// the system gives none (then every file is fsynced). Read on first use: a process that
    /// converts nothing (a cached `say`) never opens /proc for it.
    var boot: String? { bootSource() }
    private let bootSource: @Sendable () -> String?

    /// Conversions written between two automatic flushes: one syncfs per this many files.
    static let flushEvery = 256

    /// `metrics`: where conversions made, cache hits and failures are counted (`stats`).
    public convenience init(blobs: BlobStore, metrics: ServiceMetrics? = nil) {
        self.init(blobs: blobs, metrics: metrics, bootSource: { BootID.current })
    }

    /// `boot`: the boot id to record and trust (tests pass another to play a restart).
    convenience init(blobs: BlobStore, metrics: ServiceMetrics?, boot: String?) {
        self.init(blobs: blobs, metrics: metrics, bootSource: { boot })
    }

    private init(blobs: BlobStore, metrics: ServiceMetrics?, bootSource: @escaping @Sendable () -> String?) {
        self.blobs = blobs
        counters = metrics.map(ConversionCounters.init)
        self.bootSource = bootSource
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
        if case .hit(let hit) = lookup(clip, target: target, path: path) {
            counters?.hit()
            return (hit, false)
        }
        do {
            let result = try flights.run(path) { () throws -> (ConvertedAudio, Bool) in
                // A request that waited for the same conversion finds its file now.
                let found = lookup(clip, target: target, path: path)
                if case .hit(let hit) = found { return (hit, false) }
                return (try make(clip, target: target, path: path, store: store, replacing: found == .damaged), true)
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

    /// What is under a conversion's name.
    private enum Lookup: Equatable {
        case hit(ConvertedAudio)
        case missing
        /// Not the file its attribute describes (torn by a power cut, truncated, or not a sound
        /// WAV file): made again and renamed over it.
        case damaged
    }

    /// Facts of the cached file, from its recorded digest, so a hit is a `stat` and a
    /// `getxattr`, not a read and a hash of the whole file (a cached export of thousands of
    /// clips). A file written in an earlier boot without a sync is read and hashed once (see
    /// the type's comment); a file without the attribute was fsynced before it was named (a
    /// file system without user attributes), and is read and hashed for its facts.
    private func lookup(_ clip: Clip, target: AudioTarget, path: String) -> Lookup {
        var info = stat()
        guard stat(path, &info) == 0 else { return .missing }
        guard (info.st_mode & S_IFMT) == S_IFREG, info.st_size > 0 else { return .damaged }
        let size = Int(info.st_size)
        let rate = target.outputRate(forSourceRate: clip.sampleRate)
        if let record = DigestRecord(path: path) {
            guard record.bytes == size else { return .damaged }
            var durable = record.boot == nil
            if let written = record.boot, written != boot {
                // Written before the machine restarted, maybe never flushed: check every byte.
                guard let bytes = try? DurableFile.readAll(path), bytes.count == record.bytes,
                      SHA256.hash(bytes).hex == record.sha256 else { return .damaged }
                Self.markDurable(path, record, inode: info.st_ino)
                durable = true
            }
            var audio = ConvertedAudio(path: path, sha256: record.sha256, bytes: size, durationMs: clip.durationMs,
                                       sampleRate: rate, encoding: target.encoding, bitrate: target.effectiveBitrate,
                                       durable: durable)
            if target.encoding.isWAV {
                guard let header = try? Self.readPrefix(path, 4096), let wav = WAVFacts(header, fileSize: size) else { return .damaged }
                audio.sampleRate = wav.sampleRate
                audio.durationMs = wav.durationMs
            }
            return .hit(audio)
        }
        guard let bytes = try? DurableFile.readAll(path), !bytes.isEmpty else { return .damaged }
        if target.encoding.isWAV && WAVFacts(bytes) == nil { return .damaged }
        var audio = facts(of: bytes, clip: clip, target: target)
        audio.path = path
        return .hit(audio)
    }

    /// Records `record` on `path`; false when the file system refused (no user attributes).
    private static func record(_ record: DigestRecord, on path: String) -> Bool {
        let value = Array(record.text.utf8)
        return setxattr(path, DigestRecord.attribute, value, value.count, 0) == 0
    }

    /// Drops the boot id from the file's record: its bytes are on disk. Only if `path` is still
    /// the file that was recorded (`inode`); best effort (without it, the file is hashed once
    /// after the next restart). The file is read-only, which refuses its owner (not root) a
    /// new attribute, so it is made writable for that one call.
    private static func markDurable(_ path: String, _ written: DigestRecord, inode: ino_t) {
        var info = stat()
        guard stat(path, &info) == 0, info.st_ino == inode, Int(info.st_size) == written.bytes else { return }
        var durable = written
        durable.boot = nil
        if record(durable, on: path) || errno != EACCES { return }
        guard chmod(path, 0o644) == 0 else { return }
        _ = record(durable, on: path)
        chmod(path, 0o444)
    }

    /// Puts every conversion this cache wrote since the last flush on disk with one syncfs(2)
    /// of the store's file system, then records them as durable. Blocking. Called by an export
    /// before it names a batch of linked conversions, and by the cache itself every
    /// `flushEvery` conversions; a power cut before a flush costs at worst a re-conversion.
    public func flush() throws {
        let written = unsynced.take()
        guard !written.isEmpty else { return }
        do {
            try ExportFileSystem.syncFileSystem(containing: root.path)
        } catch {
            unsynced.restore(written)
            throw error
        }
        for file in written { Self.markDurable(file.path, file.record, inode: file.inode) }
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

    /// `replacing`: the name holds a damaged file, which the new one is renamed over.
    private func make(_ clip: Clip, target: AudioTarget, path: String, store: Bool, replacing: Bool) throws -> ConvertedAudio {
        guard blobs.contains(clip.blob) else {
            throw TTSError.store("its audio (blob \(clip.blob.short)) is missing from the store; `say` it again to restore it")
        }
        // A hash-checked read: a damaged blob is refused, not converted.
        let source = try WAVAudio.decode(try blobs.read(clip.blob, verify: true))
        let encoded = try Self.encode(source, to: target)
        var audio = facts(of: encoded, clip: clip, target: target)
        guard store else { return audio }
        let folder = "converted/" + shard(clip.blob, target)
        try makeFolder(folder)
        let temp = ExportFileSystem.temporaryPath(in: blobs.layout.tmpURL.path)
        defer { unlink(temp) }
        try ExportFileSystem.writeNew(encoded, to: temp, mode: 0o444, flush: false)
        // The record goes on before the name exists, so a named file always has it.
        let record = DigestRecord(sha256: audio.sha256, bytes: audio.bytes, boot: boot)
        let unsyncedRecord = boot != nil && Self.record(record, on: temp)
        if !unsyncedRecord {
            // Nothing would tell a torn file from a whole one after a crash: on disk first.
            try Self.flushFile(temp)
            _ = Self.record(DigestRecord(sha256: audio.sha256, bytes: audio.bytes, boot: nil), on: temp)
        }
        if replacing {
            guard rename(temp, path) == 0 else {
                throw ExportFileSystem.posixError("cannot replace the damaged converted file \(path)", code: errno)
            }
        } else if let code = try name(temp, as: path, in: folder) {
            // Another process made the same conversion first: its file is the answer (an Ogg
            // file's bytes differ between runs by their random stream serial number).
            if code == EEXIST, case .hit(let theirs) = lookup(clip, target: target, path: path) { return theirs }
            throw ExportFileSystem.posixError("cannot name the converted file \(path)", code: code)
        }
        audio.path = path
        if unsyncedRecord {
            audio.durable = false
            var info = stat()
            if stat(path, &info) == 0, unsynced.add(UnsyncedConversions.File(path: path, record: record, inode: info.st_ino)) {
                try? flush()  // a failed flush leaves them for the next one; they are whole until a power cut
            }
        }
        return audio
    }

    /// Makes `<store>/<folder>` unless this process already made or found it.
    private func makeFolder(_ folder: String) throws {
        guard !folders.withLock({ $0.contains(folder) }) else { return }
        try ExportFileSystem.makeFolders(folder, under: blobs.layout.root.path)
        folders.withLock { _ = $0.insert(folder) }
    }

    /// link(2) of the temp file under its name; makes the folder again when it was deleted
    /// since this process made it. Returns the errno of a failure, nil when named.
    private func name(_ temp: String, as path: String, in folder: String) throws -> Int32? {
        if link(temp, path) == 0 { return nil }
        guard errno == ENOENT else { return errno }
        folders.withLock { _ = $0.remove(folder) }
        try makeFolder(folder)
        return link(temp, path) == 0 ? nil : errno
    }

    /// fsync(2) of a written file.
    private static func flushFile(_ path: String) throws {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw ExportFileSystem.posixError("cannot open \(path)") }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw ExportFileSystem.posixError("cannot flush \(path) to disk") }
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

/// A converted file's `user.tts.sha256` attribute: "<sha256 hex>:<bytes>", then ":<boot id>"
/// while the file may not be on disk yet (written in that boot, not flushed since).
struct DigestRecord: Equatable {
    static let attribute = "user.tts.sha256"

    var sha256: String
    var bytes: Int
    var boot: String?

    init(sha256: String, bytes: Int, boot: String?) {
        self.sha256 = sha256
        self.bytes = bytes
        self.boot = boot
    }

    var text: String { "\(sha256):\(bytes)" + (boot.map { ":" + $0 } ?? "") }

    init?(text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2 || parts.count == 3, parts[0].utf8.count == 64, BlobHash(hex: String(parts[0])) != nil,
              let bytes = Int(parts[1]), bytes >= 0 else { return nil }
        if parts.count == 3 && parts[2].isEmpty { return nil }
        self.init(sha256: String(parts[0]), bytes: bytes, boot: parts.count == 3 ? String(parts[2]) : nil)
    }

    /// The record on `path`, or nil when it has none (or not one of ours).
    init?(path: String) {
        var buffer = [UInt8](repeating: 0, count: 160)
        let length = getxattr(path, DigestRecord.attribute, &buffer, buffer.count)
        guard length > 65 else { return nil }
        self.init(text: String(decoding: buffer[0..<length], as: UTF8.self))
    }
}

/// The machine's boot id (Linux: new at every start). A power cut that can tear a file not yet
/// on disk is followed by a new boot; a crashed process is not, and leaves its files in the
/// page cache, whole.
enum BootID {
    static let current: String? = {
        guard let text = try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8) else { return nil }
        let id = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return id.isEmpty || id.contains(":") ? nil : id
    }()
}

/// Conversions written without an fsync since the last flush. Bounded: past `limit` the
/// oldest are forgotten (they stay unflushed and are hashed once after a restart).
private final class UnsyncedConversions: @unchecked Sendable {
    struct File {
        var path: String
        var record: DigestRecord
        var inode: ino_t
    }

    private let lock = NSLock()
    private var files: [File] = []
    private let limit = 4 * ConvertedAudioCache.flushEvery

    /// Adds a file; true when `flushEvery` are waiting.
    func add(_ file: File) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        files.append(file)
        if files.count > limit { files.removeFirst(files.count - limit) }
        return files.count >= ConvertedAudioCache.flushEvery
    }

    func take() -> [File] {
        lock.lock()
        defer { lock.unlock() }
        defer { files = [] }
        return files
    }

    /// Puts back files a failed flush took.
    func restore(_ taken: [File]) {
        lock.lock()
        defer { lock.unlock() }
        files = Array((taken + files).suffix(limit))
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
