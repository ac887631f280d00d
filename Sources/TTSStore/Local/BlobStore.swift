import Foundation
import Glibc
import TTSCore

/// The content-addressed file store of the local tier: each distinct WAV lives once, named by
/// the SHA-256 of its bytes, under `<root>/blobs/ab/cd/<hash>.wav`.
///
/// Writes are crash-safe: bytes go to a fresh file in `<root>/tmp`, are fsync'ed, renamed into
/// place (atomic on one file system), and the shard folder is fsync'ed so the rename itself
/// survives a power cut. A crash leaves at worst a stray temp file (`strayTempFiles()`, for
/// `gc`), never a partial file under a blob name. Several threads or processes may put the
/// same bytes at once: each writes its own temp file, and the renames replace equal bytes.
///
/// Blob files are created read-only (0444, less the umask): a blob is immutable, and this keeps
/// an exported hard link or an editor from changing bytes under their hash.
///
/// Sendable without `@unchecked`: the only stored state is the immutable layout; the rest is
/// the file system, whose operations used here are atomic.
///
/// ```swift
/// let blobs = try BlobStore(layout: StoreLayout(root: root))
/// let hash = try blobs.put(wav)
/// let same = try blobs.read(hash, verify: true)
/// ```
public final class BlobStore: Sendable {
    public let layout: StoreLayout
    /// `layout.blobsPath`, worked out once: `URL.path` decodes the root URL on every call, which
    /// cost more than the `stat` of a local hit. (Kept here, not in `StoreLayout`: a new stored
    /// property in that struct changes its size, which incremental builds of other modules miss.)
    let blobsPath: String

    /// Creates `<root>`, `<root>/blobs` and `<root>/tmp` when missing.
    public init(layout: StoreLayout) throws {
        self.layout = layout
        blobsPath = layout.blobsPath
        for folder in [layout.root, layout.blobsURL, layout.tmpURL] {
            do {
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            } catch {
                throw TTSError.store("cannot create the store folder \(folder.path): \(error.localizedDescription). Check that the path is right and writable, or choose another store with --store.")
            }
        }
    }

    /// Stores `wav` under its hash and returns the hash. Idempotent: when the blob exists
    /// already, nothing is written.
    @discardableResult
    public func put(_ wav: Data) throws -> BlobHash {
        let hash = BlobHash(of: wav)
        if contains(hash) { return hash }

        let shard = layout.shardPath(hash)
        let createdFolders = try makeShardFolders(for: hash)
        let tempPath = layout.tmpPath + "/" + hash.hex + ".\(getpid()).\(UInt64.random(in: 0...UInt64.max)).tmp"
        let finalPath = layout.blobPath(hash)
        do {
            try writeDurably(wav, to: tempPath)
            if rename(tempPath, finalPath) != 0 {
                throw posixError("cannot move the new blob \(hash.short) from \(tempPath) into \(finalPath)")
            }
        } catch {
            unlink(tempPath)
            throw error
        }
        // Make the rename durable: fsync the folder holding the new name, and every folder
        // that gained a new shard folder.
        try syncFolder(shard)
        for created in createdFolders.reversed() {
            try syncFolder((created as NSString).deletingLastPathComponent)
        }
        return hash
    }

    /// Whether the blob is present: one `stat`, no read.
    public func contains(_ hash: BlobHash) -> Bool {
        var info = stat()
        guard stat(path(of: hash), &info) == 0 else { return false }
        return (info.st_mode & S_IFMT) == S_IFREG
    }

    public func url(for hash: BlobHash) -> URL { URL(fileURLWithPath: path(of: hash), isDirectory: false) }

    /// `layout.blobPath(hash)` (`<root>/blobs/ab/cd/<hash>.wav`) from the kept prefix, in one string.
    func path(of hash: BlobHash) -> String {
        let hex = hash.hex.utf8
        var path = ""
        path.reserveCapacity(blobsPath.utf8.count + 6 + hex.count + 4)
        path += blobsPath
        path += "/"
        path += String(decoding: hex.prefix(2), as: UTF8.self)
        path += "/"
        path += String(decoding: hex.dropFirst(2).prefix(2), as: UTF8.self)
        path += "/"
        path += hash.hex
        path += ".wav"
        return path
    }

