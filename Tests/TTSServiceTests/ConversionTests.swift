import Foundation
import Glibc
import XCTest
import TTSCore
import TTSStore
@testable import TTSService

/// Decodes converted files with programs that share no code with the encoders: sox (WAV, FLAC,
/// Vorbis), mpg123 (MP3: it honours the LAME tag's encoder delay and padding, which sox's
/// libmad does not, so sox reports MP3 files ~1,250 samples long) and opusdec (Opus, which
/// Debian's sox cannot read). A missing decoder is a failure, never a skip: `make deps`
/// installs them.
enum ReferenceDecoder {
    struct Decoded {
        var sampleRate: Int
        var channels: Int
        var samples: [Int16]
        var durationMs: Double { Double(samples.count / max(channels, 1)) * 1000 / Double(sampleRate) }
    }

    static func decode(_ path: String, _ encoding: AudioEncoding, scratch: URL) throws -> Decoded {
        let wav = scratch.appendingPathComponent("decoded-\(UUID().uuidString).wav").path
        defer { unlink(wav) }
        switch encoding {
        case .mp3: try run("mpg123", ["-q", "-w", wav, path])
        case .opus: try run("opusdec", ["--quiet", path, wav])
        default: try run("sox", [path, "-t", "wav", "-e", "signed-integer", "-b", "16", wav])
        }
        let audio = try WAVAudio.decode(try Data(contentsOf: URL(fileURLWithPath: wav)))
        var samples = [Int16](repeating: 0, count: audio.pcm.count / 2)
        _ = samples.withUnsafeMutableBytes { audio.pcm.copyBytes(to: $0) }
        return Decoded(sampleRate: audio.format.sampleRate, channels: audio.format.channels, samples: samples)
    }

    /// The rate in the Ogg Opus header (opusdec may decode at another): `opusinfo`'s
    /// "Original sample rate".
    static func opusHeaderRate(_ path: String) throws -> Int? {
        let text = try run("opusinfo", [path])
        guard let line = text.split(separator: "\n").first(where: { $0.contains("Original sample rate") }) else { return nil }
        return Int(line.split(separator: ":").last!.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: " Hz", with: ""))
    }

    @discardableResult
    static func run(_ tool: String, _ arguments: [String]) throws -> String {
        let searchPath = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        guard let dir = searchPath.first(where: { FileManager.default.isExecutableFile(atPath: "\($0)/\(tool)") }) else {
            throw Failure("\(tool) is not installed: run `make deps` (it installs sox, libsox-fmt-all, mpg123 and opus-tools)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "\(dir)/\(tool)")
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw Failure("\(tool) \(arguments.joined(separator: " ")) failed: \(text)") }
        return text
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }
}

final class ConversionTests: XCTestCase {
    /// About four seconds of real speech from espeak (22,050 Hz mono).
    static let sentence = "The quick brown fox jumps over the lazy dog, then naps in the warm afternoon sun."

    private func fixture() throws -> ExportFixture { try ExportFixture(self) }

    private func clip(_ f: ExportFixture, _ text: String = ConversionTests.sentence) async throws -> Clip {
        try await f.say([text]).first!
    }

    private func convertedFiles(_ f: ExportFixture) -> [String] {
        (FileManager.default.enumerator(atPath: f.store.layout.convertedURL.path)?.compactMap { $0 as? String } ?? [])
            .filter { $0.contains(".") }.sorted()
    }

