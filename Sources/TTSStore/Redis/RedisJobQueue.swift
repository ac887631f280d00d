import Foundation
import Synchronization
import TTSCore

/// One unit of queued work: a fully resolved request, the key it was queued under, and how
/// often it failed so far. Read from the queue stream (or the dead-letter stream).
public struct QueuedJob: Sendable, Equatable {
    /// The stream entry's id (`1718000000000-0`). A retried or returned job is a new entry
    /// with a new id; the request key is what stays the same.
    public var id: String
    public var request: AudioRequest
    public var key: RequestKey
    /// Failed attempts before this one.
    public var attempts: Int
    /// The error of the last failed attempt, if any.
    public var lastError: String?
    /// How often this entry was handed to a worker (1 on a first read; more after workers died
    /// holding it and it was reclaimed). Known only for reclaimed jobs, 1 otherwise.
    public var deliveries: Int
    public var enqueuedAt: Date?

    public init(id: String, request: AudioRequest, key: RequestKey, attempts: Int = 0, lastError: String? = nil,
                deliveries: Int = 1, enqueuedAt: Date? = nil) {
        self.id = id
        self.request = request
        self.key = key
        self.attempts = attempts
        self.lastError = lastError
        self.deliveries = deliveries
        self.enqueuedAt = enqueuedAt
    }
}

/// One entry of the dead-letter stream: a job that failed too often, or an entry no worker
/// could read (then `job` is nil and `error` says so). Unreadable entries are listed, never
/// requeued.
public struct DeadEntry: Sendable, Equatable {
    public var id: String
    /// The job, when the entry reads as one.
    public var job: QueuedJob?
    /// The last error, or why the entry could not be read.
    public var error: String
    /// The entry's text field, when it has one (shown for unreadable entries too).
    public var text: String

    public init(id: String, job: QueuedJob?, error: String, text: String) {
        self.id = id
        self.job = job
        self.error = error
        self.text = text
    }
}

/// A snapshot of the queue, as `queue` shows it.
public struct QueueCounts: Sendable, Equatable {
    /// Queued and not yet handed to any worker.
    public var waiting: Int
    /// Handed to a worker and not yet acknowledged (being worked on, or held by a dead worker
    /// until it is reclaimed).
    public var inFlight: Int
    /// Acknowledged after their clip was stored (a counter since the queue was created).
    public var done: Int
    /// In the dead-letter stream.
    public var dead: Int
    /// Failed attempts so far (retried or buried), a counter.
    public var failedAttempts: Int
    /// Workers that read from the queue recently.
    public var activeWorkers: Int

    public init(waiting: Int = 0, inFlight: Int = 0, done: Int = 0, dead: Int = 0, failedAttempts: Int = 0,
                activeWorkers: Int = 0) {
        self.waiting = waiting
        self.inFlight = inFlight
        self.done = done
        self.dead = dead
        self.failedAttempts = failedAttempts
        self.activeWorkers = activeWorkers
    }
}

/// What became of a failed job.
public enum JobSettlement: Sendable, Equatable {
    /// Queued again (a new entry), for this or another worker.
    case requeued(newID: String)
    /// Moved to the dead-letter stream with its last error.
    case dead
    /// Someone else had settled it already (it was reclaimed and finished elsewhere): nothing done.
    case alreadySettled
}

/// The distributed pre-warm queue: a Redis Stream of generation jobs read by workers on any
/// machine through one consumer group.
///
/// Key space, under the same prefix as the shared tier:
///
/// | key | type | contents |
/// |---|---|---|
/// | `tts:queue` | stream | one entry per job: text, voice, language, engine, model, style, speakers, key, attempts, error, enqueued |
/// | `tts:workers` | consumer group of `tts:queue` | one consumer per worker process |
/// | `tts:queue:dead` | stream | jobs that failed `maxAttempts` times, with their last error |
/// | `tts:queue:keys` | hash | request key → id of its entry, so a request is queued once |
/// | `tts:queue:stats` | hash | `done`, `failed` counters |
///
/// The life of a job: `enqueue` adds it; `read` hands it to one worker (it is now pending in
/// the group); `complete` acknowledges and deletes it, counting it done exactly once; `fail`
/// moves it to the back of the queue with one more attempt, or to the dead stream; `release`
/// puts it back untouched (a worker stopping). A worker that dies leaves its jobs pending;
/// `reclaim` hands them to another worker once they were idle long enough, and `keepAlive`
/// stops a live worker's long jobs from looking idle. Every state change that touches two keys
/// is one Lua script, so a crash between two commands cannot lose or duplicate a job.
///
/// ```swift
/// let queue = RedisJobQueue(client: RedisClient(try RedisTarget(parsing: "redis://127.0.0.1")), prefix: "tts:")
/// _ = try await queue.enqueue(request, key: RequestKey(request))
/// for job in try await queue.read(consumer: "host:42", count: 4, block: .seconds(1)) {
///     … generate and store …
///     try await queue.complete(job)
/// }
/// ```
///
/// Every Redis failure is a `TTSError` of kind `.store`.
public final class RedisJobQueue: Sendable {
    public let client: RedisClient
    public let prefix: String

