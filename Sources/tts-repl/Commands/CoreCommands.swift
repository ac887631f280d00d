import Foundation
import TTSCore
import TTSEngines
import TTSService
import TTSStore

/// What a command may use besides the session: the runtime, the output (for progress and
/// notices) and the command table (for help).
struct CommandContext: Sendable {
    let runtime: Runtime
    let output: Output
    let table: @Sendable () -> CommandTable
    var service: SpeechService { runtime.service }
}

/// The REPL's commands, one table for parsing, `help` and completion. Each group of commands
/// lives in its own file under Commands/ and is listed here once.
func makeCommandTable() -> CommandTable {
    CommandTable(commands: coreCommands + prewarmCommands + queueCommands + exportCommands + operationsCommands + serveCommands)
}

/// Speech, session, cache browsing and shell commands.
let coreCommands: [Command] = [
        Command("say", aliases: ["s"], group: .speech,
                summary: "Speak TEXT with the session's engine, voice and language; served from the cache when it can be; --encoding also gives a converted copy; --stream plays it as it is made",
                input: .text,
                arguments: [.required("TEXT", help: "what to say, as typed (options come first; -- ends them)")],
                options: [.flag("stream", help: "play the clip while it is made (cached once complete); not with a format option"),
                          .text("speakers", "A=VOICE,B=VOICE", help: "a two-speaker dialogue (Gemini): each speaker's voice; TEXT names them, `A: … B: …`")]
                    + audioTargetOptions,
                examples: ["say Hello world", "say Your call is important to us.", "say --encoding mp3 Welcome back!", "say --stream A long paragraph to hear at once.",
                           "say --speakers Joe=Kore,Jane=Puck Joe: Ready? Jane: Always."],
                answerAtOnce: sayCached, run: say),
        Command("voices", group: .speech,
                summary: "List the voices of the current engine, optionally only those whose name or language contains FILTER",
                arguments: [.optional("FILTER", help: "part of a voice's name, language or description")],
                examples: ["voices", "voices de"], run: voices),
        Command("voice", group: .session, summary: "Show or set the voice; `default` lets the engine choose from the language",
                arguments: [.optional("NAME | default", completion: .voices, help: "a voice of the current engine (see `voices`)")],
                examples: ["voice en-gb", "voice Kore", "voice default"], run: voice),
        Command("lang", aliases: ["language"], group: .session, summary: "Show or set the BCP-47 language; `auto` leaves it to the engine",
                arguments: [.optional("CODE | auto", completion: .languages, help: "a BCP-47 tag such as en-US, de-DE or ja")],
                examples: ["lang de-DE", "lang auto"], run: lang),
        Command("engine", group: .session, summary: "Show or set the speech engine",
                arguments: [.optional("espeak | gemini", completion: .engines, help: "the engine the next `say` uses")],
                examples: ["engine espeak"], run: engine),
        Command("model", group: .session, summary: "Show or set the engine's model (part of the cache key)",
                arguments: [.optional("NAME | default", help: "a model of the current engine")],
                examples: ["model gemini-3.8-flash-tts", "model default"], run: model),
        Command("style", group: .session, summary: "Show or set the delivery style, e.g. cheerfully (part of the cache key)",
                input: .text, arguments: [.optional("TEXT | none", help: "how to say it, as typed")],
                examples: ["style cheerfully", "style none"], run: style),
        Command("set", group: .session, summary: "Show the session: engine, voice, language, model, style",
                examples: ["set"], run: showSession),
        Command("ls", aliases: ["list"], group: .cache, summary: "List cached clips, newest first",
                options: clipSelectionOptions + [
                    .integer("limit", "N", 1...100_000, default: 20, help: "list at most N clips"),
                    .integer("offset", "N", 0...Int.max, default: 0, help: "skip the N newest first, for paging"),
                ],
                examples: ["ls", "ls --match hello --limit 5", "ls --voice de"], run: list),
        Command("info", group: .cache, summary: "Show everything about one clip (the last one when no key is given)",
                arguments: [.optional("KEY | KEY-PREFIX", help: "a key as `ls` shows it; the last clip when left out")],
                examples: ["info", "info 3fa4c2d1"], run: info),
        Command("play", group: .cache,
                summary: "Play the last clip, or the clip with KEY (in the last `say --encoding` format, or the one given), with aplay, paplay, ffplay or sox",
                arguments: [.optional("KEY", help: "a key or unique prefix; the last clip when left out")],
                options: audioTargetOptions,
                examples: ["play", "play 3fa4c2d1", "play --encoding opus"], run: play),
        Command("open", group: .cache, summary: "Print the WAV file's path of the last clip, or of the clip with KEY",
                arguments: [.optional("KEY", help: "a key or unique prefix; the last clip when left out")],
                examples: ["open", "open 3fa4c2d1"], run: openClip),
        Command("help", aliases: ["?"], group: .shell, summary: "List commands, or show one command's usage, options and examples",
                arguments: [.optional("COMMAND", completion: .commands, help: "a command or alias")],
                examples: ["help", "help say"], run: help),
        Command("quit", aliases: ["exit", "q"], group: .shell,
                summary: "Leave tts-repl (Ctrl-D does the same)", run: { _, _, _ in throw Quit() }),
]