    func testEveryFormatDecodesAtTheRateAndChannelsAskedAndWithinOnePercentOfTheSourceDuration() async throws {
        let f = try fixture()
        let clip = try await clip(f)
        let source = try WAVAudio.decode(try f.store.service.local.blobs.read(clip.blob, verify: true))
        let sourceMs = Double(source.frameCount) * 1000 / Double(source.format.sampleRate)
        let targets: [(AudioTarget, Int)] = [
            (AudioTarget(encoding: .mp3), 22_050), (AudioTarget(sampleRate: 24_000, encoding: .mp3, bitrate: 96), 24_000),
            (AudioTarget(sampleRate: 8000, encoding: .mp3, bitrate: 32), 8000),
            (AudioTarget(encoding: .opus), 24_000), (AudioTarget(sampleRate: 16_000, encoding: .opus, bitrate: 16), 16_000),
            (AudioTarget(encoding: .vorbis), 22_050), (AudioTarget(sampleRate: 48_000, encoding: .vorbis, quality: 2), 48_000),
            (AudioTarget(encoding: .flac), 22_050), (AudioTarget(sampleRate: 16_000, encoding: .flac, quality: 8), 16_000),
            (AudioTarget(sampleRate: 8000, encoding: .ulaw), 8000), (AudioTarget(sampleRate: 44_100), 44_100),
        ]
        for (target, rate) in targets {
            let audio = try await f.store.service.conversions.converted(clip, to: target)
            XCTAssertEqual(audio.sampleRate, rate, target.name)
            XCTAssertTrue(audio.path.hasSuffix("." + target.encoding.fileExtension), audio.path)
            XCTAssertTrue(audio.path.contains("/converted/\(try target.validated().name)/"), audio.path)
            XCTAssertEqual(audio.sha256, SHA256.hash(try Data(contentsOf: URL(fileURLWithPath: audio.path))).hex)
            let decoded = try ReferenceDecoder.decode(audio.path, target.encoding, scratch: f.store.root)
            XCTAssertEqual(decoded.channels, 1, target.name)
            if target.encoding == .opus {
                XCTAssertEqual(try ReferenceDecoder.opusHeaderRate(audio.path), rate, target.name)
            } else {
                XCTAssertEqual(decoded.sampleRate, rate, target.name)
            }
            XCTAssertEqual(decoded.durationMs, sourceMs, accuracy: sourceMs / 100, "\(target.name): decoded length")
        }
        // WAV at the clip's own rate is the blob itself, not a copy.
        let wav = try await f.store.service.conversions.converted(clip, to: AudioTarget(encoding: .pcm16))
        XCTAssertEqual(wav.path, f.store.service.local.blobs.path(for: clip.blob))
        XCTAssertEqual(wav.sha256, clip.blob.hex)
    }

    func testFLACDecodesToExactlyTheSourceSamples() async throws {
        let f = try fixture()
        let clip = try await clip(f)
        let source = try WAVAudio.decode(try f.store.service.local.blobs.read(clip.blob, verify: true))
        var expected = [Int16](repeating: 0, count: source.pcm.count / 2)
        _ = expected.withUnsafeMutableBytes { source.pcm.copyBytes(to: $0) }
        for quality in [0, 8] {
            let flac = try await f.store.service.conversions.converted(clip, to: AudioTarget(encoding: .flac, quality: quality))
            let decoded = try ReferenceDecoder.decode(flac.path, .flac, scratch: f.store.root)
            XCTAssertEqual(decoded.sampleRate, source.format.sampleRate)
            XCTAssertEqual(decoded.samples.count, expected.count)
            XCTAssertTrue(decoded.samples == expected, "FLAC level \(quality) is lossless")
            XCTAssertLessThan(flac.bytes, source.pcm.count, "and smaller than the PCM")
        }
    }