    /// Entries this instance moved to the dead stream because they could not be read, not yet
    /// taken by `takeUnreadableCount` (the worker counts them as dead).
    private let unreadableBuried = Mutex(0)

    public init(client: RedisClient, prefix: String = "tts:") {
        self.client = client
        self.prefix = prefix
    }

    /// One server through `pool`.
    public convenience init(pool: RedisPool, prefix: String = "tts:") {
        self.init(client: RedisClient(pool: pool), prefix: prefix)
    }

    /// How many unreadable entries `read` and `reclaim` moved to the dead stream since the
    /// last call; resets the count.
    public func takeUnreadableCount() -> Int {
        unreadableBuried.withLock { count in
            defer { count = 0 }
            return count
        }
    }

    // MARK: - Key space

    /// On a cluster the queue's keys share the hash tag `{queue}` (`tts:{queue}`,
    /// `tts:{queue}:dead`, …), so they live in one slot and every script may touch them all;
    /// a single server keeps the untagged names. Known once the client knows what it talks to
    /// (every method asks first).
    public var streamKey: String { prefix + (client.isKnownCluster ? "{queue}" : "queue") }
    public var groupName: String { prefix + "workers" }
    public var deadKey: String { streamKey + ":dead" }
    var keysKey: String { streamKey + ":keys" }
    var statsKey: String { streamKey + ":stats" }

    /// One command on the node holding the queue. `arguments` is built after the client has
    /// found out whether it talks to a cluster, since the key names depend on it.
    private func run(_ arguments: @autoclosure () -> [String]) async throws -> RedisReply {
        _ = try await client.isCluster()
        return try await client.command(arguments(), routing: streamKey)
    }

    private func run(data arguments: @autoclosure () -> [Data]) async throws -> RedisReply {
        _ = try await client.isCluster()
        return try await client.command(arguments(), routing: Data(streamKey.utf8))
    }

    private func runPipeline(_ commands: @autoclosure () -> [[Data]]) async throws -> [RedisReply] {
        _ = try await client.isCluster()
        return try await client.pipeline(commands(), routing: Data(streamKey.utf8))
    }

    // MARK: - Set-up

    /// Creates the stream and its consumer group if they do not exist. The group starts at the
    /// beginning of the stream, so jobs queued before any worker ever ran are delivered.
    public func prepare() async throws {
        let reply = try await run(["XGROUP", "CREATE", streamKey, groupName, "0", "MKSTREAM"])
        if let message = reply.errorMessage, !message.hasPrefix("BUSYGROUP") {
            throw refusal(message, doing: "create the queue's consumer group")
        }
    }

    // MARK: - Producing

    /// Queues one job unless the same request key is already queued (waiting or in flight).
    /// Returns false for such a duplicate.
    @discardableResult
    public func enqueue(_ request: AudioRequest, key: RequestKey) async throws -> Bool {
        try await enqueue([(request, key)]) == 1
    }

    /// Queues many jobs, a few hundred per round trip; returns how many were new (the rest
    /// were queued already).
    public func enqueue(_ jobs: [(request: AudioRequest, key: RequestKey)]) async throws -> Int {
        guard !jobs.isEmpty else { return 0 }
        try await prepare()
        var added = 0
        var start = 0
        while start < jobs.count {
            let batch = jobs[start..<min(start + 200, jobs.count)]
            start += batch.count
            let commands = batch.map { job -> [Data] in
                let fields = RedisJobQueue.fields(request: job.request, key: job.key, attempts: 0, error: nil)
                return ["EVAL", RedisJobQueue.enqueueScript, "2", streamKey, keysKey, job.key.hex].map { Data($0.utf8) } + fields
            }
            for reply in try await runPipeline(commands) {
                try check(reply, doing: "queue a job")
                if reply.data != nil { added += 1 }
            }
        }
        return added
    }

