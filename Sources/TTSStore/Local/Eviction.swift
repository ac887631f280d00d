import Foundation
import Synchronization
import TTSConcurrency
import TTSCore

/// The local tier's byte budget (`TTS_CACHE_MAX_BYTES`) and a running estimate of its use, so
/// checking after each write costs an addition, not a query over the whole index.
///
/// The estimate adds every written clip's bytes (an over-estimate when audio is shared), so
/// it can only trigger an exact count early, never late. When over budget, eviction brings
/// the tier down to `lowWaterFraction` of the budget, so the next exact count is some writes
/// away instead of at every write.
public final class CacheBudget: Sendable {
    public static let lowWaterFraction = 0.9
    /// Guards the budget (changed by `config reload`), the estimate and the running flag.
    private let state: Mutex<State>

    private struct State {
        var maxBytes: Int?
        var hardMaxBytes: Int?
        var estimate: Int?
        var evicting = false

        /// What eviction keeps the tier under: the budget, or the hard limit when lower.
        var effectiveMax: Int? { [maxBytes, hardMaxBytes].compactMap { $0 }.min() }
    }

    public init(maxBytes: Int? = nil, hardMaxBytes: Int? = nil) {
        state = Mutex(State(maxBytes: maxBytes, hardMaxBytes: hardMaxBytes))
    }

    /// TTS_CACHE_HARD_MAX_BYTES; nil: none. Eviction also keeps the tier under it, and
    /// `SpeechService.admitWrite` refuses what pinned clips leave no room for.
    public var hardMaxBytes: Int? {
        get { state.withLock { $0.hardMaxBytes } }
        set { state.withLock { $0.hardMaxBytes = newValue; $0.estimate = nil } }
    }

    /// nil: unlimited.
    public var maxBytes: Int? {
        get { state.withLock { $0.maxBytes } }
        set { state.withLock { $0.maxBytes = newValue; $0.estimate = nil } }
    }

    /// Counts a write; returns the target to evict down to when an eviction is due now.
    func noteWrite(bytes: Int) -> Int? {
        state.withLock { state in
            guard let max = state.effectiveMax, !state.evicting else { return nil }
            if let estimate = state.estimate {
                state.estimate = estimate + bytes
                guard estimate + bytes > max else { return nil }
            }
            state.evicting = true
            return Int(Double(max) * CacheBudget.lowWaterFraction)
        }
    }

    /// Ends an eviction, with the exact bytes in use afterwards (nil: unknown, count next time).
    func settle(usedBytes: Int?) {
        state.withLock { state in
            state.evicting = false
            state.estimate = usedBytes
        }
    }
}

/// What an eviction did, or with `dryRun` would do.
public struct EvictionReport: Sendable {
    public var maxBytes: Int
    public var bytesBefore: Int
    public var bytesAfter: Int
    /// Clips removed, least recently used first, and whether each one freed its blob.
    public var evicted: [(clip: Clip, freedBlob: Bool)]
    public var dryRun: Bool
    /// Unpinned clips ran out before the budget was met: pinned clips alone exceed it.
    public var stillOverBudget: Bool { bytesAfter > maxBytes }
    public var freedBytes: Int { bytesBefore - bytesAfter }
}

/// Removes least recently used, unpinned clips until the local tier fits a byte budget.
///
/// A blob is deleted only when no remaining clip refers to it: the row is deleted and the
/// remaining references counted in one transaction. A process that stores a clip for that same
/// audio right after may find its blob gone on the next hit; that is a miss, and regenerating
/// restores it.
///
/// ```swift
/// let report = try Evictor(index: index, blobs: blobs).evict(toMaxBytes: 1 << 30, dryRun: true)
/// ```
public struct Evictor: Sendable {
    public let index: ClipIndex
    public let blobs: BlobStore

    public init(index: ClipIndex, blobs: BlobStore) {
        self.index = index
        self.blobs = blobs
    }

    /// - Parameter sparing: keys never evicted by this run (the clip just written).
    public func evict(toMaxBytes maxBytes: Int, dryRun: Bool, sparing: Set<RequestKey> = []) throws -> EvictionReport {
        let before = try index.storedBytes()
        var report = EvictionReport(maxBytes: maxBytes, bytesBefore: before, bytesAfter: before, evicted: [], dryRun: dryRun)
        // Clips left per blob, counted on first sight (dry runs remove nothing, so they count).
        var remainingReferences: [BlobHash: Int] = [:]
        var offset = 0
        let page = 256
        while report.bytesAfter > maxBytes {
            let fetchedClips = try index.evictionCandidates(limit: page, offset: offset)
            if fetchedClips.isEmpty { break }
            let fetched = fetchedClips.count
            let candidates = fetchedClips.filter { !sparing.contains($0.key) }
            // A real run deletes what it read, so the next page starts at the top again except
            // for spared clips, which stay in front.
            offset += dryRun ? fetched : fetched - candidates.count
            for clip in candidates where report.bytesAfter > maxBytes {
                let freed: Bool
                if dryRun {
                    let left = try remainingReferences[clip.blob] ?? index.clips(forBlob: clip.blob).count
                    remainingReferences[clip.blob] = left - 1
                    freed = left - 1 == 0
                } else {
                    guard let removal = try index.removeClip(clip.key) else { continue }  // gone meanwhile
                    freed = removal.blobIsUnreferenced
                    if freed { try blobs.remove(clip.blob) }
                }
                if freed { report.bytesAfter -= clip.bytes }
                report.evicted.append((clip, freed))
            }
        }
        return report
    }
}
