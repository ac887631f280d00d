import Foundation
import XCTest
@testable import TTSCore

final class MetricsTests: XCTestCase {
    func testCounterIsRegisteredOnceAndCounts() {
        let metrics = Metrics()
        let a = metrics.counter("tts_events_total", help: "Events", labels: [("tier", "local")])
        let again = metrics.counter("tts_events_total", help: "Events", labels: [("tier", "local")])
        let other = metrics.counter("tts_events_total", help: "Events", labels: [("tier", "redis")])
        a.increment()
        again.increment(by: 4)
        XCTAssertTrue(a === again)
        XCTAssertEqual(a.value, 5)
        XCTAssertEqual(other.value, 0)
        XCTAssertEqual(metrics.counterValues()["tts_events_total{tier=\"local\"}"], 5)
    }

    func testExpositionHasHelpTypeAndOneLinePerSeries() {
        let metrics = Metrics()
        metrics.counter("tts_hits_total", help: "Hits", labels: [("tier", "local")]).increment(by: 3)
        metrics.counter("tts_hits_total", help: "Hits", labels: [("tier", "redis")]).increment()
        let text = metrics.exposition(gauges: [Gauge("tts_store_clips", help: "Clips", value: 7)])
        XCTAssertEqual(text, """
            # HELP tts_hits_total Hits
            # TYPE tts_hits_total counter
            tts_hits_total{tier="local"} 3
            tts_hits_total{tier="redis"} 1
            # HELP tts_store_clips Clips
            # TYPE tts_store_clips gauge
            tts_store_clips 7

            """)
    }

    func testHistogramBucketsAreCumulativeWithInfSumAndCount() {
        let metrics = Metrics()
        let histogram = metrics.histogram("tts_latency_seconds", help: "Latency", labels: [("tier", "local")], buckets: [0.01, 0.1, 1])
        for value in [0.005, 0.05, 0.05, 0.5, 7] { histogram.observe(value) }
        let lines = metrics.exposition().split(separator: "\n").map(String.init)
        XCTAssertEqual(lines, [
            "# HELP tts_latency_seconds Latency",
            "# TYPE tts_latency_seconds histogram",
            "tts_latency_seconds_bucket{tier=\"local\",le=\"0.01\"} 1",
            "tts_latency_seconds_bucket{tier=\"local\",le=\"0.1\"} 3",
            "tts_latency_seconds_bucket{tier=\"local\",le=\"1\"} 4",
            "tts_latency_seconds_bucket{tier=\"local\",le=\"+Inf\"} 5",
            "tts_latency_seconds_sum{tier=\"local\"} 7.605",
            "tts_latency_seconds_count{tier=\"local\"} 5",
        ])
        XCTAssertEqual(histogram.count, 5)
    }

    func testValueOnABucketBoundCountsInThatBucket() {
        let histogram = Metrics().histogram("tts_x", help: "x", buckets: [1, 2])
        histogram.observe(1)
        XCTAssertEqual(histogram.snapshot().counts, [1, 0])
    }

    func testLabelValuesAndHelpAreEscaped() {
        let metrics = Metrics()
        metrics.counter("tts_odd_total", help: "A \\ and\na newline", labels: [("voice", "say \"hi\"\\\n")]).increment()
        let text = metrics.exposition()
        XCTAssertTrue(text.contains("# HELP tts_odd_total A \\\\ and\\na newline\n"), text)
        XCTAssertTrue(text.contains("tts_odd_total{voice=\"say \\\"hi\\\"\\\\\\n\"} 1\n"), text)
    }

    func testConcurrentIncrementsAreNotLost() {
        let metrics = Metrics()
        let counter = metrics.counter("tts_concurrent_total", help: "c")
        let histogram = metrics.histogram("tts_concurrent_seconds", help: "h")
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            for _ in 0..<1000 {
                counter.increment()
                histogram.observe(0.001)
            }
        }
        XCTAssertEqual(counter.value, 8000)
        XCTAssertEqual(histogram.count, 8000)
    }

    func testNumbersPrintWithoutNeedlessFractions() {
        XCTAssertEqual(Metrics.format(3), "3")
        XCTAssertEqual(Metrics.format(0.25), "0.25")
        XCTAssertEqual(Metrics.format(.infinity), "+Inf")
    }

    func testMetricNamesAreValidated() {
        XCTAssertTrue(Metrics.isValidName("tts_requests_total"))
        XCTAssertFalse(Metrics.isValidName("9lives"))
        XCTAssertFalse(Metrics.isValidName("tts-requests"))
    }
}
