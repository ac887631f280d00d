import Foundation
import TTSConcurrency
import TTSCore
import TTSService
import TTSStore

/// Operations: figures, health, integrity, clean-up, the cache budget, metrics, configuration.
let operationsCommands: [Command] = [
    Command("stats", group: .operations,
            summary: "Clips, blobs, disk use, dedup savings, hits by tier, engine calls, money saved; local and Redis-wide",
            examples: ["stats", "tts-repl --json stats"], run: stats),
    Command("health", group: .operations,
            summary: "Check the store, free space, the index, Redis and the engines; exit status 1 when unhealthy",
            options: [.flag("probe", help: "make one real request per engine (may cost money)")],
            examples: ["health", "health --probe   (one real request per engine; may cost money)"], run: health),
    Command("verify", group: .operations,
            summary: "Rehash blobs, check every clip against its blob and every blob against the index; --repair fixes",
            options: [.flag("repair", help: "drop damaged clips, quarantine bad blobs, rebuild a damaged index, remove stray temp files"),
                      .integer("sample", "N", 1...10_000_000, help: "check a random sample of N clips instead of all")],
            examples: ["verify", "verify --sample 100", "verify --repair"], run: verify),
    Command("gc", group: .operations,
            summary: "Remove orphan blobs, stale temp files and unused conversions; optimize the index",
            options: [.flag("dry-run", help: "list what would be removed; remove nothing"),
                      .flag("vacuum", help: "also VACUUM the index (rewrites it; takes a while on a large store)"),
                      .duration("grace", 0...31_536_000, placeholder: "DURATION", default: 3600,
                                help: "keep orphan blobs younger than this: a writer may be about to index them")],
            examples: ["gc --dry-run", "gc", "gc --vacuum", "gc --grace 10m"], run: gc),
    Command("evict", group: .operations,
            summary: "Remove least recently used unpinned clips until the store fits SIZE (default TTS_CACHE_MAX_BYTES)",
            options: [.byteSize("max-bytes", help: "the size to fit; default \(Setting.cacheMaxBytes.name)"),
                      .flag("dry-run", help: "list what would be evicted; remove nothing")],
            examples: ["evict --max-bytes 500MiB --dry-run", "evict --max-bytes 2GiB"], run: evict),
    Command("pin", group: .operations, summary: "Protect a clip (the last one when no key is given) from eviction",
            arguments: [.optional("KEY", help: "a key or unique prefix; the last clip when left out")],
            examples: ["pin", "pin 3fa4c2d1"], run: { session, context, arguments in try pin(&session, context, arguments, true) }),
    Command("unpin", group: .operations, summary: "Let eviction remove a pinned clip again",
            arguments: [.optional("KEY", help: "a key or unique prefix; the last clip when left out")],
            examples: ["unpin 3fa4c2d1"], run: { session, context, arguments in try pin(&session, context, arguments, false) }),
    Command("rm", aliases: ["remove"], group: .operations, summary: "Remove clips from the local tier and from Redis",
            arguments: [.repeated("KEY", help: "keys or unique prefixes (or give --match instead)")],
            options: [.text("match", "TEXT", help: "every clip whose text contains TEXT (any case), instead of keys"),
                      .flag("dry-run", help: "list what would be removed; remove nothing")],
            examples: ["rm 3fa4c2d1", "rm --match \"old prompt\" --dry-run", "rm --match \"old prompt\""], run: remove),
    Command("metrics", group: .operations,
            summary: "This process's counters and latency histograms, and store figures, in the Prometheus text format",
            examples: ["metrics"], run: metrics),
    Command("serve-metrics", group: .operations,
            summary: "Answer GET /metrics on 127.0.0.1:N until Ctrl-C or SIGTERM (port 0: any free port)",
            options: [.integer("port", "N", 0...65535, default: 9464, help: "the port; 0 picks a free one"),
                      .text("port-file", "FILE", completion: .paths, help: "write the port actually bound to FILE")],
            examples: ["serve-metrics --port 9464", "serve-metrics --port 0 --port-file /tmp/tts-metrics.port"], run: serveMetrics),
    Command("config", group: .operations,
            summary: "Show the effective configuration and where each value came from; `reload` re-reads the environment and .env",
            arguments: [.optional("reload", completion: .words(["reload"]), help: "re-read the environment and .env, apply what can change live")],
            examples: ["config", "config reload"], run: config),
]