    // MARK: - Consuming

    /// Up to `count` jobs no worker has had yet, waiting at most `block` for the first.
    /// `block` is capped below the pool's command timeout, so a blocked read never looks like a
    /// dead server; a worker loops over short reads and checks for a stop request in between.
    public func read(consumer: String, count: Int, block: Duration) async throws -> [QueuedJob] {
        _ = try await client.isCluster()
        let limit = client.configuration.commandTimeout - .milliseconds(500)
        let wait = max(.milliseconds(1), min(block, limit))
        let arguments = ["XREADGROUP", "GROUP", groupName, consumer, "COUNT", String(max(1, count)),
                         "BLOCK", String(RedisConnection.milliseconds(wait)),
                         "STREAMS", streamKey, ">"]
        var reply = try await run(arguments)
        if let message = reply.errorMessage, message.hasPrefix("NOGROUP") {
            // The stream was removed (or never made): make it again and read once more.
            try await prepare()
            reply = try await run(arguments)
        }
        try check(reply, doing: "read jobs")
        guard let streams = reply.elements else { return [] }
        var jobs: [QueuedJob] = []
        for stream in streams {
            guard let parts = stream.elements, parts.count == 2, let entries = parts[1].elements else { continue }
            for entry in entries {
                guard let pair = entry.elements, pair.count == 2, let id = pair[0].text else { continue }
                if let job = RedisJobQueue.decode(id: id, fields: pair[1].elements ?? [], deliveries: 1) {
                    jobs.append(job)
                } else {
                    try await discardMalformed(id)
                }
            }
        }
        return jobs
    }

    /// Takes over jobs that were handed out but not acknowledged for at least `minIdle` (their
    /// worker died, or lost its connection). Each comes with how often it was handed out.
    /// `cursor` continues a scan of the pending list from where the last call stopped; pass
    /// `"0-0"` to start over. Returns the jobs and the cursor for the next call.
    public func reclaim(consumer: String, minIdle: Duration, count: Int, cursor: String = "0-0") async throws
        -> (jobs: [QueuedJob], cursor: String) {
        let idleMs = max(1, RedisConnection.milliseconds(minIdle))
        let reply = try await run(["EVAL", RedisJobQueue.reclaimScript, "1", streamKey, groupName, consumer,
                                            String(idleMs), cursor, String(max(1, count))])
        if let message = reply.errorMessage, message.contains("NOGROUP") {
            try await prepare()
            return ([], "0-0")
        }
        try check(reply, doing: "reclaim jobs")
        guard let parts = reply.elements, parts.count == 2 else { return ([], "0-0") }
        var jobs: [QueuedJob] = []
        for entry in parts[1].elements ?? [] {
            guard let triple = entry.elements, triple.count == 3, let id = triple[0].text else { continue }
            if let job = RedisJobQueue.decode(id: id, fields: triple[1].elements ?? [], deliveries: triple[2].integer ?? 1) {
                jobs.append(job)
            } else {
                try await discardMalformed(id)
            }
        }
        return (jobs, parts[0].text ?? "0-0")
    }

    /// Marks jobs as still being worked on by `consumer` (resets their idle time so no one
    /// reclaims them) and returns the ids that are still this consumer's; a job missing from
    /// the answer was reclaimed by someone else in the meantime.
    public func keepAlive(_ ids: [String], consumer: String) async throws -> [String] {
        guard !ids.isEmpty else { return [] }
        let reply = try await run(["EVAL", RedisJobQueue.keepAliveScript, "1", streamKey, groupName, consumer] + ids)
        try check(reply, doing: "keep jobs alive")
        return (reply.elements ?? []).compactMap(\.text)
    }

