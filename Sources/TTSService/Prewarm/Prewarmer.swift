import Foundation
import TTSConcurrency
import TTSCore

/// Fills the cache from a phrase list: every line is read and checked first, duplicates are
/// counted once, what is already cached costs nothing, and the rest is generated a few at a
/// time.
///
/// Running it again after a crash or Ctrl-C resumes: finished clips are in the store (the
/// service writes blob then row, atomically) and count as cached the second time.
///
/// ```swift
/// let list = PhraseList.parse(data, format: .text, source: "phrases.txt")
/// let summary = try await Prewarmer(service: service).run(
///     list, defaults: AudioRequest(text: "", engine: "espeak", model: ""),
///     options: PrewarmOptions(concurrency: 4, rejectsURL: rejectsURL)) { progress in
///     print("\(progress.done)/\(progress.total)")
/// }
/// ```
public struct Prewarmer: Sendable {
    public let service: SpeechService

    public init(service: SpeechService) {
        self.service = service
    }

    private enum Outcome: Sendable {
        case generated(durationMs: Int)
        case cached
        case failed(String)
        case cancelled
    }

    /// Runs the list. Cancelling the calling task stops starting new work; calls in flight
    /// finish or are cancelled, and the summary says the run was cancelled. Throws only when
    /// the rejects file cannot be written.
    ///
    /// - Parameters:
    ///   - defaults: the session's request (text ignored): engine, voice, language, model and
    ///     style for phrases that do not name their own.
    ///   - progress: called at most every `options.progressInterval`, and once at the end.
    public func run(_ list: PhraseList, defaults: AudioRequest, options: PrewarmOptions = PrewarmOptions(),
                    progress: @escaping @Sendable (PrewarmProgress) -> Void = { _ in }) async throws -> PrewarmSummary {
        let started = ContinuousClock.now
        var summary = PrewarmSummary(source: list.source)
        summary.lines = list.lineCount
        summary.phrases = list.entries.count
        summary.dryRun = options.dryRun
        // 1. Check and key every phrase before any engine call.
        let plan = await PrewarmPlan.make(list, defaults: defaults, service: service)
        let jobs = plan.items
        var rejects = plan.rejects
        summary.duplicates = plan.duplicates
        summary.problems = rejects.count
        summary.unique = jobs.count
        if plan.cancelled || Task.isCancelled {
            summary.cancelled = true
            summary.remaining = jobs.count
            return finish(summary, rejects: rejects, list: list, options: options, started: started, note: "the run was cancelled")
        }
        if options.strict && !rejects.isEmpty {
            summary.aborted = true
            summary.remaining = jobs.count
            return finish(summary, rejects: rejects, list: list, options: options, started: started,
                          note: "--strict stopped the run before any engine call; fix the lines and run again")
        }

        // 2. What the local tier already has costs nothing.
        var misses: [Int] = []
        var cachedClips: [Clip] = []
        for (j, job) in jobs.enumerated() {
            if let clip = try? service.local.clip(for: job.key) {
                summary.cached += 1
                cachedClips.append(clip)
            } else {
                misses.append(j)
            }
        }
        if !options.dryRun { await publishLocalOnly(cachedClips) }

        if options.dryRun {
            summary.estimate = PrewarmEstimate.make(
                calls: misses.map { (jobs[$0].request.engine, jobs[$0].request.text.count) },
                concurrency: options.concurrency, requestsPerMinute: options.requestsPerMinute)
            return finish(summary, rejects: rejects, list: list, options: options, started: started,
                          note: "a dry run writes nothing")
        }

        // 3. Generate the misses through a sliding window: at most `concurrency` child tasks
        // exist at once, so 10,000 phrases cost as much memory as four.
        let engineStart = ContinuousClock.now
        var processed = 0
        var lastReport = ContinuousClock.now
        func snapshot() -> PrewarmProgress {
            let elapsed = started.duration(to: .now).seconds
            let working = engineStart.duration(to: .now).seconds
            let rate = working > 0 ? Double(processed) / working : 0
            let left = jobs.count - summary.cached - summary.generated - summary.failed
            return PrewarmProgress(done: jobs.count - left, total: jobs.count, cached: summary.cached,
                                   generated: summary.generated, failed: summary.failed, elapsed: elapsed,
                                   rate: rate, eta: rate > 0 ? Double(left) / rate : (left == 0 ? 0 : nil))
        }
        if !misses.isEmpty { progress(snapshot()) }
        var next = 0
        var cancelledInFlight = 0
        await withTaskGroup(of: (Int, Outcome).self) { group in
            var running = 0
            while true {
                while running < options.concurrency && next < misses.count && !Task.isCancelled {
                    let j = misses[next]
                    let job = jobs[j]
                    next += 1
                    running += 1
                    group.addTask { (j, await self.attempt(job)) }
                }
                guard let (j, outcome) = await group.next() else { break }
                running -= 1
                switch outcome {
                case .generated(let ms):
                    summary.generated += 1
                    summary.audioSeconds += Double(ms) / 1000
                case .cached:
                    summary.cached += 1
                case .failed(let reason):
                    summary.failed += 1
                    for i in jobs[j].entries {
                        rejects.append(PrewarmReject(line: list.entries[i].line, reason: reason, cause: .engine,
                                                     entry: list.entries[i], problem: nil))
                    }
                case .cancelled:
                    cancelledInFlight += 1
                }
                processed += 1
                if lastReport.duration(to: .now) >= options.progressInterval {
                    lastReport = .now
                    progress(snapshot())
                }
            }
        }
        summary.remaining = misses.count - next + cancelledInFlight
        summary.cancelled = summary.remaining > 0
        progress(snapshot())
        return try finishWritingRejects(summary, rejects: rejects, list: list, options: options, started: started)
    }