// MARK: - Logging

/// Runs a maintenance command and writes one log line with its operation, duration and outcome.
private func logged(_ context: CommandContext, _ operation: String,
                    _ body: () async throws -> (report: Report, fields: [(String, JSONValue)])) async throws -> Report {
    let started = ContinuousClock.now
    func elapsed() -> JSONValue {
        .double((started.duration(to: .now).milliseconds * 1000).rounded() / 1000)
    }
    do {
        let (report, fields) = try await body()
        context.runtime.logger.info(operation, [("operation", .string(operation)), ("ms", elapsed()),
                                                ("outcome", .string(report.failed ? "failed" : "ok"))] + fields)
        return report
    } catch {
        context.runtime.logger.warn(operation, [("operation", .string(operation)), ("ms", elapsed()), ("outcome", "error"),
                                                ("error", .string(TTSError.message(of: error)))])
        throw error
    }
}

// MARK: - stats

@Sendable func stats(_ session: inout Session, _ context: CommandContext, _ arguments: ParsedArguments) async throws -> Report {
    return try await logged(context, "stats") {
        let live = context.runtime.live.current
        let figures = try await StoreStatistics.gather(service: context.service, pricePerCall: live.pricePerCall,
                                                       pricePerAudioSecond: live.pricePerAudioSecond)
        return (statsReport(figures, store: context.runtime.layout.root.path), [("clips", .int(figures.usage.clips))])
    }
}

private func statsReport(_ s: StoreStatistics, store: String) -> Report {
    let u = s.usage, p = s.process
    let failedCalls = p.engineCalls.filter { $0.key != "ok" }.values.reduce(0, +)
    var lines = ["local tier (\(store))"]
    func row(_ name: String, _ value: String) { lines.append("  " + name.padding(toLength: 16, withPad: " ", startingAt: 0) + value) }
    row("clips", "\(u.clips)" + (u.pinned > 0 ? " (\(u.pinned) pinned)" : ""))
    row("blobs", "\(u.blobs), \(formatBytes(u.bytes)) on disk")
    row("dedup saved", formatBytes(u.bytesSavedByDedup))
    row("hits", "\(u.hits), \(formatSeconds(u.hitAudioMs)) of audio served without an engine call")
    if let oldest = u.oldest, let newest = u.newest {
        row("oldest clip", iso8601(oldest))
        row("newest clip", iso8601(newest))
    }
    if let saved = s.localMoneySaved { row("money saved", formatMoney(saved) + priceNote(s)) }
    row("converted", "\(s.converted.files) files, \(formatBytes(s.converted.bytes)) (MP3, Opus, … made from the blobs)")
    lines.append("this process")
    row("requests", "memory \(p.memoryHits), local \(p.localHits), redis \(p.redisHits), engine \(p.engineRequests)")
    row("engine calls", "ok \(p.engineCalls["ok"] ?? 0), failed \(failedCalls), retries \(p.retries)")
    row("conversions", "made \(p.conversionsMade), cached \(p.conversionHits), failed \(p.conversionFailures)")
    if p.corruptBlobs > 0 || p.evictedClips > 0 { row("maintenance", "\(p.corruptBlobs) damaged blobs quarantined, \(p.evictedClips) clips evicted") }
    if let shared = s.shared {
        lines.append("redis (every process sharing it)")
        row("hits", "local \(shared["hits.local"] ?? 0), redis \(shared["hits.redis"] ?? 0)")
        row("engine calls", "\(shared["engine.calls"] ?? 0)")
        row("bytes served", formatBytes(shared["bytes.served"] ?? 0))
        if let saved = s.sharedMoneySaved { row("money saved", formatMoney(saved) + " (per call)") }
        for node in s.redisNodes {
            row(node.isMaster ? "master" : "replica", node.address + ": " + (node.problem.map { "not answering (\($0))" }
                ?? "\(node.keys ?? 0) keys, \(formatBytes(node.usedMemoryBytes ?? 0)) used"))
        }
    } else {
        lines.append("redis: off or unreachable")
    }
    if !s.groups.isEmpty {
        lines.append("by engine, voice, language")
        let rows = s.groups.map { ["  " + $0.engine, $0.voice, $0.language.isEmpty ? "-" : $0.language, String($0.clips), formatBytes($0.bytes), String($0.hits)] }
        lines.append(table(["  ENGINE", "VOICE", "LANG", "CLIPS", "BYTES", "HITS"], rows))
    }

    return Report(human: lines.joined(separator: "\n"), json: s.json(store: store))
}

