import Foundation
import Synchronization
import TTSConcurrency
import TTSCore
import TTSStore

/// How a worker takes and settles jobs.
public struct WorkerOptions: Sendable {
    /// Jobs in flight at once.
    public var concurrency: Int
    /// Stop after taking this many jobs (their in-flight ones finished); nil = no limit.
    public var maxJobs: Int?
    /// Stop after the queue has been empty (nothing waiting, nothing in flight anywhere) this
    /// long; nil = run until stopped.
    public var idleExit: Duration?
    /// A job whose worker has not refreshed it for this long is taken over (TTS_QUEUE_RECLAIM_S).
    public var reclaimAfter: Duration
    /// Failed attempts after which a job is dead (TTS_QUEUE_MAX_ATTEMPTS).
    public var maxAttempts: Int
    /// On a stop request, how long in-flight jobs may take to finish before they are cancelled
    /// and handed back to the queue.
    public var grace: Duration
    /// The longest one read waits for new jobs; also how quickly a stop request is noticed.
    public var readBlock: Duration
    /// The least time between two progress reports.
    public var progressInterval: Duration

    public init(concurrency: Int = 4, maxJobs: Int? = nil, idleExit: Duration? = nil, reclaimAfter: Duration = .seconds(30),
                maxAttempts: Int = 3, grace: Duration = .seconds(10), readBlock: Duration = .seconds(1),
                progressInterval: Duration = .seconds(5)) {
        self.concurrency = max(1, concurrency)
        self.maxJobs = maxJobs
        self.idleExit = idleExit
        self.reclaimAfter = max(reclaimAfter, .milliseconds(100))
        self.maxAttempts = max(1, maxAttempts)
        self.grace = grace
        self.readBlock = readBlock
        self.progressInterval = progressInterval
    }
}

/// What a worker has done so far (and, at the end, in total).
public struct WorkerProgress: Sendable, Equatable {
    /// Jobs this worker finished and acknowledged.
    public var done = 0
    /// Jobs this worker finished that someone else had acknowledged first (it was reclaimed
    /// from this worker while it still worked on it); no engine call is repeated for them.
    public var finishedElsewhere = 0
    /// Failed attempts requeued for another try.
    public var retried = 0
    /// Jobs this worker moved to the dead-letter stream.
    public var dead = 0
    /// Jobs handed back to the queue unfinished on a stop.
    public var returned = 0
    /// Jobs taken over from workers that went silent.
    public var reclaimed = 0
    /// Jobs being worked on right now.
    public var inFlight = 0
    /// Seconds since the worker started.
    public var elapsed = 0.0
    /// Finished jobs per second.
    public var rate: Double { elapsed > 0 ? Double(done + finishedElsewhere) / elapsed : 0 }

    public init() {}
}

/// Why a worker stopped.
public enum WorkerStop: String, Sendable {
    /// Asked to stop (SIGTERM, SIGINT): in-flight jobs were finished or handed back.
    case requested
    /// `--idle-exit`: the queue stayed empty.
    case idle
    /// `--max-jobs` jobs were taken and finished.
    case maxJobs = "max-jobs"
}

/// The outcome of a worker's run.
public struct WorkerSummary: Sendable {
    public var consumer: String
    public var stop: WorkerStop
    public var totals: WorkerProgress
}

/// Takes jobs from the queue and runs each through the service's generate-or-fetch, on any
/// machine that can reach the same Redis.
///
/// A job is acknowledged only after `generateOrFetch` returned (the clip is in the local store)
/// and the clip is confirmed in Redis, so a worker killed at any moment leaves its job pending,
/// and another worker takes it over after `reclaimAfter`. The take-over costs no second engine
/// call when the clip was in fact finished: the data path finds it in Redis, or waits on the
/// generation lock of the worker still making it. While a job runs, the worker refreshes it
/// every third of `reclaimAfter`, so a long engine call is not mistaken for a dead worker.
///
/// Stopping: cancel the task that runs `run`. The worker takes no new jobs, lets in-flight ones
/// finish for up to `grace`, then cancels the rest and hands them back to the queue.
///
/// ```swift
/// let worker = QueueWorker(service: service, queue: queue, tier: tier, consumer: "host:4242")
/// let summary = try await worker.run { progress in print(progress.done) }
/// ```
public final class QueueWorker: Sendable {
    public let service: SpeechService
    public let queue: RedisJobQueue
    /// The shared tier, to confirm each clip is in Redis before its job is acknowledged.
    public let tier: RedisTier
    public let consumer: String
    public let options: WorkerOptions
    private let logger: Logger
    private let state = Mutex(State())

    private struct State {
        var progress = WorkerProgress()
        /// Jobs being worked on, by entry id, and the tasks working on them.
        var running: [String: Task<Void, Never>] = [:]
    }

    public init(service: SpeechService, queue: RedisJobQueue, tier: RedisTier, consumer: String = QueueWorker.defaultName(),
                options: WorkerOptions = WorkerOptions()) {
        self.service = service
        self.queue = queue
        self.tier = tier
        self.consumer = consumer
        self.options = options
        logger = service.logger
    }

