import CShims
import Foundation
import Glibc

/// A counter every process on one store shares, advanced whenever a clip row is removed or
/// made to name another blob: the memory tier's cheap test that nothing it remembers changed
/// elsewhere.
///
/// The counter is 8 bytes of `<store>/generation`, mapped `MAP_SHARED`, so reading it is one
/// atomic load from memory — no system call, no SQLite lock — and an advance in one process
/// is seen by every other at once. A store whose file cannot be mapped (a read-only folder)
/// gets a counter that never advances here, and memory answers are then still checked by the
/// blob's `stat`; another process's removals are seen there at the next `rm`/`evict` through
/// the index.
///
/// ```swift
/// let generation = StoreGeneration(url: layout.root.appendingPathComponent("generation"))
/// let seen = generation.current
/// // … another process removes a clip: generation.current != seen
/// ```
public final class StoreGeneration: @unchecked Sendable {
    // The mapping is written only through atomic C calls and never unmapped while this object
    // lives; the pointer itself never changes after init.
    private let word: UnsafeMutablePointer<UInt64>?
    private let mappedBytes = 8

    public init(url: URL) {
        let fd = open(url.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { word = nil; return }
        defer { close(fd) }
        var info = stat()
        if fstat(fd, &info) != 0 || (info.st_size < mappedBytes && ftruncate(fd, off_t(mappedBytes)) != 0) {
            word = nil
            return
        }
        let mapped = mmap(nil, mappedBytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
        if mapped == MAP_FAILED || mapped == nil {
            word = nil
        } else {
            word = mapped!.bindMemory(to: UInt64.self, capacity: 1)
        }
    }

    deinit {
        if let word { munmap(UnsafeMutableRawPointer(word), mappedBytes) }
    }

    /// Whether the counter is shared with other processes (false: the file could not be mapped).
    public var isShared: Bool { word != nil }

    /// The counter's value now.
    public var current: UInt64 {
        guard let word else { return 0 }
        return tts_atomic_load_u64(word)
    }

    /// Says to every process on this store that a clip row went away or changed its blob.
    public func advance() {
        guard let word else { return }
        tts_atomic_add_u64(word, 1)
    }
}
