import Foundation
import Synchronization
import TTSCore
import XCTest
@testable import TTSService

final class SingleFlightTests: XCTestCase {
    private final class Runs: Sendable {
        let started = Atomic<Int>(0)
        let cancelled = Atomic<Int>(0)
    }

    /// Work that takes `latency`, counting its starts and whether it saw a cancellation.
    private static func work(_ runs: Runs, latency: Duration = .milliseconds(300)) -> @Sendable () async throws -> Int {
        {
            runs.started.add(1, ordering: .relaxed)
            do {
                try await Task.sleep(for: latency)
            } catch {
                runs.cancelled.add(1, ordering: .relaxed)
                throw error
            }
            return 42
        }
    }

    private func waitUntilIdle(_ flights: SingleFlight<String, Int>) async {
        for _ in 0..<500 where flights.count > 0 { try? await Task.sleep(for: .milliseconds(10)) }
    }

    func testConcurrentCallersShareOneRun() async throws {
        let flights = SingleFlight<String, Int>()
        let runs = Runs()
        let job = Self.work(runs)
        let results = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<8 { group.addTask { try await flights.run("k", job) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        XCTAssertEqual(results, Array(repeating: 42, count: 8))
        XCTAssertEqual(runs.started.load(ordering: .relaxed), 1)
        XCTAssertEqual(flights.count, 0)
    }

    func testACancelledWaiterLeavesTheRunToTheOthers() async throws {
        let flights = SingleFlight<String, Int>()
        let runs = Runs()
        let job = Self.work(runs)
        let impatient = Task { try await flights.run("k", job) }
        try await Task.sleep(for: .milliseconds(50))
        let patient = Task { try await flights.run("k", job) }
        try await Task.sleep(for: .milliseconds(50))
        impatient.cancel()
        do {
            _ = try await impatient.value
            XCTFail("a cancelled waiter must not get the result")
        } catch let error as TTSError {
            XCTAssertEqual(error.kind, .cancelled)
        }
        let value = try await patient.value
        XCTAssertEqual(value, 42)
        XCTAssertEqual(runs.started.load(ordering: .relaxed), 1)
        XCTAssertEqual(runs.cancelled.load(ordering: .relaxed), 0, "the run went on for the other waiter")
    }

    func testTheRunIsCancelledWhenItsLastWaiterIs() async throws {
        let flights = SingleFlight<String, Int>()
        let runs = Runs()
        let job = Self.work(runs, latency: .seconds(30))
        let only = Task { try await flights.run("k", job) }
        try await Task.sleep(for: .milliseconds(50))
        only.cancel()
        _ = try? await only.value
        await waitUntilIdle(flights)
        XCTAssertEqual(flights.count, 0, "the run ended")
        XCTAssertEqual(runs.cancelled.load(ordering: .relaxed), 1)
    }

    func testACallerCancelledBeforeItAsksStartsNothing() async throws {
        let flights = SingleFlight<String, Int>()
        let runs = Runs()
        let job = Self.work(runs)
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await flights.run("k", job)
        }
        do {
            _ = try await task.value
            XCTFail("a cancelled caller must not get a result")
        } catch let error as TTSError {
            XCTAssertEqual(error.kind, .cancelled)
        }
        XCTAssertEqual(runs.started.load(ordering: .relaxed), 0)
        XCTAssertEqual(flights.count, 0)
    }
}
