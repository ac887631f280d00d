import Foundation

/// Real threads for blocking work (`curl_easy_perform`, SQLite, fsync), one per job in progress.
///
/// Why not a concurrent `DispatchQueue`: on Linux libdispatch sizes its worker pool to the core
/// count and adds a thread only slowly when the ones it has block, so eight 200 ms transfers on
/// a two-core machine ran about three at a time (18 requests/s where 40 were possible). Here a
/// job that finds no idle thread gets a new one at once, up to `maxThreads`; past that, jobs
/// wait in order. A thread idle for `idleTimeout` ends, so a process that stops calling keeps
/// no threads, while a prewarm reuses the same few threads for thousands of calls.
///
/// ```swift
/// let threads = BlockingThreads(name: "tts.http.curl", maxThreads: 8)
/// threads.run { _ = curl_easy_perform(handle) }
/// ```
public final class BlockingThreads: @unchecked Sendable {
    public typealias Job = @Sendable () -> Void

    private let name: String
    private let maxThreads: Int
    private let idleTimeout: TimeInterval
    /// Guards `jobs`, `head`, `idle` and `threads`; idle threads wait on it.
    private let condition = NSCondition()
    /// Jobs not yet taken by a thread; `head` is the first one still waiting.
    private var jobs: [Job?] = []
    private var head = 0
    /// Threads waiting for a job.
    private var idle = 0
    /// Threads alive (busy or idle).
    private var threads = 0

    public init(name: String, maxThreads: Int, idleTimeout: TimeInterval = 10) {
        self.name = name
        self.maxThreads = max(1, maxThreads)
        self.idleTimeout = idleTimeout
    }

    /// Starts `job` on an idle thread, a new one, or — when `maxThreads` are busy — on the first
    /// thread that frees up. Returns at once.
    public func run(_ job: @escaping Job) {
        condition.lock()
        jobs.append(job)
        let waiting = jobs.count - head
        let spawn = waiting > idle && threads < maxThreads
        if spawn { threads += 1 }
        if idle > 0 { condition.signal() }
        condition.unlock()
        if spawn {
            let thread = Thread { [self] in work() }
            thread.name = name
            thread.start()
        }
    }

    /// Threads alive now, for tests.
    public var threadCount: Int { condition.withLock { threads } }

    private func work() {
        condition.lock()
        while true {
            while head == jobs.count {
                idle += 1
                let woken = condition.wait(until: Date(timeIntervalSinceNow: idleTimeout))
                idle -= 1
                if !woken && head == jobs.count {
                    threads -= 1
                    condition.unlock()
                    return
                }
            }
            // The job, and what it captured, is released at the end of this scope, before the
            // lock is taken again: a deinit that starts another job here must find it free.
            do {
                let job = jobs[head]!
                jobs[head] = nil
                head += 1
                // Taken jobs leave holes at the front; drop them when they are half the array,
                // so a backlog that never drains does not grow the array forever.
                if head == jobs.count {
                    jobs.removeAll(keepingCapacity: true)
                    head = 0
                } else if head >= 64 && head * 2 >= jobs.count {
                    jobs.removeFirst(head)
                    head = 0
                }
                condition.unlock()
                job()
            }
            condition.lock()
        }
    }
}