    /// Acknowledges a finished job: removes it and counts it done. Returns false when it had
    /// been acknowledged already (another worker reclaimed and finished it): then nothing is
    /// counted, so `done` counts each job once.
    @discardableResult
    public func complete(_ job: QueuedJob) async throws -> Bool {
        let reply = try await run(["EVAL", RedisJobQueue.completeScript, "3", streamKey, keysKey, statsKey,
                                            groupName, job.id, job.key.hex])
        try check(reply, doing: "acknowledge job \(job.key.short)")
        return reply.integer == 1
    }

    /// Settles a failed attempt: with attempts left the job goes to the back of the queue with
    /// one more attempt and this error; otherwise (or when `permanent`) it moves to the dead
    /// stream with the error. Atomic with the acknowledgement of the old entry.
    public func fail(_ job: QueuedJob, error: String, maxAttempts: Int, permanent: Bool = false) async throws -> JobSettlement {
        let attempts = job.attempts + 1
        let dead = permanent || attempts >= maxAttempts
        var fields = RedisJobQueue.fields(request: job.request, key: job.key, attempts: attempts, error: error,
                                          enqueuedAt: job.enqueuedAt)
        if dead { fields += ["failed_at", String(Int(Date().timeIntervalSince1970))].map { Data($0.utf8) } }
        return try await settle(job, mode: dead ? "dead" : "retry", fields: fields)
    }

    /// Puts a job that was not finished back at the end of the queue, attempts unchanged
    /// (a worker stopping hands its jobs to the others at once instead of leaving them to the
    /// reclaim timeout). Returns false when it had been settled already.
    @discardableResult
    public func release(_ job: QueuedJob) async throws -> Bool {
        let fields = RedisJobQueue.fields(request: job.request, key: job.key, attempts: job.attempts, error: job.lastError,
                                          enqueuedAt: job.enqueuedAt)
        return try await settle(job, mode: "release", fields: fields) != .alreadySettled
    }

    private func settle(_ job: QueuedJob, mode: String, fields: [Data]) async throws -> JobSettlement {
        _ = try await client.isCluster()
        let head = ["EVAL", RedisJobQueue.settleScript, "4", streamKey, keysKey, statsKey, deadKey,
                    groupName, job.id, job.key.hex, mode].map { Data($0.utf8) }
        let reply = try await run(data: head + fields)
        try check(reply, doing: "settle job \(job.key.short)")
        guard let text = reply.text else { return .alreadySettled }
        return text == "dead" ? .dead : .requeued(newID: text)
    }

    /// Removes a worker's consumer from the group when it holds no jobs (a clean stop), so
    /// the group does not collect names of workers long gone. Returns false when it still
    /// holds jobs; those stay pending for others to reclaim.
    @discardableResult
    public func removeConsumer(_ consumer: String) async throws -> Bool {
        let reply = try await run(["EVAL", RedisJobQueue.removeConsumerScript, "1", streamKey, groupName, consumer])
        if let message = reply.errorMessage, message.contains("NOGROUP") { return true }
        try check(reply, doing: "remove worker \(consumer)")
        return (reply.integer ?? -1) >= 0
    }

    /// Removes consumers that hold no jobs and have not read for `idleFor` (workers that were
    /// killed, after their jobs were reclaimed). A live worker reads every second or two and is
    /// recreated by its next read anyway. Returns how many were removed.
    @discardableResult
    public func pruneConsumers(idleFor: Duration) async throws -> Int {
        let reply = try await run(["EVAL", RedisJobQueue.pruneScript, "1", streamKey, groupName,
                                            String(RedisConnection.milliseconds(idleFor))])
        if let message = reply.errorMessage, message.contains("NOGROUP") { return 0 }
        try check(reply, doing: "prune workers")
        return reply.integer ?? 0
    }

    // MARK: - Inspecting

    /// Waiting, in flight, done, dead and failed counts, and the workers seen within
    /// `activeWithin`, from one consistent snapshot (one script).
    public func counts(activeWithin: Duration = .seconds(60)) async throws -> QueueCounts {
        let reply = try await run(["EVAL", RedisJobQueue.countsScript, "3", streamKey, deadKey, statsKey, groupName,
                                            String(RedisConnection.milliseconds(activeWithin))])
        try check(reply, doing: "count jobs")
        let n = (reply.elements ?? []).map { $0.integer ?? 0 }
        guard n.count == 6 else { return QueueCounts() }
        return QueueCounts(waiting: max(0, n[0]), inFlight: n[1], done: n[2], dead: n[3], failedAttempts: n[4], activeWorkers: n[5])
    }