/// The options that select cached clips by their request (`ls`, `export`).
let clipSelectionOptions: [CommandOption] = [
    .text("voice", "V", completion: .voices, help: "only clips with this voice"),
    .text("lang", "L", completion: .languages, help: "only clips in this language"),
    .text("engine", "E", completion: .engines, help: "only clips made by this engine"),
    .text("model", "M", help: "only clips made by this model"),
    .text("match", "TEXT", help: "only clips whose text contains TEXT (any case)"),
]

/// Thrown by `quit` to end the command loop.
struct Quit: Error {}

// MARK: - Speech

@Sendable func say(_ session: inout Session, _ context: CommandContext, _ arguments: ParsedArguments) async throws -> Report {
    // Leading options, then the text: `say --speakers Joe=Kore,Jane=Puck Joe: … Jane: …` (a
    // two-speaker dialogue, Gemini), `say --encoding mp3 --bitrate 96 Welcome`.
    var request = session.request(text: arguments.positional.first ?? "")
    if let speakers = arguments.text("speakers") { request.speakers = try parseSpeakers(speakers) }
    if arguments.flag("stream") {
        guard !asksForAudioTarget(arguments) else {
            throw TTSError.validation("stream", "say --stream plays the clip as it is made; it cannot be combined with --encoding, --bitrate, --quality or --rate")
        }
        // Plays the clip as it is made; it is cached when complete.
        return try await sayStreaming(request, &session, context)
    }
    let target = try audioTarget(arguments)
    let result = try await context.service.generateOrFetch(request, fallbackEngine: context.runtime.live.current.fallbackEngine)
    session.lastClip = result.clip
    session.lastTarget = target
    var converted: ConvertedAudio?
    if let target { converted = try await context.service.conversions.converted(result.clip, to: target) }
    return sayReport(result, converted: converted, request: request, context)
}

/// `say` when the clip is in memory or on this machine and nothing asks for more than its
/// WAV file (no stream, dialogue or encoding): answered on the spot, or nil for `say` to run.
@Sendable func sayCached(_ session: inout Session, _ context: CommandContext, _ arguments: ParsedArguments) throws -> Report? {
    guard !arguments.flag("stream"), !arguments.given("speakers"),
          !asksForAudioTarget(arguments) else { return nil }
    let request = session.request(text: arguments.positional.first ?? "")
    guard let result = try context.service.cachedHit(request) else { return nil }
    session.lastClip = result.clip
    session.lastTarget = nil
    return sayReport(result, converted: nil, request: request, context)
}

/// What `say` answers: the tier, key, duration, voice, time and the file (the converted one
/// when an encoding was asked for).
private func sayReport(_ result: Generation, converted: ConvertedAudio?, request: AudioRequest, _ context: CommandContext) -> Report {
    let clip = result.clip
    let path = converted?.path ?? result.filePath
    // With --json the line for people is never printed; formatting it with String(format:) and
    // Foundation's padding made plain output slower than --json, so it is built by hand.
    let tierName = result.tier.rawValue
    let human = context.output.json ? ""
        : "\(tierName)\(String(repeating: " ", count: max(0, 6 - tierName.count))) \(clip.key.short)  "
            + "\(formatSeconds(clip.durationMs)) audio  \(clip.voice)  \(fixedPoint(result.elapsedMs, decimals: 1)) ms  \(path)"
            + (result.fallbackFor.map { "\n  fallback: \(clip.engine) answered because \(request.engine) could not (\($0.kind.rawValue) error)" } ?? "")
    // Likewise the JSON object is built only for --json: its fields (timestamps, every clip
    // fact) cost more than the look-up on a line of plain output.
    guard context.output.json else { return Report(human: human, json: []) }
    // The path is the file this answer names: the converted one when an encoding was asked for.
    var fields = result.jsonFields(path: path)
    if let converted { fields += [("source_path", JSONValue.string(result.filePath))] + convertedFields(converted) }
    if let reason = result.fallbackFor {
        fields += [("fallback", .bool(true)), ("fallback_reason", .string(reason.message))]
    }
    return Report(human: human, json: .object(fields))
}

