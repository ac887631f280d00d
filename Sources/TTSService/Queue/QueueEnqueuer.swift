import Foundation
import TTSCore
import TTSStore

/// The outcome of `prewarm FILE --queue`.
public struct EnqueueSummary: Sendable {
    public var source: String
    /// Physical lines in the input.
    public var lines = 0
    public var phrases = 0
    /// Unreadable lines plus invalid requests.
    public var problems = 0
    /// Distinct requests among the valid phrases.
    public var unique = 0
    public var duplicates = 0
    /// Unique requests already in the local store.
    public var cachedLocal = 0
    /// Unique requests already in Redis (not in the local store).
    public var cachedShared = 0
    /// Jobs added to the queue.
    public var queued = 0
    /// Requests already waiting or in flight in the queue (from an earlier run).
    public var alreadyQueued = 0
    public var cancelled = false
    /// `strict` found problems, and nothing was queued.
    public var aborted = false
    /// Every rejected line, by line number.
    public var rejects: [PrewarmReject] = []

    public init(source: String) { self.source = source }

    public var cached: Int { cachedLocal + cachedShared }
    /// Every line is cached or queued.
    public var succeeded: Bool { problems == 0 && !cancelled && !aborted }
}

/// `prewarm FILE --queue`: checks a phrase list like a local pre-warm, skips what is cached in
/// the local store or in Redis, and puts one job per remaining request on the queue for
/// `worker` processes on any machine.
///
/// ```swift
/// let summary = try await QueueEnqueuer(service: service, queue: queue, tier: tier)
///     .run(list, defaults: session.request(text: ""))
/// print(summary.queued)
/// ```
public struct QueueEnqueuer: Sendable {
    public let service: SpeechService
    public let queue: RedisJobQueue
    public let tier: RedisTier

    public init(service: SpeechService, queue: RedisJobQueue, tier: RedisTier) {
        self.service = service
        self.queue = queue
        self.tier = tier
    }

    /// Throws a `.store` error when Redis cannot be reached; nothing is half-queued then
    /// except whole batches already sent (queuing the same list again adds only what is missing).
    /// - Parameter strict: any problem in the list queues nothing.
    public func run(_ list: PhraseList, defaults: AudioRequest, strict: Bool = false) async throws -> EnqueueSummary {
        var summary = EnqueueSummary(source: list.source)
        summary.lines = list.lineCount
        summary.phrases = list.entries.count
        let plan = await PrewarmPlan.make(list, defaults: defaults, service: service)
        summary.rejects = plan.rejects.sorted { $0.line < $1.line }
        summary.problems = plan.rejects.count
        summary.unique = plan.items.count
        summary.duplicates = plan.duplicates
        if plan.cancelled || Task.isCancelled {
            summary.cancelled = true
            return summary
        }
        if strict && !plan.rejects.isEmpty {
            summary.aborted = true
            return summary
        }
        var misses: [PrewarmPlan.Item] = []
        for item in plan.items {
            if (try? service.local.clip(for: item.key)) != nil { summary.cachedLocal += 1 } else { misses.append(item) }
        }
        let shared = try await tier.existingClips(misses.map(\.key))
        summary.cachedShared = shared.count
        let jobs = misses.filter { !shared.contains($0.key) }.map { (request: $0.request, key: $0.key) }
        summary.queued = try await queue.enqueue(jobs)
        summary.alreadyQueued = jobs.count - summary.queued
        service.logger.info("queue-add", [("source", .string(list.source)), ("queued", .int(summary.queued)),
                                          ("already_queued", .int(summary.alreadyQueued)), ("cached", .int(summary.cached))])
        return summary
    }
}

/// The Redis pieces a queue command needs, opened from the configuration: the job queue and the
/// shared tier, on a pool of their own so a worker's blocking reads never hold a connection the
/// data path is waiting for.
public struct QueueConnection: Sendable {
    public let queue: RedisJobQueue
    public let tier: RedisTier

    /// Throws a `.config` error when Redis is off, and a `.config` error naming the server
    /// when it cannot be reached: the queue has no meaning without it.
    public static func open(_ configuration: Configuration, command: String) async throws -> QueueConnection {
        guard let text = configuration.redisURL else {
            throw TTSError.config("\(command) needs Redis: the queue lives there, and REDIS_URL is off. Set REDIS_URL (or --redis redis://host:port) to the server the workers share.")
        }
        let client = RedisClient(try RedisTarget(parsing: text), maxConnections: 4)
        let tier = Runtime.redisTier(configuration, client: client)
        let queue = RedisJobQueue(client: client, prefix: configuration.redisPrefix)
        do {
            try await queue.prepare()
        } catch {
            let reason = TTSError.message(of: error)
            throw TTSError.config("\(command) needs Redis, and it cannot be reached: \(reason)")
        }
        return QueueConnection(queue: queue, tier: tier)
    }
}
