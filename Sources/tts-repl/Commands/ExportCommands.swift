import Foundation
import TTSCore
import TTSService
import TTSStore

/// Export commands: cached clips into a folder, for a game, an IVR system, an app bundle.
let exportCommands: [Command] = [
    Command("export", group: .export,
            usage: "export DIR [--voice V] [--lang L] [--engine E] [--model M] [--match TEXT] [--since DATE] [--list FILE [--format F] [--generate]] [--name TEMPLATE] [--manifest csv|json|jsonl|none] [--link auto|always|never] [--copy] [--rate HZ] [--encoding pcm16|ulaw|alaw|flac|opus|vorbis|mp3] [--bitrate KBPS] [--quality N] [--force] [--prune] [--dry-run] [--json]",
            summary: "Write cached clips into DIR (hard links when it can), with a manifest; re-running changes nothing",
            examples: ["export out/", "export ivr/ --lang de-DE --rate 8000 --encoding alaw",
                       "export web/ --encoding mp3 --bitrate 96", "export archive/ --encoding flac",
                       "export game/ --name '{voice}/{lang}/{slug}.wav' --manifest json",
                       "export out/ --since 2025-01-01 --prune --dry-run",
                       "export menu/ --list menu.csv --generate --name '{id}.wav'"],
            options: ["--voice", "--lang", "--engine", "--model", "--match", "--since", "--list", "--format", "--generate",
                      "--name", "--manifest", "--link", "--copy", "--rate", "--encoding", "--bitrate", "--quality", "--force", "--prune", "--dry-run"],
            completion: .paths, run: export),
]

@Sendable func export(_ session: inout Session, _ context: CommandContext, _ words: [String]) async throws -> Report {
    let options = try Options(words, valued: ["voice", "lang", "engine", "model", "match", "since", "name", "manifest",
                                              "link", "rate", "encoding", "bitrate", "quality", "list", "format"],
                              flags: ["copy", "force", "prune", "dry-run", "json", "generate"], command: "export")
    guard let dir = options.positional.first else {
        throw TTSError.validation("dir", "export needs a folder to write to, e.g. `export out/`")
    }
    if options.positional.count > 1 {
        throw TTSError.validation("dir", "export takes one folder, not '\(options.positional[1])'; to search text use --match \"\(options.positional[1])\"")
    }
    let filter = ClipFilter(voice: options.values["voice"], language: options.values["lang"],
                            engine: options.values["engine"]?.lowercased(), model: options.values["model"],
                            textContains: options.values["match"],
                            createdSince: try options.values["since"].map(parseSince))
    let exportOptions = try ExportOptions(
        directory: URL(fileURLWithPath: dir, relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath)),
        template: FileNameTemplate(options.values["name"] ?? FileNameTemplate.defaultPattern),
        manifest: choice(options, "manifest", default: .csv),
        link: linkMode(options),
        target: audioTarget(options),
        force: options.flags.contains("force"), prune: options.flags.contains("prune"),
        dryRun: options.flags.contains("dry-run"))

    var items: [ExportItem]
    var listShortfall: [String] = []
    if let listPath = options.values["list"] {
        let selectors = ["voice", "lang", "engine", "model", "match", "since"].filter { options.values[$0] != nil }
        guard selectors.isEmpty else {
            throw TTSError.validation("list", "--list selects exactly the phrases of the list; drop --\(selectors.joined(separator: ", --")) (give voices and languages in the list or with `voice`/`lang`)")
        }
        (items, listShortfall) = try await listItems(listPath, options: options, session: session, context: context,
                                                     generate: options.flags.contains("generate") && !exportOptions.dryRun)
    } else {
        if options.flags.contains("generate") || options.values["format"] != nil {
            throw TTSError.validation("generate", "--generate and --format go with --list FILE")
        }
        items = try ExportPlan.items(in: context.service.local, matching: filter)
        // A damaged blob is made again first, as on every other read (not in a dry run).
        if !exportOptions.dryRun { items = try await context.service.checkedForExport(items) }
    }
    let exporter = Exporter(local: context.service.local, converter: context.service.conversions)
    let bar = ProgressBar(output: context.output, quiet: exportOptions.dryRun)
    let summary = try await exporter.export(items, options: exportOptions) { bar.update($0) }
    bar.finish()

    var report = exportReport(summary)
    if options.flags.contains("json") && !context.output.json {
        // `tts-repl export out --json`: the flag came after the command word.
        report = Report(human: report.json.map { $0.serialized() }.joined(separator: "\n"), json: report.json)
    }
    if summary.cancelled {
        context.output.emit(report)
        throw TTSError(.cancelled, "export cancelled after \(summary.exported + summary.skipped) of \(summary.planned) files; the manifest lists the files written")
    }
    if !listShortfall.isEmpty {
        report.human += "\n" + listShortfall.joined(separator: "\n")
        report.json.append(.object([("list_not_exported", .array(listShortfall.map { .string($0) }))]))
        report.failed = true
    }
    if summary.failed > 0 {
        context.output.emit(report)
        throw TTSError.store("\(summary.failed) of \(summary.planned) files could not be exported (listed above); the others are in \(summary.directory)")
    }
    return report
}