    /// `host:pid:random`, unique per process so a restarted worker never inherits a dead one's jobs.
    public static func defaultName() -> String {
        let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "host"
        return "\(host):\(getpid()):\(String(UInt16.random(in: 0...UInt16.max), radix: 16))"
    }

    /// Runs until the calling task is cancelled, the queue stays empty for `idleExit`, or
    /// `maxJobs` jobs are done. Throws only when the queue cannot be reached at the start.
    public func run(progress: @escaping @Sendable (WorkerProgress) -> Void = { _ in }) async throws -> WorkerSummary {
        let started = ContinuousClock.now
        try await queue.prepare()
        logger.info("worker-start", [("worker", .string(consumer)), ("concurrency", .int(options.concurrency))])
        let keeper = Task { [self] in await keepJobsAlive() }
        defer { keeper.cancel() }

        var taken = 0
        var lastWork = ContinuousClock.now
        var lastReport = ContinuousClock.now
        var nextReclaim = ContinuousClock.now
        var reclaimCursor = "0-0"
        var redisTrouble = false
        var stop = WorkerStop.requested
        while true {
            if Task.isCancelled { stop = .requested; break }
            if let maxJobs = options.maxJobs, taken >= maxJobs { stop = .maxJobs; break }
            if lastReport.duration(to: .now) >= options.progressInterval {
                lastReport = .now
                progress(snapshot(since: started))
            }
            let free = options.concurrency - state.withLock { $0.running.count }
            guard free > 0 else {
                try? await Task.sleep(for: .milliseconds(25))
                continue
            }
            let want = min(free, (options.maxJobs ?? Int.max) - taken)
            var jobs: [QueuedJob] = []
            do {
                if ContinuousClock.now >= nextReclaim {
                    nextReclaim = .now + options.reclaimAfter / 2
                    let result = try await queue.reclaim(consumer: consumer, minIdle: options.reclaimAfter,
                                                         count: want, cursor: reclaimCursor)
                    reclaimCursor = result.cursor
                    jobs = result.jobs
                    for job in jobs {
                        logger.info("job-reclaimed", [("worker", .string(consumer)), ("job", .string(job.id)),
                                                      ("key", .string(job.key.hex)), ("deliveries", .int(job.deliveries))])
                    }
                    state.withLock { $0.progress.reclaimed += jobs.count }
                    if reclaimCursor == "0-0" {
                        _ = try? await queue.pruneConsumers(idleFor: max(.seconds(60), options.reclaimAfter * 10))
                    }
                }
                if jobs.isEmpty {
                    jobs = try await queue.read(consumer: consumer, count: want, block: options.readBlock)
                }
                // Entries no worker can read went to the dead stream on the way: they count as
                // dead here, or the summary would say 0 while `queue` shows them.
                let unreadable = queue.takeUnreadableCount()
                if unreadable > 0 {
                    state.withLock { $0.progress.dead += unreadable }
                    logger.warn("job-unreadable", [("worker", .string(consumer)), ("count", .int(unreadable)),
                                                   ("outcome", "dead")])
                }
                if redisTrouble {
                    redisTrouble = false
                    logger.info("worker-redis-back", [("worker", .string(consumer))])
                }
            } catch {
                if !redisTrouble {
                    redisTrouble = true
                    logger.warn("worker-redis-error", [("worker", .string(consumer)), ("error", .string(TTSError.message(of: error)))])
                }
                try? await Task.sleep(for: .seconds(1))
                continue
            }
            for job in jobs {
                taken += 1
                start(job)
            }
            if !jobs.isEmpty || state.withLock({ !$0.running.isEmpty }) {
                lastWork = .now
            } else if let idleExit = options.idleExit, lastWork.duration(to: .now) >= idleExit {
                // Empty here is not enough: jobs in flight elsewhere may come back (their worker
                // may die, or hand them back).
                if let counts = try? await queue.counts(), counts.waiting == 0 && counts.inFlight == 0 {
                    stop = .idle
                    break
                }
            }
        }

        // Draining runs in a task of its own: this one may be cancelled, and a cancelled task's
        // sleeps return at once.
        let grace = stop == .requested ? options.grace : .seconds(3600)
        await Task { [self] in await drain(grace: grace) }.value
        keeper.cancel()
        if (try? await queue.removeConsumer(consumer)) == false {
            logger.warn("worker-left-jobs", [("worker", .string(consumer))])
        }
        let totals = snapshot(since: started)
        progress(totals)
        logger.info("worker-stop", [("worker", .string(consumer)), ("reason", .string(stop.rawValue)),
                                    ("done", .int(totals.done)), ("dead", .int(totals.dead)), ("returned", .int(totals.returned))])
        return WorkerSummary(consumer: consumer, stop: stop, totals: totals)
    }

    // MARK: - One job

