import Foundation
import XCTest
import TTSCore
import TTSEngines
import TTSStore
@testable import TTSService

final class PrewarmTests: XCTestCase {
    private let tone = AudioRequest(text: "", engine: "tone", model: "")

    private func run(_ f: ServiceFixture, _ text: String, format: PhraseListFormat = .text,
                     options: PrewarmOptions = PrewarmOptions(), defaults: AudioRequest? = nil) async throws -> PrewarmSummary {
        let list = PhraseList.parse(Data(text.utf8), format: format, source: "list")
        return try await Prewarmer(service: f.service).run(list, defaults: defaults ?? tone, options: options)
    }

    /// 1,000 lines: comments, blanks, voice directives, duplicates, unknown directives and
    /// malformed language directives, in a fixed pattern whose counts are worked out by hand.
    private func thousandLineList() -> (text: String, phrases: Int, problems: Int, unique: Int) {
        var lines: [String] = []
        var voice = "a"
        var phrases = 0, problems = 0
        var unique = Set<String>()
        for i in 1...1000 {
            if i % 100 == 0 {
                lines.append("# section \(i)")
            } else if i % 100 == 50 {
                lines.append("")
            } else if i == 1 || i == 500 {
                voice = i == 1 ? "a" : "b"
                lines.append("@voice \(voice)")
            } else if i % 97 == 0 {
                lines.append("@bogus \(i)")
                problems += 1
            } else if i % 89 == 0 {
                lines.append("@lang en_US")
                problems += 1
            } else {
                let text = "phrase \(i % 300)"
                lines.append(i % 7 == 0 ? "  \(text.replacingOccurrences(of: " ", with: "   "))  " : text)
                phrases += 1
                unique.insert(voice + "|" + text)
            }
        }
        return (lines.joined(separator: "\n") + "\n", phrases, problems, unique.count)
    }

    func testThousandLineListCountsAreExactAndASecondRunMakesNoEngineCall() async throws {
        let f = try ServiceFixture()
        let list = thousandLineList()
        let first = try await run(f, list.text, options: PrewarmOptions(concurrency: 4))
        XCTAssertEqual(first.lines, 1000)
        XCTAssertEqual(first.phrases, list.phrases)
        XCTAssertEqual(first.problems, list.problems)
        XCTAssertEqual(first.unique, list.unique)
        XCTAssertEqual(first.duplicates, list.phrases - list.unique)
        XCTAssertEqual(first.generated, list.unique)
        XCTAssertEqual(first.cached, 0)
        XCTAssertEqual(first.failed, 0)
        XCTAssertEqual(first.remaining, 0)
        XCTAssertFalse(first.cancelled)
        XCTAssertEqual(f.tone.calls, list.unique)
        XCTAssertEqual(try f.service.local.index.count(ClipFilter()), list.unique)
        XCTAssertEqual(first.rejects.map(\.line), first.rejects.map(\.line).sorted())
        XCTAssertEqual(first.rejects.count, list.problems)
        XCTAssertGreaterThan(first.audioSeconds, 0)

        let second = try await run(f, list.text)
        XCTAssertEqual(f.tone.calls, list.unique, "the second run must not call the engine")
        XCTAssertEqual(second.cached, list.unique)
        XCTAssertEqual(second.generated, 0)
        XCTAssertEqual(second.audioSeconds, 0)
    }

    func testDuplicatesWithinAListCostOneEngineCall() async throws {
        let f = try ServiceFixture()
        let summary = try await run(f, "Hello\nHello  \n hello\nHello\n@voice b\nHello\n")
        XCTAssertEqual(summary.unique, 3)          // "Hello"/a, "hello"/a, "Hello"/b
        XCTAssertEqual(summary.duplicates, 2)
        XCTAssertEqual(f.tone.calls, 3)
        XCTAssertTrue(summary.succeeded)
        XCTAssertEqual(summary.rejectsFile, .none)
    }