private func priceNote(_ s: StoreStatistics) -> String {
    var parts: [String] = []
    if s.pricePerCall > 0 { parts.append("\(s.pricePerCall) per call") }
    if s.pricePerAudioSecond > 0 { parts.append("\(s.pricePerAudioSecond) per audio second") }
    return " (at " + parts.joined(separator: " + ") + ")"
}

private func formatMoney(_ value: Double) -> String { String(format: "%.4f", value) }

// MARK: - health

@Sendable func health(_ session: inout Session, _ context: CommandContext, _ arguments: ParsedArguments) async throws -> Report {
    return try await logged(context, "health") {
        let report = await HealthCheck(service: context.service, configuration: context.runtime.live.current)
            .run(probe: arguments.flag("probe"))
        return (healthReport(report), [("healthy", .bool(report.isHealthy))])
    }
}

func healthReport(_ report: HealthReport) -> Report {
    var lines = report.items.map { item -> String in
        var line = "\(item.status.rawValue.uppercased().padding(toLength: 5, withPad: " ", startingAt: 0)) \(item.name.padding(toLength: 15, withPad: " ", startingAt: 0)) \(item.detail)"
        if let fix = item.fix, item.status != .ok { line += "\n      → \(fix)" }
        return line
    }
    lines.append(report.isHealthy ? "healthy" : "unhealthy: fix the FAIL lines above")
    let items: [JSONValue] = report.items.map { item in
        var fields: [(String, JSONValue)] = [("check", .string(item.name)), ("status", .string(item.status.rawValue)),
                                             ("detail", .string(item.detail))]
        if let fix = item.fix { fields.append(("fix", .string(fix))) }
        return .object(fields + item.fields)
    }
    var result = Report(human: lines.joined(separator: "\n"),
                        json: .object([("healthy", .bool(report.isHealthy)), ("checks", .array(items))]))
    result.failed = !report.isHealthy
    return result
}

// MARK: - verify

@Sendable func verify(_ session: inout Session, _ context: CommandContext, _ arguments: ParsedArguments) async throws -> Report {
    let sample = arguments.int("sample")
    let repair = arguments.flag("repair")
    return try await logged(context, "verify") {
        let report = try await StoreVerifier(local: context.service.local)
            .verify(repair: repair, sample: sample)
        return (verifyReport(report), [("clips", .int(report.checkedClips)), ("problems", .int(report.problems.count)),
                                       ("repaired", .bool(report.repaired))])
    }
}

