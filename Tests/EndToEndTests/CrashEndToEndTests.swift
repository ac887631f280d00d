import Foundation
import XCTest
import TTSCore
import TTSStore

/// kill -9 while clips are being written must never leave an index row that points at a
/// missing or partial blob; the next run completes the work.
final class CrashEndToEndTests: XCTestCase {
    func testKillNineWhileWritingLeavesOnlyCompleteBlobs() throws {
        let repl = try ReplProcess()
        let script = (1...200).map { "say crash test phrase number \($0)" }.joined(separator: "\n") + "\n"

        let process = try repl.launch(["--json"])
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        input.fileHandleForWriting.write(Data(script.utf8))
        try input.fileHandleForWriting.close()

        // Kill once some clips are written but (very likely) not all.
        var lines = 0
        var buffer = Data()
        let reader = output.fileHandleForReading
        let deadline = Date().addingTimeInterval(60)
        while lines < 25 && Date() < deadline {
            let chunk = reader.availableData
            if chunk.isEmpty { break }
            buffer.append(chunk)
            lines = buffer.split(separator: UInt8(ascii: "\n")).count
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationReason, .uncaughtSignal)
        try assertEveryRowPointsAtACompleteBlob(repl.store)

        // Run again: everything completes, and what was done before is served from the store.
        let rerun = try repl.run(["--json"], stdin: script, timeout: 120)
        XCTAssertEqual(rerun.status, 0, rerun.stderr)
        let tiers = rerun.jsonLines.compactMap { $0["tier"] as? String }
        XCTAssertEqual(tiers.count, 200)
        XCTAssertGreaterThanOrEqual(tiers.filter { $0 == "local" }.count, 20)
        try assertEveryRowPointsAtACompleteBlob(repl.store, expectedRows: 200)
    }

    private func assertEveryRowPointsAtACompleteBlob(_ store: URL, expectedRows: Int? = nil,
                                                     file: StaticString = #filePath, line: UInt = #line) throws {
        let layout = StoreLayout(root: store)
        let index = try ClipIndex(url: layout.indexURL)
        defer { index.close() }
        let blobs = try BlobStore(layout: layout)
        let clips = try index.list(ClipFilter(), limit: 1000, offset: 0)
        if let expectedRows { XCTAssertEqual(clips.count, expectedRows, file: file, line: line) }
        XCTAssertGreaterThan(clips.count, 0, "the run was killed before it stored anything", file: file, line: line)
        for clip in clips {
            let data = try Data(contentsOf: blobs.url(for: clip.blob))
            XCTAssertEqual(BlobHash(of: data), clip.blob, "blob of \(clip.key.short) does not match its name", file: file, line: line)
            XCTAssertEqual(data.count, clip.bytes, file: file, line: line)
            XCTAssertNoThrow(try WAVAudio.decode(data), file: file, line: line)
        }
    }

    /// What a power cut can leave of a Redis hit whose blob was named but not yet flushed: a
    /// row still marked "not durable" and a file of the right size holding zeros. The next
    /// start must rehash it and make the clip again, never serve the zeros from the local tier.
    func testABlobNeverFlushedBeforeAPowerCutIsRehashedAndMadeAgain() throws {
        let repl = try ReplProcess()
        let first = try repl.run(["--json", "say", "Power cut"])
        XCTAssertEqual(first.status, 0, first.stderr)
        let line = try XCTUnwrap(first.jsonLines.first)
        let key = try XCTUnwrap((line["key"] as? String).flatMap(RequestKey.init(hex:)))
        let path = try XCTUnwrap(line["path"] as? String)

        let layout = StoreLayout(root: repl.store)
        do {
            let index = try ClipIndex(url: layout.indexURL)
            defer { index.close() }
            let clip = try XCTUnwrap(try index.clip(for: key))
            try index.upsert(clip, blobIsDurable: false)
        }
        let size = try XCTUnwrap(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        XCTAssertEqual(chmod(path, 0o644), 0)
        try Data(count: size).write(to: URL(fileURLWithPath: path))

        let second = try repl.run(["--json", "say", "Power cut"])
        XCTAssertEqual(second.status, 0, second.stderr)
        XCTAssertEqual(second.jsonLines.first?["tier"] as? String, "engine", "the zeroed blob must not be a local hit")
        XCTAssertTrue(second.stderr.contains("1 clip(s) fetched from Redis just before the last crash or power cut did not reach the disk intact"),
                      second.stderr)
        let wav = try Data(contentsOf: URL(fileURLWithPath: try XCTUnwrap(second.jsonLines.first?["path"] as? String)))
        XCTAssertEqual(BlobHash(of: wav).hex, second.jsonLines.first?["blob"] as? String)
        XCTAssertNotEqual(wav, Data(count: size))
        let quarantined = try FileManager.default.contentsOfDirectory(atPath: layout.root.appendingPathComponent("quarantine").path)
        XCTAssertEqual(quarantined.count, 1, "the zeros are kept aside for a person to look at")
    }
}