    func testEveryLineIsPreparedAndKeyedOnce() async throws {
        let f = try ServiceFixture()
        let summary = try await run(f, "One\nTwo\nOne\n")
        XCTAssertEqual(summary.generated, 2)
        XCTAssertEqual(f.tone.resolves, 3, "one preparation per line: the plan's, none again before generating")
    }

    func testEngineCallsNeverExceedTheConcurrencyLimit() async throws {
        let gauge = GaugeEngine()
        let f = try ServiceFixture()
        var engines = f.service.engines
        engines.register(gauge)
        let service = SpeechService(engines: engines, index: f.service.local.index, blobs: f.service.local.blobs)
        let text = (1...40).map { "line \($0)" }.joined(separator: "\n")
        let summary = try await Prewarmer(service: service).run(
            PhraseList.parse(Data(text.utf8), format: .text, source: "l"),
            defaults: AudioRequest(text: "", engine: "gauge", model: ""), options: PrewarmOptions(concurrency: 3))
        XCTAssertEqual(summary.generated, 40)
        XCTAssertEqual(gauge.calls, 40)
        XCTAssertLessThanOrEqual(gauge.maxInFlight, 3)
        XCTAssertGreaterThan(gauge.maxInFlight, 1, "the window should run calls side by side")
    }

    func testStrictStopsBeforeAnyEngineCall() async throws {
        let f = try ServiceFixture()
        let summary = try await run(f, "one\n@voice zz\ntwo\nthree\n", options: PrewarmOptions(strict: true))
        XCTAssertTrue(summary.aborted)
        XCTAssertFalse(summary.succeeded)
        XCTAssertEqual(summary.rejects.map(\.line), [3, 4])   // @voice zz applies to both
        XCTAssertEqual(summary.rejects.first?.cause, .invalid)
        XCTAssertEqual(f.tone.calls, 0)
        XCTAssertEqual(f.files(), [])

        let clean = try await run(f, "one\ntwo\n", options: PrewarmOptions(strict: true))
        XCTAssertTrue(clean.succeeded)
        XCTAssertEqual(f.tone.calls, 2)
    }

    func testDryRunMakesNoEngineCallAndEstimatesTheMisses() async throws {
        let f = try ServiceFixture()
        _ = try await f.service.generateOrFetch(f.request("already here"))
        let text = "already here\n" + String(repeating: "x", count: 28) + "\n" + String(repeating: "y", count: 14) + "\n"
        let summary = try await run(f, text, options: PrewarmOptions(concurrency: 2, dryRun: true, requestsPerMinute: 60))
        XCTAssertEqual(f.tone.calls, 1)
        XCTAssertEqual(summary.cached, 1)
        XCTAssertEqual(summary.generated, 0)
        let estimate = try XCTUnwrap(summary.estimate)
        XCTAssertEqual(estimate.engineCalls, 2)
        XCTAssertEqual(estimate.audioSeconds, 3, accuracy: 0.001)   // 42 characters at 14 a second
        XCTAssertGreaterThanOrEqual(estimate.seconds, 2)            // 2 calls at 60 a minute
        XCTAssertEqual(try f.service.local.index.count(ClipFilter()), 1)
    }

