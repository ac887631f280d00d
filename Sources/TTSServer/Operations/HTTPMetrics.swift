import Synchronization
import TTSCore

/// The HTTP families of `/metrics`: `tts_http_requests_total{route,status}` and
/// `tts_http_request_duration_seconds{route}`, registered in the service's registry so one
/// scrape shows both. Series are created on first use (statuses are not known up front) and
/// kept here, so a request costs a dictionary look-up and an atomic add.
final class HTTPMetrics: Sendable {
    private let registry: Metrics
    private let histograms = Mutex<[String: Histogram]>([:])
    private let counters = Mutex<[RouteStatus: Counter]>([:])

    private struct RouteStatus: Hashable {
        let route: String
        let status: Int
    }

    init(registry: Metrics) {
        self.registry = registry
    }

    func record(route: String, status: Int, seconds: Double) {
        let counter = counters.withLock { counters in
            if let existing = counters[RouteStatus(route: route, status: status)] { return existing }
            let made = registry.counter("tts_http_requests_total", help: "HTTP requests answered, by route and status",
                                        labels: [("route", route), ("status", String(status))])
            counters[RouteStatus(route: route, status: status)] = made
            return made
        }
        counter.increment()
        let histogram = histograms.withLock { histograms in
            if let existing = histograms[route] { return existing }
            let made = registry.histogram("tts_http_request_duration_seconds",
                                          help: "Time from a request's arrival to its answer being sent, by route",
                                          labels: [("route", route)])
            histograms[route] = made
            return made
        }
        histogram.observe(seconds)
    }
}