    /// One request through the service. A cancellation that is not ours (we joined another
    /// caller's flight for the same key, and that caller gave up) is retried once.
    /// One planned request, already prepared and keyed by the plan.
    private func attempt(_ job: PrewarmPlan.Item) async -> Outcome {
        for round in 0..<2 {
            do {
                let generation = try await service.generateOrFetch(prepared: job.request, key: job.key)
                return generation.tier == .engine ? .generated(durationMs: generation.clip.durationMs) : .cached
            } catch {
                guard Self.isCancellation(error) else { return .failed(TTSError.message(of: error)) }
                if Task.isCancelled || round == 1 { return .cancelled }
            }
        }
        return .cancelled
    }

    private func finishWritingRejects(_ summary: PrewarmSummary, rejects: [PrewarmReject], list: PhraseList,
                                      options: PrewarmOptions, started: ContinuousClock.Instant) throws -> PrewarmSummary {
        var summary = finish(summary, rejects: rejects, list: list, options: options, started: started,
                             note: "the run was cancelled; run the same list again to resume")
        guard !summary.cancelled, !summary.rejects.isEmpty else { return summary }
        guard let url = options.rejectsURL else {
            summary.rejectsFile = .notWritten("no rejects file was named")
            return summary
        }
        var writer = PhraseListWriter(format: list.format, columns: list.columns)
        var written = 0
        for reject in summary.rejects {
            if let entry = reject.entry {
                writer.append(entry, reason: reject.reason)
                written += 1
            } else if let problem = reject.problem, !problem.record.isEmpty {
                writer.append(problem)
                written += 1
            }
        }
        if written > 0 {
            try writer.data.writeAtomically(to: url)
            summary.rejectsFile = .written(url, lines: written)
        } else {
            summary.rejectsFile = .notWritten("the problems concern the header, not lines")
        }
        return summary
    }

    /// Fills in the totals; `note` says why no rejects file is written when lines failed.
    /// Publishes the cached clips the shared tier lacks, as a local hit of each would (a
    /// `say` publishes in the background; here the run waits, so the clips are in Redis when
    /// it ends). One look-up per clip; stops quietly when Redis is off or unusable.
    private func publishLocalOnly(_ clips: [Clip]) async {
        guard service.shared.isEnabled else { return }
        for clip in clips {
            if Task.isCancelled || service.shared.isDegraded { return }
            guard let present = try? await service.shared.redisHasClip(clip.key), present == false else { continue }
            // Read with its hash checked: a damaged blob is not shared.
            guard let audio = try? await Blocking.run({ [service] in try service.local.verifiedAudio(of: clip) }) else { continue }
            await service.shared.publish(clip, audio: audio)
        }
    }

    private func finish(_ summary: PrewarmSummary, rejects: [PrewarmReject], list: PhraseList,
                        options: PrewarmOptions, started: ContinuousClock.Instant, note: String) -> PrewarmSummary {
        var summary = summary
        summary.rejects = rejects.sorted { $0.line < $1.line }
        summary.elapsed = started.duration(to: .now).seconds
        let done = summary.cached + summary.generated + summary.failed
        summary.rate = summary.elapsed > 0 ? Double(done) / summary.elapsed : 0
        summary.rejectsFile = summary.rejects.isEmpty ? .none : .notWritten(note)
        return summary
    }

    static func isCancellation(_ error: Error) -> Bool {
        if error is CancellationError { return true }
        return (error as? TTSError)?.kind == .cancelled
    }
}
