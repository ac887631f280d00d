import Foundation
import Glibc
import TTSCore

extension StoreLayout {
    /// `<root>/quarantine/`: blobs `verify --repair` or a normal read found corrupt, moved
    /// aside (not deleted) so a person can look at them.
    public var quarantineURL: URL { root.appendingPathComponent("quarantine", isDirectory: true) }
    /// `<root>/converted/`: audio the exporter converted to other formats, named by source blob.
    public var convertedURL: URL { root.appendingPathComponent("converted", isDirectory: true) }
}

extension BlobStore {
    /// Deletes the blob's converted copies (`converted/<target>/ab/cd/<hash>.<ext>`, one per
    /// target folder), so eviction and `rm` take them with the blob instead of leaving them to
    /// `gc`. Best effort: a copy that cannot be removed now is removed by `gc`.
    public func removeConversions(of hash: BlobHash) {
        let root = layout.convertedURL.path
        guard let targets = try? FileManager.default.contentsOfDirectory(atPath: root) else { return }
        let hex = hash.hex
        let shard = "/\(hex.prefix(2))/\(hex.dropFirst(2).prefix(2))"
        for target in targets {
            let folder = root + "/" + target + shard
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { continue }
            for name in names where name.hasPrefix(hex + ".") { unlink(folder + "/" + name) }
        }
    }
}

/// Free and total bytes of the file system holding a folder.
public struct DiskSpace: Sendable, Equatable {
    public var freeBytes: Int
    public var totalBytes: Int
}

/// A blob's file at the moment it was looked at.
public struct BlobFile: Sendable, Equatable {
    public var path: String
    public var inode: UInt64
    public var size: Int

    public init(path: String, inode: UInt64, size: Int) {
        self.path = path
        self.inode = inode
        self.size = size
    }
}

/// File-level maintenance of the blob store: sizes and ages without reading, quarantine of
/// damaged blobs, the write probe and free space of `health`.
extension BlobStore {
    /// The blob's size from one `stat`, or nil when the file is missing. The cheap check of
    /// every local hit: a file whose size differs from its row is damaged.
    public func size(of hash: BlobHash) -> Int? {
        file(of: hash)?.size
    }

    /// The blob's file as one `stat` sees it, or nil when it is missing: the local hit checks
    /// its size, and the memory tier keeps its inode, from the same call.
    public func file(of hash: BlobHash) -> BlobFile? {
        let path = path(for: hash)
        guard let info = folder.status(of: path), (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        return BlobFile(path: path, inode: UInt64(info.st_ino), size: Int(info.st_size))
    }

    /// Seconds since the blob was written, or nil when missing.
    public func age(of hash: BlobHash, now: Date = Date()) -> TimeInterval? {
        BlobStore.age(ofFile: layout.blobPath(hash), now: now)
    }

    /// Seconds since a file was last modified, or nil when it cannot be stat'ed.
    public static func age(ofFile path: String, now: Date = Date()) -> TimeInterval? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        let modified = Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9
        return now.timeIntervalSince1970 - modified
    }

    /// Moves a blob to `<root>/quarantine/` (one rename, same file system) and returns where it
    /// went; nil when the blob was already gone (another process moved it first).
    @discardableResult
    public func quarantine(_ hash: BlobHash) throws -> URL? {
        let folder = layout.quarantineURL
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            throw TTSError.store("cannot create the quarantine folder \(folder.path): \(FileSystemReason.describe(error, path: folder.path)). Check the permissions of the store folder \(layout.root.path).")
        }
        var target = folder.appendingPathComponent(hash.hex + ".wav")
        var attempt = 1
        while FileManager.default.fileExists(atPath: target.path) && attempt < 1000 {
            attempt += 1
            target = folder.appendingPathComponent("\(hash.hex).\(attempt).wav")
        }
        if rename(layout.blobPath(hash), target.path) != 0 {
            let code = errno
            if code == ENOENT { return nil }
            throw TTSError.store("cannot move the damaged blob \(hash.short) to \(target.path): \(String(cString: strerror(code))). Check the permissions of the store folder \(layout.root.path).")
        }
        return target
    }

    /// Creates and removes a file in `<root>/tmp`: whether this process can write to the store.
    /// Returns nil when it can, else what went wrong.
    public func writeProbe() -> String? {
        let path = layout.tmpPath + "/health.\(getpid()).\(UInt32.random(in: 0...UInt32.max)).probe"
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { return "cannot create a file in \(layout.tmpPath): \(String(cString: strerror(errno)))" }
        var byte: UInt8 = 0
        let written = write(descriptor, &byte, 1)
        let writeError = written == 1 ? nil : String(cString: strerror(errno))
        close(descriptor)
        unlink(path)
        return writeError.map { "cannot write to \(layout.tmpPath): \($0)" }
    }

    /// Free space for this user and the size of the store's file system (`statvfs`).
    public func diskSpace() -> DiskSpace? {
        var info = statvfs()
        guard statvfs(layout.root.path, &info) == 0 else { return nil }
        let unit = Int(info.f_frsize == 0 ? info.f_bsize : info.f_frsize)
        return DiskSpace(freeBytes: Int(info.f_bavail) * unit, totalBytes: Int(info.f_blocks) * unit)
    }
}