/// What `say --encoding` adds to its JSON: the converted file's format and facts (its path is
/// the answer's `path`; the stored WAV stays `source_path`).
private func convertedFields(_ audio: ConvertedAudio) -> [(String, JSONValue)] {
    [("format", .string(audio.encoding.rawValue)), ("mime_type", .string(audio.mimeType)),
     ("format_sample_rate", .int(audio.sampleRate)), ("bitrate", audio.bitrate.map { .int($0) } ?? .null),
     ("format_bytes", .int(audio.bytes)), ("sha256", .string(audio.sha256))]
}

/// `Joe=Kore,Jane=Puck` → two speakers and their voices.
func parseSpeakers(_ list: String) throws -> [SpeakerVoice] {
    let pairs = list.split(separator: ",").map { $0.split(separator: "=", maxSplits: 1).map(String.init) }
    guard !pairs.isEmpty, pairs.allSatisfy({ $0.count == 2 && !$0[0].isEmpty && !$0[1].isEmpty }) else {
        throw TTSError.validation("speakers", "--speakers takes NAME=VOICE pairs separated by commas, e.g. --speakers Joe=Kore,Jane=Puck")
    }
    return pairs.map { SpeakerVoice(name: $0[0], voice: $0[1]) }
}

@Sendable func voices(_ session: inout Session, _ context: CommandContext, _ arguments: ParsedArguments) async throws -> Report {
    let engine = try context.service.engines.engine(named: session.engine)
    let filter = arguments.positional.first?.lowercased()
    let all = try await engine.voices()
    let shown = all.filter { voice in
        guard let filter else { return true }
        return voice.name.lowercased().contains(filter) || voice.summary.lowercased().contains(filter)
            || voice.languages.contains { $0.lowercased().contains(filter) }
    }
    let rows = shown.map { [$0.name, $0.languages.joined(separator: " "), $0.summary] }
    let human = shown.isEmpty ? "no \(engine.name) voice matches '\(filter ?? "")'"
        : table(["VOICE", "LANGUAGES", "DESCRIPTION"], rows) + "\n\(shown.count) of \(all.count) \(engine.name) voices"
    let json = shown.map { v -> JSONValue in
        .object([("engine", .string(engine.name)), ("voice", .string(v.name)),
                 ("languages", .array(v.languages.map { .string($0) })), ("description", .string(v.summary))])
    }
    return Report(human: human, json: json)
}

// MARK: - Session

@Sendable func voice(_ session: inout Session, _ context: CommandContext, _ arguments: ParsedArguments) async throws -> Report {
    if let name = arguments.positional.first {
        if name.lowercased() == "default" {
            session.voice = ""
        } else {
            // Resolve a sample request so an unknown voice is refused now, not at the next `say`.
            var probe = session.request(text: "probe")
            probe.voice = name
            let resolved = try await context.service.prepare(probe)
            session.voice = resolved.voice
        }
    }
    return sessionReport(session, "voice", session.voice.isEmpty ? "(engine default)" : session.voice)
}

@Sendable func lang(_ session: inout Session, _ context: CommandContext, _ arguments: ParsedArguments) async throws -> Report {
    if let code = arguments.positional.first {
        if code.lowercased() == "auto" {
            session.language = ""
        } else {
            guard LanguageTag.isWellFormed(code) else {
                throw TTSError.validation("language", "language '\(code)' is not a well-formed BCP-47 tag: use a code such as en-US, de-DE, pt-BR or ja, or `auto`")
            }
            session.language = code
        }
    }
    return sessionReport(session, "language", session.language.isEmpty ? "(auto)" : session.language)
}

@Sendable func engine(_ session: inout Session, _ context: CommandContext, _ arguments: ParsedArguments) async throws -> Report {
    if let name = arguments.positional.first?.lowercased() {
        let engine = try context.service.engines.engine(named: name)
        if name != session.engine {
            session.engine = name
            session.model = name == "gemini" ? context.runtime.configuration.geminiModel : ""
            // Voices belong to an engine: keep the voice only if the new engine has it.
            if !session.voice.isEmpty, (try? await engine.resolve(session.request(text: "probe"))) == nil {
                session.voice = ""
            }
        }
    }
    return sessionReport(session, "engine", session.engine)
}