/// The items of `--list FILE`, in its order; with `generate`, what is not cached is made first
/// (a prewarm of the list). Returns the lines that could not be exported, for the report.
private func listItems(_ path: String, options: Options, session: Session, context: CommandContext,
                       generate: Bool) async throws -> ([ExportItem], [String]) {
    let list = try await loadPhraseList(path, format: try phraseListFormat(path, named: options.values["format"]))
    let defaults = session.request(text: "")
    if generate {
        let printer = ProgressPrinter(output: context.output)
        let summary = try await Prewarmer(service: context.service).run(list, defaults: defaults) { printer.show($0) }
        printer.end()
        if summary.cancelled { throw TTSError(.cancelled, "export --generate cancelled while generating; nothing was exported") }
    }
    let selection = await ListSelection.select(list, defaults: defaults, service: context.service)
    var shortfall = selection.problems.map { "not exported: \($0)" }
    shortfall += selection.missing.map { "not cached: \(list.source):\($0.line): \(excerpt($0.text, 50)) (run `prewarm \(path)` or add --generate)" }
    return (selection.items, shortfall)
}

/// `--since 2025-01-31`, `--since 2025-01-31T08:00:00Z`, `--since 2025-01-31T08:00:00+01:00`;
/// a date or a time without a zone is UTC.
func parseSince(_ text: String) throws -> Date {
    let attempts: [(ISO8601DateFormatter.Options, String)] = [
        ([.withInternetDateTime, .withFractionalSeconds], text), ([.withInternetDateTime], text),
        ([.withInternetDateTime], text + "Z"), ([.withInternetDateTime, .withFractionalSeconds], text + "Z"),
        ([.withFullDate], text),
    ]
    for (formatOptions, candidate) in attempts {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = formatOptions
        formatter.timeZone = TimeZone(identifier: "UTC")
        if let date = formatter.date(from: candidate) { return date }
    }
    throw TTSError.validation("since", "--since '\(text)' is not an ISO 8601 date: use 2025-01-31 or 2025-01-31T08:00:00Z")
}

private func choice<T: RawRepresentable & CaseIterable>(_ options: Options, _ name: String, default value: T) throws -> T where T.RawValue == String {
    guard let text = options.values[name] else { return value }
    guard let parsed = T(rawValue: text.lowercased()) else {
        throw TTSError.validation(name, "--\(name) takes \(T.allCases.map(\.rawValue).joined(separator: ", ")), not '\(text)'")
    }
    return parsed
}

private func linkMode(_ options: Options) throws -> ExportOptions.LinkMode {
    let mode = try choice(options, "link", default: ExportOptions.LinkMode.auto)
    guard options.flags.contains("copy") else { return mode }
    if options.values["link"] != nil && mode != .never {
        throw TTSError.validation("copy", "--copy and --link \(mode.rawValue) contradict each other; give one")
    }
    return .never
}

/// `--rate`, `--encoding`, `--bitrate` and `--quality` as a validated target (nil when none is
/// given: the clips are exported as they are stored). Shared with `say --encoding`.
func audioTarget(_ options: Options) throws -> AudioTarget? {
    let names = ["rate", "encoding", "bitrate", "quality"]
    guard names.contains(where: { options.values[$0] != nil }) else { return nil }
    func number(_ name: String, _ what: String) throws -> Int? {
        guard let text = options.values[name] else { return nil }
        guard let value = Int(text) else { throw TTSError.validation(name, "--\(name) takes \(what), not '\(text)'") }
        return value
    }
    let target = AudioTarget(sampleRate: try number("rate", "a sample rate in Hz"),
                             encoding: try encoding(options.values["encoding"]),
                             bitrate: try number("bitrate", "kbit/s, e.g. 64"), quality: try number("quality", "a whole number"))
    return try target.validated()
}