    /// The oldest dead jobs, with their last errors (entries that cannot be read are left out;
    /// `deadEntries` lists them too).
    public func deadJobs(limit: Int = 100) async throws -> [QueuedJob] {
        try await deadEntries(limit: limit).compactMap(\.job)
    }

    /// The oldest entries of the dead stream, unreadable ones included with the reason.
    public func deadEntries(limit: Int = 100) async throws -> [DeadEntry] {
        let reply = try await run(["XRANGE", deadKey, "-", "+", "COUNT", String(max(1, limit))])
        try check(reply, doing: "list dead jobs")
        return (reply.elements ?? []).compactMap { entry in
            guard let pair = entry.elements, pair.count == 2, let id = pair[0].text else { return nil }
            let fields = pair[1].elements ?? []
            let job = RedisJobQueue.decode(id: id, fields: fields, deliveries: 0)
            let map = RedisJobQueue.fieldMap(fields)
            return DeadEntry(id: id, job: job, error: map["error"] ?? (job == nil ? RedisJobQueue.unreadableReason : ""),
                             text: map["text"] ?? "")
        }
    }

    /// Moves every dead job back into the queue with its attempts reset. A dead job whose
    /// request was queued again meanwhile is dropped rather than queued twice; an entry no
    /// worker can read stays in the dead stream (requeued, it would only die again).
    /// Returns how many were requeued, how many were already queued, and how many were left
    /// as unreadable.
    public func retryDead() async throws -> (requeued: Int, alreadyQueued: Int, unreadable: Int) {
        try await prepare()
        var requeued = 0, skipped = 0, unreadable = 0
        var cursor = "-"
        // Bounded: each pass looks at up to 500 entries after the cursor, and the cap covers
        // a dead stream of 50 million.
        for _ in 0..<100_000 {
            let reply = try await run(["EVAL", RedisJobQueue.retryDeadScript, "3", deadKey, streamKey, keysKey, "500", cursor])
            try check(reply, doing: "requeue dead jobs")
            let parts = reply.elements ?? []
            let n = parts.prefix(4).map { $0.integer ?? 0 }
            guard n.count == 4, parts.count == 5 else { break }
            requeued += n[0]
            skipped += n[1]
            unreadable += n[3]
            if n[2] == 0 { break }
            cursor = "(" + (parts[4].text ?? "")
        }
        return (requeued, skipped, unreadable)
    }

    // MARK: - Encoding

    static func fields(request: AudioRequest, key: RequestKey, attempts: Int, error: String?, enqueuedAt: Date? = nil) -> [Data] {
        var pairs: [(String, String)] = [
            ("key", key.hex), ("text", request.text), ("voice", request.voice), ("language", request.language),
            ("engine", request.engine), ("model", request.model), ("style", request.style),
            ("speakers", SpeakerVoice.storedText(request.speakers)),
            ("attempts", String(attempts)),
            ("enqueued", String(Int((enqueuedAt ?? Date()).timeIntervalSince1970))),
        ]
        if let error { pairs.append(("error", error)) }
        return pairs.flatMap { [Data($0.0.utf8), Data($0.1.utf8)] }
    }

    static func fieldMap(_ fields: [RedisReply]) -> [String: String] {
        var map: [String: String] = [:]
        var i = 0
        while i + 1 < fields.count {
            if let name = fields[i].text, let value = fields[i + 1].text { map[name] = value }
            i += 2
        }
        return map
    }

    /// Why an entry is not a job; also what the dead stream records for it.
    static let unreadableReason = "the job entry could not be read (missing key, text or engine)"

    static func decode(id: String, fields: [RedisReply], deliveries: Int) -> QueuedJob? {
        let map = fieldMap(fields)
        guard let key = map["key"].flatMap({ RequestKey(hex: $0) }), let text = map["text"], let engine = map["engine"] else {
            return nil
        }
        let speakers = SpeakerVoice.list(storedText: map["speakers"] ?? "")
        let request = AudioRequest(text: text, voice: map["voice"] ?? "", language: map["language"] ?? "", engine: engine,
                                   model: map["model"] ?? "", style: map["style"] ?? "", speakers: speakers)
        return QueuedJob(id: id, request: request, key: key, attempts: map["attempts"].flatMap { Int($0) } ?? 0,
                         lastError: map["error"], deliveries: deliveries,
                         enqueuedAt: map["enqueued"].flatMap { Double($0) }.map { Date(timeIntervalSince1970: $0) })
    }