@Sendable func model(_ session: inout Session, _ context: CommandContext, _ arguments: ParsedArguments) async throws -> Report {
    if let name = arguments.positional.first {
        if name.lowercased() == "default" {
            session.model = session.engine == "gemini" ? context.runtime.configuration.geminiModel : ""
        } else {
            var probe = session.request(text: "probe")
            probe.model = name
            session.model = try await context.service.prepare(probe).model
        }
    }
    return sessionReport(session, "model", session.model.isEmpty ? "(engine default)" : session.model)
}

@Sendable func style(_ session: inout Session, _ context: CommandContext, _ arguments: ParsedArguments) async throws -> Report {
    let text = (arguments.positional.first ?? "").trimmingCharacters(in: .whitespaces)
    if !text.isEmpty { session.style = text.lowercased() == "none" ? "" : text }
    return sessionReport(session, "style", session.style.isEmpty ? "(none)" : session.style)
}

@Sendable func showSession(_ session: inout Session, _ context: CommandContext, _ arguments: ParsedArguments) async throws -> Report {
    let rows = [["engine", session.engine], ["voice", session.voice.isEmpty ? "(engine default)" : session.voice],
                ["language", session.language.isEmpty ? "(auto)" : session.language],
                ["model", session.model.isEmpty ? "(engine default)" : session.model],
                ["style", session.style.isEmpty ? "(none)" : session.style]]
    return Report(human: rows.map { $0[0].padding(toLength: 9, withPad: " ", startingAt: 0) + $0[1] }.joined(separator: "\n"),
                  json: sessionJSON(session))
}

private func sessionJSON(_ session: Session) -> JSONValue {
    .object([("engine", .string(session.engine)), ("voice", .string(session.voice)),
             ("language", .string(session.language)), ("model", .string(session.model)), ("style", .string(session.style))])
}

private func sessionReport(_ session: Session, _ name: String, _ shown: String) -> Report {
    Report(human: "\(name): \(shown)", json: sessionJSON(session))
}

// MARK: - Cache

@Sendable func list(_ session: inout Session, _ context: CommandContext, _ arguments: ParsedArguments) async throws -> Report {
    let filter = ClipFilter(voice: arguments.text("voice"), language: arguments.text("lang"),
                            engine: arguments.text("engine"), model: arguments.text("model"),
                            textContains: arguments.text("match"))
    let limit = arguments.intOrDefault("limit")
    let offset = arguments.intOrDefault("offset")
    let clips = try context.service.local.clips(matching: filter, limit: limit, offset: offset)
    let total = try context.service.local.count(matching: filter)
    let rows = clips.map { [$0.key.short, $0.engine, $0.voice, $0.language.isEmpty ? "-" : $0.language,
                            formatSeconds($0.durationMs), String($0.hits), excerpt($0.text, 50)] }
    var human = clips.isEmpty ? "no clips match" : table(["KEY", "ENGINE", "VOICE", "LANG", "AUDIO", "HITS", "TEXT"], rows)
    if !clips.isEmpty { human += "\n\(offset + 1)–\(offset + clips.count) of \(total) clips" }
    return Report(human: human, json: clips.map { .object(clipFields($0)) })
}

@Sendable func info(_ session: inout Session, _ context: CommandContext, _ arguments: ParsedArguments) async throws -> Report {
    let clip = try namedClip(arguments.positional, session, context, command: "info")
    let current = try context.service.local.row(for: clip.key) ?? clip
    let path = context.service.local.url(for: current).path
    let fields = clipFields(current) + [("path", .string(path))]
    let human = fields.map { name, value in
        let shown: String = switch value {
        case .string(let s): s
        default: value.serialized()
        }
        return "\(name.padding(toLength: 12, withPad: " ", startingAt: 0)) \(shown)"
    }.joined(separator: "\n")
    return Report(human: human, json: .object(fields))
}

/// The clip a command names: KEY (full or a unique prefix), else the session's last clip.
private func namedClip(_ words: [String], _ session: Session, _ context: CommandContext, command: String) throws -> Clip {
    if let word = words.first { return try context.service.local.storedClip(named: word) }
    if let last = session.lastClip { return last }
    throw TTSError.validation("key", "\(command) needs a key (see `ls`), or a clip made earlier in this session")
}

@Sendable func openClip(_ session: inout Session, _ context: CommandContext, _ arguments: ParsedArguments) async throws -> Report {
    let clip = try namedClip(arguments.positional, session, context, command: "open")
    let path = context.service.local.url(for: clip).path
    return Report(human: path, json: .object([("key", .string(clip.key.hex)), ("path", .string(path))]))
}

