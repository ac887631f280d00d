import Foundation
import TTSConcurrency
import TTSCore
import TTSStore

/// What `verify` found, and with `repair` what it did about it.
public struct VerifyReport: Sendable {
    public enum ProblemKind: String, Sendable {
        /// A row points at a blob file that is not there.
        case missingBlob = "missing-blob"
        /// The file's bytes do not hash to its name.
        case corruptBlob = "corrupt-blob"
        /// The bytes hash right but are not a playable WAV file.
        case invalidAudio = "invalid-audio"
        /// The row's size, sample rate or duration disagrees with its (sound) blob.
        case rowMismatch = "row-mismatch"
        /// The row's own request fields do not key to the key it is stored under: it would
        /// answer another request's text with this audio (an altered row, or one copied from a
        /// shared entry before those were checked). The blob may be sound for its own request.
        case keyMismatch = "key-mismatch"
    }

    public struct Problem: Sendable {
        public var kind: ProblemKind
        public var blob: BlobHash
        /// Clips affected (none for a damaged blob no row points at).
        public var keys: [RequestKey]
        public var detail: String
    }

    /// `PRAGMA integrity_check` findings for the index file itself (or why it could not be
    /// checked); any makes the store unclean, whatever the rows say.
    public var indexProblems: [String] = []
    public var sampled = false
    public var checkedClips = 0
    public var checkedBlobs = 0
    public var problems: [Problem] = []
    /// Sound blobs no row points at: harmless, `gc` removes them after its grace period.
    public var orphanBlobs: [BlobHash] = []
    /// Leftovers of interrupted writes in `<store>/tmp`, older than a minute.
    public var strayTempFiles: [String] = []

    // Repairs (only with `repair`).
    public var repaired = false
    public var droppedRows: [RequestKey] = []
    public var quarantined: [String] = []
    public var removedTempFiles: [String] = []
    /// With repair of a damaged index: where the damaged file was kept, how many rows were
    /// carried into the rebuilt one, and the key ranges whose rows could not be read.
    public var damagedIndexKeptAt: String?
    public var salvagedRows = 0
    public var lostKeyRanges: [String] = []

    public var isClean: Bool { problems.isEmpty && indexProblems.isEmpty }
}

/// Checks the local tier end to end: the SQLite file (`PRAGMA integrity_check`, rebuilt from
/// its readable rows by `repair`, the damaged file kept aside), every row against its blob (present, hash matches the
/// name, a valid WAV, the row's size, rate and duration) and against its own key (its request
/// fields must key to it), every blob against the index, and leftovers in
/// `tmp/`. With `repair`, drops rows whose blob is gone or bad, moves damaged blobs to
/// `<store>/quarantine/`, and removes stray temp files, so the store then verifies clean.
///
/// ```swift
/// let report = try await StoreVerifier(index: index, blobs: blobs).verify(repair: false, sample: nil)
/// report.isClean
/// ```
public struct StoreVerifier: Sendable {
    public let index: ClipIndex
    public let blobs: BlobStore
    /// Temp files younger than this may belong to a write in progress.
    public var tempFileGrace: TimeInterval = 60

    /// Checks the local tier's index and blobs.
    public init(local: LocalTier) {
        self.init(index: local.index, blobs: local.blobs)
    }

    public init(index: ClipIndex, blobs: BlobStore) {
        self.index = index
        self.blobs = blobs
    }

    /// - Parameter sample: check only this many clips, chosen at random (and skip the walk over
    ///   blobs no row points at); nil checks everything.
    public func verify(repair: Bool, sample: Int?) async throws -> VerifyReport {
        try await Blocking.run { [self] in try run(repair: repair, sample: sample) }
    }