private func verifyReport(_ r: VerifyReport) -> Report {
    var lines: [String] = []
    if !r.indexProblems.isEmpty {
        lines.append("index: integrity check failed: " + r.indexProblems.prefix(3).joined(separator: "; "))
        if let kept = r.damagedIndexKeptAt {
            lines.append("  rebuilt the index from \(r.salvagedRows) readable rows; the damaged file is kept at \(kept)"
                         + (r.lostKeyRanges.isEmpty ? "" : "; rows in \(r.lostKeyRanges.count) key range(s) could not be read (their blobs stay until `gc`)"))
        }
    } else {
        lines.append("index: integrity check ok")
    }
    lines.append("checked \(r.checkedClips) clips and \(r.checkedBlobs) blobs" + (r.sampled ? " (a random sample)" : ""))
    for problem in r.problems {
        let clips = problem.keys.isEmpty ? "no clip" : problem.keys.map(\.short).joined(separator: ", ")
        lines.append("  \(problem.kind.rawValue)  blob \(problem.blob.short)  clips: \(clips)  — \(problem.detail)")
    }
    if !r.orphanBlobs.isEmpty { lines.append("  \(r.orphanBlobs.count) blobs no clip uses (harmless; `gc` removes them after an hour)") }
    if !r.strayTempFiles.isEmpty && !r.repaired { lines.append("  \(r.strayTempFiles.count) stray temp files from interrupted writes") }
    if r.repaired {
        lines.append("repair: dropped \(r.droppedRows.count) rows, quarantined \(r.quarantined.count) blobs"
                     + (r.quarantined.isEmpty ? "" : " (in \((r.quarantined[0] as NSString).deletingLastPathComponent))")
                     + ", removed \(r.removedTempFiles.count) temp files. Asking for those clips again regenerates them.")
    } else if !r.isClean || !r.strayTempFiles.isEmpty {
        lines.append("run `verify --repair` to drop the damaged clips (they are regenerated when asked for again) and quarantine bad blobs")
    }
    let found = r.problems.count + (r.indexProblems.isEmpty ? 0 : 1)
    lines.append(r.isClean ? "clean" : "\(found) problem(s) found" + (r.repaired ? " and repaired" : ""))
    let problems: [JSONValue] = r.problems.map {
        .object([("kind", .string($0.kind.rawValue)), ("blob", .string($0.blob.hex)),
                 ("keys", .array($0.keys.map { .string($0.hex) })), ("detail", .string($0.detail))])
    }
    var json: [(String, JSONValue)] = [
        ("clean", .bool(r.isClean)), ("sampled", .bool(r.sampled)), ("clips", .int(r.checkedClips)), ("blobs", .int(r.checkedBlobs)),
        ("index_problems", .array(r.indexProblems.map { .string($0) })),
        ("problems", .array(problems)), ("orphan_blobs", .array(r.orphanBlobs.map { .string($0.hex) })),
        ("stray_temp_files", .array(r.strayTempFiles.map { .string($0) })), ("repaired", .bool(r.repaired)),
    ]
    if r.repaired {
        json += [("dropped_rows", .array(r.droppedRows.map { .string($0.hex) })), ("quarantined", .array(r.quarantined.map { .string($0) })),
                 ("removed_temp_files", .array(r.removedTempFiles.map { .string($0) }))]
        if let kept = r.damagedIndexKeptAt {
            json += [("damaged_index", .string(kept)), ("salvaged_rows", .int(r.salvagedRows)),
                     ("lost_key_ranges", .array(r.lostKeyRanges.map { .string($0) }))]
        }
    }
    var report = Report(human: lines.joined(separator: "\n"), json: .object(json))
    // After a repair the store is consistent again: the command did its job.
    report.failed = !r.isClean && !r.repaired
    return report
}

// MARK: - gc

@Sendable func gc(_ session: inout Session, _ context: CommandContext, _ arguments: ParsedArguments) async throws -> Report {
    var collector = GarbageCollector(local: context.service.local)
    collector.orphanGrace = arguments.secondsOrDefault("grace")
    let dryRun = arguments.flag("dry-run")
    let vacuum = arguments.flag("vacuum")
    return try await logged(context, "gc") {
        let r = try await collector.collect(dryRun: dryRun, vacuum: vacuum)
        let verb = dryRun ? "would remove" : "removed"
        var lines = ["\(verb) \(r.orphanBlobs.count) orphan blobs, \(r.staleTempFiles.count) stale temp files, \(r.unusedConversions.count) unused conversions: \(formatBytes(r.freedBytes))"]
        if r.freshOrphans > 0 { lines.append("kept \(r.freshOrphans) orphan blobs younger than \(Int(collector.orphanGrace)) s (a writer may be about to index them)") }
        if let checkpoint = r.checkpoint {
            lines.append("index: optimized, write-ahead log checkpointed (\(checkpoint.checkpointed) of \(checkpoint.walFrames) frames)"
                         + (checkpoint.busy ? ", another process is reading" : "") + (r.vacuumed ? ", vacuumed" : ""))
        }
        var json: [(String, JSONValue)] = [
            ("dry_run", .bool(dryRun)), ("orphan_blobs", .array(r.orphanBlobs.map { .string($0.hex) })),
            ("fresh_orphans_kept", .int(r.freshOrphans)), ("stale_temp_files", .array(r.staleTempFiles.map { .string($0) })),
            ("unused_conversions", .array(r.unusedConversions.map { .string($0) })), ("freed_bytes", .int(r.freedBytes)),
            ("vacuumed", .bool(r.vacuumed)),
        ]
        if let checkpoint = r.checkpoint {
            json.append(("wal", .object([("frames", .int(checkpoint.walFrames)), ("checkpointed", .int(checkpoint.checkpointed)),
                                         ("busy", .bool(checkpoint.busy))])))
        }
        return (Report(human: lines.joined(separator: "\n"), json: .object(json)),
                [("dry_run", .bool(dryRun)), ("orphans", .int(r.orphanBlobs.count)), ("freed_bytes", .int(r.freedBytes))])
    }
}

