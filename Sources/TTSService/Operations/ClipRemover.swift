import Foundation
import TTSCore
import TTSStore

/// What `rm` removed (or with `dryRun` would remove).
public struct RemovalReport: Sendable {
    public var dryRun = false
    /// Local clips removed.
    public var clips: [Clip] = []
    /// Of those, how many were pinned.
    public var pinned = 0
    /// Blob files deleted because no remaining clip used them, and their bytes.
    public var freedBlobs = 0
    public var freedBytes = 0
    /// Clip entries removed from Redis; nil when Redis is off or could not be reached.
    public var sharedRemoved: Int?
}

/// Removes clips from both tiers: the local row (and its blob when no other clip uses it) and
/// the Redis metadata. The blob's Redis copy is left to its time-to-live, since clips on other
/// machines may share it.
///
/// ```swift
/// let report = try await ClipRemover(service: service).remove([key], dryRun: false)
/// ```
public struct ClipRemover: Sendable {
    public let service: SpeechService

    public init(service: SpeechService) { self.service = service }

    /// Keys unknown locally are still removed from Redis (a clip made on another machine).
    public func remove(_ keys: [RequestKey], dryRun: Bool) async throws -> RemovalReport {
        var report = RemovalReport()
        report.dryRun = dryRun
        let local = service.local
        var sharedRemoved = 0
        var sharedReachable = service.shared.isEnabled
        for key in keys {
            if dryRun {
                if let preview = try local.removalPreview(key) {
                    report.clips.append(preview.clip)
                    if preview.wasPinned { report.pinned += 1 }
                }
                if sharedReachable, let present = try? await service.shared.redisHasClip(key) {
                    if present { sharedRemoved += 1 }
                } else {
                    sharedReachable = false
                }
                continue
            }
            if let removal = try local.remove(key) {
                report.clips.append(removal.clip)
                if removal.wasPinned { report.pinned += 1 }
                if let freed = removal.freedBytes {
                    report.freedBlobs += 1
                    report.freedBytes += freed
                }
            }
            if sharedReachable {
                switch await service.shared.remove(key) {
                case .some(true): sharedRemoved += 1
                case .some(false): break
                case .none: sharedReachable = false
                }
            }
        }
        report.sharedRemoved = sharedReachable ? sharedRemoved : nil
        return report
    }
}