    /// Starts a job in an unstructured task: it must not inherit the run's cancellation, so a
    /// stop request lets it finish within the grace period.
    private func start(_ job: QueuedJob) {
        state.withLock { state in
            let task = Task { [self] in await process(job) }
            state.running[job.id] = task
        }
    }

    private func process(_ job: QueuedJob) async {
        defer { state.withLock { _ = $0.running.removeValue(forKey: job.id) } }
        if job.deliveries > options.maxAttempts {
            // Handed out again and again without being finished: its workers keep dying on it.
            let reason = "handed to a worker \(job.deliveries) times without being finished (its workers stopped or were killed while working on it)"
            await settleFailure(job, reason: reason, permanent: true)
            return
        }
        do {
            let generation = try await service.generateOrFetch(job.request)
            if generation.clip.key != job.key {
                logger.warn("job-key-mismatch", [("job", .string(job.id)), ("queued_key", .string(job.key.hex)),
                                                 ("key", .string(generation.clip.key.hex))])
            }
            try await ensureShared(generation.clip)
            let counted = try await queue.complete(job)
            state.withLock { state in
                if counted { state.progress.done += 1 } else { state.progress.finishedElsewhere += 1 }
            }
            logger.info(counted ? "job-done" : "job-done-elsewhere",
                        [("worker", .string(consumer)), ("job", .string(job.id)), ("key", .string(job.key.hex)),
                         ("tier", .string(generation.tier.rawValue))])
        } catch where Task.isCancelled {
            // The grace period ran out: hand the job back for someone else.
            let returned = (try? await queue.release(job)) ?? false
            if returned { state.withLock { $0.progress.returned += 1 } }
            logger.info("job-returned", [("worker", .string(consumer)), ("job", .string(job.id)), ("key", .string(job.key.hex)),
                                         ("returned", .bool(returned))])
        } catch {
            await settleFailure(job, reason: TTSError.message(of: error), permanent: false)
        }
    }

    private func settleFailure(_ job: QueuedJob, reason: String, permanent: Bool) async {
        do {
            let settlement = try await queue.fail(job, error: reason, maxAttempts: options.maxAttempts, permanent: permanent)
            state.withLock { state in
                switch settlement {
                case .dead: state.progress.dead += 1
                case .requeued: state.progress.retried += 1
                case .alreadySettled: break
                }
            }
            let event = settlement == .dead ? "job-dead" : "job-failed"
            logger.warn(event, [("worker", .string(consumer)), ("job", .string(job.id)), ("key", .string(job.key.hex)),
                                ("attempt", .int(job.attempts + 1)), ("error", .string(reason))])
        } catch {
            // Not settled: the job stays pending and is reclaimed after the timeout.
            logger.warn("job-unsettled", [("worker", .string(consumer)), ("job", .string(job.id)), ("error", .string(TTSError.message(of: error)))])
        }
    }

    /// A job is done only when the clip is in both tiers. The data path publishes every clip it
    /// makes, but Redis errors there are absorbed (a request must not fail for them), and a
    /// local hit is published in the background; here an absent clip is published now, and a
    /// failure fails the attempt.
    private func ensureShared(_ clip: Clip) async throws {
        if try await tier.hasClip(clip.key) { return }
        // Hash-checked, like every read for publishing: a damaged blob fails the attempt (and
        // is quarantined), so the job is retried and the clip regenerated, never shared.
        let service = self.service
        let audio = try await Blocking.run { try service.local.verifiedAudio(of: clip) }
        try await tier.publish(clip, audio: audio)
    }

    // MARK: - Background

    /// Refreshes the running jobs so no one reclaims them while they are worked on.
    private func keepJobsAlive() async {
        let every = options.reclaimAfter / 3
        while !Task.isCancelled {
            try? await Task.sleep(for: every)
            if Task.isCancelled { return }
            let ids = state.withLock { Array($0.running.keys) }
            guard !ids.isEmpty else { continue }
            do {
                let kept = Set(try await queue.keepAlive(ids, consumer: consumer))
                for id in ids where !kept.contains(id) {
                    logger.warn("job-taken-over", [("worker", .string(consumer)), ("job", .string(id))])
                }
            } catch {
                logger.warn("worker-keep-alive-failed", [("worker", .string(consumer)), ("error", .string(TTSError.message(of: error)))])
            }
        }
    }

    /// Waits (bounded) for running jobs; after `grace` cancels them, which hands them back.
    private func drain(grace: Duration) async {
        let deadline = ContinuousClock.now + grace
        while state.withLock({ !$0.running.isEmpty }) && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        let late = state.withLock { Array($0.running.values) }
        for task in late { task.cancel() }
        // Cancelled jobs hand themselves back with one Redis call each; bounded wait.
        let handBack = ContinuousClock.now + .seconds(10)
        while state.withLock({ !$0.running.isEmpty }) && ContinuousClock.now < handBack {
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    private func snapshot(since started: ContinuousClock.Instant) -> WorkerProgress {
        state.withLock { state in
            var progress = state.progress
            progress.inFlight = state.running.count
            progress.elapsed = started.duration(to: .now).seconds
            return progress
        }
    }
}
