import Foundation
import Glibc
import XCTest
import TTSCore
import TTSEngines
import TTSStore
@testable import TTSService

/// A store with clips made by the real espeak engine (or the tone double), and an export folder.
struct ExportFixture {
    let store: ServiceFixture
    let out: URL
    let exporter: Exporter

    init(_ test: XCTestCase) throws {
        store = try ServiceFixture()
        out = store.root.deletingLastPathComponent().appendingPathComponent("tts-export-\(UUID().uuidString)")
        exporter = Exporter(blobs: store.service.local.blobs)
        let (root, out) = (store.root, out)
        test.addTeardownBlock {
            for url in [root, out] {
                _ = try? ExportFixture.chattr("-i", url, recursive: true)
                try? FileManager.default.removeItem(at: url)
            }
        }
    }

    @discardableResult
    func say(_ texts: [String], engine: String = "espeak", voice: String = "", language: String = "") async throws -> [Clip] {
        var clips: [Clip] = []
        for text in texts {
            clips.append(try await store.service.generateOrFetch(store.request(text, engine: engine, voice: voice, language: language)).clip)
        }
        return clips
    }

    func items(_ filter: ClipFilter = .all) throws -> [ExportItem] {
        try ExportPlan.items(in: store.service.local.index, matching: filter)
    }

    func options(_ pattern: String = FileNameTemplate.defaultPattern, manifest: ManifestFormat = .csv,
                 link: ExportOptions.LinkMode = .auto, target: AudioTarget? = nil, force: Bool = false,
                 prune: Bool = false, dryRun: Bool = false, to folder: URL? = nil) throws -> ExportOptions {
        ExportOptions(directory: folder ?? out, template: try FileNameTemplate(pattern), manifest: manifest, link: link,
                      target: target, force: force, prune: prune, dryRun: dryRun)
    }

    func export(_ filter: ClipFilter = .all, _ options: ExportOptions) async throws -> ExportSummary {
        try await exporter.export(try items(filter), options: options)
    }

    /// Every file and folder under the export folder, hidden ones included.
    func listing(_ folder: URL? = nil) -> [String] {
        (FileManager.default.enumerator(atPath: (folder ?? out).path)?.compactMap { $0 as? String } ?? []).sorted()
    }

    func manifest(_ format: ManifestFormat = .csv, in folder: URL? = nil) throws -> [ManifestEntry] {
        let url = (folder ?? out).appendingPathComponent(format.fileName!)
        return try ExportManifest.decode(try Data(contentsOf: url), as: format)
    }

    static func inode(_ path: String) -> (UInt64, Int)? {
        var s = stat()
        guard stat(path, &s) == 0 else { return nil }
        return (UInt64(s.st_ino), Int(s.st_nlink))
    }

    /// `chattr` sets the immutable attribute, which stops even root from creating, renaming or
    /// linking names in a folder; permission bits do not (tests run as root).
    @discardableResult
    static func chattr(_ flag: String, _ url: URL, recursive: Bool = false) throws -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/chattr")
        process.arguments = (recursive ? ["-R", flag] : [flag]) + [url.path]
        process.standardError = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus == 0
    }
}

final class ExporterTests: XCTestCase {
    func testExportWritesEveryClipAndTheManifestSha256MatchesEveryFile() async throws {
        let f = try ExportFixture(self)
        try await f.say(["Hello world", "Good morning", "Press one for sales"])
        for format in [ManifestFormat.csv, .json, .jsonl] {
            let folder = f.out.appendingPathComponent(format.rawValue)
            let summary = try await f.export(.all, try f.options(manifest: format, to: folder))
            XCTAssertEqual(summary.exported, 3)
            XCTAssertEqual(summary.failed, 0)
            XCTAssertEqual(summary.manifest, folder.path + "/manifest.\(format.rawValue)")
            let entries = try f.manifest(format, in: folder)
            XCTAssertEqual(entries.count, 3)
            for entry in entries {
                let data = try Data(contentsOf: folder.appendingPathComponent(entry.file))
                XCTAssertEqual(SHA256.hash(data).hex, entry.sha256, entry.file)
                XCTAssertEqual(data.count, entry.bytes)
                let audio = try WAVAudio.decode(data)
                XCTAssertEqual(audio.format.sampleRate, entry.sampleRate)
                XCTAssertEqual(audio.durationMs, entry.durationMs)
                XCTAssertEqual(entry.engine, "espeak")
                XCTAssertEqual(entry.key.count, 64)
            }
            XCTAssertEqual(Set(entries.map(\.text)), ["Hello world", "Good morning", "Press one for sales"])
        }
    }

