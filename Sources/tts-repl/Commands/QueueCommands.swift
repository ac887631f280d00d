import Dispatch
import Foundation
import Glibc
import TTSConcurrency
import TTSCore
import TTSService
import TTSStore

/// Distributed pre-warming: `prewarm FILE --queue` fills a Redis queue, `worker` processes on
/// any machine empty it, `queue` shows where it stands.
let queueCommands: [Command] = [
    Command("worker", group: .prewarm,
            summary: "Take pre-warm jobs from the Redis queue and generate them until stopped (SIGTERM or Ctrl-C finish or hand back the jobs in flight)",
            options: [
                .integer("concurrency", "N", 1...256, help: "jobs at a time; default \(Setting.concurrency.name)"),
                .integer("max-jobs", "N", 1...Int.max, help: "stop after N jobs"),
                .duration("idle-exit", 0...86_400, help: "stop once the queue has been empty for S seconds"),
                .duration("grace", 0...86_400, default: 10, help: "on SIGTERM or Ctrl-C: finish jobs in flight within S seconds, hand back the rest"),
            ],
            examples: ["worker", "worker --concurrency 8", "worker --idle-exit 10", "worker --max-jobs 100"], run: worker),
    Command("queue", group: .prewarm,
            summary: "Show the pre-warm queue: waiting, in flight, done and dead jobs; retry-dead requeues the dead ones; dead lists them with their errors",
            arguments: [.optional("retry-dead | dead", completion: .words(["retry-dead", "dead"]),
                                  help: "requeue the dead jobs, or list them; the counts when left out")],
            options: [.integer("limit", "N", 1...10_000, default: 20, help: "with dead: list at most N jobs")],
            examples: ["queue", "queue retry-dead", "queue dead --limit 20"], run: queue),
]

// MARK: - worker

@Sendable func worker(_ session: inout Session, _ context: CommandContext, _ arguments: ParsedArguments) async throws -> Report {
    let configuration = context.runtime.configuration
    var workerOptions = WorkerOptions(
        concurrency: arguments.int("concurrency") ?? configuration.concurrency,
        reclaimAfter: .seconds(configuration.queueReclaimSeconds), maxAttempts: configuration.queueMaxAttempts,
        grace: .seconds(arguments.secondsOrDefault("grace")))
    if let maxJobs = arguments.int("max-jobs") { workerOptions.maxJobs = maxJobs }
    if let idleExit = arguments.seconds("idle-exit") { workerOptions.idleExit = .seconds(idleExit) }

    let connection = try await QueueConnection.open(configuration, command: "worker")
    let worker = QueueWorker(service: context.service, queue: connection.queue, tier: connection.tier, options: workerOptions)
    let output = context.output
    output.notice("worker \(worker.consumer): taking jobs from \(connection.queue.streamKey), \(workerOptions.concurrency) at a time; SIGTERM or Ctrl-C stops it cleanly")
    let name = worker.consumer
    let run = Task { try await worker.run { output.progress(workerProgressLine(name, $0)) } }
    // SIGINT already cancels the command (the runner's handler); SIGTERM does the same while
    // the worker runs, so `kill` and service managers get a clean stop too.
    // Popped on return, so the graceful-shutdown handler below it is in charge again.
    let terminate = SignalRouter.shared.push(SIGTERM) { run.cancel() }
    defer { SignalRouter.shared.pop(terminate) }
    let summary = try await withTaskCancellationHandler {
        try await run.value
    } onCancel: {
        run.cancel()
    }
    if output.progressIsLive { output.write("\n", to: .standardError) }
    return workerReport(summary)
}

/// `worker host:42:ab12: done 40  retried 1  dead 0  in flight 4  12.3 jobs/s`
func workerProgressLine(_ name: String, _ p: WorkerProgress) -> String {
    "worker \(name): done \(p.done)  retried \(p.retried)  dead \(p.dead)  reclaimed \(p.reclaimed)  in flight \(p.inFlight)  "
        + String(format: "%.1f jobs/s", p.rate)
}

