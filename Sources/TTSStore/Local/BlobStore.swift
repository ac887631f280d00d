import Foundation
import CShims
import Glibc
import TTSCore

/// When a put's bytes reach the disk, relative to the blob getting its name.
public enum BlobDurability: Sendable {
    /// fsync, then rename: the name is trustworthy at once. For bytes that exist nowhere else
    /// (an engine's answer).
    case beforeNaming
    /// Rename at once, fsync later (`BlobSyncQueue`): for bytes another tier still holds, whose
    /// row stays marked "not yet durable" until the flush, so that after a power cut the blob
    /// is rehashed before it is served again.
    case deferred
}

/// One file on one device: what `BlobStore.flushToDisk` flushed.
public struct BlobFileIdentity: Sendable, Equatable {
    public let device: UInt64
    public let inode: UInt64
}

/// A flushed blob file kept open (closed when released): see `BlobStore.flushAndHold`.
public final class HeldBlobFile: Sendable {
    public let identity: BlobFileIdentity
    private let descriptor: Int32

    init(descriptor: Int32, identity: BlobFileIdentity) {
        self.descriptor = descriptor
        self.identity = identity
    }

    deinit { close(descriptor) }
}

/// The content-addressed file store of the local tier: each distinct WAV lives once, named by
/// the SHA-256 of its bytes, under `<root>/blobs/ab/cd/<hash>.wav`.
///
/// Writes are crash-safe: bytes go to a fresh file in `<root>/tmp`, are fsync'ed, then renamed
/// into place (atomic on one file system). A crash leaves at worst a stray temp file
/// (`strayTempFiles()`, for `gc`), never a partial file under a blob name. Several threads or
/// processes may put the same bytes at once: each writes its own temp file, and the renames
/// replace equal bytes.
///
/// The data fsync before the rename is what makes a blob name trustworthy: without it a power
/// cut can leave the new name on a file of the right size holding zeros, and a hit (which
/// checks the size, not the hash) would serve them. Bytes that also exist elsewhere (a Redis
/// hit) may be named first and flushed later (`BlobDurability.deferred`): their index row says
/// so until `BlobSyncQueue` has flushed them, and the rows still saying so when a store is
/// opened are checked by hash (`BlobSyncQueue.recover`). For the same reason a put that finds
/// its blob already present does not take the file on trust: it rehashes it (and flushes it,
/// unless deferred) before answering, because a file orphaned by a crash may be such a
/// never-flushed name whose row was lost. The folders are not fsync'ed after the
/// rename: a rename lost in a power cut only means the blob is absent, and every reader
/// already treats a row whose blob is absent (or of the wrong size) as a miss that fetches or
/// generates it again (`LocalTier.clip(for:)`). The index commits with
/// `synchronous = NORMAL`, so the power cut that can lose such a rename can as well lose the
/// row; on ext4 the index's next fsync commits the earlier rename with it anyway.
///
/// Blob files are created read-only (0444, less the umask): a blob is immutable, and this keeps
/// an exported hard link or an editor from changing bytes under their hash.
///
/// Sendable without `@unchecked`: the stored state is the immutable layout and the held blob
/// folder (`BlobFolder`); the rest is the file system, whose operations used here are atomic.
///
/// ```swift
/// let blobs = try BlobStore(layout: StoreLayout(root: root))
/// let hash = try blobs.put(wav)
/// let same = try blobs.read(hash, verify: true)
/// ```
public final class BlobStore: Sendable {
    public let layout: StoreLayout
    /// `<root>/blobs/` held open: the `stat` of a hit starts from it. Its `prefix` is the
    /// folder's path, made once: `URL.path` costs more than the `stat` a hit makes.
    let folder: BlobFolder

    /// Creates `<root>`, `<root>/blobs` and `<root>/tmp` when missing.
    public init(layout: StoreLayout) throws {
        self.layout = layout
        for folder in [layout.root, layout.blobsURL, layout.tmpURL] {
            do {
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            } catch {
                throw TTSError.store("cannot create the store folder \(folder.path): \(FileSystemReason.describe(error, path: folder.path)). Check that the path is right and writable, or choose another store with --store.")
            }
        }
        folder = BlobFolder(prefix: layout.blobsPath + "/")
    }

    /// Stores `wav` under its hash, flushed before it is named, and returns the hash.
    /// Idempotent: when an intact copy of the blob exists already, nothing is written.
    @discardableResult
    public func put(_ wav: Data) throws -> BlobHash {
        let hash = BlobHash(of: wav)
        try store(wav, as: hash, durability: .beforeNaming)
        return hash
    }

    /// Stores bytes that came from elsewhere (another machine, through Redis) only when they
    /// hash to `expected`: the check and the store are one pass over the bytes. Returns false,
    /// and writes nothing, when they do not match. With `.deferred` the file is named before
    /// its bytes reach the disk: the caller must record the row as not yet durable and hand
    /// the blob to a `BlobSyncQueue`.
    public func put(_ wav: Data, ifHashIs expected: BlobHash, durability: BlobDurability = .beforeNaming) throws -> Bool {
        guard BlobHash(of: wav) == expected else { return false }
        try store(wav, as: expected, durability: durability)
        return true
    }

