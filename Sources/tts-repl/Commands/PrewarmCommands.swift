import Dispatch
import Foundation
import Synchronization
import TTSConcurrency
import TTSCore
import TTSService

/// Pre-warm: fill the cache from a phrase list before anyone asks.
let prewarmCommands: [Command] = [
    Command("prewarm", group: .prewarm,
            summary: "Fill the cache from a phrase list (text, CSV, TSV or JSON Lines; - reads stdin). Cached phrases cost nothing; failed lines go to FILE.rejects.EXT for a retry; --queue leaves the work to `worker` processes through Redis",
            arguments: [.required("FILE", completion: .paths, help: "a phrase list; - reads stdin")],
            options: [
                .choice("format", PhraseListFormat.allCases.map(\.rawValue), aliases: phraseListFormatAliases,
                        help: "the list's format when its extension does not say; stdin is text"),
                .integer("concurrency", "N", 1...64, default: 4, help: "engine requests at a time"),
                .flag("dry-run", help: "count the engine calls, audio and time it would take; call no engine"),
                .flag("strict", help: "stop before any engine call when a line is bad"),
                .text("rejects", "FILE", completion: .paths, help: "where failed lines go (default FILE.rejects.EXT; none for stdin)"),
                .flag("queue", help: "queue the phrases in Redis for `worker` processes instead (only --strict and --format apply)"),
            ],
            examples: ["prewarm phrases.txt", "prewarm menu.csv --concurrency 8", "prewarm prompts.jsonl --dry-run",
                       "prewarm phrases.rejects.txt", "prewarm - --format csv < menu.csv", "prewarm menu.csv --queue"],
            run: prewarm),
]

/// Other names `PhraseListFormat(name:)` accepts for a format.
let phraseListFormatAliases = [("txt", "text"), ("tab", "tsv"), ("ndjson", "jsonl"), ("json-lines", "jsonl")]

@Sendable func prewarm(_ session: inout Session, _ context: CommandContext, _ arguments: ParsedArguments) async throws -> Report {
    let path = arguments.positional[0]
    let concurrency = arguments.intOrDefault("concurrency")
    let format = try phraseListFormat(path, named: arguments.text("format"))
    if arguments.flag("queue") {
        if arguments.flag("dry-run") || arguments.given("concurrency") || arguments.given("rejects") {
            throw TTSError.validation("queue", "--queue only queues the phrases: --dry-run, --concurrency and --rejects belong to a local run (give `worker --concurrency N` to the workers)")
        }
        let list = try await loadPhraseList(path, format: format)
        return try await enqueuePrewarm(list, defaults: session.request(text: ""), strict: arguments.flag("strict"), context: context)
    }
    let rejectsURL = try rejectsLocation(input: path, format: format, given: arguments.text("rejects"))
    let list = try await loadPhraseList(path, format: format)
    let printer = ProgressPrinter(output: context.output)
    let summary = try await Prewarmer(service: context.service).run(
        list, defaults: session.request(text: ""),
        options: PrewarmOptions(concurrency: concurrency, dryRun: arguments.flag("dry-run"),
                                strict: arguments.flag("strict"), rejectsURL: rejectsURL,
                                requestsPerMinute: context.runtime.configuration.requestsPerMinute),
        progress: { printer.show($0) })
    printer.end()
    var report = prewarmReport(summary, concurrency: concurrency)
    if rejectsURL == nil, case .notWritten = summary.rejectsFile, !summary.cancelled, !summary.dryRun, !summary.aborted {
        report.human += "\n  (the list came from stdin: give --rejects FILE to keep the failed lines)"
    }
    return report
}

/// `<input minus extension>.rejects.<ext>` next to the input, or what `--rejects` names; none
/// for stdin unless named. Never the input itself.
private func rejectsLocation(input: String, format: PhraseListFormat, given: String?) throws -> URL? {
    let url: URL
    if let given {
        url = URL(fileURLWithPath: given)
    } else if input == "-" {
        return nil
    } else {
        url = URL(fileURLWithPath: input).deletingPathExtension().appendingPathExtension("rejects." + format.fileExtension)
    }
    if input != "-" && url.standardizedFileURL.path == URL(fileURLWithPath: input).standardizedFileURL.path {
        throw TTSError.validation("rejects", "--rejects names the input file itself; give another path so the list is not overwritten")
    }
    return url
}

