import Foundation
import TTSCore
import TTSService
import TTSStore

/// Export commands: cached clips into a folder, for a game, an IVR system, an app bundle.
let exportCommands: [Command] = [
    Command("export", group: .export,
            summary: "Write cached clips into DIR (hard links when it can), with a manifest; re-running changes nothing",
            arguments: [.required("DIR", completion: .paths, help: "the folder to write to; made when missing")],
            options: clipSelectionOptions + [
                .date("since", help: "only clips made at or after DATE"),
                .text("list", "FILE", completion: .paths, help: "exactly the phrases of a phrase list, in its order (not with the selection options above)"),
                .choice("format", PhraseListFormat.allCases.map(\.rawValue), aliases: phraseListFormatAliases,
                        help: "the list's format, when its extension does not say"),
                .flag("generate", help: "with --list: make what is not cached first"),
                .text("name", "TEMPLATE", help: "file names from {slug} {key8} {key} {blob8} {voice} {lang} {engine} {n} {id} (default \(FileNameTemplate.defaultPattern))"),
                .choice("manifest", ManifestFormat.allCases.map(\.rawValue), default: ManifestFormat.csv.rawValue,
                        help: "the manifest written next to the files"),
                .choice("link", ExportOptions.LinkMode.allCases.map(\.rawValue), default: ExportOptions.LinkMode.auto.rawValue,
                        help: "hard-link the cached blobs: when on the same file system, always, or never"),
                .flag("copy", help: "copy every file (the same as --link never)"),
            ] + audioTargetOptions + [
                .flag("force", help: "replace a different file already at a name"),
                .flag("prune", help: "remove files an earlier export made that are no longer selected"),
                .flag("dry-run", help: "list what would be written, linked, replaced or removed; change nothing"),
                .flag("json", help: "print the report as JSON, as the global --json does"),
            ],
            examples: ["export out/", "export ivr/ --lang de-DE --rate 8000 --encoding alaw",
                       "export web/ --encoding mp3 --bitrate 96", "export archive/ --encoding flac",
                       "export game/ --name '{voice}/{lang}/{slug}.wav' --manifest json",
                       "export out/ --since 2025-01-01 --prune --dry-run",
                       "export menu/ --list menu.csv --generate --name '{id}.wav'"],
            run: export),
]

@Sendable func export(_ session: inout Session, _ context: CommandContext, _ arguments: ParsedArguments) async throws -> Report {
    let dir = arguments.positional[0]
    let filter = ClipFilter(voice: arguments.text("voice"), language: arguments.text("lang"),
                            engine: arguments.text("engine")?.lowercased(), model: arguments.text("model"),
                            textContains: arguments.text("match"), createdSince: arguments.date("since"))
    let exportOptions = try ExportOptions(
        directory: URL(fileURLWithPath: dir, relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath)),
        template: FileNameTemplate(arguments.text("name") ?? FileNameTemplate.defaultPattern),
        manifest: arguments.choiceOrDefault("manifest", as: ManifestFormat.self),
        link: linkMode(arguments),
        target: audioTarget(arguments),
        force: arguments.flag("force"), prune: arguments.flag("prune"),
        dryRun: arguments.flag("dry-run"))

    var items: [ExportItem]
    var listShortfall: [String] = []
    if let listPath = arguments.text("list") {
        let selectors = clipSelectionOptions.map(\.name).filter { arguments.given($0) } + (arguments.given("since") ? ["since"] : [])
        guard selectors.isEmpty else {
            throw TTSError.validation("list", "--list selects exactly the phrases of the list; drop --\(selectors.joined(separator: ", --")) (give voices and languages in the list or with `voice`/`lang`)")
        }
        (items, listShortfall) = try await listItems(listPath, arguments: arguments, session: session, context: context,
                                                     generate: arguments.flag("generate") && !exportOptions.dryRun)
    } else {
        if arguments.flag("generate") || arguments.given("format") {
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
    if arguments.flag("json") && !context.output.json {
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
private func listItems(_ path: String, arguments: ParsedArguments, session: Session, context: CommandContext,
                       generate: Bool) async throws -> ([ExportItem], [String]) {
    let list = try await loadPhraseList(path, format: try phraseListFormat(path, named: arguments.text("format")))
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

private func linkMode(_ arguments: ParsedArguments) throws -> ExportOptions.LinkMode {
    let mode = arguments.choiceOrDefault("link", as: ExportOptions.LinkMode.self)
    guard arguments.flag("copy") else { return mode }
    if arguments.given("link") && mode != .never {
        throw TTSError.validation("copy", "--copy and --link \(mode.rawValue) contradict each other; give one")
    }
    return .never
}

/// `--encoding`, `--bitrate`, `--quality` and `--rate`: a format to convert to (`say`, `play`,
/// `export`). Each codec's own ranges are checked by `AudioTarget.validated()`.
let audioTargetOptions: [CommandOption] = [
    .choice("encoding", AudioEncoding.allCases.map(\.rawValue), aliases: [("wav", AudioEncoding.pcm16.rawValue)],
            help: "convert to this format, cached under converted/"),
    codecSettingOption(.bitrate, "KBPS", help: "kbit/s"),
    codecSettingOption(.quality, "N", help: "quality or compression level"),
    .integer("rate", "HZ", 8000...48000, suggestions: AudioTarget.supportedRates,
             help: "sample rate, one of \(AudioTarget.supportedRates.map(String.init).joined(separator: ", ")); "
                + "opus takes \((AudioEncoding.opus.allowedRates ?? []).map(String.init).joined(separator: ", "))"),
]

/// `--bitrate` or `--quality`, its range spanning every codec that has it, and the help naming
/// each codec's own range and default (`mp3 8–320 (default 64), opus 6–256 (default 32)`).
private func codecSettingOption(_ kind: QualitySetting.Kind, _ placeholder: String, help: String) -> CommandOption {
    let codecs = AudioEncoding.allCases.compactMap { encoding in encoding.setting.map { (encoding, $0) } }.filter { $0.1.kind == kind }
    let range = codecs.map(\.1.range.lowerBound).min()!...codecs.map(\.1.range.upperBound).max()!
    let each = codecs.map { "\($0.0.rawValue) \($0.1.range.lowerBound)–\($0.1.range.upperBound) (default \($0.1.defaultValue))" }
    return .integer(kind.rawValue, placeholder, range, help: "\(help): \(each.joined(separator: ", "))")
}

/// Whether any of `audioTargetOptions` was given (`--encoding`, `--bitrate`, …).
func asksForAudioTarget(_ arguments: ParsedArguments) -> Bool {
    audioTargetOptions.contains { arguments.given($0.name) }
}

/// The audio target options as a validated target (nil when none is given: the clips are
/// used as they are stored).
func audioTarget(_ arguments: ParsedArguments) throws -> AudioTarget? {
    guard asksForAudioTarget(arguments) else { return nil }
    let target = AudioTarget(sampleRate: arguments.int("rate"),
                             encoding: arguments.choice("encoding", as: AudioEncoding.self) ?? .pcm16,
                             bitrate: arguments.int("bitrate"), quality: arguments.int("quality"))
    return try target.validated()
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