// MARK: - evict, pin, rm

@Sendable func evict(_ session: inout Session, _ context: CommandContext, _ arguments: ParsedArguments) async throws -> Report {
    let maxBytes: Int
    if let given = arguments.int("max-bytes") {
        maxBytes = given
    } else if let budget = context.runtime.live.current.cacheMaxBytes {
        maxBytes = budget
    } else {
        throw TTSError.validation("max-bytes", "evict needs --max-bytes SIZE (e.g. 500MiB), or TTS_CACHE_MAX_BYTES set")
    }
    let dryRun = arguments.flag("dry-run")
    let service = context.service
    return try await logged(context, "evict") {
        let r = try await service.local.evict(toMaxBytes: maxBytes, dryRun: dryRun)
        let verb = dryRun ? "would evict" : "evicted"
        var lines = ["\(verb) \(r.evicted.count) clips, freeing \(formatBytes(r.freedBytes)): \(formatBytes(r.bytesBefore)) → \(formatBytes(r.bytesAfter)) (budget \(formatBytes(maxBytes)))"]
        lines += r.evicted.prefix(20).map { "  \($0.clip.key.short)  last used \(iso8601($0.clip.lastUsedAt))  \(excerpt($0.clip.text, 40))" }
        if r.evicted.count > 20 { lines.append("  … and \(r.evicted.count - 20) more") }
        if r.stillOverBudget { lines.append("still over budget: the rest is pinned (see `unpin`) or shares audio with pinned clips") }
        let json: JSONValue = .object([
            ("dry_run", .bool(dryRun)), ("max_bytes", .int(maxBytes)), ("bytes_before", .int(r.bytesBefore)),
            ("bytes_after", .int(r.bytesAfter)), ("freed_bytes", .int(r.freedBytes)), ("over_budget", .bool(r.stillOverBudget)),
            ("evicted", .array(r.evicted.map { .object([("key", .string($0.clip.key.hex)), ("freed_blob", .bool($0.freedBlob))]) })),
        ])
        return (Report(human: lines.joined(separator: "\n"), json: json),
                [("dry_run", .bool(dryRun)), ("clips", .int(r.evicted.count)), ("freed_bytes", .int(r.freedBytes))])
    }
}

private func pin(_ session: inout Session, _ context: CommandContext, _ arguments: ParsedArguments, _ pinned: Bool) throws -> Report {
    let name = pinned ? "pin" : "unpin"
    let clip: Clip
    if let word = arguments.positional.first {
        clip = try context.service.local.storedClip(named: word)
    } else if let last = session.lastClip {
        clip = last
    } else {
        throw TTSError.validation("key", "\(name) needs a key (see `ls`), or a clip made earlier in this session")
    }
    guard try context.service.local.setPinned(clip.key, pinned) else {
        throw TTSError.validation("key", "clip \(clip.key.short) is no longer in the store")
    }
    context.runtime.logger.info(name, [("operation", .string(name)), ("key", .string(clip.key.hex)), ("outcome", "ok")])
    return Report(human: "\(pinned ? "pinned" : "unpinned") \(clip.key.short)  \(excerpt(clip.text, 50))",
                  json: .object([("key", .string(clip.key.hex)), ("pinned", .bool(pinned))]))
}

