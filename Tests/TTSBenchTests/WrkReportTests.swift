import BenchStats
import XCTest

final class WrkReportTests: XCTestCase {
    static let sample = """
        Running 5s test @ http://127.0.0.1:38989/x
          2 threads and 16 connections
          Thread Stats   Avg      Stdev     Max   +/- Stdev
            Latency     3.44ms    5.45ms  39.21ms   86.81%
            Req/Sec     3.70k     2.27k    6.38k    57.50%
          Latency Distribution
             50%  812.00us
             75%    3.34ms
             90%   11.04ms
             99%    1.20s
          14895 requests in 2.07s, 1.25GB read
          Socket errors: connect 0, read 2, write 0, timeout 3
          Non-2xx or 3xx responses: 7
        Requests/sec:   7187.24
        Transfer/sec:    617.73MB
        """

    func testReadsRateLatenciesAndErrors() throws {
        let report = try WrkReport(parsing: Self.sample)
        XCTAssertEqual(report.requestsPerSecond, 7187.24)
        XCTAssertEqual(report.latencyMs[50] ?? 0, 0.812, accuracy: 1e-9)
        XCTAssertEqual(report.latencyMs[90], 11.04)
        XCTAssertEqual(report.latencyMs[99], 1200)
        XCTAssertEqual(report.latencyMs.count, 4, "the Thread Stats lines are not percentiles")
        XCTAssertEqual(report.socketErrors, 5)
        XCTAssertEqual(report.non2xx, 7)
    }

    func testOutputWithoutARateIsUnreadable() {
        XCTAssertThrowsError(try WrkReport(parsing: "unable to connect to 127.0.0.1:1 Connection refused"))
    }
}