    func testRejectsFileGivesBackExactlyTheFailedLines() async throws {
        let f = try ServiceFixture()
        let folder = f.root.appendingPathComponent("lists")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let rejectsURL = folder.appendingPathComponent("menu.rejects.csv")
        let csv = """
            id,text,voice
            1,Welcome,a
            2,"Press one, or two",zz
            3,Goodbye,b
            4,"Say ""yes""
            please",qq
            5,Thanks,
            """
        let first = try await run(f, csv, format: .csv, options: PrewarmOptions(rejectsURL: rejectsURL))
        XCTAssertEqual(first.rejects.map(\.line), [3, 5])
        XCTAssertEqual(first.generated, 3)
        XCTAssertEqual(first.rejectsFile, .written(rejectsURL, lines: 2))
        let rejects = try Data(contentsOf: rejectsURL)
        XCTAssertEqual(String(decoding: rejects, as: UTF8.self),
                       "id,text,voice\n2,\"Press one, or two\",zz\n4,\"Say \"\"yes\"\"\nplease\",qq\n")

        let callsBefore = f.tone.calls
        let retry = try await run(f, String(decoding: rejects, as: UTF8.self), format: .csv,
                                  options: PrewarmOptions(rejectsURL: folder.appendingPathComponent("again.csv")))
        XCTAssertEqual(retry.phrases, 2)
        XCTAssertEqual(retry.rejects.map { $0.entry?.id }, ["2", "4"])
        XCTAssertEqual(try Data(contentsOf: folder.appendingPathComponent("again.csv")), rejects)
        XCTAssertEqual(f.tone.calls, callsBefore)
    }

    func testEngineFailuresAndUnreadableLinesGoToATextRejectsFileWithTheirDirectives() async throws {
        let f = try ServiceFixture()
        f.tone.answer = { request in
            request.text.contains("broken") ? Data("not audio".utf8) : ToneEngine.tone(for: request.text)
        }
        let url = f.root.appendingPathComponent("p.rejects.txt")
        try FileManager.default.createDirectory(at: f.root, withIntermediateDirectories: true)
        let text = "fine\n@voice b\n@style calm\nbroken one\n@bogus\nbroken one\n@style\n\\#broken two\n"
        let summary = try await run(f, text, options: PrewarmOptions(rejectsURL: url))
        XCTAssertEqual(summary.failed, 2)
        XCTAssertEqual(summary.duplicates, 1)
        XCTAssertEqual(summary.rejects.map(\.line), [4, 5, 6, 8])
        XCTAssertEqual(summary.rejects.map(\.cause), [.engine, .unreadable, .engine, .engine])
        let written = String(decoding: try Data(contentsOf: url), as: UTF8.self)
        let phrases = PhraseList.parse(Data(written.utf8), format: .text, source: "r")
        XCTAssertEqual(phrases.entries.map { [$0.text, $0.voice, $0.style] },
                       [["broken one", "b", "calm"], ["broken one", "b", "calm"], ["#broken two", "b", ""]])
        XCTAssertEqual(phrases.problems.map(\.reason).count, 1, written)
        XCTAssertTrue(written.contains("# line 4: "), written)
    }

    func testNothingFailedLeavesAnOlderRejectsFileAlone() async throws {
        let f = try ServiceFixture()
        try FileManager.default.createDirectory(at: f.root, withIntermediateDirectories: true)
        let url = f.root.appendingPathComponent("old.rejects.txt")
        try Data("stale\n".utf8).write(to: url)
        let summary = try await run(f, "fine\n", options: PrewarmOptions(rejectsURL: url))
        XCTAssertEqual(summary.rejectsFile, .none)
        XCTAssertEqual(try Data(contentsOf: url), Data("stale\n".utf8))
    }

    func testCancelledRunResumesWithoutRepeatingFinishedWork() async throws {
        let f = try ServiceFixture()
        f.tone.latency = .milliseconds(20)
        let total = 60
        let text = (1...total).map { "resume \($0)" }.joined(separator: "\n")
        let list = PhraseList.parse(Data(text.utf8), format: .text, source: "list")
        let prewarmer = Prewarmer(service: f.service)
        let defaults = tone
        let task = Task { try await prewarmer.run(list, defaults: defaults, options: PrewarmOptions(concurrency: 2)) }
        for _ in 0..<2000 where f.tone.calls < 8 { try await Task.sleep(for: .milliseconds(5)) }
        task.cancel()
        let first = try await task.value
        XCTAssertTrue(first.cancelled)
        XCTAssertFalse(first.succeeded)
        XCTAssertGreaterThan(first.remaining, 0)
        XCTAssertEqual(first.generated + first.remaining, total)
        XCTAssertEqual(first.rejectsFile, .none)
        let callsAfterFirst = f.tone.calls
        XCTAssertLessThanOrEqual(callsAfterFirst - first.generated, 2, "only calls in flight may be lost")
        let stored = try f.service.local.index.count(ClipFilter())

        let second = try await run(f, text, options: PrewarmOptions(concurrency: 2))
        XCTAssertTrue(second.succeeded)
        XCTAssertEqual(second.cached, stored)
        XCTAssertEqual(second.generated, total - stored)
        XCTAssertEqual(f.tone.calls - callsAfterFirst, total - stored, "finished items must not be generated again")
        XCTAssertEqual(try f.service.local.index.count(ClipFilter()), total)
    }

