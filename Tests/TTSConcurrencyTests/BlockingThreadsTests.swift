import Foundation
import XCTest
import TTSConcurrency

/// The threads that blocking work (curl transfers, store writes) runs on.
final class BlockingThreadsTests: XCTestCase {
    /// Eight jobs that each wait until all eight have started can only finish when they run at
    /// once; on a pool sized to the cores they would wait out the bounded timeout instead.
    func testBlockedJobsEachGetTheirOwnThread() {
        let threads = BlockingThreads(name: "test.transfer", maxThreads: 8)
        let jobs = 8
        let started = Gauge()
        let finished = DispatchSemaphore(value: 0)
        let results = Gauge()
        for _ in 0..<jobs {
            threads.run {
                started.add(1)
                let deadline = Date(timeIntervalSinceNow: 20)
                while started.value < jobs && Date() < deadline { usleep(1_000) }
                if started.value == jobs { results.add(1) }
                finished.signal()
            }
        }
        for _ in 0..<jobs { XCTAssertEqual(finished.wait(timeout: .now() + 30), .success) }
        XCTAssertEqual(results.value, jobs, "every job saw all the others running beside it")
        XCTAssertEqual(threads.threadCount, jobs)
    }

    /// A job's captures are released before its thread takes the pool's lock again: an object
    /// whose deinit starts another job (the espeak engine stopping its zygote did) must not
    /// deadlock the thread that ran the last job holding it.
    func testADeinitThatStartsAJobDoesNotDeadlockItsThread() {
        let threads = BlockingThreads(name: "test.deinit", maxThreads: 1)
        let ran = DispatchSemaphore(value: 0)
        do {
            let holder = StartsAJobWhenReleased(threads, signalling: ran)
            threads.run { holder.touch() }
        }
        XCTAssertEqual(ran.wait(timeout: .now() + 5), .success, "the job started from the deinit never ran")
    }

    func testJobsPastTheThreadLimitWaitAndStillRun() {
        let threads = BlockingThreads(name: "test.transfer", maxThreads: 2)
        let running = Gauge()
        let gate = DispatchSemaphore(value: 0)
        let finished = DispatchSemaphore(value: 0)
        for _ in 0..<6 {
            threads.run {
                running.add(1)
                gate.wait()
                running.add(-1)
                finished.signal()
            }
        }
        for _ in 0..<3_000 where running.value < 2 { usleep(10_000) }
        usleep(50_000)  // room for a third job to start, were the limit not kept
        XCTAssertEqual(running.value, 2, "two threads busy, the other jobs waiting")
        for _ in 0..<6 { gate.signal() }
        for _ in 0..<6 { XCTAssertEqual(finished.wait(timeout: .now() + 30), .success) }
        XCTAssertEqual(running.peak, 2, "never more jobs at once than threads allowed")
        XCTAssertEqual(threads.threadCount, 2)
    }

    func testABacklogOnOneThreadRunsEveryJobInOrder() {
        let threads = BlockingThreads(name: "test.transfer", maxThreads: 1)
        let order = Recorder()
        let gate = DispatchSemaphore(value: 0)
        let finished = DispatchSemaphore(value: 0)
        threads.run { gate.wait() }  // holds the one thread while the backlog builds
        for index in 0..<300 {
            threads.run {
                order.append(index)
                finished.signal()
            }
        }
        gate.signal()
        for _ in 0..<300 { XCTAssertEqual(finished.wait(timeout: .now() + 30), .success) }
        XCTAssertEqual(order.values, Array(0..<300))
    }

    func testIdleThreadsEndAndNewJobsStartNewOnes() {
        let threads = BlockingThreads(name: "test.transfer", maxThreads: 4, idleTimeout: 0.05)
        let finished = DispatchSemaphore(value: 0)
        threads.run { finished.signal() }
        XCTAssertEqual(finished.wait(timeout: .now() + 30), .success)
        for _ in 0..<1_000 where threads.threadCount > 0 { usleep(10_000) }
        XCTAssertEqual(threads.threadCount, 0, "an idle thread ends after its timeout")
        threads.run { finished.signal() }
        XCTAssertEqual(finished.wait(timeout: .now() + 30), .success, "a job after the threads ended still runs")
    }
}

/// A counter shared by threads that remembers its highest value.
private final class Gauge: @unchecked Sendable {
    /// Guards `current` and `highest`.
    private let lock = NSLock()
    private var current = 0
    private var highest = 0

    func add(_ amount: Int) {
        lock.withLock {
            current += amount
            highest = max(highest, current)
        }
    }

    var value: Int { lock.withLock { current } }
    var peak: Int { lock.withLock { highest } }
}

/// Values appended by threads, in the order they arrived.
private final class Recorder: @unchecked Sendable {
    /// Guards `recorded`.
    private let lock = NSLock()
    private var recorded: [Int] = []

    func append(_ value: Int) { lock.withLock { recorded.append(value) } }
    var values: [Int] { lock.withLock { recorded } }
}

private final class StartsAJobWhenReleased: @unchecked Sendable {
    let threads: BlockingThreads
    let ran: DispatchSemaphore
    init(_ threads: BlockingThreads, signalling ran: DispatchSemaphore) {
        self.threads = threads
        self.ran = ran
    }
    func touch() {}
    deinit {
        let ran = self.ran
        threads.run { ran.signal() }
    }
}