    /// Flushes a blob's bytes to the disk (fsync) and returns which file that was, or nil when
    /// the blob is not there (removed meanwhile), which leaves nothing to flush.
    public func flushToDisk(_ hash: BlobHash) throws -> BlobFileIdentity? {
        guard let file = try openBlob(hash) else { return nil }
        defer { close(file.descriptor) }
        try flush(file.descriptor, path: file.path, what: "blob \(hash.short)")
        return try identity(of: file.descriptor, path: file.path)
    }

    /// Flushes a blob and keeps its file open until the result is released, so the file cannot
    /// be freed and its inode number reused meanwhile (nil when the blob is not there). For a
    /// flusher that records the flush afterwards and must know the name still means that file.
    public func flushAndHold(_ hash: BlobHash) throws -> HeldBlobFile? {
        guard let file = try openBlob(hash) else { return nil }
        do {
            try flush(file.descriptor, path: file.path, what: "blob \(hash.short)")
            return HeldBlobFile(descriptor: file.descriptor, identity: try identity(of: file.descriptor, path: file.path))
        } catch {
            close(file.descriptor)
            throw error
        }
    }

    /// Which file holds the blob now (nil when none): lets a flusher notice that the file it
    /// flushed was replaced before it recorded the flush.
    public func fileIdentity(of hash: BlobHash) -> BlobFileIdentity? {
        guard let info = folder.status(of: path(for: hash)) else { return nil }
        return BlobFileIdentity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
    }

    /// Whether an intact copy of the blob is here, flushed to the disk: for a row about to
    /// name a blob that this caller did not write (Redis metadata without its audio). Rehashes
    /// the file, since a crash can orphan a name on bytes that never reached the disk.
    public func adopt(_ hash: BlobHash) throws -> Bool {
        try adoptExisting(hash, durability: .beforeNaming)
    }

    /// Writes the blob file for `hash` (whose bytes are `wav`) unless an intact copy exists.
    ///
    /// A deferred write never replaces a file under the blob's name with bytes not yet on the
    /// disk: that file may be another writer's flushed copy, already counted on by durable
    /// rows. It names its file with link(2), which fails when the name is taken; an intact
    /// file there is adopted, and a damaged one (or a file system without hard links) gets
    /// flushed bytes, as a durable write would.
    private func store(_ wav: Data, as hash: BlobHash, durability: BlobDurability) throws {
        // A deferred write learns that the name is taken from link(2) instead (below): one
        // open fewer on the hit path, where the blob is almost never there yet.
        if durability == .beforeNaming, try adoptExisting(hash, durability: durability) { return }
        let tempPath = layout.tmpPath + "/" + hash.hex + ".\(getpid()).\(UInt64.random(in: 0...UInt64.max)).tmp"
        do {
            try writeNew(wav, to: tempPath, flush: durability == .beforeNaming)
            guard durability == .deferred else {
                try name(tempPath, as: hash, mode: .replacing)
                return
            }
            switch try name(tempPath, as: hash, mode: .ifAbsent) {
            case .named:
                return
            case .taken, .needsReplacing:
                // Taken (or, without hard links, perhaps taken): an intact file there is kept;
                // a damaged or unreadable one is replaced, with flushed bytes.
                if try adoptExisting(hash, durability: .deferred) {
                    unlink(tempPath)
                    return
                }
                try flushFile(at: tempPath)
                try name(tempPath, as: hash, mode: .replacing)
            }
        } catch {
            unlink(tempPath)
            throw error
        }
    }

    private enum NamingMode { case replacing, ifAbsent }
    private enum Naming { case named, taken, needsReplacing }

    /// Gives a written temp file the blob's name: rename(2), or link(2) then unlink(2) when it
    /// must not replace a file already there (`.taken`, the temp file left in place; on a file
    /// system without hard links, `.needsReplacing`). The shard folders are made on first use.
    @discardableResult
    private func name(_ tempPath: String, as hash: BlobHash, mode: NamingMode) throws -> Naming {
        let finalPath = path(for: hash)
        func attempt() -> Int32 {
            let status = mode == .replacing ? rename(tempPath, finalPath) : link(tempPath, finalPath)
            return status == 0 ? 0 : errno
        }
        var code = attempt()
        if code == ENOENT {
            try makeShardFolders(for: hash)
            code = attempt()
        }
        if code != 0 {
            if mode == .ifAbsent && code == EEXIST { return .taken }
            if mode == .ifAbsent && (code == EPERM || code == ENOTSUP || code == EMLINK) { return .needsReplacing }
            throw posixError("cannot move the new blob \(hash.short) from \(tempPath) into \(finalPath)", code: code)
        }
        if mode == .ifAbsent { unlink(tempPath) }
        return .named
    }

