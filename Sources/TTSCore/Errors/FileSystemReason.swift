import Foundation

/// Why a file operation failed, in words: Foundation's errors read badly on Linux ("The
/// operation could not be completed. (NSCocoaErrorDomain error 512.)"), and a store error must
/// say what to fix.
///
/// ```swift
/// catch { throw TTSError.store("cannot create \(path): \(FileSystemReason.describe(error, path: path))") }
/// ```
public enum FileSystemReason {
    public static func describe(_ error: any Error, path: String? = nil) -> String {
        let ns = error as NSError
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        if ns.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(ns.code))) }
        // A component of the path that is a file, not a folder (ENOTDIR arrives as 512).
        if let path, let blocker = fileInTheWay(of: path) { return "\(blocker) is a file, not a folder" }
        guard ns.domain == NSCocoaErrorDomain else { return ns.localizedDescription }
        switch CocoaError.Code(rawValue: ns.code) {
        case .fileNoSuchFile, .fileReadNoSuchFile: return "no such file or folder"
        case .fileReadNoPermission, .fileWriteNoPermission: return "permission denied"
        case .fileWriteOutOfSpace: return "no space left on the device"
        case .fileWriteVolumeReadOnly: return "read-only file system"
        case .fileWriteFileExists: return "something of that name exists already"
        default: return "the file system refused it (error \(ns.code))"
        }
    }

    /// The nearest existing ancestor of `path` when it is not a folder.
    private static func fileInTheWay(of path: String) -> String? {
        var url = URL(fileURLWithPath: path)
        // Bounded by the path's depth.
        for _ in 0..<url.pathComponents.count {
            var isFolder: ObjCBool = false
            if FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder) {
                return isFolder.boolValue ? nil : url.path
            }
            url.deleteLastPathComponent()
        }
        return nil
    }
}