    /// The bytes of a blob. With `verify`, rehashes them and throws a `.store` error when they
    /// do not match the name (a damaged or edited file).
    public func read(_ hash: BlobHash, verify: Bool) throws -> Data {
        let path = layout.blobPath(hash)
        let data: Data
        do {
            data = try DurableFile.readAll(path)
        } catch {
            if error.code == ENOENT {
                throw TTSError.store("blob \(hash.hex) is missing from the store (\(path)): the index points at a file that is gone. Run `verify` to list such clips; generating the clip again restores it.")
            }
            throw posixError("cannot \(error.action) blob \(hash.short) at \(path)", code: error.code)
        }
        if verify {
            let actual = BlobHash(of: data)
            if actual != hash {
                throw TTSError.store("blob \(hash.hex) at \(path) is corrupt: its \(data.count) bytes hash to \(actual.hex). Remove the file so the clip is fetched or generated again, and check the disk.")
            }
        }
        return data
    }

    /// Deletes a blob. Removing a blob that is not there is not an error.
    public func remove(_ hash: BlobHash) throws {
        let path = layout.blobPath(hash)
        if unlink(path) != 0 && errno != ENOENT {
            throw posixError("cannot remove blob \(hash.short) at \(path)")
        }
    }

    /// Every blob under `blobs/`, sorted. Ignores files and folders whose names are not a
    /// blob's (`<hash>.wav` in its own `ab/cd` shard), so `verify` and `gc` can report them.
    public func allBlobHashes() throws -> [BlobHash] {
        var hashes: [BlobHash] = []
        for first in try folderEntries(layout.blobsPath) where Self.isShardName(first) {
            let firstPath = layout.blobsPath + "/" + first
            for second in try folderEntries(firstPath) where Self.isShardName(second) {
                for name in try folderEntries(firstPath + "/" + second) where name.hasSuffix(".wav") {
                    guard let hash = BlobHash(hex: String(name.dropLast(4))),
                          hash.hex + ".wav" == name,
                          hash.hex.hasPrefix(first + second) else { continue }
                    hashes.append(hash)
                }
            }
        }
        return hashes.sorted { $0.hex < $1.hex }
    }

    /// Files left in `<root>/tmp`, sorted: the remains of interrupted puts. A put running right
    /// now also has a file there, so a cleaner should only remove files older than a minute.
    public func strayTempFiles() throws -> [URL] {
        try folderEntries(layout.tmpPath).sorted().map {
            URL(fileURLWithPath: layout.tmpPath + "/" + $0, isDirectory: false)
        }
    }

    // MARK: Helpers

    private static func isShardName(_ name: String) -> Bool {
        name.utf8.count == 2 && name.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }
    }

    /// Creates `blobs/ab` and `blobs/ab/cd` as needed; returns the folders this call created.
    private func makeShardFolders(for hash: BlobHash) throws -> [String] {
        let shard = layout.shardPath(hash)
        let parent = (shard as NSString).deletingLastPathComponent
        var created: [String] = []
        for folder in [parent, shard] {
            if mkdir(folder, 0o755) == 0 {
                created.append(folder)
            } else if errno != EEXIST {
                throw posixError("cannot create the blob folder \(folder)")
            }
        }
        return created
    }

    /// Writes all bytes to a new file (never an existing one) and fsyncs it.
    private func writeDurably(_ data: Data, to path: String) throws {
        do {
            try DurableFile.writeNew(data, to: path, mode: 0o444)
        } catch {
            throw posixError("cannot \(error.action) the temporary file \(path)", code: error.code)
        }
    }

    private func syncFolder(_ path: String) throws {
        let descriptor = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw posixError("cannot open the folder \(path) to flush it") }
        defer { close(descriptor) }
        if fsync(descriptor) != 0 && errno != EINVAL {  // EINVAL: the file system cannot sync folders
            throw posixError("cannot flush the folder \(path) to disk")
        }
    }

    private func folderEntries(_ path: String) throws -> [String] {
        do {
            return try FileManager.default.contentsOfDirectory(atPath: path)
        } catch {
            throw TTSError.store("cannot list the store folder \(path): \(error.localizedDescription). Check that the store path is right and readable.")
        }
    }

    /// A `.store` error with `errno`'s text and a hint for the usual causes.
    private func posixError(_ what: String, code: Int32 = errno) -> TTSError {
        let reason = String(cString: strerror(code))
        let hint: String
        switch code {
        case ENOSPC, EDQUOT: hint = "The disk is full: free some space or remove old clips with `gc`."
        case EACCES, EPERM, EROFS: hint = "Check the permissions of the store folder \(layout.root.path)."
        default: hint = "Check the store folder \(layout.root.path) and the disk."
        }
        return TTSError.store("\(what): \(reason). \(hint)")
    }
}