/// The format `--format` names, else the one the extension says (stdin: plain text).
func phraseListFormat(_ path: String, named name: String?) throws -> PhraseListFormat {
    if let name {
        guard let named = PhraseListFormat(name: name) else {
            throw TTSError.validation("format", "--format takes one of \(PhraseListFormat.names), not '\(name)'")
        }
        return named
    }
    if path == "-" { return .text }
    if let detected = PhraseListFormat.detect(path: path) { return detected }
    throw TTSError.validation("format", "cannot tell the format of \(path) from its extension (.txt, .csv, .tsv, .jsonl, .ndjson): add --format \(PhraseListFormat.names.replacingOccurrences(of: ", ", with: "|"))")
}

/// A phrase list from a file, or from stdin for `-` (used by `prewarm` and `export --list`).
func loadPhraseList(_ path: String, format: PhraseListFormat) async throws -> PhraseList {
    PhraseList.parse(try await readPhraseList(path), format: format, source: path == "-" ? "stdin" : path)
}

/// Reads the whole list off the cooperative pool: a file, or stdin until end of input.
private func readPhraseList(_ path: String) async throws -> Data {
    try await Blocking.run {
        if path == "-" { return FileHandle.standardInput.readDataToEndOfFile() }
        do {
            return try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            let reason = FileManager.default.fileExists(atPath: path) ? "it cannot be read (check its permissions)"
                : "there is no such file (the path is relative to \(FileManager.default.currentDirectoryPath))"
            throw TTSError.validation("file", "cannot read the phrase list \(path): \(reason)")
        }
    }
}

/// Shows progress: redrawn in place on a terminal (the runner reports at most every 200 ms),
/// one line every 2 s otherwise so logs stay readable.
final class ProgressPrinter: Sendable {
    private let output: Output
    /// Guards when the last line was shown, and whether one was: the runner reports from its task.
    private let shown = Mutex<(lastLine: ContinuousClock.Instant?, any: Bool)>((nil, false))

    init(output: Output) { self.output = output }

    func show(_ progress: PrewarmProgress) {
        let now = ContinuousClock.now
        let due: Bool = shown.withLock { shown in
            if !output.progressIsLive, let last = shown.lastLine, last.duration(to: now) < .seconds(2), progress.done < progress.total {
                return false
            }
            shown = (now, true)
            return true
        }
        if due { output.progress(progressLine(progress)) }
    }

    /// Ends the live line so the summary starts on its own.
    func end() {
        if shown.withLock({ $0.any }) && output.progressIsLive { output.write("\n", to: .standardError) }
    }
}

/// `[=====>    ] 412/1000 cached 300 generated 100 failed 12 35.2/s ETA 0:17`
func progressLine(_ p: PrewarmProgress) -> String {
    let width = 20
    let filled = p.total == 0 ? width : min(width, p.done * width / p.total)
    let bar = String(repeating: "=", count: max(0, filled - 1)) + (filled > 0 ? (filled == width ? "=" : ">") : "")
        + String(repeating: " ", count: width - filled)
    let eta = p.eta.map { "ETA " + clockTime($0) } ?? "ETA -"
    return "[\(bar)] \(p.done)/\(p.total) cached \(p.cached) generated \(p.generated) failed \(p.failed) "
        + String(format: "%.1f/s ", p.rate) + eta
}

/// `0:17`, `12:05`, `1:02:03`.
func clockTime(_ seconds: Double) -> String {
    let total = Int(seconds.rounded(.up))
    let h = total / 3600, m = total / 60 % 60, s = total % 60
    return h > 0 ? String(format: "%d:%02d:%02d", h, m, s) : String(format: "%d:%02d", m, s)
}

/// `0.42 s` under a minute, `1:05` after.
func elapsedText(_ seconds: Double) -> String {
    seconds < 60 ? String(format: "%.2f s", seconds) : clockTime(seconds)
}

