import Foundation
import Synchronization
import XCTest
import TTSConcurrency

/// The two ways across the boundary between async code and blocking code.
final class BlockingTests: XCTestCase {
    /// Eight jobs that each wait until all eight have started can only finish when each has a
    /// thread of its own; on the cooperative pool (one thread per core) they would wait out the
    /// bound instead.
    func testBlockedJobsDoNotWaitForEachOther() async throws {
        let started = Counter()
        let jobs = 8
        let sawAll = try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<jobs {
                group.addTask {
                    try await Blocking.run {
                        started.value.withLock { $0 += 1 }
                        let deadline = Date(timeIntervalSinceNow: 20)
                        while started.value.withLock({ $0 }) < jobs && Date() < deadline { usleep(1_000) }
                        return started.value.withLock { $0 } == jobs
                    }
                }
            }
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        XCTAssertEqual(sawAll, jobs, "every job saw all the others running beside it")
    }

    func testBlockingWorkThrowsItsError() async {
        struct Failure: Error {}
        do {
            _ = try await Blocking.run { () throws -> Int in throw Failure() }
            XCTFail("the error was swallowed")
        } catch {
            XCTAssertTrue(error is Failure)
        }
    }

    func testAPlainThreadWaitsForAsyncWork() {
        let value = Blocking.wait(upTo: .seconds(30)) { () async -> Int in
            try? await Task.sleep(for: .milliseconds(1))
            return 42
        }
        XCTAssertEqual(value, 42)
    }
}

private final class Counter: Sendable {
    /// Guards the number of jobs started.
    let value = Mutex(0)
}