@Sendable func remove(_ session: inout Session, _ context: CommandContext, _ arguments: ParsedArguments) async throws -> Report {
    let local = context.service.local
    var keys: [RequestKey] = []
    if let match = arguments.text("match") {
        guard arguments.positional.isEmpty else { throw TTSError.validation("rm", "rm takes keys or --match TEXT, not both") }
        guard !match.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw TTSError.validation("match", "rm --match needs some text; to remove everything, remove the store folder")
        }
        keys = try local.clips(matching: ClipFilter(textContains: match), limit: -1).map(\.key)
    } else {
        guard !arguments.positional.isEmpty else {
            throw TTSError.validation("rm", "rm needs a KEY (see `ls`) or --match TEXT")
        }
        for word in arguments.positional {
            // A full key may name a clip that only Redis has.
            if let key = RequestKey(hex: word), try local.row(for: key) == nil {
                keys.append(key)
            } else {
                keys.append(try local.storedClip(named: word).key)
            }
        }
    }
    let dryRun = arguments.flag("dry-run")
    let wanted = keys
    return try await logged(context, "rm") {
        let r = try await ClipRemover(service: context.service).remove(wanted, dryRun: dryRun)
        if !dryRun, let last = session.lastClip, r.clips.contains(where: { $0.key == last.key }) { session.lastClip = nil }
        let verb = dryRun ? "would remove" : "removed"
        var lines = ["\(verb) \(r.clips.count) clip\(r.clips.count == 1 ? "" : "s") from the local tier"
                     + (r.pinned > 0 ? " (\(r.pinned) pinned)" : "")
                     + (dryRun ? "" : ", deleting \(r.freedBlobs) blobs (\(formatBytes(r.freedBytes)))")]
        lines += r.clips.prefix(20).map { "  \($0.key.short)  \(excerpt($0.text, 50))" }
        if r.clips.count > 20 { lines.append("  … and \(r.clips.count - 20) more") }
        if let shared = r.sharedRemoved {
            lines.append("\(verb) \(shared) clip\(shared == 1 ? "" : "s") from Redis (shared audio expires with its time-to-live)")
        } else if context.service.hasSharedTier {
            lines.append("Redis could not be reached: its copies stay until they expire; run rm again when it is back")
        }
        let json: JSONValue = .object([
            ("dry_run", .bool(dryRun)), ("removed", .int(r.clips.count)), ("pinned", .int(r.pinned)),
            ("keys", .array(r.clips.map { .string($0.key.hex) })), ("freed_blobs", .int(r.freedBlobs)),
            ("freed_bytes", .int(r.freedBytes)), ("redis_removed", r.sharedRemoved.map { .int($0) } ?? .null),
        ])
        return (Report(human: lines.joined(separator: "\n"), json: json),
                [("dry_run", .bool(dryRun)), ("clips", .int(r.clips.count)), ("redis_removed", r.sharedRemoved.map { .int($0) } ?? .null)])
    }
}

// MARK: - metrics

/// The process's registry plus store-wide gauges (and Redis counters), as Prometheus text.
func metricsExposition(_ context: CommandContext) async -> String {
    let live = context.runtime.live.current
    let figures = try? await StoreStatistics.gather(service: context.service, pricePerCall: live.pricePerCall,
                                                    pricePerAudioSecond: live.pricePerAudioSecond)
    return context.service.metrics.registry.exposition(gauges: figures?.gauges ?? [])
}

@Sendable func metrics(_ session: inout Session, _ context: CommandContext, _ arguments: ParsedArguments) async throws -> Report {
    let text = await metricsExposition(context)
    // JSON mode: one object per sample line, so scripts need no Prometheus parser.
    let samples: [JSONValue] = text.split(separator: "\n").filter { !$0.hasPrefix("#") }.compactMap { line in
        guard let space = line.lastIndex(of: " ") else { return nil }
        let series = String(line[..<space]), value = String(line[line.index(after: space)...])
        return .object([("series", .string(series)), ("value", Double(value).map { .double($0) } ?? .string(value))])
    }
    return Report(human: text.hasSuffix("\n") ? String(text.dropLast()) : text, json: samples)
}