func prewarmReport(_ s: PrewarmSummary, concurrency: Int) -> Report {
    var lines: [String] = []
    let heading = s.dryRun ? "dry run of \(s.source)" : "prewarm \(s.source)"
    lines.append("\(heading): \(s.lines) lines, \(s.phrases) phrases, \(s.problems) problem\(s.problems == 1 ? "" : "s")")
    lines.append("  unique \(s.unique)  duplicates \(s.duplicates)  cached \(s.cached)  generated \(s.generated)  failed \(s.failed)"
                 + (s.remaining > 0 ? "  not done \(s.remaining)" : ""))
    if let e = s.estimate {
        lines.append("  would make \(e.engineCalls) engine call\(e.engineCalls == 1 ? "" : "s"): ~"
                     + String(format: "%.0f s of audio (estimated at %.0f characters a second of speech), ", e.audioSeconds, PrewarmEstimate.charactersPerSecond)
                     + "~\(clockTime(e.seconds)) at concurrency \(concurrency)"
                     + (e.engineCalls > 0 ? String(format: " (assuming ~%.3f s a call)", e.secondsPerCall) : ""))
    } else if !s.aborted {
        lines.append(String(format: "  %.1f s of audio generated in %@ (%.1f requests/s)", s.audioSeconds, elapsedText(s.elapsed), s.rate))
    }
    let shownRejects = 20
    for reject in s.rejects.prefix(shownRejects) {
        lines.append("  \(s.source):\(reject.line): \(reject.reason)")
    }
    if s.rejects.count > shownRejects { lines.append("  … and \(s.rejects.count - shownRejects) more") }
    if s.aborted { lines.append("  --strict: stopped before any engine call; fix these lines and run again") }
    if s.cancelled { lines.append("  cancelled: \(s.remaining) not done; run the same command again to resume (cached ones are skipped)") }
    switch s.rejectsFile {
    case .none:
        if !s.dryRun && !s.aborted && !s.cancelled { lines.append("  no rejects: every line is cached") }
    case .written(let url, let count):
        lines.append("  rejects: \(url.path) (\(count) line\(count == 1 ? "" : "s")); fix and retry with `prewarm \(url.path)`")
    case .notWritten(let why):
        lines.append("  no rejects file written: \(why)")
    }

    var fields: [(String, JSONValue)] = [
        ("source", .string(s.source)), ("dry_run", .bool(s.dryRun)), ("lines", .int(s.lines)), ("phrases", .int(s.phrases)),
        ("problems", .int(s.problems)), ("unique", .int(s.unique)), ("duplicates", .int(s.duplicates)),
        ("cached", .int(s.cached)), ("generated", .int(s.generated)), ("failed", .int(s.failed)),
        ("remaining", .int(s.remaining)), ("audio_seconds", .double(rounded(s.audioSeconds))),
        ("elapsed_s", .double(rounded(s.elapsed))), ("rate", .double(rounded(s.rate))),
        ("cancelled", .bool(s.cancelled)), ("aborted", .bool(s.aborted)),
    ]
    if let e = s.estimate {
        fields.append(("estimate", .object([("engine_calls", .int(e.engineCalls)), ("audio_seconds", .double(rounded(e.audioSeconds))),
                                            ("seconds", .double(rounded(e.seconds))), ("seconds_per_call", .double(rounded(e.secondsPerCall))),
                                            ("characters_per_second", .double(PrewarmEstimate.charactersPerSecond)),
                                            ("concurrency", .int(concurrency))])))
    }
    switch s.rejectsFile {
    case .written(let url, _): fields.append(("rejects_file", .string(url.path)))
    default: fields.append(("rejects_file", .null))
    }
    fields.append(("rejects", .array(s.rejects.map {
        .object([("line", .int($0.line)), ("cause", .string($0.cause.rawValue)), ("reason", .string($0.reason))])
    })))
    return Report(human: lines.joined(separator: "\n"), json: .object(fields), failed: !s.succeeded)
}

private func rounded(_ value: Double) -> Double { (value * 1000).rounded() / 1000 }