func workerReport(_ summary: WorkerSummary) -> Report {
    let t = summary.totals
    let why: String = switch summary.stop {
    case .requested: "asked to stop"
    case .idle: "the queue stayed empty"
    case .maxJobs: "--max-jobs reached"
    }
    var lines = ["worker \(summary.consumer) stopped (\(why)) after \(elapsedText(t.elapsed)):",
                 "  done \(t.done)  retried \(t.retried)  dead \(t.dead)  reclaimed \(t.reclaimed)  returned \(t.returned)"
                     + String(format: "  %.1f jobs/s", t.rate)]
    if t.finishedElsewhere > 0 {
        lines.append("  \(t.finishedElsewhere) job\(t.finishedElsewhere == 1 ? " was" : "s were") finished here and by another worker that took it over (one engine call each)")
    }
    if t.returned > 0 { lines.append("  \(t.returned) unfinished job\(t.returned == 1 ? " was" : "s were") handed back to the queue for other workers") }
    if t.dead > 0 { lines.append("  see `queue dead` for the dead jobs and their errors; `queue retry-dead` requeues them") }
    let json: JSONValue = .object([
        ("worker", .string(summary.consumer)), ("stop", .string(summary.stop.rawValue)), ("done", .int(t.done)),
        ("finished_elsewhere", .int(t.finishedElsewhere)), ("retried", .int(t.retried)), ("dead", .int(t.dead)),
        ("reclaimed", .int(t.reclaimed)), ("returned", .int(t.returned)),
        ("elapsed_s", .double((t.elapsed * 1000).rounded() / 1000)), ("rate", .double((t.rate * 1000).rounded() / 1000)),
    ])
    return Report(human: lines.joined(separator: "\n"), json: json)
}

// MARK: - queue

@Sendable func queue(_ session: inout Session, _ context: CommandContext, _ arguments: ParsedArguments) async throws -> Report {
    let configuration = context.runtime.configuration
    switch arguments.positional.first {
    case nil:
        let connection = try await QueueConnection.open(configuration, command: "queue")
        let activeWithin = Duration.seconds(max(10, 2 * configuration.queueReclaimSeconds))
        let counts = try await connection.queue.counts(activeWithin: activeWithin)
        return queueReport(counts, stream: connection.queue.streamKey)
    case "retry-dead":
        let connection = try await QueueConnection.open(configuration, command: "queue retry-dead")
        let result = try await connection.queue.retryDead()
        var human = "requeued \(result.requeued) dead job\(result.requeued == 1 ? "" : "s")"
        if result.alreadyQueued > 0 { human += "; \(result.alreadyQueued) dropped because the same request was queued again meanwhile" }
        if result.unreadable > 0 { human += "; \(result.unreadable) left dead because no worker can read them (see `queue dead`)" }
        if result.requeued > 0 { human += "\n  a running `worker` picks them up; each gets \(configuration.queueMaxAttempts) attempts again" }
        return Report(human: human, json: .object([("requeued", .int(result.requeued)), ("already_queued", .int(result.alreadyQueued)),
                                                   ("unreadable", .int(result.unreadable))]))
    case "dead":
        let connection = try await QueueConnection.open(configuration, command: "queue dead")
        let entries = try await connection.queue.deadEntries(limit: arguments.intOrDefault("limit"))
        // An entry no worker could read has no key or engine to show; its reason says so.
        let rows = entries.map { entry in
            [entry.job?.key.short ?? "-", entry.job?.request.engine ?? "-", entry.job?.request.voice ?? "-",
             entry.job.map { String($0.attempts) } ?? "-", excerpt(entry.text, 30), excerpt(entry.error, 70)]
        }
        let human = entries.isEmpty ? "no dead jobs" : table(["KEY", "ENGINE", "VOICE", "ATTEMPTS", "TEXT", "LAST ERROR"], rows)
        return Report(human: human, json: entries.map { entry in
            guard let job = entry.job else {
                return .object([("id", .string(entry.id)), ("text", .string(entry.text)), ("unreadable", .bool(true)),
                                ("error", .string(entry.error))])
            }
            return .object([("id", .string(job.id)), ("key", .string(job.key.hex)), ("text", .string(job.request.text)),
                            ("engine", .string(job.request.engine)), ("model", .string(job.request.model)),
                            ("voice", .string(job.request.voice)), ("language", .string(job.request.language)),
                            ("attempts", .int(job.attempts)), ("error", .string(entry.error))])
        })
    case let other?:
        throw TTSError.validation("queue", "queue takes no argument, `retry-dead` or `dead`, not '\(other)'")
    }
}

