import Dispatch
import Foundation
import Glibc
import Synchronization
import TTSCore
import TTSStore

/// How an export runs: where to, file names, manifest, link or copy, conversion, and what may
/// be replaced or removed.
public struct ExportOptions: Sendable {
    /// `auto` links when the folder is on the store's file system and copies otherwise;
    /// `always` fails instead of copying; `never` (`--copy`) always copies.
    public enum LinkMode: String, Sendable, CaseIterable {
        case auto, always, never
    }

    public var directory: URL
    public var template: FileNameTemplate
    public var manifest: ManifestFormat
    public var link: LinkMode
    /// nil exports the cached audio as it is.
    public var target: AudioTarget?
    /// Replace a different file found under an export name (never done silently).
    public var force: Bool
    /// Remove files an earlier export's manifest lists that this export does not select.
    public var prune: Bool
    /// Plan and report, write nothing (not even the conversion cache).
    public var dryRun: Bool

    public init(directory: URL, template: FileNameTemplate, manifest: ManifestFormat = .csv, link: LinkMode = .auto,
                target: AudioTarget? = nil, force: Bool = false, prune: Bool = false, dryRun: Bool = false) {
        self.directory = directory
        self.template = template
        self.manifest = manifest
        self.link = link
        self.target = target
        self.force = force
        self.prune = prune
        self.dryRun = dryRun
    }
}

/// What happened (or, in a dry run, would happen) to one file.
public struct ExportFileResult: Sendable, Equatable {
    public enum Action: String, Sendable {
        case link, copy, skip, replace, fail, remove
    }

    /// Relative to the export folder.
    public var file: String
    /// The clip's request key (nil for a pruned file whose manifest entry had none).
    public var key: String?
    public var action: Action
    public var message: String?
}

/// Progress of a running export, for the progress bar.
public struct ExportProgress: Sendable {
    public var done: Int
    public var total: Int
    public var file: String
}

/// The counts an export reports, and each file's result.
public struct ExportSummary: Sendable {
    public var directory: String
    public var dryRun = false
    /// Files the selection maps to.
    public var planned = 0
    /// Files written by this run (linked + copied; replacements included).
    public var exported = 0
    public var linked = 0
    public var copied = 0
    /// Already in place with identical bytes.
    public var skipped = 0
    /// Conversions computed by this run (cache misses); cached conversions are not counted.
    public var converted = 0
    public var failed = 0
    public var pruned = 0
    /// Files of earlier exports that this one did not select and left in place (no --prune).
    public var kept = 0
    /// Bytes of the files written by this run.
    public var bytes = 0
    /// The manifest written, if any.
    public var manifest: String?
    public var cancelled = false
    public var files: [ExportFileResult] = []
    /// Things a person should know that are not failures (a changed file left unpruned).
    public var warnings: [String] = []

    public init(directory: String) {
        self.directory = directory
    }
}

/// A file of audio ready to export: a blob as it is, or a converted copy of it.
struct ExportSource: Sendable, Equatable {
    var path: String
    var sha256: String
    var bytes: Int
    var durationMs: Int
    var sampleRate: Int
    var encoding: AudioEncoding = .pcm16
    var bitrate: Int?
    /// False for a conversion not yet flushed to disk (`ConvertedAudio.durable`): it is linked
    /// under a temp name and named with the batch, after the cache's `flush()`.
    var durable = true
}

/// Writes clips into a folder: names from the plan, audio linked from the store (or copied,
/// or converted through `ConvertedAudioCache`), a manifest recording every file, and `--prune`
/// removing what an earlier export wrote and this one no longer selects.
///
/// Guarantees: every file appears complete or not at all (a link of the blob straight under
/// its new name, or a temp name in its folder, then rename or link; copies get their names
/// only after their bytes are on disk); a file already under a name is skipped when identical and never replaced
/// unless `force`; prune removes only files an earlier manifest lists, still unchanged; no
/// name leaves the folder. Re-running the same export changes nothing.
///
/// ```swift
/// let exporter = Exporter(local: service.local)
/// let items = try ExportPlan.items(in: service.local, matching: ClipFilter(voice: "en-us"))
/// let summary = try await exporter.export(items, options: ExportOptions(directory: out, template: try FileNameTemplate()))
/// ```
public final class Exporter: Sendable {
    public let blobs: BlobStore
    public let converter: ConvertedAudioCache