    func testProgressIsReportedAndEndsAtTheTotal() async throws {
        let f = try ServiceFixture()
        let list = PhraseList.parse(Data((1...30).map { "p\($0)" }.joined(separator: "\n").utf8), format: .text, source: "l")
        let seen = ProgressLog()
        _ = try await Prewarmer(service: f.service).run(list, defaults: tone, options: PrewarmOptions(progressInterval: .zero)) {
            seen.append($0)
        }
        let reports = seen.all
        XCTAssertGreaterThanOrEqual(reports.count, 2)
        XCTAssertEqual(reports.last?.done, 30)
        XCTAssertEqual(reports.last?.total, 30)
        XCTAssertEqual(reports.last?.generated, 30)
        XCTAssertEqual(reports.last?.eta, 0)
        XCTAssertEqual(reports.map(\.done), reports.map(\.done).sorted())
    }

    func testRealEspeakPrewarmStoresPlayableClips() async throws {
        let f = try ServiceFixture()
        let espeak = AudioRequest(text: "", engine: "espeak", model: "")
        let summary = try await run(f, "Hello\n@lang de-DE\nGuten Tag\n@voice zz\nNope\n", defaults: espeak)
        XCTAssertEqual(summary.generated, 2)
        XCTAssertEqual(summary.rejects.map(\.line), [5])
        let clips = try f.service.local.index.list(ClipFilter(), limit: 10, offset: 0)
        XCTAssertEqual(Set(clips.map(\.voice)), ["en-us", "de"])
        for clip in clips {
            XCTAssertEqual(BlobHash(of: try Data(contentsOf: f.service.local.blobs.url(for: clip.blob))), clip.blob)
        }
    }
}

/// Collects progress reports from the runner's task.
private final class ProgressLog: @unchecked Sendable {
    /// Guards `reports`.
    private let lock = NSLock()
    private var reports: [PrewarmProgress] = []
    func append(_ p: PrewarmProgress) { lock.withLock { reports.append(p) } }
    var all: [PrewarmProgress] { lock.withLock { reports } }
}

/// An engine that records how many calls run at once.
final class GaugeEngine: SpeechEngine, @unchecked Sendable {
    let name = "gauge"
    let defaultModel = "gauge-1"
    /// Guards the counters.
    private let lock = NSLock()
    private var inFlight = 0
    private var _maxInFlight = 0
    private var _calls = 0
    var maxInFlight: Int { lock.withLock { _maxInFlight } }
    var calls: Int { lock.withLock { _calls } }

    func voices() async throws -> [VoiceInfo] { [VoiceInfo(name: "g")] }
    func resolve(_ request: AudioRequest) async throws -> AudioRequest {
        var r = request
        r.voice = "g"
        r.model = defaultModel
        return r
    }
    func synthesize(_ request: AudioRequest) async throws -> Data {
        lock.withLock { _calls += 1; inFlight += 1; _maxInFlight = max(_maxInFlight, inFlight) }
        defer { lock.withLock { inFlight -= 1 } }
        try await Task.sleep(for: .milliseconds(10))
        return ToneEngine.tone(for: request.text)
    }
}
