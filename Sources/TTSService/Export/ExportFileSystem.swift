import Foundation
import Glibc
import TTSCore
import TTSStore

/// The POSIX file operations an export needs, each one atomic from a reader's point of view:
/// files appear under their final name complete or not at all (temp name in the same folder,
/// then rename or link), and a file that is already there is replaced only when asked.
enum ExportFileSystem {
    struct FileInfo {
        var device: UInt64
        var inode: UInt64
        var size: Int
        var isRegular: Bool
        var isDirectory: Bool
    }

    /// `lstat`: a symlink is reported as itself, never followed.
    static func info(_ path: String) -> FileInfo? {
        var s = stat()
        guard lstat(path, &s) == 0 else { return nil }
        let type = s.st_mode & S_IFMT
        return FileInfo(device: UInt64(s.st_dev), inode: UInt64(s.st_ino), size: Int(s.st_size),
                        isRegular: type == S_IFREG, isDirectory: type == S_IFDIR)
    }

    /// The device of `path`, or of its nearest existing ancestor (for a folder not made yet).
    static func device(nearest path: String) -> UInt64? {
        var current = path
        while true {
            var s = stat()
            if stat(current, &s) == 0 { return UInt64(s.st_dev) }
            let parent = (current as NSString).deletingLastPathComponent
            if parent == current || parent.isEmpty { return nil }
            current = parent
        }
    }

    static func readFile(_ path: String) throws -> Data {
        do {
            return try DurableFile.readAll(path)
        } catch {
            throw posixError("cannot \(error.action) \(path)", code: error.code)
        }
    }

    /// With the CPU's SHA-256 instructions when it has them (see `SHA256.hardwareBlockFunction`).
    static func sha256(ofFile path: String) throws -> String {
        BlobHash(of: try readFile(path)).hex
    }

    /// Creates `root/relativeFolder` one level at a time (never following a symlink out of
    /// `root`: an existing component must be a real folder). Returns the folders created.
    @discardableResult
    static func makeFolders(_ relativeFolder: String, under root: String) throws -> [String] {
        var created: [String] = []
        var current = root
        for component in relativeFolder.split(separator: "/") {
            current += "/" + component
            if mkdir(current, 0o755) == 0 {
                created.append(current)
                continue
            }
            let code = errno
            guard code == EEXIST else { throw posixError("cannot create the folder \(current)", code: code) }
            guard info(current)?.isDirectory == true else {
                throw TTSError.store("cannot create the folder \(current): a file (or link) of that name is in the way. Rename it, or choose another --name pattern.")
            }
        }
        return created
    }

    /// A fresh name for a temporary file in `folder`; the leading dot keeps it out of listings.
    static func temporaryPath(in folder: String) -> String {
        folder + "/.tts-export-\(getpid())-\(UInt64.random(in: 0...UInt64.max)).tmp"
    }

    /// Writes `data` to a new file at `path` (which must not exist) and, with `flush`, fsyncs
    /// it; without, the caller syncs the file system before naming the file (`syncFileSystem`).
    static func writeNew(_ data: Data, to path: String, mode: mode_t = 0o644, flush: Bool = true) throws {
        do {
            try DurableFile.writeNew(data, to: path, mode: mode, flush: flush)
        } catch {
            throw posixError("cannot \(error.action) \(path)", code: error.code)
        }
    }

    /// Writes `data` as `path` atomically: a temp file beside it, then a rename over it.
    static func replaceAtomically(_ path: String, with data: Data, mode: mode_t = 0o644) throws {
        do {
            try DurableFile.replaceAtomically(path, with: data, mode: mode)
        } catch {
            throw posixError("cannot \(error.action) \(path)", code: error.code)
        }
    }

    /// syncfs(2) of the file system holding `path`: every file written so far is on disk.
    static func syncFileSystem(containing path: String) throws {
        do {
            try DurableFile.syncFileSystem(containing: path)
        } catch {
            throw posixError("cannot flush the files written to \(path) to disk", code: error.code)
        }
    }

    enum LinkOutcome { case linked, unsupported }

    enum NewLinkOutcome { case linked, exists, missingFolder, unsupported }

    /// Hard-links `source` under the new name `path` in one step, with no temp file: link(2)
    /// never replaces a name, and the name appears with the blob's complete bytes or not at
    /// all. `exists` when the name is taken, `missingFolder` when its folder is not made yet,
    /// `unsupported` when the file system cannot link it (another device, …).
    static func linkNew(_ source: String, as path: String) throws -> NewLinkOutcome {
        if link(source, path) == 0 { return .linked }
        let code = errno
        guard let outcome = linkOutcome(code) else { throw posixError("cannot hard-link \(source) as \(path)", code: code) }
        return outcome
    }