    func testHostileTextsGetSafeDistinctNamesInsideTheFolder() async throws {
        let f = try ExportFixture(self)
        let texts = ["../../etc/passwd", "/absolute/path", "a\u{0}b", "👋🌍", "مرحبا بالعالم",
                     String(repeating: "Long words here ", count: 19).trimmingCharacters(in: .whitespaces)]
        XCTAssertEqual(texts.last?.count, 303)
        let clips = try await f.say(texts)
        // A NUL that reached the index by another route (normalisation turns the typed one into a space).
        var raw = clips[2]
        raw.text = "raw\u{0}nul/../x"
        raw.key = RequestKey(AudioRequest(text: "raw-nul-row", engine: "espeak", model: "espeak-ng"))
        try f.store.service.local.index.upsert(raw)
        for pattern in ["{slug}.wav", "{voice}/{slug}-{key8}.wav", "{lang}/../{slug}"] {
            let folder = f.out.appendingPathComponent(String(pattern.hashValue.magnitude))
            let summary = try await f.export(.all, try f.options(pattern, to: folder))
            XCTAssertEqual(summary.failed, 0, "\(summary.files)")
            XCTAssertEqual(summary.exported, 7)
            let entries = try f.manifest(in: folder)
            XCTAssertEqual(Set(entries.map { $0.file.lowercased() }).count, 7)
            for entry in entries {
                let url = folder.appendingPathComponent(entry.file).standardizedFileURL
                XCTAssertTrue(url.path.hasPrefix(folder.path + "/"), url.path)
                XCTAssertTrue(FileManager.default.fileExists(atPath: url.path), url.path)
                XCTAssertFalse(entry.file.contains("\u{0}"))
            }
            XCTAssertTrue(entries.contains { $0.text == "raw\u{0}nul/../x" }, "the manifest keeps the text as it is")
        }
        // Nothing was written beside the export folders.
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: f.out.path)).count, 3)
    }

    func testReExportChangesNothingAndSkipsIdenticalFiles() async throws {
        let f = try ExportFixture(self)
        try await f.say(["one", "two"])
        let first = try await f.export(.all, try f.options())
        XCTAssertEqual(first.linked, 2)
        let manifestPath = f.out.appendingPathComponent("manifest.csv").path
        let manifestBefore = try Data(contentsOf: f.out.appendingPathComponent("manifest.csv"))
        let manifestInode = try XCTUnwrap(ExportFixture.inode(manifestPath)).0
        let inodes = try f.manifest().map { ExportFixture.inode(f.out.appendingPathComponent($0.file).path)!.0 }
        let second = try await f.export(.all, try f.options())
        XCTAssertEqual(ExportFixture.inode(manifestPath)?.0, manifestInode, "an identical manifest is left untouched")
        XCTAssertEqual(second.skipped, 2)
        XCTAssertEqual(second.exported, 0)
        XCTAssertEqual(second.bytes, 0)
        XCTAssertEqual(try Data(contentsOf: f.out.appendingPathComponent("manifest.csv")), manifestBefore)
        XCTAssertEqual(try f.manifest().map { ExportFixture.inode(f.out.appendingPathComponent($0.file).path)!.0 }, inodes)
        XCTAssertFalse(f.listing().contains { $0.contains(".tts-export-") }, "no temp files left")
        // A copy with identical bytes counts as identical too.
        let copies = try await f.export(.all, try f.options(link: .never))
        XCTAssertEqual(copies.skipped, 2)
    }

    func testLinksShareTheBlobAndCopiesDoNot() async throws {
        let f = try ExportFixture(self)
        let clip = try await f.say(["linked or copied"])[0]
        let blob = f.store.service.local.blobs.url(for: clip.blob).path
        _ = try await f.export(.all, try f.options("linked.wav", link: .always))
        _ = try await f.export(.all, try f.options("copied.wav", link: .never))
        let linked = try XCTUnwrap(ExportFixture.inode(f.out.appendingPathComponent("linked.wav").path))
        let copied = try XCTUnwrap(ExportFixture.inode(f.out.appendingPathComponent("copied.wav").path))
        XCTAssertEqual(linked.0, ExportFixture.inode(blob)?.0)
        XCTAssertNotEqual(copied.0, linked.0)
        XCTAssertEqual(copied.1, 1)
        XCTAssertEqual(try Data(contentsOf: f.out.appendingPathComponent("copied.wav")), try Data(contentsOf: URL(fileURLWithPath: blob)))
    }

    func testCopiesFlushedInSeveralBatchesAreAllNamedCompleteAndLeaveNoTemporaryFiles() async throws {
        let f = try ExportFixture(self)
        let clips = try await f.say(["batch one", "batch two", "batch three", "batch four", "batch five"])
        let exporter = Exporter(blobs: f.store.service.local.blobs, copyBatchFiles: 2)
        let summary = try await exporter.export(try f.items(), options: try f.options("{voice}/{slug}.wav", link: .never))
        XCTAssertEqual(summary.copied, 5)
        XCTAssertEqual(summary.failed, 0)
        XCTAssertFalse(f.listing().contains { ($0 as NSString).lastPathComponent.hasPrefix(".") }, "\(f.listing())")
        let entries = try f.manifest()
        XCTAssertEqual(entries.count, 5)
        for clip in clips {
            let entry = try XCTUnwrap(entries.first { $0.key == clip.key.hex })
            let path = f.out.appendingPathComponent(entry.file).path
            XCTAssertEqual(ExportFixture.inode(path)?.1, 1, "a copy, not a link")
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)),
                           try f.store.service.local.blobs.read(clip.blob, verify: true))
        }
        // Re-running finds every copy identical.
        let again = try await exporter.export(try f.items(), options: try f.options("{voice}/{slug}.wav", link: .never))
        XCTAssertEqual(again.skipped, 5)
        XCTAssertEqual(again.exported, 0)
    }

    func testLinkModeNeverWritesThroughASubfolderThatIsALinkOutOfTheExport() async throws {
        let f = try ExportFixture(self)
        let clip = try await f.say(["through a link"])[0]
        let outside = f.out.deletingLastPathComponent().appendingPathComponent("outside-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: outside, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: outside) }
        try FileManager.default.createDirectory(at: f.out, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(at: f.out.appendingPathComponent(clip.voice), withDestinationURL: outside)
        let summary = try await f.export(.all, try f.options("{voice}/{slug}.wav", link: .always))
        XCTAssertEqual(summary.failed, 1)
        XCTAssertEqual(summary.linked, 0)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: outside.path), [])
    }

    func testLinkAlwaysFailsClearlyAcrossFileSystems() async throws {
        let f = try ExportFixture(self)
        try await f.say(["cross device"])
        var shm = stat(), tmp = stat()
        guard stat("/dev/shm", &shm) == 0, stat(f.store.root.path, &tmp) == 0, shm.st_dev != tmp.st_dev else {
            throw XCTSkip("/dev/shm is not a separate file system here")
        }
        let folder = URL(fileURLWithPath: "/dev/shm/tts-export-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: folder) }
        do {
            _ = try await f.export(.all, try f.options(link: .always, to: folder))
            XCTFail("--link always across file systems must fail")
        } catch let error as TTSError {
            XCTAssertEqual(error.kind, .validation)
            XCTAssertTrue(error.message.contains("another file system"), error.message)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder.path), "nothing is written before the refusal")
        let auto = try await f.export(.all, try f.options(to: folder))
        XCTAssertEqual(auto.copied, 1)
        XCTAssertEqual(auto.linked, 0)
    }

    func testDifferentFileAtANameIsAnErrorUnlessForced() async throws {
        let f = try ExportFixture(self)
        try await f.say(["keep me"])
        try FileManager.default.createDirectory(at: f.out, withIntermediateDirectories: true)
        let target = f.out.appendingPathComponent("keep-me.wav")
        try Data("someone else's file".utf8).write(to: target)
        let refused = try await f.export(.all, try f.options("{slug}.wav"))
        XCTAssertEqual(refused.failed, 1)
        XCTAssertTrue(refused.files.first?.message?.contains("--force") == true, "\(refused.files)")
        XCTAssertEqual(try String(contentsOf: target, encoding: .utf8), "someone else's file")
        XCTAssertEqual(try f.manifest().count, 0)

        let forced = try await f.export(.all, try f.options("{slug}.wav", force: true))
        XCTAssertEqual(forced.failed, 0)
        XCTAssertEqual(forced.files.first?.action, .replace)
        let entry = try XCTUnwrap(f.manifest().first)
        XCTAssertEqual(SHA256.hash(try Data(contentsOf: target)).hex, entry.sha256)
    }

    func testPruneRemovesOnlyFilesAnEarlierManifestListedAndNoLongerSelected() async throws {
        let f = try ExportFixture(self)
        try await f.say(["alpha one", "beta two"])
        try await f.say(["gamma three"], language: "de-DE")
        _ = try await f.export(.all, try f.options("{lang}/{slug}.wav"))
        XCTAssertEqual(Set(try f.manifest().map(\.file)), ["auto/alpha-one.wav", "auto/beta-two.wav", "de-DE/gamma-three.wav"])
        // A file of the user's, and an exported file the user changed: neither may be removed.
        try Data("notes".utf8).write(to: f.out.appendingPathComponent("auto/notes.txt"))

        let kept = try await f.export(ClipFilter(textContains: "alpha"), try f.options("{lang}/{slug}.wav"))
        XCTAssertEqual(kept.kept, 2, "without --prune earlier files stay and stay recorded")
        XCTAssertEqual(try f.manifest().count, 3)

        let dry = try await f.export(ClipFilter(textContains: "alpha"), try f.options("{lang}/{slug}.wav", prune: true, dryRun: true))
        XCTAssertEqual(dry.pruned, 2)
        XCTAssertTrue(FileManager.default.fileExists(atPath: f.out.appendingPathComponent("de-DE/gamma-three.wav").path))

        let changed = f.out.appendingPathComponent("auto/beta-two.wav")
        try FileManager.default.removeItem(at: changed)
        try Data("edited".utf8).write(to: changed)
        let pruned = try await f.export(ClipFilter(textContains: "alpha"), try f.options("{lang}/{slug}.wav", prune: true))
        XCTAssertEqual(pruned.pruned, 1)
        XCTAssertEqual(pruned.warnings.count, 1, "the changed file is reported, not removed")
        XCTAssertEqual(f.listing(), ["auto", "auto/alpha-one.wav", "auto/beta-two.wav", "auto/notes.txt", "manifest.csv"],
                       "the emptied de-DE folder goes too")
        XCTAssertEqual(try f.manifest().map(\.file), ["auto/alpha-one.wav"])
    }

    func testPruneReadsWhicheverManifestFormatExists() async throws {
        let f = try ExportFixture(self)
        try await f.say(["first", "second"])
        _ = try await f.export(.all, try f.options(manifest: .jsonl))
        let summary = try await f.export(ClipFilter(textContains: "first"), try f.options(manifest: .json, prune: true))
        XCTAssertEqual(summary.pruned, 1)
        XCTAssertEqual(f.listing().filter { $0.hasPrefix("manifest") }, ["manifest.json"], "the new manifest replaces the old one")
        XCTAssertEqual(f.listing().filter { $0.hasSuffix(".wav") }.count, 1)
    }

    func testPruneWithAnEmptySelectionIsRefused() async throws {
        let f = try ExportFixture(self)
        try await f.say(["only"])
        _ = try await f.export(.all, try f.options())
        do {
            _ = try await f.export(ClipFilter(voice: "typo"), try f.options(prune: true))
            XCTFail("an empty selection must not prune everything")
        } catch let error as TTSError {
            XCTAssertEqual(error.kind, .validation)
        }
        XCTAssertEqual(f.listing().count, 2)
    }

    func testConvertedAudioIsCachedSoTheSecondExportConvertsNothing() async throws {
        let f = try ExportFixture(self)
        try await f.say(["tone one", "tone two"], engine: "tone")
        let target = AudioTarget(sampleRate: 8000, encoding: .ulaw)
        let first = try await f.export(.all, try f.options(target: target))
        XCTAssertEqual(first.converted, 2)
        XCTAssertEqual(first.linked, 2)
        let other = f.out.appendingPathComponent("again")
        let second = try await f.export(.all, try f.options(target: target, to: other))
        XCTAssertEqual(second.converted, 0)
        XCTAssertEqual(second.exported, 2)
        for entry in try f.manifest(in: other) {
            let bytes = [UInt8](try Data(contentsOf: other.appendingPathComponent(entry.file)))
            XCTAssertEqual(SHA256.hash(bytes).hex, entry.sha256)
            XCTAssertEqual(Int(bytes[20]) | Int(bytes[21]) << 8, 7, "µ-law format tag")
            XCTAssertEqual(String(decoding: bytes[38..<42], as: UTF8.self), "fact")
            XCTAssertEqual(entry.sampleRate, 8000)
            XCTAssertEqual(entry.durationMs, 100)
            XCTAssertEqual(entry.bytes, 58 + 800)
        }
        let cached = f.store.root.appendingPathComponent("converted/8000-ulaw")
        XCTAssertEqual(FileManager.default.enumerator(atPath: cached.path)?.compactMap { $0 as? String }.filter { $0.hasSuffix(".wav") }.count, 2)
        // A PCM target at another rate decodes as PCM.
        let pcm = try await f.export(.all, try f.options(target: AudioTarget(sampleRate: 48_000), to: f.out.appendingPathComponent("pcm")))
        XCTAssertEqual(pcm.converted, 2)
        let entry = try XCTUnwrap(f.manifest(in: f.out.appendingPathComponent("pcm")).first)
        XCTAssertEqual(try WAVAudio.decode(Data(contentsOf: f.out.appendingPathComponent("pcm/" + entry.file))).format.sampleRate, 48_000)
    }

    func testDryRunListsThePlanAndWritesNothing() async throws {
        let f = try ExportFixture(self)
        try await f.say(["dry one", "dry two"], engine: "tone")
        let storeBefore = f.listing(f.store.root)
        let summary = try await f.export(.all, try f.options(target: AudioTarget(sampleRate: 8000, encoding: .alaw), dryRun: true))
        XCTAssertEqual(summary.files.map(\.action), [.link, .link])
        XCTAssertEqual(Set(summary.files.map(\.file)).count, 2)
        XCTAssertNil(summary.manifest)
        XCTAssertFalse(FileManager.default.fileExists(atPath: f.out.path))
        XCTAssertEqual(f.listing(f.store.root), storeBefore, "not even the conversion cache is written")
    }

    func testSinceSelectsClipsCreatedFromThatMoment() async throws {
        let f = try ExportFixture(self)
        let clips = try await f.say(["old", "new"], engine: "tone")
        var old = clips[0]
        old.createdAt = Date(timeIntervalSince1970: 1_600_000_000)
        try f.store.service.local.index.upsert(old)
        let items = try f.items(ClipFilter(createdSince: Date(timeIntervalSince1970: 1_700_000_000)))
        XCTAssertEqual(items.map(\.clip.text), ["new"])
        XCTAssertEqual(try f.items().map(\.clip.text), ["old", "new"], "oldest first, numbered from 1")
        XCTAssertEqual(try f.items().map(\.n), [1, 2])
    }

    func testExportIntoAnImmutableFolderFailsClearlyAndLeavesNothingHalfWritten() async throws {
        // Tests run as root, which ignores permission bits; the immutable attribute (chattr +i)
        // stops root too: no name can be created, linked or renamed in that folder.
        let f = try ExportFixture(self)
        try await f.say(["blocked one", "blocked two"])
        try await f.say(["free three"], language: "de-DE")
        let blocked = f.out.appendingPathComponent("auto")
        try FileManager.default.createDirectory(at: blocked, withIntermediateDirectories: true)
        guard try ExportFixture.chattr("+i", blocked) else {
            let why = "chattr +i is not permitted here (needs CAP_LINUX_IMMUTABLE and ext4/xfs/btrfs)"
            if ProcessInfo.processInfo.environment["CI"] != nil { return XCTFail(why) }
            throw XCTSkip(why)
        }
        let summary = try await f.export(.all, try f.options("{lang}/{slug}.wav"))
        XCTAssertEqual(summary.failed, 2)
        XCTAssertEqual(summary.exported, 1)
        for failure in summary.files where failure.action == .fail {
            XCTAssertTrue(failure.message?.contains("Operation not permitted") == true, failure.message ?? "")
            XCTAssertTrue(failure.message?.contains(blocked.path) == true, failure.message ?? "")
        }
        XCTAssertEqual(f.listing(), ["auto", "de-DE", "de-DE/free-three.wav", "manifest.csv"],
                       "no temp file or partial file anywhere")
        XCTAssertEqual(try f.manifest().map(\.file), ["de-DE/free-three.wav"], "the manifest lists only what was written")

        // The whole export folder immutable: every file fails, and no manifest appears.
        try ExportFixture.chattr("-i", blocked)
        let sealed = f.out.appendingPathComponent("sealed")
        try FileManager.default.createDirectory(at: sealed, withIntermediateDirectories: true)
        try ExportFixture.chattr("+i", sealed)
        let none = try await f.export(.all, try f.options(to: sealed))
        XCTAssertEqual(none.failed, 4, "three files and the manifest")
        XCTAssertEqual(f.listing(sealed), [])
    }

    func testExportFolderUnderAFileFailsBeforeWritingAnything() async throws {
        // A failure that holds for root without special attributes: a path through a regular file.
        let f = try ExportFixture(self)
        try await f.say(["nowhere"])
        try FileManager.default.createDirectory(at: f.out, withIntermediateDirectories: true)
        let file = f.out.appendingPathComponent("plain-file")
        try Data("x".utf8).write(to: file)
        for folder in [file, file.appendingPathComponent("sub/dir")] {
            do {
                _ = try await f.export(.all, try f.options(to: folder))
                XCTFail("exporting to \(folder.path) must fail")
            } catch let error as TTSError {
                XCTAssertEqual(error.kind, .store)
                XCTAssertTrue(error.message.contains("is a file") || error.message.contains("Not a directory"), error.message)
            }
        }
        XCTAssertEqual(f.listing(), ["plain-file"])
    }

    func testAFolderInTheWayOfAFileNameFailsThatFileOnly() async throws {
        let f = try ExportFixture(self)
        let clips = try await f.say(["in the way", "fine"])
        try FileManager.default.createDirectory(at: f.out.appendingPathComponent("in-the-way-\(clips[0].key.short).wav"),
                                                withIntermediateDirectories: true)
        let summary = try await f.export(.all, try f.options(force: true))
        XCTAssertEqual(summary.failed, 1)
        XCTAssertEqual(summary.exported, 1)
    }
}
