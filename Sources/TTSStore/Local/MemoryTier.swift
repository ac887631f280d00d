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
/// A hit is counted in the entry it was answered from, not in the index's buffer: no second
/// lock and no second hash of the key per hit. Held hits go to the index (`countingHitsFor`)
/// by the index's rules: a batch of `ClipIndex.hitFlushThreshold`, or once the oldest is
/// `hitFlushInterval` old, and whenever the index flushes or closes (it takes them first).
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
        /// False once dropped (its slot is free): a hit counted between the look-up and the
        /// count must not land on a freed slot.
        var inUse = true
        /// Hits answered from this entry and not yet handed to the index, and the last one's time.
        var hits = 0
        var lastHit = ContinuousClock.Instant.now
    }

    /// The entries and their recency list, threaded through the array by index so a hit moves
    /// its entry to the front without allocating.
    struct Recency {
        var slots: [RequestKey: Int] = [:]
        var entries: [Entry] = []
        var free: [Int] = []
        var newest = -1
        var oldest = -1
        /// Hits held (in entries and in `dropped`), and when the oldest of them was counted.
        var heldHits = 0
        var heldSince = ContinuousClock.Instant.now
        /// The held hits of entries dropped since the last hand-over.
        var dropped: [RequestKey: ClipIndex.PendingHit] = [:]
    }

    public let capacity: Int
    private let generation: StoreGeneration
    /// The blob folder the entries' files are in, when known: their `stat` starts from it.
    private let folder: BlobFolder?
    private let recency = Mutex(Recency())
    /// Where counted hits go (nil: the caller counts hits itself).
    private let index: ClipIndex?

    /// - Parameters:
    ///   - capacity: entries kept; 0 turns the tier off.
    ///   - blobs: the store the remembered files are in (a faster `stat` per hit).
    ///   - index: the index that hits counted by `clip(for:countingHitAt:)` go to.
    public init(capacity: Int, generation: StoreGeneration, blobs: BlobStore? = nil, countingHitsFor index: ClipIndex? = nil) {
        self.capacity = max(0, capacity)
        self.generation = generation
        folder = blobs?.folder
        self.index = index
        if let index, capacity > 0 { index.addHitSource(self) }
    }

    private func status(of path: String) -> stat? {
        folder?.status(of: path) ?? BlobFolder.status(ofFullPath: path)
    }

    public var isEnabled: Bool { capacity > 0 }

    public var count: Int { recency.withLock { $0.slots.count } }

    /// The clip and its blob's path when the entry is still valid; nil otherwise (a stale entry
    /// is dropped).
    ///
    /// `countingHitAt`: the hit's time, to count it in the entry (for the index given at
    /// `init`); nil counts nothing.
    public func clip(for key: RequestKey, countingHitAt hitTime: ContinuousClock.Instant? = nil) -> (clip: Clip, path: String)? {
        guard capacity > 0 else { return nil }
        let now = generation.current
        guard let (entry, slot) = recency.withLock({ state -> (Entry, Int)? in
            guard let slot = state.slots[key] else { return nil }
            let entry = state.entries[slot]
            guard entry.generation == now else {
                Self.drop(slot, key: key, from: &state)
                return nil
            }
            Self.moveToFront(slot, in: &state)
            return (entry, slot)
        }) else { return nil }
        guard let info = status(of: entry.path), UInt64(info.st_ino) == entry.inode, Int(info.st_size) == entry.size else {
            forget(key)
            return nil
        }
        if let hitTime, let index { count(hitTime, at: slot, of: key, for: index) }
        return (entry.clip, entry.path)
    }

    /// Counts a hit in its entry (found again by slot, not by key); hands the held hits to the
    /// index when they are due.
    private func count(_ hitTime: ContinuousClock.Instant, at slot: Int, of key: RequestKey, for index: ClipIndex) {
        let due = recency.withLock { state -> (hits: [RequestKey: ClipIndex.PendingHit], count: Int)? in
            if slot < state.entries.count, state.entries[slot].inUse, state.entries[slot].clip.key == key {
                state.entries[slot].hits += 1
                state.entries[slot].lastHit = hitTime
            } else {
                // Dropped since the look-up: held with the dropped entries' hits.
                state.dropped[key, default: ClipIndex.PendingHit(count: 0, lastUsed: Date())].count += 1
            }
            if state.heldHits == 0 { state.heldSince = hitTime }
            state.heldHits += 1
            guard state.heldHits >= ClipIndex.hitFlushThreshold || hitTime >= state.heldSince + index.hitFlushInterval else { return nil }
            return Self.takeHeld(from: &state)
        }
        if let due { index.writeHits(due.hits, count: due.count) }
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

    /// Drops everything (the held hits stay held).
    public func forgetAll() {
        recency.withLock { state in
            var emptied = Recency()
            emptied.dropped = state.dropped
            emptied.heldHits = state.heldHits
            emptied.heldSince = state.heldSince
            for entry in state.entries where entry.inUse && entry.hits > 0 { Self.hold(entry, in: &emptied.dropped) }
            state = emptied
        }
    }

    // MARK: Held hits

    /// Every held hit, as the index's pending hits (wall-clock last use), and none held after.
    private static func takeHeld(from state: inout Recency) -> (hits: [RequestKey: ClipIndex.PendingHit], count: Int) {
        let count = state.heldHits
        guard count > 0 else { return ([:], 0) }
        let clocks = (wall: Date(), monotonic: ContinuousClock.now)
        var hits = state.dropped
        hits.reserveCapacity(min(count, state.slots.count) + state.dropped.count)
        for slot in state.entries.indices where state.entries[slot].hits > 0 {
            hold(state.entries[slot], in: &hits, clocks: clocks)
            state.entries[slot].hits = 0
        }
        state.dropped = [:]
        state.heldHits = 0
        return (hits, count)
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
        state.entries[slot].inUse = false
        if state.entries[slot].hits > 0 {
            hold(state.entries[slot], in: &state.dropped)
            state.entries[slot].hits = 0
        }
    }

    /// Adds an entry's hits to `hits` as the index keeps them: their count, and the last one's
    /// wall-clock time (read from the monotonic one, against the clocks' readings now).
    private static func hold(_ entry: Entry, in hits: inout [RequestKey: ClipIndex.PendingHit],
                             clocks: (wall: Date, monotonic: ContinuousClock.Instant) = (Date(), .now)) {
        let lastUsed = clocks.wall.addingTimeInterval(-(clocks.monotonic - entry.lastHit).seconds)
        hits[entry.clip.key, default: ClipIndex.PendingHit(count: 0, lastUsed: lastUsed)]
            .add(ClipIndex.PendingHit(count: entry.hits, lastUsed: lastUsed))
    }
}

extension MemoryTier: HitSource {
    func takeHeldHits() -> (hits: [RequestKey: ClipIndex.PendingHit], count: Int) {
        recency.withLock { Self.takeHeld(from: &$0) }
    }

    var heldHitCount: Int { recency.withLock { $0.heldHits } }

    func dropHeldHits(for key: RequestKey) {
        recency.withLock { state in
            var dropped = state.dropped.removeValue(forKey: key)?.count ?? 0
            if let slot = state.slots[key] {
                dropped += state.entries[slot].hits
                state.entries[slot].hits = 0
            }
            state.heldHits -= dropped
        }
    }
}