    /// An entry no worker can read (written by hand, or by a future version) goes to the dead
    /// stream as it is, so it neither blocks the queue nor vanishes.
    private func discardMalformed(_ id: String) async throws {
        let reply = try await run(["EVAL", RedisJobQueue.buryMalformedScript, "2", streamKey, deadKey, groupName, id,
                                            RedisJobQueue.unreadableReason])
        try check(reply, doing: "move an unreadable job to the dead stream")
        unreadableBuried.withLock { $0 += 1 }
    }

    // MARK: - Helpers

    private func check(_ reply: RedisReply, doing what: String) throws {
        if let message = reply.errorMessage { throw refusal(message, doing: what) }
    }

    private func refusal(_ message: String, doing what: String) -> TTSError {
        let line = String(message.prefix { $0 != "\n" && $0 != "\r" }.prefix(200))
        return TTSError.store("Redis at \(client.description) refused to \(what): \(line).")
    }

    // MARK: - Scripts

    /// KEYS: stream, keys hash. ARGV: request key, then the entry's field/value pairs.
    /// Adds the entry unless the key's current entry is still in the stream.
    static let enqueueScript = """
        local id = redis.call('HGET', KEYS[2], ARGV[1])
        if id and #redis.call('XRANGE', KEYS[1], id, id) > 0 then return false end
        local fields = {}
        for i = 2, #ARGV do fields[#fields + 1] = ARGV[i] end
        local new = redis.call('XADD', KEYS[1], '*', unpack(fields))
        redis.call('HSET', KEYS[2], ARGV[1], new)
        return new
        """

    /// KEYS: stream. ARGV: group, consumer, min idle ms, cursor, count.
    /// XAUTOCLAIM, then each claimed entry's delivery count: {cursor, {{id, fields, deliveries}…}}.
    static let reclaimScript = """
        local r = redis.call('XAUTOCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4], 'COUNT', ARGV[5])
        local out = {}
        for _, e in ipairs(r[2]) do
          if e and e[2] then
            local p = redis.call('XPENDING', KEYS[1], ARGV[1], e[1], e[1], 1)
            local d = 1
            if p[1] then d = p[1][4] end
            out[#out + 1] = {e[1], e[2], d}
          end
        end
        return {r[1], out}
        """

    /// KEYS: stream. ARGV: group, consumer, ids… Resets the idle time of the ids this consumer
    /// still owns (XCLAIM JUSTID does not count a delivery) and returns them.
    static let keepAliveScript = """
        local kept = {}
        for i = 3, #ARGV do
          local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)
          if p[1] and p[1][2] == ARGV[2] then
            redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')
            kept[#kept + 1] = ARGV[i]
          end
        end
        return kept
        """

    /// KEYS: stream, keys hash, stats. ARGV: group, id, request key.
    static let completeScript = """
        if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
        redis.call('XDEL', KEYS[1], ARGV[2])
        if redis.call('HGET', KEYS[2], ARGV[3]) == ARGV[2] then redis.call('HDEL', KEYS[2], ARGV[3]) end
        redis.call('HINCRBY', KEYS[3], 'done', 1)
        return 1
        """

    /// KEYS: stream, keys hash, stats, dead. ARGV: group, id, request key, mode
    /// (retry | dead | release), then the new entry's field/value pairs.
    /// Acknowledges the old entry and, only if that acknowledgement was ours, adds the new one.
    static let settleScript = """
        if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then return false end
        redis.call('XDEL', KEYS[1], ARGV[2])
        local fields = {}
        for i = 5, #ARGV do fields[#fields + 1] = ARGV[i] end
        if ARGV[4] ~= 'release' then redis.call('HINCRBY', KEYS[3], 'failed', 1) end
        if ARGV[4] == 'dead' then
          redis.call('XADD', KEYS[4], '*', unpack(fields))
          if redis.call('HGET', KEYS[2], ARGV[3]) == ARGV[2] then redis.call('HDEL', KEYS[2], ARGV[3]) end
          return 'dead'
        end
        local new = redis.call('XADD', KEYS[1], '*', unpack(fields))
        redis.call('HSET', KEYS[2], ARGV[3], new)
        return new
        """