    /// Whether the blob is present: one `stat`, no read.
    public func contains(_ hash: BlobHash) -> Bool {
        guard let info = folder.status(of: path(for: hash)) else { return false }
        return (info.st_mode & S_IFMT) == S_IFREG
    }

    public func url(for hash: BlobHash) -> URL { URL(fileURLWithPath: path(for: hash), isDirectory: false) }

    /// The blob's file path (`<root>/blobs/ab/cd/<hash>.wav`) as a plain string, for callers
    /// that make a system call per blob (export links thousands).
    public func path(for hash: BlobHash) -> String {
        // One pass into a string of the final length: `ab/cd/<hash>.wav` after the prefix.
        let hex = hash.hex.utf8, prefix = folder.prefix.utf8
        return String(unsafeUninitializedCapacity: prefix.count + 6 + hex.count + 4) { out in
            var at = out.initialize(fromContentsOf: prefix)
            for (i, byte) in hex.prefix(4).enumerated() {
                out[at] = byte
                at += 1
                if i & 1 == 1 { out[at] = UInt8(ascii: "/"); at += 1 }
            }
            at = out[at...].initialize(fromContentsOf: hex)
            return out[at...].initialize(fromContentsOf: ".wav".utf8)
        }
    }

    /// The bytes of a blob. With `verify`, rehashes them and throws a `.store` error when they
    /// do not match the name (a damaged or edited file).
    public func read(_ hash: BlobHash, verify: Bool) throws -> Data {
        let path = path(for: hash)
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

    /// Deletes a blob, and what was converted from it (`removeConversions(of:)`). Removing a
    /// blob that is not there is not an error.
    public func remove(_ hash: BlobHash) throws {
        let path = path(for: hash)
        if unlink(path) != 0 && errno != ENOENT {
            throw posixError("cannot remove blob \(hash.short) at \(path)")
        }
        removeConversions(of: hash)
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

    /// Creates `blobs/ab` and `blobs/ab/cd` as needed.
    private func makeShardFolders(for hash: BlobHash) throws {
        let shard = layout.shardPath(hash)
        let parent = (shard as NSString).deletingLastPathComponent
        for folder in [parent, shard] where mkdir(folder, 0o755) != 0 && errno != EEXIST {
            throw posixError("cannot create the blob folder \(folder)")
        }
    }

    /// Whether the file already under `hash`'s name can stand for the new bytes: it must hash
    /// to its name (a crash can orphan a named, never-flushed file) and, unless the caller
    /// defers durability, be on the disk; read, hashed and flushed through one descriptor, so
    /// the file checked is the file flushed. False when there is no file, or it is damaged or
    /// cannot be read: the caller then writes the bytes itself, and every path that replaces
    /// a file already there does so with flushed bytes (`store`), so a file that was only
    /// unreadable for a moment loses nothing.
    private func adoptExisting(_ hash: BlobHash, durability: BlobDurability) throws -> Bool {
        guard let file = try? openBlob(hash) else { return false }
        defer { close(file.descriptor) }
        guard let existing = try? DurableFile.readAll(descriptor: file.descriptor, path: file.path),
              BlobHash(of: existing) == hash else { return false }
        if durability == .beforeNaming { try flush(file.descriptor, path: file.path, what: "blob \(hash.short)") }
        return true
    }

    /// The blob's file opened for reading, or nil when there is none.
    private func openBlob(_ hash: BlobHash) throws -> (descriptor: Int32, path: String)? {
        let path = path(for: hash)
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            let code = errno
            if code == ENOENT { return nil }
            throw posixError("cannot open blob \(hash.short) at \(path)", code: code)
        }
        return (descriptor, path)
    }

    private func flush(_ descriptor: Int32, path: String, what: String) throws {
        if fsync(descriptor) != 0 {
            let code = errno
            throw posixError("cannot flush \(what) at \(path) to the disk", code: code)
        }
    }

    /// fsync of a file by path (a temp file about to replace a blob).
    private func flushFile(at path: String) throws {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            let code = errno
            throw posixError("cannot open the temporary file \(path) to flush it", code: code)
        }
        defer { close(descriptor) }
        try flush(descriptor, path: path, what: "the temporary file")
    }

    private func identity(of descriptor: Int32, path: String) throws -> BlobFileIdentity {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else {
            let code = errno
            throw posixError("cannot inspect \(path)", code: code)
        }
        return BlobFileIdentity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
    }

    /// Writes all bytes to a new file (never an existing one), fsync'ed when `flush`.
    private func writeNew(_ data: Data, to path: String, flush: Bool) throws {
        do {
            try DurableFile.writeNew(data, to: path, mode: 0o444, flush: flush)
        } catch {
            throw posixError("cannot \(error.action) the temporary file \(path)", code: error.code)
        }
    }

    private func folderEntries(_ path: String) throws -> [String] {
        do {
            return try FileManager.default.contentsOfDirectory(atPath: path)
        } catch {
            throw TTSError.store("cannot list the store folder \(path): \(FileSystemReason.describe(error, path: path)). Check that the store path is right and readable.")
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
