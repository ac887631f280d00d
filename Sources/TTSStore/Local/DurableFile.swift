import CShims
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A failed file operation: what was being done, to which path, and `errno`. Callers turn it
/// into a `TTSError` with the hint that fits their folder (store, export, rejects file).
public struct FileFailure: Error, Sendable {
    /// "create", "write", "flush", "close", "open", "read", "rename".
    public let action: String
    public let path: String
    public let code: Int32

    public var reason: String { String(cString: strerror(code)) }
}

/// The few file operations that must be all-or-nothing, written once: a new file written in full
/// and flushed, a file replaced atomically (temp file beside it, then rename), a file read
/// whole. Blobs, exports, manifests and rejects files all go through here.
public enum DurableFile {
    /// Writes `data` to a new file at `path` (which must not exist: O_EXCL), then fsyncs it.
    /// With `flush: false` the fsync is left to the caller, who must make the bytes durable
    /// (one `syncFileSystem` for many files) before giving the file a name anyone trusts.
    public static func writeNew(_ data: Data, to path: String, mode: mode_t, flush: Bool = true) throws(FileFailure) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard descriptor >= 0 else { throw FileFailure(action: "create", path: path, code: errno) }
        var failure: FileFailure?
        data.withUnsafeBytes { (buffer: UnsafeRawBufferPointer) in
            var offset = 0
            while offset < buffer.count {
                let written = write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 && errno == EINTR { continue }
                if written <= 0 {
                    failure = FileFailure(action: "write", path: path, code: written < 0 ? errno : EIO)
                    return
                }
                offset += written
            }
        }
        if failure == nil && flush && fsync(descriptor) != 0 { failure = FileFailure(action: "flush", path: path, code: errno) }
        if close(descriptor) != 0 && failure == nil { failure = FileFailure(action: "close", path: path, code: errno) }
        if let failure { throw failure }
    }

    /// Replaces (or creates) `path` atomically: readers see the old file or the new one, never a
    /// part. The temp file is removed on failure.
    public static func replaceAtomically(_ path: String, with data: Data, mode: mode_t = 0o644) throws(FileFailure) {
        let folder = (path as NSString).deletingLastPathComponent
        let name = (path as NSString).lastPathComponent
        let temp = (folder.isEmpty ? "." : folder) + "/.\(name).\(getpid()).\(UInt64.random(in: 0...UInt64.max)).tmp"
        do throws(FileFailure) {
            try writeNew(data, to: temp, mode: mode)
            if rename(temp, path) != 0 { throw FileFailure(action: "rename", path: path, code: errno) }
        } catch {
            unlink(temp)
            throw error
        }
    }

    /// Flushes every written byte and metadata change of the file system holding `path`
    /// (syncfs(2)): one wait for the disk instead of one fsync per file, for writers of many
    /// files that name them only afterwards.
    public static func syncFileSystem(containing path: String) throws(FileFailure) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw FileFailure(action: "open", path: path, code: errno) }
        defer { close(descriptor) }
        if tts_syncfs(descriptor) != 0 { throw FileFailure(action: "flush", path: path, code: errno) }
    }

    /// The whole file.
    public static func readAll(_ path: String) throws(FileFailure) -> Data {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw FileFailure(action: "open", path: path, code: errno) }
        defer { close(descriptor) }
        return try readAll(descriptor: descriptor, path: path)
    }

    /// The rest of an open file (from its current offset); `path` only names it in errors.
    public static func readAll(descriptor: Int32, path: String) throws(FileFailure) -> Data {
        var data = Data()
        var info = stat()
        if fstat(descriptor, &info) == 0 { data.reserveCapacity(Int(info.st_size)) }
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count == 0 { break }
            if count < 0 {
                if errno == EINTR { continue }
                throw FileFailure(action: "read", path: path, code: errno)
            }
            data.append(contentsOf: chunk[0..<count])
        }
        return data
    }
}