    func testTheSecondRequestConvertsNothingAndServesTheSameFile() async throws {
        let f = try fixture()
        let clip = try await clip(f, "served twice")
        let conversions = f.store.service.conversions
        let target = AudioTarget(encoding: .mp3)
        let first = try await conversions.converted(clip, to: target)
        let before = try XCTUnwrap(ExportFixture.inode(first.path))
        let modified = try FileManager.default.attributesOfItem(atPath: first.path)[.modificationDate] as? Date
        let second = try await conversions.converted(clip, to: target)
        XCTAssertEqual(second, first)
        XCTAssertEqual(ExportFixture.inode(second.path)?.0, before.0, "the same file, not a new one")
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: second.path)[.modificationDate] as? Date, modified)
        let counts = f.store.service.metrics.snapshot
        XCTAssertEqual(counts.conversionsMade, 1)
        XCTAssertEqual(counts.conversionHits, 1)
        XCTAssertEqual((try FileManager.default.attributesOfItem(atPath: first.path)[.posixPermissions] as? Int).map { $0 & 0o222 }, 0,
                       "read-only, like a blob")
        // A cached file without its recorded digest (another file system, a crash) is hashed.
        let bytes = try Data(contentsOf: URL(fileURLWithPath: first.path))
        unlink(first.path)
        try bytes.write(to: URL(fileURLWithPath: first.path))
        let third = try await conversions.converted(clip, to: target)
        var fsynced = first
        fsynced.durable = true  // a file without the attribute was fsynced before it was named
        XCTAssertEqual(third, fsynced)
        XCTAssertEqual(f.store.service.metrics.snapshot.conversionsMade, 1)
    }

    func testAConversionAfterTheConvertedFolderWasDeletedMakesItAgain() async throws {
        // The process remembers the shard folders it made; the folder may still go at any time.
        let f = try fixture()
        let clip = try await clip(f, "converted, deleted, converted")
        let conversions = f.store.service.conversions
        let target = AudioTarget(encoding: .flac)
        _ = try await conversions.converted(clip, to: target)
        try FileManager.default.removeItem(at: f.store.layout.convertedURL)
        let again = try await conversions.converted(clip, to: target)
        XCTAssertTrue(FileManager.default.fileExists(atPath: again.path))
        XCTAssertEqual(f.store.service.metrics.snapshot.conversionsMade, 2)
    }

    func testConcurrentRequestsForOneConversionConvertOnce() async throws {
        let f = try fixture()
        let clip = try await clip(f)
        let conversions = f.store.service.conversions
        let results = try await withThrowingTaskGroup(of: ConvertedAudio.self) { group in
            for _ in 0..<8 { group.addTask { try await conversions.converted(clip, to: AudioTarget(encoding: .opus)) } }
            return try await group.reduce(into: [ConvertedAudio]()) { $0.append($1) }
        }
        XCTAssertEqual(Set(results.map(\.sha256)).count, 1, "every caller got the one file")
        XCTAssertEqual(f.store.service.metrics.snapshot.conversionsMade, 1)
        XCTAssertEqual(f.store.service.metrics.snapshot.conversionHits, 7)
    }

    func testACorruptSourceBlobIsRefusedNotConverted() async throws {
        let f = try fixture()
        let clip = try await clip(f, "damaged on disk")
        let path = f.store.service.local.blobs.path(for: clip.blob)
        chmod(path, 0o644)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes[bytes.count - 10] ^= 0x55
        try bytes.write(to: URL(fileURLWithPath: path))
        do {
            _ = try await f.store.service.conversions.converted(clip, to: AudioTarget(encoding: .mp3))
            XCTFail("a damaged blob was converted")
        } catch let error as TTSError {
            XCTAssertEqual(error.kind, .store)
            XCTAssertTrue(error.message.contains(clip.key.short), error.message)
            XCTAssertTrue(error.message.contains("corrupt"), error.message)
        }
        XCTAssertEqual(convertedFiles(f), [])
        XCTAssertEqual(f.store.service.metrics.snapshot.conversionFailures, 1)
    }

    func testAFailedEncodeSaysWhichClipAndWhyAndLeavesNoFileBehind() async throws {
        let f = try fixture()
        let clip = try await clip(f, "too rich for the phone")
        do {
            // MPEG-2.5 (8 kHz) stops at 64 kbit/s: LAME cannot make this file.
            _ = try await f.store.service.conversions.converted(clip, to: AudioTarget(sampleRate: 8000, encoding: .mp3, bitrate: 128))
            XCTFail("an impossible MP3 was made")
        } catch let error as TTSError {
            XCTAssertEqual(error.kind, .validation)
            XCTAssertTrue(error.message.contains(clip.key.short), error.message)
            XCTAssertTrue(error.message.contains("8–64 kbit/s"), error.message)
        }
        XCTAssertEqual(convertedFiles(f), [])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: f.store.layout.tmpURL.path), [], "no temp file left")
    }

    func testRemovingABlobRemovesItsConversionsAndGCRemovesOrphans() async throws {
        let f = try fixture()
        let clips = try await f.say(["kept", "evicted"], engine: "tone")
        for clip in clips {
            _ = try await f.store.service.conversions.converted(clip, to: AudioTarget(encoding: .flac))
            _ = try await f.store.service.conversions.converted(clip, to: AudioTarget(encoding: .vorbis))
        }
        XCTAssertEqual(convertedFiles(f).count, 4)
        try f.store.service.local.blobs.remove(clips[1].blob)
        XCTAssertEqual(convertedFiles(f).count, 2)
        XCTAssertTrue(convertedFiles(f).allSatisfy { $0.contains(clips[0].blob.hex) })
        // A conversion whose blob vanished some other way is gc's.
        unlink(f.store.service.local.blobs.path(for: clips[0].blob))
        let report = try await GarbageCollector(index: f.store.service.local.index, blobs: f.store.service.local.blobs).collect(dryRun: false, vacuum: false)
        XCTAssertEqual(report.unusedConversions.count, 2)
        XCTAssertEqual(convertedFiles(f), [])
    }

    func testExportAsMP3NamesFilesMP3RecordsTheFormatAndReusesTheConversions() async throws {
        let f = try fixture()
        try await f.say(["first line", "second line"])
        let exporter = Exporter(blobs: f.store.service.local.blobs, converter: f.store.service.conversions)
        let target = try AudioTarget(encoding: .mp3, bitrate: 48).validated()
        let first = try await exporter.export(try f.items(), options: try f.options(target: target))
        XCTAssertEqual(first.converted, 2)
        XCTAssertEqual(first.failed, 0)
        for entry in try f.manifest() {
            XCTAssertTrue(entry.file.hasSuffix(".mp3"), entry.file)
            XCTAssertEqual(entry.encoding, "mp3")
            XCTAssertEqual(entry.bitrate, 48)
            XCTAssertEqual(entry.sampleRate, 22_050)
            let bytes = try Data(contentsOf: f.out.appendingPathComponent(entry.file))
            XCTAssertEqual(SHA256.hash(bytes).hex, entry.sha256)
            XCTAssertEqual(bytes.count, entry.bytes)
            XCTAssertEqual(try ReferenceDecoder.decode(f.out.appendingPathComponent(entry.file).path, .mp3, scratch: f.store.root).sampleRate, 22_050)
        }
        let again = f.out.appendingPathComponent("again")
        let second = try await exporter.export(try f.items(), options: try f.options(target: target, to: again))
        XCTAssertEqual(second.converted, 0, "all conversions cached")
        XCTAssertEqual(second.exported, 2)
        XCTAssertEqual(try f.manifest(in: again).map(\.sha256).sorted(), try f.manifest().map(\.sha256).sorted())
        // A pattern that names its own extension keeps it.
        let named = try await exporter.export(try f.items(), options: try f.options("{slug}.audio", target: target,
                                                                                     to: f.out.appendingPathComponent("named")))
        XCTAssertTrue(named.files.allSatisfy { $0.file.hasSuffix(".audio") })
    }

    // MARK: Crash safety without an fsync per file (issue 20)

    func testConversionsAreWholeAndDecodableAfterAFlushWhichMarksThemDurable() async throws {
        let f = try fixture()
        let clips = try await f.say(["one for the batch", "two for the batch", "three for the batch"])
        let conversions = f.store.service.conversions
        let boot = try XCTUnwrap(conversions.boot, "Linux gives a boot id")
        var made: [(ConvertedAudio, AudioEncoding)] = []
        for clip in clips {
            for target in [AudioTarget(encoding: .flac), AudioTarget(encoding: .mp3)] {
                let audio = try await conversions.converted(clip, to: target)
                XCTAssertFalse(audio.durable, "written without an fsync, not flushed yet")
                XCTAssertEqual(DigestRecord(path: audio.path)?.boot, boot)
                made.append((audio, target.encoding))
            }
        }
        try conversions.flush()
        for (audio, encoding) in made {
            let record = try XCTUnwrap(DigestRecord(path: audio.path))
            XCTAssertNil(record.boot, "on disk now: \(audio.path)")
            let bytes = try Data(contentsOf: URL(fileURLWithPath: audio.path))
            XCTAssertEqual(bytes.count, record.bytes)
            XCTAssertEqual(SHA256.hash(bytes).hex, record.sha256)
            let decoded = try ReferenceDecoder.decode(audio.path, encoding, scratch: f.store.root)
            XCTAssertEqual(decoded.durationMs, Double(audio.durationMs), accuracy: Double(audio.durationMs) / 100)
        }
        let again = try await conversions.converted(clips[0], to: AudioTarget(encoding: .flac))
        XCTAssertTrue(again.durable)
        XCTAssertEqual(f.store.service.metrics.snapshot.conversionsMade, 6)
    }

    func testAFileTornBeforeARestartIsDetectedAndConvertedAgain() async throws {
        let f = try fixture()
        let clips = try await f.say(["cut short by a power cut", "zeroed by a power cut", "survived the restart"])
        let target = AudioTarget(encoding: .flac)
        let before = ConvertedAudioCache(blobs: f.store.service.local.blobs, metrics: nil, boot: "boot-before-the-cut")
        let written = try clips.map { try before.convert($0, to: target).audio }
        // What a power cut can leave of files that never reached the disk: a short file, and
        // a file of the right size whose blocks were never written. Their attributes survive.
        for (audio, damage) in zip(written.prefix(2), [{ (d: inout Data) in d = d.prefix(d.count / 2) },
                                                      { (d: inout Data) in d = Data(count: d.count) }]) {
            var bytes = try Data(contentsOf: URL(fileURLWithPath: audio.path))
            damage(&bytes)
            chmod(audio.path, 0o644)
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: audio.path))
            try handle.truncate(atOffset: 0)
            try handle.write(contentsOf: bytes)
            try handle.close()
            XCTAssertNotNil(DigestRecord(path: audio.path), "the record survives the damage")
        }
        let untouched = try XCTUnwrap(ExportFixture.inode(written[2].path))

        let metrics = ServiceMetrics()
        let after = ConvertedAudioCache(blobs: f.store.service.local.blobs, metrics: metrics, boot: "boot-after-the-cut")
        for (clip, old) in zip(clips, written) {
            let (audio, convertedNow) = try after.convert(clip, to: target)
            XCTAssertEqual(audio.path, old.path)
            let bytes = try Data(contentsOf: URL(fileURLWithPath: audio.path))
            XCTAssertEqual(SHA256.hash(bytes).hex, audio.sha256, "the file under the name is the one described")
            XCTAssertEqual(bytes.count, audio.bytes)
            XCTAssertEqual(try ReferenceDecoder.decode(audio.path, .flac, scratch: f.store.root).durationMs,
                           Double(clip.durationMs), accuracy: Double(clip.durationMs) / 100)
            XCTAssertEqual(convertedNow, old.path != written[2].path, "only the damaged files are made again")
        }
        XCTAssertEqual(metrics.snapshot.conversionsMade, 2)
        XCTAssertEqual(metrics.snapshot.conversionHits, 1)
        // The whole one was checked once and is recorded as on disk: the same file, no boot id.
        XCTAssertEqual(ExportFixture.inode(written[2].path)?.0, untouched.0)
        XCTAssertNil(DigestRecord(path: written[2].path)?.boot)
        XCTAssertTrue(try after.convert(clips[2], to: target).audio.durable)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: f.store.layout.tmpURL.path), [], "no temp file left")
    }

    func testAnExportNamesFreshConversionsOnlyOnceTheyAreOnDisk() async throws {
        let f = try fixture()
        try await f.say(["exported fresh", "exported fresh too"])
        let exporter = Exporter(blobs: f.store.service.local.blobs, converter: f.store.service.conversions)
        let summary = try await exporter.export(try f.items(), options: try f.options(target: try AudioTarget(encoding: .flac).validated()))
        XCTAssertEqual(summary.converted, 2)
        XCTAssertEqual(summary.linked, 2)
        XCTAssertEqual(summary.failed, 0)
        for entry in try f.manifest() {
            let path = f.out.appendingPathComponent(entry.file).path
            let record = try XCTUnwrap(DigestRecord(path: path), "a link to the converted file")
            XCTAssertNil(record.boot, "flushed before it was named")
            XCTAssertEqual(record.sha256, entry.sha256)
        }
        let leftovers = f.listing().filter { ($0 as NSString).lastPathComponent.hasPrefix(".") }
        XCTAssertEqual(leftovers, [], "no temporary names left in the export folder")
    }

    func testDigestRecordsReadBothForms() {
        let sha = String(repeating: "ab", count: 32)
        XCTAssertEqual(DigestRecord(text: "\(sha):1234"), DigestRecord(sha256: sha, bytes: 1234, boot: nil))
        XCTAssertEqual(DigestRecord(text: "\(sha):1234:5f0c-11"), DigestRecord(sha256: sha, bytes: 1234, boot: "5f0c-11"))
        XCTAssertEqual(DigestRecord(sha256: sha, bytes: 9, boot: "b").text, "\(sha):9:b")
        XCTAssertNil(DigestRecord(text: "\(sha):1234:"))
        XCTAssertNil(DigestRecord(text: "\(sha)"))
        XCTAssertNil(DigestRecord(text: "xyz:12"))
    }

    func testManifestsFromBeforeTheFormatColumnsStillRead() throws {
        let old = "file,text,voice,language,engine,model,duration_ms,sample_rate,bytes,sha256,key\r\na.wav,Hi,v,en,espeak,m,100,22050,4454,abc,def\r\n"
        let entries = try ExportManifest.decode(Data(old.utf8), as: .csv)
        XCTAssertEqual(entries.first?.encoding, "pcm16")
        XCTAssertNil(entries.first?.bitrate)
        let entry = ManifestEntry(file: "a.opus", text: "Hi, there", voice: "v", language: "en", engine: "espeak", model: "m",
                                  durationMs: 100, sampleRate: 24_000, bytes: 900, sha256: "abc", key: "def", encoding: "opus", bitrate: 32)
        for format in [ManifestFormat.csv, .json, .jsonl] {
            XCTAssertEqual(try ExportManifest.decode(ExportManifest.encode([entry], as: format), as: format), [entry], format.rawValue)
        }
    }
}