    /// KEYS: stream, dead. ARGV: group, id, reason. Moves an unreadable entry to the dead stream.
    static let buryMalformedScript = """
        local e = redis.call('XRANGE', KEYS[1], ARGV[2], ARGV[2])
        redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
        redis.call('XDEL', KEYS[1], ARGV[2])
        if #e > 0 then
          local fields = e[1][2]
          fields[#fields + 1] = 'error'
          fields[#fields + 1] = ARGV[3]
          redis.call('XADD', KEYS[2], '*', unpack(fields))
        end
        return 1
        """

    /// KEYS: stream. ARGV: group, consumer. Deletes the consumer only when it holds nothing
    /// (DELCONSUMER would drop its pending entries, and with them the jobs).
    static let removeConsumerScript = """
        local p = redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2])
        if #p > 0 then return -1 end
        return redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])
        """

    /// KEYS: stream. ARGV: group, idle ms.
    static let pruneScript = """
        local removed = 0
        for _, c in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do
          local f = {}
          for i = 1, #c, 2 do f[c[i]] = c[i + 1] end
          if f['pending'] == 0 and f['idle'] > tonumber(ARGV[2]) then
            redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], f['name'])
            removed = removed + 1
          end
        end
        return removed
        """

    /// KEYS: stream, dead, stats. ARGV: group, active-within ms.
    /// {waiting, in flight, done, dead, failed, active workers}. Acknowledged entries are
    /// deleted, so the stream holds exactly the waiting and the in-flight ones.
    static let countsScript = """
        local len = redis.call('XLEN', KEYS[1])
        local inflight, workers = 0, 0
        local p = redis.pcall('XPENDING', KEYS[1], ARGV[1])
        if type(p) == 'table' and not p.err then inflight = p[1] end
        local c = redis.pcall('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])
        if type(c) == 'table' and not c.err then
          for _, consumer in ipairs(c) do
            for i = 1, #consumer, 2 do
              if consumer[i] == 'idle' and consumer[i + 1] <= tonumber(ARGV[2]) then workers = workers + 1 end
            end
          end
        end
        local dead = redis.call('XLEN', KEYS[2])
        local done = tonumber(redis.call('HGET', KEYS[3], 'done') or '0')
        local failed = tonumber(redis.call('HGET', KEYS[3], 'failed') or '0')
        return {len - inflight, inflight, done, dead, failed, workers}
        """

    /// KEYS: dead, stream, keys hash. ARGV: batch size, start of the range (`-`, or `(id` to
    /// continue after an entry). {requeued, skipped (already queued again), entries looked at,
    /// unreadable (left in place), last id looked at}. An entry is readable when it has a key
    /// of 64 hex digits, a text and an engine, as `RedisJobQueue.decode` requires.
    static let retryDeadScript = """
        local entries = redis.call('XRANGE', KEYS[1], ARGV[2], '+', 'COUNT', ARGV[1])
        local requeued, skipped, unreadable, last = 0, 0, 0, ''
        for _, e in ipairs(entries) do
          last = e[1]
          local f, out, key, text, engine = e[2], {}, nil, nil, nil
          for i = 1, #f, 2 do
            local name = f[i]
            if name == 'key' then key = f[i + 1] end
            if name == 'text' then text = f[i + 1] end
            if name == 'engine' then engine = f[i + 1] end
            if name == 'attempts' then
              out[#out + 1] = name; out[#out + 1] = '0'
            elseif name ~= 'error' and name ~= 'failed_at' then
              out[#out + 1] = name; out[#out + 1] = f[i + 1]
            end
          end
          if not (key and #key == 64 and string.match(key, '^%x+$') and text and engine) then
            unreadable = unreadable + 1
          else
            local queued = redis.call('HGET', KEYS[3], key)
            if queued and #redis.call('XRANGE', KEYS[2], queued, queued) > 0 then
              skipped = skipped + 1
            else
              local new = redis.call('XADD', KEYS[2], '*', unpack(out))
              redis.call('HSET', KEYS[3], key, new)
              requeued = requeued + 1
            end
            redis.call('XDEL', KEYS[1], e[1])
          end
        end
        return {requeued, skipped, #entries, unreadable, last}
        """
}
