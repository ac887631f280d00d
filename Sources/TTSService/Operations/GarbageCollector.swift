import Foundation
import TTSConcurrency
import TTSCore
import TTSStore

/// What `gc` removed (or with `dryRun` would remove).
public struct GarbageReport: Sendable {
    public var dryRun = false
    /// Blob files no row points at, older than the grace period.
    public var orphanBlobs: [BlobHash] = []
    /// Orphans younger than the grace period, left for a writer that may be about to index them.
    public var freshOrphans = 0
    public var staleTempFiles: [String] = []
    /// Converted audio (`<store>/converted/…/<blob>.<ext>`) whose source blob is gone.
    public var unusedConversions: [String] = []
    public var freedBytes = 0
    public var checkpoint: IndexCheckpoint?
    public var vacuumed = false
}

/// Removes what no clip needs: orphan blobs (after a grace period, so a concurrent writer's
/// blob that is not indexed yet survives), temp files of interrupted writes older than an
/// hour, and converted exports of blobs that are gone; then lets SQLite optimize and truncate
/// its write-ahead log, and with `vacuum` rebuild the file.
///
/// ```swift
/// let report = try await GarbageCollector(index: index, blobs: blobs).collect(dryRun: true, vacuum: false)
/// ```
public struct GarbageCollector: Sendable {
    public let index: ClipIndex
    public let blobs: BlobStore
    public var orphanGrace: TimeInterval = 3600
    public var tempFileGrace: TimeInterval = 3600

    /// Collects in the local tier's index and blobs.
    public init(local: LocalTier) {
        self.init(index: local.index, blobs: local.blobs)
    }

    public init(index: ClipIndex, blobs: BlobStore) {
        self.index = index
        self.blobs = blobs
    }

    public func collect(dryRun: Bool, vacuum: Bool, now: Date = Date()) async throws -> GarbageReport {
        try await Blocking.run { [self] in try run(dryRun: dryRun, vacuum: vacuum, now: now) }
    }

    func run(dryRun: Bool, vacuum: Bool, now: Date) throws -> GarbageReport {
        var report = GarbageReport()
        report.dryRun = dryRun
        let referenced = try index.referencedBlobs()
        for blob in try blobs.allBlobHashes() where !referenced.contains(blob) {
            guard let age = blobs.age(of: blob, now: now), age > orphanGrace else {
                report.freshOrphans += 1
                continue
            }
            // Indexed since the list was read: a writer got there first.
            if try index.isReferenced(blob) { continue }
            let size = blobs.size(of: blob) ?? 0
            if !dryRun { try blobs.remove(blob) }
            report.orphanBlobs.append(blob)
            report.freedBytes += size
        }
        for file in try blobs.strayTempFiles() {
            guard let age = BlobStore.age(ofFile: file.path, now: now), age > tempFileGrace else { continue }
            let size = (try? FileManager.default.attributesOfItem(atPath: file.path)[.size] as? Int) ?? 0
            if !dryRun && unlink(file.path) != 0 && errno != ENOENT { continue }
            report.staleTempFiles.append(file.path)
            report.freedBytes += size
        }
        for file in conversions() {
            let name = (file as NSString).lastPathComponent
            guard let hash = BlobHash(hex: String(name.prefix(64))), !blobs.contains(hash) else { continue }
            let size = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0
            if !dryRun && unlink(file) != 0 && errno != ENOENT { continue }
            report.unusedConversions.append(file)
            report.freedBytes += size
        }
        if !dryRun {
            report.checkpoint = try index.optimize(vacuum: vacuum)
            report.vacuumed = vacuum
        }
        return report
    }

    /// Files under `<store>/converted/` (none when the folder does not exist).
    private func conversions() -> [String] {
        let root = blobs.layout.convertedURL.path
        guard let walker = FileManager.default.enumerator(atPath: root) else { return [] }
        var files: [String] = []
        while let relative = walker.nextObject() as? String {
            let path = root + "/" + relative
            var isFolder: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), !isFolder.boolValue { files.append(path) }
        }
        return files.sorted()
    }
}