    /// What a failed link(2) or linkat(2) means, from its errno; nil for a failure to report.
    /// `unsupported` is every way a file system refuses a hard link (another device, no hard
    /// links at all, too many links to the file), so callers can copy or rename instead.
    private static func linkOutcome(_ code: Int32) -> NewLinkOutcome? {
        switch code {
        case EEXIST: return .exists
        case ENOENT: return .missingFolder
        case EXDEV, EPERM, EMLINK, EOPNOTSUPP, ENOSYS: return .unsupported
        default: return nil
        }
    }

    /// A folder held open so names inside it are resolved from it rather than walked
    /// from `/` each time: an export links and checks thousands of files in two folders (the
    /// blobs and the export folder), and the long absolute paths cost more in the kernel than
    /// the links themselves.
    final class OpenFolder {
        let path: String
        fileprivate let descriptor: Int32

        /// nil when the folder cannot be opened (callers then use absolute paths).
        init?(_ path: String) {
            let descriptor = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard descriptor >= 0 else { return nil }
            self.path = path
            self.descriptor = descriptor
        }

        deinit { close(descriptor) }

        /// `info` of `relative` inside this folder (never following a final symlink).
        func info(_ relative: String) -> FileInfo? {
            var s = stat()
            guard fstatat(descriptor, relative, &s, AT_SYMLINK_NOFOLLOW) == 0 else { return nil }
            let type = s.st_mode & S_IFMT
            return FileInfo(device: UInt64(s.st_dev), inode: UInt64(s.st_ino), size: Int(s.st_size),
                            isRegular: type == S_IFREG, isDirectory: type == S_IFDIR)
        }
    }

    /// `linkNew` with both names relative to open folders: `source` inside `sourceFolder`,
    /// `name` (a safe relative path) inside `folder`. Same outcomes and guarantees.
    static func linkNew(_ source: String, in sourceFolder: OpenFolder, as name: String, in folder: OpenFolder) throws -> NewLinkOutcome {
        if linkat(sourceFolder.descriptor, source, folder.descriptor, name, 0) == 0 { return .linked }
        let code = errno
        guard let outcome = linkOutcome(code) else {
            throw posixError("cannot hard-link \(sourceFolder.path)/\(source) as \(folder.path)/\(name)", code: code)
        }
        return outcome
    }

    /// Hard-links `source` as `path`. `unsupported` when the file system cannot (another
    /// device, no hard links, too many links), so the caller may copy instead.
    static func hardLink(_ source: String, as path: String) throws -> LinkOutcome {
        if link(source, path) == 0 { return .linked }
        let code = errno
        guard linkOutcome(code) == .unsupported else { throw posixError("cannot hard-link \(source) as \(path)", code: code) }
        return .unsupported
    }

    /// Gives the complete temp file its final name. With `replace`, an existing file at
    /// `path` is swapped out atomically (rename); without, an existing file is never touched
    /// (link fails with EEXIST), which closes the gap between checking and writing.
    static func install(_ temp: String, as path: String, replace: Bool) throws {
        if replace {
            if rename(temp, path) != 0 { throw posixError("cannot move \(temp) to \(path)") }
            return
        }
        if link(temp, path) == 0 {
            unlink(temp)
            return
        }
        let code = errno
        if code == EEXIST {
            throw TTSError.store("\(path) appeared while exporting (another process?); left it alone. Run the export again.")
        }
        // A file system without hard links (FAT, some network shares): check, then rename.
        guard linkOutcome(code) == .unsupported else {
            throw posixError("cannot move \(temp) to \(path)", code: code)
        }
        guard info(path) == nil else {
            throw TTSError.store("\(path) appeared while exporting (another process?); left it alone. Run the export again.")
        }
        if rename(temp, path) != 0 { throw posixError("cannot move \(temp) to \(path)") }
    }

    /// fsync a folder so the names made in it survive a power cut. Best effort.
    static func syncFolder(_ path: String) {
        let descriptor = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        fsync(descriptor)
        close(descriptor)
    }

    /// Removes `folder` and its parents up to (not including) `root` while they are empty.
    static func removeEmptyFolders(from folder: String, upTo root: String) {
        var current = folder
        while current.count > root.count && current.hasPrefix(root + "/") {
            if rmdir(current) != 0 { return }
            current = (current as NSString).deletingLastPathComponent
        }
    }

    /// A `.store` error with `errno`'s text and a hint for the usual causes.
    static func posixError(_ what: String, code: Int32 = errno) -> TTSError {
        let reason = String(cString: strerror(code))
        let hint: String
        switch code {
        case ENOSPC, EDQUOT: hint = "The disk is full: free some space."
        case EACCES, EPERM, EROFS: hint = "Check that the export folder is writable (permissions, a read-only or immutable folder)."
        case ENOTDIR: hint = "A part of the path is a file, not a folder: choose another export folder."
        default: hint = "Check the export folder and the disk."
        }
        return TTSError.store("\(what): \(reason). \(hint)")
    }
}