private func encoding(_ text: String?) throws -> AudioEncoding {
    guard let text else { return .pcm16 }
    guard let encoding = AudioEncoding(named: text) else {
        throw TTSError.validation("encoding", "--encoding takes \(AudioEncoding.allCases.map(\.rawValue).joined(separator: ", ")) (wav = pcm16), not '\(text)'")
    }
    return encoding
}

/// Draws export progress without flooding: on a terminal at most ten times a second, in a
/// pipe or log every two seconds.
private final class ProgressBar: @unchecked Sendable {
    private let output: Output
    private let quiet: Bool
    private let interval: Double
    /// Guards `lastDraw` and `drawn`: updates come from the export thread.
    private let lock = NSLock()
    private var lastDraw = Date.distantPast
    private var drawn = false

    init(output: Output, quiet: Bool) {
        self.output = output
        self.quiet = quiet
        interval = output.progressIsLive ? 0.1 : 2
    }

    func update(_ progress: ExportProgress) {
        guard !quiet else { return }
        lock.lock(); defer { lock.unlock() }
        let now = Date()
        guard now.timeIntervalSince(lastDraw) >= interval || (progress.done == progress.total && drawn) else { return }
        lastDraw = now
        drawn = true
        let width = 24
        let filled = progress.total == 0 ? width : width * progress.done / progress.total
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        output.progress("export [\(bar)] \(progress.done)/\(progress.total) \(excerpt(progress.file, 40))")
    }

    func finish() {
        lock.lock(); defer { lock.unlock() }
        if drawn && output.progressIsLive { output.progress("", done: true) }
    }
}

private func exportReport(_ s: ExportSummary) -> Report {
    var json: [JSONValue] = []
    var lines: [String] = []
    if s.dryRun {
        for file in s.files {
            json.append(.object([("file", .string(file.file)), ("key", file.key.map { .string($0) } ?? .null),
                                 ("action", .string(file.action.rawValue))]
                                + (file.message.map { [("message", JSONValue.string($0))] } ?? [])))
            lines.append("\(file.action.rawValue.padding(toLength: 7, withPad: " ", startingAt: 0)) \(file.file) → \(file.key.map { String($0.prefix(8)) } ?? "-")"
                         + (file.message.map { "  (\($0))" } ?? ""))
        }
    } else {
        for file in s.files where file.action == .fail {
            lines.append("failed: \(file.file): \(file.message ?? "")")
        }
    }
    for warning in s.warnings { lines.append("warning: \(warning)") }
    let errors = s.files.filter { $0.action == .fail }.map { file -> JSONValue in
        .object([("file", .string(file.file)), ("key", file.key.map { .string($0) } ?? .null),
                 ("message", .string(file.message ?? ""))])
    }
    json.append(.object([
        ("directory", .string(s.directory)), ("dry_run", .bool(s.dryRun)), ("planned", .int(s.planned)),
        ("exported", .int(s.exported)), ("linked", .int(s.linked)), ("copied", .int(s.copied)),
        ("skipped", .int(s.skipped)), ("converted", .int(s.converted)), ("failed", .int(s.failed)),
        ("pruned", .int(s.pruned)), ("kept", .int(s.kept)), ("bytes", .int(s.bytes)),
        ("manifest", s.manifest.map { .string($0) } ?? .null), ("errors", .array(errors)),
        ("warnings", .array(s.warnings.map { .string($0) })),
    ]))
    let verb = s.dryRun ? "would export" : "exported"
    var summary = "\(verb) \(s.dryRun ? s.files.filter { [.link, .copy, .replace].contains($0.action) }.count : s.exported) of \(s.planned) files to \(s.directory)"
    if !s.dryRun { summary += " (\(s.linked) linked, \(s.copied) copied, \(formatBytes(s.bytes)))" }
    summary += "; \(s.skipped) already there, \(s.converted) converted, \(s.failed) failed"
    if s.pruned > 0 { summary += ", \(s.pruned) \(s.dryRun ? "to remove" : "removed")" }
    if s.kept > 0 { summary += "; \(s.kept) earlier files kept (--prune removes them)" }
    if let manifest = s.manifest { summary += "\nmanifest: \(manifest)" }
    lines.append(summary)
    return Report(human: lines.joined(separator: "\n"), json: json)
}

private func formatBytes(_ bytes: Int) -> String {
    bytes < 1024 * 1024 ? String(format: "%.1f kB", Double(bytes) / 1024) : String(format: "%.1f MB", Double(bytes) / 1_048_576)
}