    func run(repair: Bool, sample: Int?) throws -> VerifyReport {
        var report = VerifyReport()
        report.sampled = sample != nil
        // The file first: a damaged page can leave a table scan working while look-ups fail,
        // and rows read from such a file prove nothing about it.
        do {
            report.indexProblems = try index.integrityCheck()
        } catch {
            report.indexProblems = [TTSError.message(of: error)]
        }
        if !report.indexProblems.isEmpty && repair {
            // Rebuilt from every row still readable; the row-by-row checks below then drop
            // the rows whose blob is gone or bad, against the new file.
            let rows = index.salvageRows()
            report.damagedIndexKeptAt = try index.rebuild(with: rows).path
            report.salvagedRows = rows.clips.count
            report.lostKeyRanges = rows.unreadableRanges
        }
        let clips: [Clip]
        do {
            clips = try sample.map { try index.sampleClips($0) } ?? index.allClips()
        } catch where !report.indexProblems.isEmpty && report.damagedIndexKeptAt == nil {
            // The damage already makes the report unclean; `--repair` reads what it can.
            report.indexProblems.append(TTSError.message(of: error))
            return report
        }
        report.checkedClips = clips.count
        let byBlob = Dictionary(grouping: clips, by: \.blob)
        for blob in byBlob.keys.sorted(by: { $0.hex < $1.hex }) {
            let rows = byBlob[blob]!
            report.checkedBlobs += 1
            if let problem = check(blob, rows: rows) { report.problems.append(contentsOf: problem) }
        }
        if sample == nil {
            let referenced = try index.referencedBlobs()
            for blob in try blobs.allBlobHashes() where !referenced.contains(blob) {
                report.checkedBlobs += 1
                if let problems = check(blob, rows: []) {
                    report.problems.append(contentsOf: problems)
                } else {
                    report.orphanBlobs.append(blob)
                }
            }
        }
        for file in try blobs.strayTempFiles() where (BlobStore.age(ofFile: file.path) ?? 0) > tempFileGrace {
            report.strayTempFiles.append(file.path)
        }
        if repair { try self.repair(&report) }
        return report
    }

    /// The blob's problems, or nil when it and its rows are sound.
    private func check(_ blob: BlobHash, rows: [Clip]) -> [VerifyReport.Problem]? {
        let keys = rows.map(\.key)
        let data: Data
        do {
            data = try blobs.read(blob, verify: false)
        } catch {
            if blobs.size(of: blob) == nil {
                return [.init(kind: .missingBlob, blob: blob, keys: keys, detail: "the file \(blobs.url(for: blob).path) is missing")]
            }
            return [.init(kind: .corruptBlob, blob: blob, keys: keys, detail: TTSError.message(of: error))]
        }
        let actual = BlobHash(of: data)
        if actual != blob {
            return [.init(kind: .corruptBlob, blob: blob, keys: keys,
                          detail: "its \(data.count) bytes hash to \(actual.short)…, not to the name \(blob.short)…")]
        }
        let audio: WAVAudio
        do {
            audio = try WAVAudio.decode(data)
        } catch {
            return [.init(kind: .invalidAudio, blob: blob, keys: keys, detail: "not a valid WAV file: \(TTSError.message(of: error))")]
        }
        let problems = rows.compactMap { row -> VerifyReport.Problem? in
            // The same checks a shared hit makes of Redis metadata (`SharedClipCheck`).
            let recomputed = RequestKey(row.request)
            if recomputed != row.key {
                return .init(kind: .keyMismatch, blob: blob, keys: [row.key],
                             detail: "the row's text, voice, language, engine, model, style and speakers key to \(recomputed.short), not to its key \(row.key.short)")
            }
            if row.bytes != data.count || row.sampleRate != audio.format.sampleRate || abs(row.durationMs - audio.durationMs) > 1 {
                return .init(kind: .rowMismatch, blob: blob, keys: [row.key],
                             detail: "the row says \(row.bytes) bytes at \(row.sampleRate) Hz lasting \(row.durationMs) ms, "
                                 + "the blob has \(data.count) bytes at \(audio.format.sampleRate) Hz lasting \(audio.durationMs) ms")
            }
            return nil
        }
        return problems.isEmpty ? nil : problems
    }

    private func repair(_ report: inout VerifyReport) throws {
        report.repaired = true
        for problem in report.problems {
            for key in problem.keys where try index.remove(key) {
                report.droppedRows.append(key)
            }
            if problem.kind == .corruptBlob || problem.kind == .invalidAudio, let moved = try blobs.quarantine(problem.blob) {
                report.quarantined.append(moved.path)
            }
        }
        for path in report.strayTempFiles where unlink(path) == 0 || errno == ENOENT {
            report.removedTempFiles.append(path)
        }
    }
}