@Sendable func play(_ session: inout Session, _ context: CommandContext, _ arguments: ParsedArguments) async throws -> Report {
    // A hash-checked read: a damaged blob is quarantined and the clip made again before playing.
    let clip = try await context.service.audio(for: try namedClip(arguments.positional, session, context, command: "play")).clip
    var path = context.service.local.url(for: clip).path
    var encoding = AudioEncoding.pcm16
    if let target = try audioTarget(arguments) ?? session.lastTarget {
        let converted = try await context.service.conversions.converted(clip, to: target)
        path = converted.path
        encoding = converted.encoding
    }
    let found = try AudioPlayer.find(for: "The file is \(path)", encoding: encoding)
    let player = found.name
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [player] + found.fileFlags + [path]
    try process.run()
    // Ctrl-C cancels the command: stop the player with it.
    await withTaskCancellationHandler {
        while process.isRunning { try? await Task.sleep(for: .milliseconds(20)) }
    } onCancel: {
        process.terminate()
    }
    guard process.terminationStatus == 0 else {
        throw TTSError(.config, "\(player) could not play \(path) (exit status \(process.terminationStatus)); is a sound device available?")
    }
    return Report(human: "played \(clip.key.short) (\(encoding.rawValue)) with \(player)",
                  json: .object([("key", .string(clip.key.hex)), ("player", .string(player)), ("format", .string(encoding.rawValue)),
                                 ("path", .string(path))]))
}


// MARK: - Shell

@Sendable func help(_ session: inout Session, _ context: CommandContext, _ arguments: ParsedArguments) async throws -> Report {
    let table = context.table()
    if let word = arguments.positional.first {
        guard let command = table.command(named: word) else {
            let hint = table.suggestion(for: word).map { " Did you mean `\($0)`?" } ?? ""
            throw TTSError.validation("command", "no command '\(word)'.\(hint) Type `help` for the list.")
        }
        return Report(human: command.helpText, json: command.helpJSON)
    }
    var lines: [String] = []
    for group in Command.Group.allCases {
        let members = table.commands.filter { $0.group == group }
        guard !members.isEmpty else { continue }
        lines.append("\(group.rawValue):")
        for command in members {
            // The list stays readable: a long usage becomes `ls [options]`; `help ls` has it all.
            let usage = command.usage.count <= 30 ? command.usage : command.shortUsage
            if usage.count <= 30 {
                lines.append("  \(usage.padding(toLength: 30, withPad: " ", startingAt: 0)) \(command.summary)")
            } else {
                lines.append("  \(usage)")
                lines.append("  \(String(repeating: " ", count: 30)) \(command.summary)")
            }
        }
    }
    lines.append("\nType `help COMMAND` for examples. Ctrl-C cancels a running command; Ctrl-D or `quit` leaves.")
    return Report(human: lines.joined(separator: "\n"), json: table.commands.map(\.helpJSON))
}

// MARK: - Formatting

func clipFields(_ clip: Clip) -> [(String, JSONValue)] { clip.jsonFields }

/// `4.24 s` from 4,240 ms (rounded half up to hundredths).
func formatSeconds(_ ms: Int) -> String { fixedPoint(Double(ms) / 1000, decimals: 2) + " s" }

/// `value` with `decimals` (0–3) digits after the point, rounded half away from zero: what
/// `String(format: "%.1f")` prints for people, at a fraction of its cost (no C varargs, no
/// Foundation bridging) — it runs for every line a script prints.
func fixedPoint(_ value: Double, decimals: Int) -> String {
    let scale = [1, 10, 100, 1000][min(max(decimals, 0), 3)]
    let scaled = (abs(value) * Double(scale)).rounded()
    guard value.isFinite, scaled < 1e15 else { return String(format: "%.\(decimals)f", value) }
    let units = Int(scaled)
    var text = value < 0 && units != 0 ? "-" : ""
    text += String(units / scale)
    guard scale > 1 else { return text }
    let fraction = String(units % scale)
    return text + "." + String(repeating: "0", count: String(scale).count - 1 - fraction.count) + fraction
}

func excerpt(_ text: String, _ limit: Int) -> String {
    text.count <= limit ? text : String(text.prefix(limit - 1)) + "…"
}

/// `2026-11-27T11:57:34Z`: what `ISO8601DateFormatter()` writes, without building one per call.
func iso8601(_ date: Date) -> String {
    UTCTimestamp.string(from: date)
}
