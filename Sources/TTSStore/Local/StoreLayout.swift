import Foundation
import TTSCore

/// Where the local tier keeps its files:
///
/// ```
/// <root>/index.sqlite                 the clip index (ClipIndex)
/// <root>/blobs/ab/cd/<sha256>.wav     one immutable file per distinct WAV (BlobStore)
/// <root>/tmp/                         half-written blobs; renamed into blobs/ when complete
/// ```
///
/// Blobs are sharded by the first two bytes of their hash so no folder grows past a few
/// hundred entries. `tmp/` sits inside the root so the final `rename` never crosses a file
/// system, which is what makes it atomic.
///
/// ```swift
/// let layout = StoreLayout(root: URL(fileURLWithPath: "/home/me/.cache/tts-repl"))
/// layout.blobURL(hash).path  // …/blobs/3f/a2/3fa2….wav
/// ```
public struct StoreLayout: Sendable, Equatable {
    public var root: URL

    public init(root: URL) {
        self.root = root.standardizedFileURL
    }

    public var indexURL: URL { root.appendingPathComponent("index.sqlite", isDirectory: false) }
    public var blobsURL: URL { root.appendingPathComponent("blobs", isDirectory: true) }
    public var tmpURL: URL { root.appendingPathComponent("tmp", isDirectory: true) }

    /// `<root>/blobs/ab/cd/<hash>.wav`.
    public func blobURL(_ hash: BlobHash) -> URL {
        URL(fileURLWithPath: blobPath(hash), isDirectory: false)
    }

    /// The shard folder `<root>/blobs/ab/cd` of a blob.
    public func shardURL(_ hash: BlobHash) -> URL {
        URL(fileURLWithPath: shardPath(hash), isDirectory: true)
    }

    // Plain string paths for the hot path (`BlobStore.contains` is one stat): building a URL
    // costs more than the stat itself.
    var blobsPath: String { root.path + "/blobs" }
    var tmpPath: String { root.path + "/tmp" }

    func shardPath(_ hash: BlobHash) -> String {
        let hex = hash.hex.utf8
        let first = String(decoding: hex.prefix(2), as: UTF8.self)
        let second = String(decoding: hex.dropFirst(2).prefix(2), as: UTF8.self)
        return blobsPath + "/" + first + "/" + second
    }

    func blobPath(_ hash: BlobHash) -> String {
        shardPath(hash) + "/" + hash.hex + ".wav"
    }
}