    /// Copies flushed to disk with one syncfs and then named together (see `CopyBatch`).
    let copyBatchFiles: Int

    /// `converter`: the service's conversion path (`service.conversions`), so exports and the
    /// server share its cache, single-flight and counters; nil makes one for this exporter.
    public convenience init(blobs: BlobStore, converter: ConvertedAudioCache? = nil) {
        self.init(blobs: blobs, converter: converter, copyBatchFiles: CopyBatch.maxFiles)
    }

    /// Exports from the local tier's blobs, converting through `converter` (see above).
    public convenience init(local: LocalTier, converter: ConvertedAudioCache? = nil) {
        self.init(blobs: local.blobs, converter: converter)
    }

    init(blobs: BlobStore, converter: ConvertedAudioCache? = nil, copyBatchFiles: Int) {
        self.blobs = blobs
        self.copyBatchFiles = max(copyBatchFiles, 1)
        self.converter = converter ?? ConvertedAudioCache(blobs: blobs)
    }

    /// Runs the export on its own thread (it blocks on the disk for as long as it takes, which
    /// must not hold one of the two cooperative threads). Cancelling the task stops it after
    /// the current file; the manifest then records what was written and `cancelled` is set.
    public func export(_ items: [ExportItem], options: ExportOptions,
                       progress: @escaping @Sendable (ExportProgress) -> Void = { _ in }) async throws -> ExportSummary {
        let flag = CancellationFlag()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                DispatchQueue(label: "tts-repl.export").async {
                    continuation.resume(with: Result {
                        try self.run(items, options: options, progress: progress, isCancelled: { flag.isSet })
                    })
                }
            }
        } onCancel: {
            flag.set()
        }
    }

    /// The export itself, blocking. Throws only for problems that stop the whole export
    /// (unusable folder, bad options, unreadable manifest with --prune); a file that fails is
    /// counted in `failed` and the rest go on.
    public func run(_ items: [ExportItem], options: ExportOptions,
                    progress: (ExportProgress) -> Void = { _ in }, isCancelled: () -> Bool = { false }) throws -> ExportSummary {
        var dir = options.directory.standardizedFileURL.path
        while dir.count > 1 && dir.hasSuffix("/") { dir.removeLast() }
        var summary = ExportSummary(directory: dir)
        summary.dryRun = options.dryRun

        if options.prune && options.manifest == .none {
            throw TTSError.validation("prune", "--prune needs a manifest to record what it may remove; drop --manifest none")
        }
        if options.prune && items.isEmpty {
            throw TTSError.validation("prune", "the selection matches no clips, so --prune would remove every file exported to \(dir) before; check the selection options, or delete the folder yourself")
        }
        let useLinks = try linkDecision(dir, options.link)
        try prepareFolder(dir, create: !options.dryRun)

        let folders = OpenFolders(export: options.dryRun ? nil : ExportFileSystem.OpenFolder(dir),
                                  blobs: ExportFileSystem.OpenFolder(blobs.layout.blobsURL.path))
        let (previous, previousManifests) = try readManifests(in: dir, required: options.prune, warnings: &summary.warnings)
        // File names end as the encoding does (`.mp3`), unless the pattern chose otherwise.
        let template = options.target.map { options.template.withFileExtension($0.encoding.fileExtension) } ?? options.template
        let plan = ExportPlan(items: items, template: template)
        summary.planned = plan.files.count

        var entries: [ManifestEntry] = []
        entries.reserveCapacity(plan.files.count + previous.count)
        summary.files.reserveCapacity(plan.files.count)
        var touchedFolders = Set<String>()
        var readyFolders = Set<String>()
        var batch = CopyBatch(maxFiles: copyBatchFiles)
        func record(_ named: FileNamer.Named, _ outcome: Outcome) {
            entries.append(outcome.entry)
            summary.files.append(ExportFileResult(file: named.path, key: named.item.clip.key.hex, action: outcome.action))
            switch outcome.action {
            case .skip:
                summary.skipped += 1
            default:
                if !options.dryRun {
                    summary.exported += 1
                    summary.bytes += outcome.entry.bytes
                    if outcome.linked { summary.linked += 1 } else { summary.copied += 1 }
                    touchedFolders.insert(outcome.folder)
                }
            }
        }
        func fail(_ named: FileNamer.Named, _ error: any Error) {
            summary.failed += 1
            let message = TTSError.message(of: error)
            summary.files.append(ExportFileResult(file: named.path, key: named.item.clip.key.hex, action: .fail, message: message))
        }
        // Copies wait under temporary names until one syncfs has put a batch of them on disk,
        // and only then get their names (see `CopyBatch`).
        func installBatch() {
            let pending = batch.take()
            guard !pending.isEmpty else { return }
            do {
                // Linked conversions not yet on disk first, then the copies.
                try converter.flush()
                try ExportFileSystem.syncFileSystem(containing: dir)
            } catch {
                for (named, outcome) in pending {
                    unlink(outcome.pendingTemp!)
                    fail(named, error)
                }
                return
            }
            for (named, outcome) in pending {
                do {
                    try ExportFileSystem.install(outcome.pendingTemp!, as: dir + "/" + named.path,
                                                 replace: outcome.action == .replace)
                    record(named, outcome)
                } catch {
                    unlink(outcome.pendingTemp!)
                    fail(named, error)
                }
            }
        }
        for (i, named) in plan.files.enumerated() {
            if isCancelled() {
                summary.cancelled = true
                break
            }
            do {
                let outcome = try exportOne(named, into: dir, folders: folders, options: options, useLinks: useLinks,
                                            readyFolders: &readyFolders)
                if outcome.convertedNow { summary.converted += 1 }
                if outcome.pendingTemp != nil {
                    if batch.add(named, outcome) { installBatch() }
                } else {
                    record(named, outcome)
                }
            } catch {
                fail(named, error)
            }
            progress(ExportProgress(done: i + 1, total: plan.files.count, file: named.path))
        }
        installBatch()

        // Earlier files this run did not write: selected ones (failed, or not reached before a
        // cancel) stay recorded; the others are pruned, or stay recorded without --prune.
        let selected = Set(plan.files.map { $0.path.lowercased() })
        let written = Set(entries.map { $0.file })
        for entry in previous where !written.contains(entry.file) {
            guard SafePath.isSafeRelativePath(entry.file), !ManifestFormat.reservedNames.contains(entry.file.lowercased()) else {
                summary.warnings.append("the earlier manifest lists '\(entry.file)', which is not a name this exporter writes; ignored it")
                continue
            }
            let path = dir + "/" + entry.file
            guard let info = ExportFileSystem.info(path) else { continue }  // already gone
            if selected.contains(entry.file.lowercased()) {
                entries.append(entry)
                continue
            }
            if !options.prune || summary.cancelled {
                entries.append(entry)
                summary.kept += 1
                continue
            }
            guard info.isRegular, info.size == entry.bytes, (try? ExportFileSystem.sha256(ofFile: path)) == entry.sha256 else {
                summary.warnings.append("left \(entry.file) in place: it changed since the export that wrote it")
                continue
            }
            if options.dryRun {
                summary.pruned += 1
                summary.files.append(ExportFileResult(file: entry.file, key: entry.key, action: .remove))
                continue
            }
            if unlink(path) == 0 {
                summary.pruned += 1
                summary.files.append(ExportFileResult(file: entry.file, key: entry.key, action: .remove))
                ExportFileSystem.removeEmptyFolders(from: (path as NSString).deletingLastPathComponent, upTo: dir)
            } else {
                summary.failed += 1
                entries.append(entry)
                summary.files.append(ExportFileResult(file: entry.file, key: entry.key, action: .fail,
                                                      message: ExportFileSystem.posixError("cannot remove \(path)").message))
            }
        }

        if !options.dryRun {
            for folder in touchedFolders { ExportFileSystem.syncFolder(folder) }
            if let name = options.manifest.fileName {
                let path = dir + "/" + name
                do {
                    let manifest = ExportManifest.encode(entries, as: options.manifest)
                    // An identical manifest is left as it is (same inode and mtime), as every
                    // unchanged exported file is: a re-export that changes nothing touches nothing.
                    if (try? ExportFileSystem.readFile(path)) != manifest {
                        try ExportFileSystem.replaceAtomically(path, with: manifest)
                    }
                    summary.manifest = path
                    // The new manifest supersedes one of another format: one record per folder.
                    for other in previousManifests where other != name { unlink(dir + "/" + other) }
                    ExportFileSystem.syncFolder(dir)
                } catch {
                    summary.failed += 1
                    summary.files.append(ExportFileResult(file: name, key: nil, action: .fail,
                                                          message: TTSError.message(of: error)))
                }
            }
        }
        return summary
    }

    // MARK: One file

    fileprivate struct Outcome {
        var action: ExportFileResult.Action
        var entry: ManifestEntry
        var linked: Bool
        var convertedNow: Bool
        var folder: String
        /// A copy (or a link to a conversion not yet on disk) under this temporary name, not
        /// yet flushed nor named.
        var pendingTemp: String? = nil
    }

    /// Copies written but not yet named (and links to conversions not yet on disk, which the
    /// converter's `flush()` puts there with the batch). The crash guarantee is the one an fsync per file
    /// gives: a file gets its export name only after its bytes are on disk, so a power cut
    /// leaves at worst hidden temporary files, never a named file with missing bytes. One
    /// syncfs(2) per batch replaces thousands of fsyncs (each a journal commit); the batch is
    /// bounded so an interrupted export leaves few temporary files behind.
    struct CopyBatch {
        static let maxFiles = 1000
        static let maxBytes = 64 << 20
        let maxFiles: Int
        private var files: [(FileNamer.Named, Exporter.Outcome)] = []
        private var bytes = 0

        /// Adds a written copy; true when the batch is full and should be installed.
        init(maxFiles: Int) {
            self.maxFiles = maxFiles
        }

        fileprivate mutating func add(_ named: FileNamer.Named, _ outcome: Outcome) -> Bool {
            files.append((named, outcome))
            bytes += outcome.entry.bytes
            return files.count >= maxFiles || bytes >= CopyBatch.maxBytes
        }

        fileprivate mutating func take() -> [(FileNamer.Named, Outcome)] {
            defer { files = []; bytes = 0 }
            return files
        }
    }

    /// The export folder and the blobs folder held open, so the per-file link and size check
    /// resolve short relative names (nil: not opened, absolute paths are used).
    fileprivate struct OpenFolders {
        var export: ExportFileSystem.OpenFolder?
        var blobs: ExportFileSystem.OpenFolder?
    }

    private func exportOne(_ named: FileNamer.Named, into dir: String, folders: OpenFolders, options: ExportOptions,
                           useLinks: Bool, readyFolders: inout Set<String>) throws -> Outcome {
        let clip = named.item.clip
        let (source, convertedNow, blobName) = try source(for: clip, options: options, blobsFolder: folders.blobs)
        let entry = ManifestEntry(file: named.path, text: clip.text, voice: clip.voice, language: clip.language,
                                  engine: clip.engine, model: clip.model, durationMs: source.durationMs,
                                  sampleRate: source.sampleRate, bytes: source.bytes, sha256: source.sha256, key: clip.key.hex,
                                  encoding: source.encoding.rawValue, bitrate: source.bitrate)
        let folderPath: String
        if let slash = named.path.utf8.lastIndex(of: UInt8(ascii: "/")) {
            folderPath = String(named.path[..<slash])
        } else {
            folderPath = ""
        }
        let folder = folderPath.isEmpty ? dir : dir + "/" + folderPath
        // Subfolders are made (and checked not to be links out of the export) once per run.
        func prepareFolder() throws {
            if !folderPath.isEmpty && !readyFolders.contains(folderPath) {
                try ExportFileSystem.makeFolders(folderPath, under: dir)
                readyFolders.insert(folderPath)
            }
        }

        // The common case, a new name in link mode: one link(2), no temp file, no look first.
        if useLinks && !options.dryRun && !source.path.isEmpty && source.durable {
            try prepareFolder()
            let outcome: ExportFileSystem.NewLinkOutcome
            if let blobName, let blobsFolder = folders.blobs, let exportFolder = folders.export {
                outcome = try ExportFileSystem.linkNew(blobName, in: blobsFolder, as: named.path, in: exportFolder)
            } else {
                outcome = try ExportFileSystem.linkNew(source.path, as: dir + "/" + named.path)
            }
            if outcome == .linked {
                return Outcome(action: .link, entry: entry, linked: true, convertedNow: convertedNow, folder: folder)
            }
            // Taken, or not linkable: the checks below decide.
        }

        // Built only off the fast path: thousands of links need no absolute name.
        let final = dir + "/" + named.path
        var replace = false
        if let existing = ExportFileSystem.info(final) {
            if existing.isRegular {
                if !source.path.isEmpty, let origin = ExportFileSystem.info(source.path),
                   origin.device == existing.device, origin.inode == existing.inode {
                    return Outcome(action: .skip, entry: entry, linked: true, convertedNow: convertedNow, folder: folder)
                }
                if existing.size == source.bytes, (try? ExportFileSystem.sha256(ofFile: final)) == source.sha256 {
                    return Outcome(action: .skip, entry: entry, linked: false, convertedNow: convertedNow, folder: folder)
                }
            }
            if existing.isDirectory {
                throw TTSError.store("\(final) is a folder, so the clip \(clip.key.short) cannot be exported under that name; choose another --name pattern")
            }
            guard options.force else {
                throw TTSError.store("\(named.path) already exists in \(dir) with different content; left it alone. Use --force to replace it, or another --name pattern.")
            }
            replace = true
        }
        if options.dryRun {
            let action: ExportFileResult.Action = replace ? .replace : (useLinks ? .link : .copy)
            return Outcome(action: action, entry: entry, linked: action == .link, convertedNow: convertedNow, folder: folder)
        }

        try prepareFolder()
        let temp = ExportFileSystem.temporaryPath(in: folder)
        do {
            if useLinks, try ExportFileSystem.hardLink(source.path, as: temp) == .linked {
                if !source.durable {
                    // A fresh conversion: named with the batch, once it is on disk.
                    return Outcome(action: replace ? .replace : .link, entry: entry, linked: true,
                                   convertedNow: convertedNow, folder: folder, pendingTemp: temp)
                }
                // A replacement: linked under a temp name, then renamed over the old file.
                try ExportFileSystem.install(temp, as: final, replace: replace)
                return Outcome(action: replace ? .replace : .link, entry: entry, linked: true,
                               convertedNow: convertedNow, folder: folder)
            }
            if options.link == .always {
                throw TTSError.store("cannot hard-link \(source.path) into \(folder): the file system refused. Use --link auto to copy instead.")
            }
            let bytes = try ExportFileSystem.readFile(source.path)
            guard BlobHash(of: bytes).hex == source.sha256 else {
                throw TTSError.store("the stored audio \(source.path) of clip \(clip.key.short) does not match its hash (damaged file); run `verify`, then generate the clip again")
            }
            try ExportFileSystem.writeNew(bytes, to: temp, flush: false)
        } catch {
            unlink(temp)
            throw error
        }
        return Outcome(action: replace ? .replace : .copy, entry: entry, linked: false,
                       convertedNow: convertedNow, folder: folder, pendingTemp: temp)
    }

    /// The file to link or copy: the blob itself, or its conversion to the target.
    /// The third value is the blob's name inside `blobsFolder` when the source is the blob.
    private func source(for clip: Clip, options: ExportOptions,
                        blobsFolder: ExportFileSystem.OpenFolder?) throws -> (ExportSource, Bool, String?) {
        // Every engine stores 16-bit PCM, so a clip needs converting only for another rate or
        // encoding.
        if let target = options.target,
           target.encoding != .pcm16 || (target.sampleRate != nil && target.sampleRate != clip.sampleRate) {
            guard blobs.contains(clip.blob) else { throw missingBlob(clip) }
            let (audio, convertedNow) = try converter.convert(clip, to: target, store: !options.dryRun)
            return (ExportSource(path: audio.path, sha256: audio.sha256, bytes: audio.bytes, durationMs: audio.durationMs,
                                 sampleRate: audio.sampleRate, encoding: audio.encoding, bitrate: audio.bitrate,
                                 durable: audio.durable),
                    convertedNow, nil)
        }
        let path = blobs.path(for: clip.blob)
        var blobName: String?
        if let blobsFolder, path.utf8.count > blobsFolder.path.utf8.count + 1, path.hasPrefix(blobsFolder.path),
           path.utf8[path.utf8.index(path.utf8.startIndex, offsetBy: blobsFolder.path.utf8.count)] == UInt8(ascii: "/") {
            blobName = String(path.utf8.dropFirst(blobsFolder.path.utf8.count + 1))!
        }
        let found = blobName.flatMap { blobsFolder?.info($0) } ?? ExportFileSystem.info(path)
        guard let info = found, info.isRegular else { throw missingBlob(clip) }
        // A link shares the blob without reading it: at least its size must be right (copies
        // are rehashed below; `verify` checks every byte).
        guard info.size == clip.bytes else {
            throw TTSError.store("the stored audio of clip \(clip.key.short) is \(info.size) bytes, not the \(clip.bytes) it was stored with (damaged file); run `verify --repair`, then `say` it again")
        }
        return (ExportSource(path: path, sha256: clip.blob.hex, bytes: info.size, durationMs: clip.durationMs,
                             sampleRate: clip.sampleRate), false, blobName)
    }

    private func missingBlob(_ clip: Clip) -> TTSError {
        TTSError.store("the audio of clip \(clip.key.short) ('\(clip.text.prefix(40))') is missing from the store (blob \(clip.blob.short)); `say` it again to restore it")
    }

    // MARK: Folder, links, manifest

    private func prepareFolder(_ dir: String, create: Bool) throws {
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: dir, isDirectory: &isFolder) {
            guard isFolder.boolValue else {
                throw TTSError.store("cannot export to \(dir): it is a file, not a folder. Choose a folder (it is created when missing).")
            }
            return
        }
        guard create else { return }
        // Made one level at a time, following links the user put in the path (/var/run → /run).
        var current = ""
        for component in dir.split(separator: "/") {
            current += "/" + component
            if mkdir(current, 0o755) == 0 || errno == EEXIST {
                var folder: ObjCBool = false
                if FileManager.default.fileExists(atPath: current, isDirectory: &folder), folder.boolValue { continue }
                throw TTSError.store("cannot create the export folder \(dir): \(current) is a file, not a folder. Choose another export folder.")
            }
            throw ExportFileSystem.posixError("cannot create the export folder \(dir) (at \(current))")
        }
    }

    /// Hard links need the export folder and the store on one file system.
    private func linkDecision(_ dir: String, _ mode: ExportOptions.LinkMode) throws -> Bool {
        guard mode != .never else { return false }
        let storeDevice = ExportFileSystem.device(nearest: blobs.layout.blobsURL.path)
        let sameFileSystem = storeDevice != nil && storeDevice == ExportFileSystem.device(nearest: dir)
        if mode == .always && !sameFileSystem {
            throw TTSError.validation("link", "--link always: \(dir) is on another file system than the store \(blobs.layout.root.path), and hard links cannot cross file systems. Use --link auto (links where it can, copies elsewhere) or --copy.")
        }
        return sameFileSystem
    }

    /// Entries of every manifest present (normally one), and their file names. An unreadable
    /// manifest stops a prune (it is the only record of what may be removed) and is otherwise
    /// replaced, with a warning.
    private func readManifests(in dir: String, required: Bool, warnings: inout [String]) throws -> ([ManifestEntry], [String]) {
        var entries: [ManifestEntry] = []
        var names: [String] = []
        var seen = Set<String>()
        for format in ManifestFormat.allCases {
            guard let name = format.fileName, ExportFileSystem.info(dir + "/" + name)?.isRegular == true else { continue }
            names.append(name)
            do {
                for entry in try ExportManifest.decode(try ExportFileSystem.readFile(dir + "/" + name), as: format)
                where seen.insert(entry.file).inserted {
                    entries.append(entry)
                }
            } catch let error as TTSError {
                let message = "\(dir)/\(name): \(error.message)"
                if required { throw TTSError.store(message) }
                warnings.append(message + " It will be replaced.")
            }
        }
        return (entries, names)
    }
}

/// Set from a task's cancellation handler, read by the export thread between files.
private final class CancellationFlag: Sendable {
    private let value = Atomic<Bool>(false)
    var isSet: Bool { value.load(ordering: .relaxed) }
    func set() { value.store(true, ordering: .relaxed) }
}
