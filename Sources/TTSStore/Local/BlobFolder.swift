import Glibc
import Synchronization

/// The store's `blobs/` folder held open, so the `stat` of every hit walks only
/// `ab/cd/<hash>.wav` from it rather than every component of the store's path. Measured on
/// this machine's ext4 (bench/NOTES.md): 1.10 µs against 1.42 µs for a seven-component path,
/// the largest single step of a local or memory hit.
///
/// A folder replaced under a running process (deleted and made anew) shows as a blob missing
/// through the held descriptor but present by its full path, with a folder at the path that is
/// not the held one: the descriptor is opened again. The old one stays open until the folder
/// object goes away, since another thread may be using it that very moment. A folder moved
/// aside is not noticed while its files are still found through the descriptor: the mapped
/// `StoreGeneration` makes the same assumption, that a running process's store stays where
/// it was opened.
final class BlobFolder: Sendable {
    /// `<root>/blobs/`: every blob path starts with it.
    let prefix: String
    /// The prefix as C bytes, NUL-terminated, and its length without the NUL.
    private let prefixCString: [CChar]
    private let prefixLength: Int
    /// -1 when the folder could not be opened: then every `stat` takes the full path.
    private let descriptor: Atomic<Int32>
    private let replaced = Mutex<[Int32]>([])

    init(prefix: String) {
        self.prefix = prefix
        prefixCString = prefix.utf8CString.map { $0 }
        prefixLength = prefixCString.count - 1
        descriptor = Atomic(BlobFolder.open(prefix))
    }

    deinit {
        let current = descriptor.load(ordering: .relaxed)
        if current >= 0 { close(current) }
        for old in replaced.withLock({ $0 }) { close(old) }
    }

    private static func open(_ prefix: String) -> Int32 {
        Glibc.open(prefix, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    }

    /// The `stat` of `path`: through the held folder when `path` lies in it, else by the full
    /// path. Nil when there is no such file (or it cannot be stat'ed).
    func status(of path: String) -> stat? {
        var info = stat()
        let found = path.withCString { full -> Bool? in
            let fd = descriptor.load(ordering: .relaxed)
            // strncmp stops at the path's end, so a shorter path is simply not in the folder.
            guard fd >= 0, strncmp(full, prefixCString, prefixLength) == 0, full[prefixLength] != 0 else { return nil }
            return fstatat(fd, full + prefixLength, &info, 0) == 0
        }
        if found == true { return info }
        guard let status = BlobFolder.status(ofFullPath: path) else { return nil }
        if found == false { reopen() }
        return status
    }

    /// One `stat` of the full path: for a file outside the folder, or with no folder held.
    static func status(ofFullPath path: String) -> stat? {
        var info = stat()
        return stat(path, &info) == 0 ? info : nil
    }

    /// The held folder lacks a file its full path has: opened again when the folder at the
    /// path is another one (not when the file was merely named between the two calls).
    private func reopen() {
        var held = stat(), named = stat()
        let current = descriptor.load(ordering: .relaxed)
        guard fstat(current, &held) == 0, stat(prefix, &named) == 0,
              held.st_dev != named.st_dev || held.st_ino != named.st_ino else { return }
        let fresh = BlobFolder.open(prefix)
        guard fresh >= 0 else { return }
        let old = descriptor.exchange(fresh, ordering: .relaxed)
        if old >= 0 { replaced.withLock { $0.append(old) } }
    }
}
