import Foundation
import Synchronization
import TTSConcurrency
import TTSCore

/// Writes the batches of buffered hits (`ClipIndex.recordHit`) on a SQLite connection of its
/// own, on a blocking thread: the caller that fills a batch (a script's line, a served request)
/// goes on at once instead of waiting for the commit and for the WAL checkpoint (two
/// `fdatasync`) that about every second batch of distinct keys brings. A REPL script spent up
/// to a quarter of its wall time there.
///
/// A write that fails (the index locked past the busy timeout, a full disk) keeps its hits for
/// the next batch; `flush()` writes what is queued and waits for a write in flight, so after
/// it, reads show every hit counted before it.
///
/// ```swift
/// let writer = HitBatchWriter(url: indexURL, busyTimeoutMs: 5000, commits: counter)
/// writer.submit(batch)   // returns at once
/// try writer.flush()     // everything submitted is written
/// ```
final class HitBatchWriter: Sendable {
    typealias Batch = [RequestKey: ClipIndex.PendingHit]

    private struct Queue {
        var hits: Batch = [:]
        /// Hits in `hits`, each repeat counted.
        var count = 0
        /// Hits taken by the write in progress.
        var writing = 0
        /// A job is on its way to write `hits`.
        var scheduled = false
        /// After `close()`: nothing more is written.
        var closed = false

        mutating func add(_ batch: Batch, count added: Int) {
            // Usually nothing is queued: the batch is taken over whole, not re-hashed entry by
            // entry on the thread of the hit that filled it.
            if hits.isEmpty { hits = batch } else { hits.merge(batch) { $0.merged(with: $1) } }
            count += added
        }
    }

    private let url: URL
    private let busyTimeoutMs: Int
    private let commits: CommitCounter
    /// Guards the queued hits; held only to add to them or take them.
    private let queue = Mutex(Queue())
    /// Guards the writer's connection (opened on the first write), and is held for the whole
    /// write, so `flush()` waits for a write in flight.
    private let connection = Mutex<SQLiteDatabase?>(nil)
    /// Whether the connection was ever opened, readable without waiting for a write in flight.
    private let opened = Atomic(false)

    /// Whether this writer has written a batch on a connection of its own (otherwise `flush`
    /// can write through the index's connection).
    var hasOwnConnection: Bool { opened.load(ordering: .acquiring) }

    init(url: URL, busyTimeoutMs: Int, commits: CommitCounter) {
        self.url = url
        self.busyTimeoutMs = busyTimeoutMs
        self.commits = commits
    }

    /// Hits queued or being written: recorded, not yet in the file.
    var pendingCount: Int { queue.withLock { $0.count + $0.writing } }

    /// Queues `batch` and starts a background write unless one is already on its way.
    func submit(_ batch: Batch, count: Int) {
        guard !batch.isEmpty else { return }
        let start = queue.withLock { queue -> Bool in
            guard !queue.closed else { return false }
            queue.add(batch, count: count)
            defer { queue.scheduled = true }
            return !queue.scheduled
        }
        if start { Blocking.threads.run { [self] in try? write(scheduled: true) } }
    }

    /// Writes `batch` and everything queued, after any write in flight. On failure the hits
    /// stay queued and the error is thrown.
    ///
    /// When this writer never opened its connection (a one-shot's one hit, a quiet server's
    /// first few), the hits go through `reader`, the index's own connection, which the caller
    /// holds: opening a second connection would cost more than the write.
    func flush(adding batch: Batch = [:], count: Int = 0, orThrough reader: SQLiteDatabase? = nil) throws {
        queue.withLock { if !$0.closed { $0.add(batch, count: count) } }
        try write(scheduled: false, fallback: reader)
    }

    /// Drops the queued hits of a removed clip.
    func drop(_ key: RequestKey) {
        queue.withLock { queue in
            if let hit = queue.hits.removeValue(forKey: key) { queue.count -= hit.count }
        }
    }

    /// Writes what is queued (best effort, through `reader` as `flush` does), then closes the
    /// connection; later hits are dropped.
    func close(adding batch: Batch = [:], count: Int = 0, orThrough reader: SQLiteDatabase? = nil) {
        try? flush(adding: batch, count: count, orThrough: reader)
        connection.withLock { database in
            queue.withLock { $0.closed = true; $0.hits = [:]; $0.count = 0 }
            database?.close()
            database = nil
        }
    }

    /// Forgets the queued hits and the connection (the index file was replaced: `rebuild`,
    /// which closed the index first); writes go on, on the new file.
    func reset() {
        connection.withLock { database in
            queue.withLock { $0.hits = [:]; $0.count = 0; $0.closed = false }
            database?.close()
            database = nil
        }
    }

    private func write(scheduled: Bool, fallback: SQLiteDatabase? = nil) throws {
        try connection.withLock { database in
            let (batch, count) = queue.withLock { queue -> (Batch, Int) in
                if scheduled { queue.scheduled = false }
                guard !queue.closed else { return ([:], 0) }
                defer { queue.hits = [:]; queue.writing = queue.count; queue.count = 0 }
                return (queue.hits, queue.count)
            }
            defer { queue.withLock { $0.writing = 0 } }
            guard !batch.isEmpty else { return }
            do {
                if database == nil, let fallback {
                    try Self.write(batch, to: fallback)
                    return
                }
                if database == nil {
                    database = try ClipIndex.openWriter(url, busyTimeoutMs: busyTimeoutMs, commits: commits)
                    self.opened.store(true, ordering: .releasing)
                }
                try Self.write(batch, to: database!)
            } catch {
                queue.withLock { $0.add(batch, count: count) }
                if let error = error as? SQLiteError { throw error.storeError(file: url.path, busyTimeoutMs: busyTimeoutMs) }
                throw error
            }
        }
    }

    /// One transaction: `hits += n`, `last_used_at` = the later of the stored and the recorded
    /// time. Rows removed meanwhile are simply not there to update.
    private static func write(_ batch: Batch, to database: SQLiteDatabase) throws {
        let statement = try database.cachedStatement(
            "UPDATE clips SET hits = hits + ?2, last_used_at = max(last_used_at, ?3) WHERE key = ?1")
        try database.writeTransaction {
            for (key, hit) in batch {
                try statement.run([.text(key.hex), .integer(hit.count), .real(hit.lastUsed.timeIntervalSince1970)])
            }
        }
    }
}
