import Foundation
import Glibc
import TTSCore
import TTSStore

/// A file of audio ready to export: a blob as it is, or a converted copy of it.
public struct ExportSource: Sendable, Equatable {
    public var path: String
    public var sha256: String
    public var bytes: Int
    public var durationMs: Int
    public var sampleRate: Int
}

/// Converted audio for export, cached by (blob, target) next to the blobs:
///
/// ```
/// <store>/converted/<rate>-<encoding>/ab/cd/<blob>.wav     e.g. converted/8000-ulaw/3f/a2/3fa2….wav
/// ```
///
/// A blob is immutable, so its conversion to a given target never changes: the second export
/// to 8 kHz µ-law links or copies the cached file and converts nothing. Files are written like
/// blobs (temp file in `<store>/tmp`, fsync, rename; read-only), so a crash leaves no partial
/// file and concurrent exports of the same clip are safe. `gc` may delete the whole folder
/// at any time: it is rebuilt on demand.
public struct ConvertedAudioCache: Sendable {
    public let blobs: BlobStore

    public init(blobs: BlobStore) {
        self.blobs = blobs
    }

    public var root: URL { blobs.layout.root.appendingPathComponent("converted", isDirectory: true) }

    public func url(for blob: BlobHash, target: AudioTarget) -> URL {
        let hex = blob.hex
        return root.appendingPathComponent(target.name, isDirectory: true)
            .appendingPathComponent(String(hex.prefix(2)), isDirectory: true)
            .appendingPathComponent(String(hex.dropFirst(2).prefix(2)), isDirectory: true)
            .appendingPathComponent(hex + ".wav", isDirectory: false)
    }

    /// The clip's audio in `target`. `converted` says whether this call did the conversion
    /// (a cache miss). With `store: false` (dry runs) a miss is converted in memory only and
    /// `source.path` is empty.
    public func source(for clip: Clip, target: AudioTarget, store: Bool = true) throws -> (source: ExportSource, converted: Bool) {
        let path = url(for: clip.blob, target: target).path
        if ExportFileSystem.info(path)?.isRegular == true, let cached = try? ExportFileSystem.readFile(path),
           let facts = WAVFacts(cached) {
            return (ExportSource(path: path, sha256: SHA256.hash(cached).hex, bytes: cached.count,
                                 durationMs: facts.durationMs, sampleRate: facts.sampleRate), false)
        }
        let audio = try WAVAudio.decode(try blobs.read(clip.blob, verify: true))  // a damaged blob is not converted
        let result = AudioTranscoder.convert(audio, to: target)
        let source = ExportSource(path: store ? path : "", sha256: SHA256.hash(result.wav).hex,
                                  bytes: result.wav.count, durationMs: result.durationMs, sampleRate: result.sampleRate)
        if store {
            let hex = clip.blob.hex
            try ExportFileSystem.makeFolders("converted/\(target.name)/\(hex.prefix(2))/\(hex.dropFirst(2).prefix(2))",
                                             under: blobs.layout.root.path)
            let temp = ExportFileSystem.temporaryPath(in: blobs.layout.tmpURL.path)
            do {
                try ExportFileSystem.writeNew(result.wav, to: temp, mode: 0o444)
                if rename(temp, path) != 0 { throw ExportFileSystem.posixError("cannot move \(temp) to \(path)") }
            } catch {
                unlink(temp)
                throw error
            }
        }
        return (source, true)
    }
}

/// Sample rate and length from a WAV header of any format tag (PCM or G.711), for cached
/// files whose facts the manifest needs.
struct WAVFacts {
    var sampleRate: Int
    var frames: Int
    var durationMs: Int { sampleRate == 0 ? 0 : Int(Int64(frames) * 1000 / Int64(sampleRate)) }

    init?(_ data: Data) {
        let bytes = [UInt8](data)
        guard bytes.count >= 12, bytes[0..<4].elementsEqual("RIFF".utf8), bytes[8..<12].elementsEqual("WAVE".utf8) else { return nil }
        func le16(_ i: Int) -> Int { Int(bytes[i]) | Int(bytes[i + 1]) << 8 }
        func le32(_ i: Int) -> Int { le16(i) | le16(i + 2) << 16 }
        var offset = 12
        var rate = 0, blockAlign = 0
        while offset + 8 <= bytes.count {
            let id = String(decoding: bytes[offset..<offset + 4], as: UTF8.self)
            let size = le32(offset + 4)
            let body = offset + 8
            guard size <= bytes.count - body else { return nil }
            if id == "fmt ", size >= 16 {
                rate = le32(body + 4)
                blockAlign = le16(body + 12)
            } else if id == "data" {
                guard rate > 0, blockAlign > 0 else { return nil }
                sampleRate = rate
                frames = size / blockAlign
                return
            }
            offset = body + size + (size & 1)
        }
        return nil
    }
}
