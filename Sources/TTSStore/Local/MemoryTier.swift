import Foundation
import Glibc
import Synchronization
import TTSCore

/// The tier in front of the local tier for long-lived processes (REPL sessions, `serve`,
/// workers): request key → the clip a hit returns, least recently used out past `capacity`.
///
/// A memory answer must never be a clip another process removed, evicted or replaced. Each
/// entry remembers the store generation it was filled at and its blob file's inode and size;
/// a look-up answers only when the shared `StoreGeneration` has not moved (one load from
/// mapped memory) and one `stat` of the blob still finds the same file. Anything else is a
/// memory miss: the local tier's look-up decides, and refills the entry.
///
/// ```swift
/// let memory = MemoryTier(capacity: 10_000, generation: generation)
/// memory.remember(clip, path: blobPath)
/// memory.clip(for: clip.key)   // the clip, while nothing changed on the disk
/// ```
public final class MemoryTier: Sendable {
    struct Entry {
        var clip: Clip
        var path: String
        var inode: UInt64
        var size: Int
        var generation: UInt64
        var newer: Int
        var older: Int
    }

    /// The entries and their recency list, threaded through the array by index so a hit moves
    /// its entry to the front without allocating.
    struct Recency {
        var slots: [RequestKey: Int] = [:]
        var entries: [Entry] = []
        var free: [Int] = []
        var newest = -1
        var oldest = -1
    }

    public let capacity: Int
    private let generation: StoreGeneration
    /// The blob folder the entries' files are in, when known: their `stat` starts from it.
    private let folder: BlobFolder?
    private let recency = Mutex(Recency())

    /// - Parameters:
    ///   - capacity: entries kept; 0 turns the tier off.
    ///   - blobs: the store the remembered files are in (a faster `stat` per hit).
    public init(capacity: Int, generation: StoreGeneration, blobs: BlobStore? = nil) {
        self.capacity = max(0, capacity)
        self.generation = generation
        folder = blobs?.folder
    }

    private func status(of path: String) -> stat? {
        folder?.status(of: path) ?? BlobFolder.status(ofFullPath: path)
    }

    public var isEnabled: Bool { capacity > 0 }

    public var count: Int { recency.withLock { $0.slots.count } }

    /// The clip and its blob's path when the entry is still valid; nil otherwise (a stale entry
    /// is dropped).
    public func clip(for key: RequestKey) -> (clip: Clip, path: String)? {
        guard capacity > 0 else { return nil }
        let now = generation.current
        guard let entry = recency.withLock({ state -> Entry? in
            guard let slot = state.slots[key] else { return nil }
            let entry = state.entries[slot]
            guard entry.generation == now else {
                Self.drop(slot, key: key, from: &state)
                return nil
            }
            Self.moveToFront(slot, in: &state)
            return entry
        }) else { return nil }
        guard let info = status(of: entry.path), UInt64(info.st_ino) == entry.inode, Int(info.st_size) == entry.size else {
            forget(key)
            return nil
        }
        return (entry.clip, entry.path)
    }

    /// Remembers a clip the local tier just answered or stored, with its blob's current inode.
    /// `generation` is the store generation read before the local look-up, so a removal that
    /// raced with it leaves the entry already stale.
    public func remember(_ clip: Clip, path: String, generation seen: UInt64? = nil) {
        guard capacity > 0 else { return }
        guard let info = status(of: path) else { return }
        remember(clip, file: BlobFile(path: path, inode: UInt64(info.st_ino), size: Int(info.st_size)), generation: seen)
    }

    /// `remember(_:path:generation:)` for a caller that has just stat'ed the blob: saves the
    /// second `stat`.
    public func remember(_ clip: Clip, file: BlobFile, generation seen: UInt64? = nil) {
        guard capacity > 0 else { return }
        let path = file.path
        let stamp = seen ?? generation.current
        recency.withLock { state in
            if let slot = state.slots[clip.key] {
                state.entries[slot].clip = clip
                state.entries[slot].path = path
                state.entries[slot].inode = file.inode
                state.entries[slot].size = file.size
                state.entries[slot].generation = stamp
                Self.moveToFront(slot, in: &state)
                return
            }
            if state.slots.count >= capacity, state.oldest >= 0 {
                let oldest = state.oldest
                Self.drop(oldest, key: state.entries[oldest].clip.key, from: &state)
            }
            let entry = Entry(clip: clip, path: path, inode: file.inode, size: file.size,
                              generation: stamp, newer: -1, older: -1)
            let slot: Int
            if let reused = state.free.popLast() {
                state.entries[reused] = entry
                slot = reused
            } else {
                state.entries.append(entry)
                slot = state.entries.count - 1
            }
            state.slots[clip.key] = slot
            Self.link(slot, in: &state)
        }
    }

    /// Drops one key (this process removed or replaced its clip).
    public func forget(_ key: RequestKey) {
        recency.withLock { state in
            if let slot = state.slots[key] { Self.drop(slot, key: key, from: &state) }
        }
    }

    /// Drops everything.
    public func forgetAll() {
        recency.withLock { $0 = Recency() }
    }

    /// The store generation now, to pass to `remember` after a local look-up.
    public var currentGeneration: UInt64 { generation.current }

    // MARK: Recency list

    private static func link(_ slot: Int, in state: inout Recency) {
        state.entries[slot].older = state.newest
        state.entries[slot].newer = -1
        if state.newest >= 0 { state.entries[state.newest].newer = slot }
        state.newest = slot
        if state.oldest < 0 { state.oldest = slot }
    }

    private static func unlink(_ slot: Int, in state: inout Recency) {
        let newer = state.entries[slot].newer, older = state.entries[slot].older
        if newer >= 0 { state.entries[newer].older = older } else { state.newest = older }
        if older >= 0 { state.entries[older].newer = newer } else { state.oldest = newer }
    }

    private static func moveToFront(_ slot: Int, in state: inout Recency) {
        guard state.newest != slot else { return }
        unlink(slot, in: &state)
        link(slot, in: &state)
    }

    private static func drop(_ slot: Int, key: RequestKey, from state: inout Recency) {
        unlink(slot, in: &state)
        state.slots[key] = nil
        state.free.append(slot)
    }
}