func queueReport(_ c: QueueCounts, stream: String) -> Report {
    let human = table(["WAITING", "IN FLIGHT", "DONE", "DEAD", "WORKERS"],
                      [[String(c.waiting), String(c.inFlight), String(c.done), String(c.dead), String(c.activeWorkers)]])
        + "\n(\(stream); \(c.failedAttempts) failed attempt\(c.failedAttempts == 1 ? "" : "s") so far"
        + (c.dead > 0 ? "; `queue dead` lists the dead jobs, `queue retry-dead` requeues them)" : ")")
    let json: JSONValue = .object([
        ("pending", .int(c.waiting)), ("in_flight", .int(c.inFlight)), ("done", .int(c.done)), ("dead", .int(c.dead)),
        ("failed_attempts", .int(c.failedAttempts)), ("workers", .int(c.activeWorkers)),
    ])
    return Report(human: human, json: json)
}

// MARK: - prewarm --queue

/// The `--queue` branch of `prewarm`: check the list, queue what is not cached anywhere.
func enqueuePrewarm(_ list: PhraseList, defaults: AudioRequest, strict: Bool, context: CommandContext) async throws -> Report {
    let connection = try await QueueConnection.open(context.runtime.configuration, command: "prewarm --queue")
    let summary = try await QueueEnqueuer(service: context.service, queue: connection.queue, tier: connection.tier)
        .run(list, defaults: defaults, strict: strict)
    return enqueueReport(summary)
}

func enqueueReport(_ s: EnqueueSummary) -> Report {
    var lines = ["prewarm \(s.source) --queue: \(s.lines) lines, \(s.phrases) phrases, \(s.problems) problem\(s.problems == 1 ? "" : "s")",
                 "  unique \(s.unique)  duplicates \(s.duplicates)  cached \(s.cached) (local \(s.cachedLocal), redis \(s.cachedShared))  queued \(s.queued)"
                     + (s.alreadyQueued > 0 ? "  already queued \(s.alreadyQueued)" : "")]
    for reject in s.rejects.prefix(20) { lines.append("  \(s.source):\(reject.line): \(reject.reason)") }
    if s.rejects.count > 20 { lines.append("  … and \(s.rejects.count - 20) more") }
    if s.cancelled { lines.append("  cancelled before anything was queued") }
    if s.aborted { lines.append("  --strict: nothing was queued; fix these lines and run again") }
    if s.queued > 0 { lines.append("  start `tts-repl worker` on any machine sharing this Redis to generate them; `queue` shows progress") }
    let json: JSONValue = .object([
        ("source", .string(s.source)), ("lines", .int(s.lines)), ("phrases", .int(s.phrases)), ("problems", .int(s.problems)),
        ("unique", .int(s.unique)), ("duplicates", .int(s.duplicates)), ("cached", .int(s.cached)),
        ("cached_local", .int(s.cachedLocal)), ("cached_redis", .int(s.cachedShared)), ("queued", .int(s.queued)),
        ("already_queued", .int(s.alreadyQueued)), ("cancelled", .bool(s.cancelled)), ("aborted", .bool(s.aborted)),
        ("rejects", .array(s.rejects.map { .object([("line", .int($0.line)), ("cause", .string($0.cause.rawValue)), ("reason", .string($0.reason))]) })),
    ])
    return Report(human: lines.joined(separator: "\n"), json: json, failed: !s.succeeded)
}