@Sendable func serveMetrics(_ session: inout Session, _ context: CommandContext, _ arguments: ParsedArguments) async throws -> Report {
    let port = arguments.intOrDefault("port")
    let server = try MetricsHTTPServer(port: port) { [context] in
        Blocking.wait(upTo: .seconds(5)) { await metricsExposition(context) } ?? "# metrics timed out\n"
    }
    defer { server.stop() }
    if let file = arguments.text("port-file") { try writePortFile(file, port: server.port) }
    context.output.notice("serving metrics on http://127.0.0.1:\(server.port)/metrics — Ctrl-C or SIGTERM stops")
    context.runtime.logger.info("serve-metrics", [("operation", "serve-metrics"), ("port", .int(server.port)), ("outcome", "listening")])
    while !Task.isCancelled {
        try? await Task.sleep(for: .milliseconds(200))
    }
    return Report(human: "stopped serving metrics on port \(server.port)",
                  json: .object([("stopped", true), ("port", .int(server.port))]))
}

// MARK: - config

@Sendable func config(_ session: inout Session, _ context: CommandContext, _ arguments: ParsedArguments) async throws -> Report {
    switch arguments.positional.first?.lowercased() {
    case nil:
        return configurationReport(context.runtime.live.current)
    case "reload":
        let service = context.service
        return try await logged(context, "config-reload") {
            let outcome = await context.runtime.live.reload(logger: context.runtime.logger, budget: service.local.budget) { engine, voice in
                var probe = AudioRequest(text: "probe", voice: voice, engine: engine, model: "")
                probe.voice = voice
                _ = try await service.prepare(probe)
            }
            // The session follows the configured voice unless the user chose another one in it.
            if outcome.applied.contains(where: { $0.setting == Setting.voice.name }), session.voice == outcome.previous.voice {
                session.voice = outcome.current.voice
            }
            return (reloadReport(outcome), [("applied", .int(outcome.applied.count)), ("rejected", .int(outcome.rejected.count))])
        }
    case let other?:
        throw TTSError.validation("config", "config takes nothing or `reload`, not '\(other)'")
    }
}

private func configurationReport(_ configuration: Configuration) -> Report {
    let rows = Setting.all.map { setting -> [String] in
        let value = configuration.displayValue(of: setting)
        return [setting.name, value.isEmpty ? "(unset)" : value, configuration.origins[setting.name]?.rawValue ?? "default"]
    }
    let json: [JSONValue] = Setting.all.map { setting in
        .object([("setting", .string(setting.name)), ("value", .string(configuration.displayValue(of: setting))),
                 ("source", .string(configuration.origins[setting.name]?.rawValue ?? "default")),
                 ("secret", .bool(setting.isSecret)), ("live", .bool(LiveConfiguration.liveSettings.contains(setting.name)))])
    }
    return Report(human: table(["SETTING", "VALUE", "FROM"], rows) + "\n`config reload` re-reads the environment and .env; "
                    + "voice, log level, cache budget and prices change live, the rest at the next start.",
                  json: json)
}

private func reloadReport(_ outcome: LiveConfiguration.ReloadOutcome) -> Report {
    var lines: [String] = []
    for change in outcome.applied { lines.append("applied  \(change.setting): '\(change.old)' → '\(change.new)'") }
    for change in outcome.needsRestart { lines.append("restart  \(change.setting): '\(change.old)' → '\(change.new)' takes effect at the next start") }
    for reason in outcome.rejected { lines.append("kept     \(reason)") }
    if lines.isEmpty { lines.append("no change") }
    func changes(_ list: [LiveConfiguration.ReloadOutcome.Change]) -> JSONValue {
        .array(list.map { .object([("setting", .string($0.setting)), ("old", .string($0.old)), ("new", .string($0.new))]) })
    }
    var report = Report(human: lines.joined(separator: "\n"),
                        json: .object([("applied", changes(outcome.applied)), ("needs_restart", changes(outcome.needsRestart)),
                                       ("rejected", .array(outcome.rejected.map { .string($0) }))]))
    report.failed = !outcome.rejected.isEmpty
    return report
}
