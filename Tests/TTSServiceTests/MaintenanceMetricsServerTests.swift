import Foundation
import Glibc
import XCTest
import TestSupport
import TTSCore
@testable import TTSService

/// The `serve-metrics` responder over a real loopback socket.
final class MaintenanceMetricsServerTests: XCTestCase {
    /// Sends raw request bytes, returns the whole answer (the server closes after each one).
    static func exchange(port: Int, _ request: String) throws -> String {
        try LoopbackHTTP.exchange(port: port, request, timeoutSeconds: 5)
    }

    func testGetMetricsAnswersThePrometheusText() throws {
        let metrics = ServiceMetrics()
        metrics.recordRequest(tier: .local, bytes: 100, seconds: 0.00002)
        let server = try MetricsHTTPServer(port: 0) { metrics.registry.exposition() }
        defer { server.stop() }
        XCTAssertGreaterThan(server.port, 0)
        let answer = try Self.exchange(port: server.port, "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        let parts = answer.components(separatedBy: "\r\n\r\n")
        XCTAssertTrue(parts[0].hasPrefix("HTTP/1.1 200 OK"), answer)
        XCTAssertTrue(parts[0].contains("Content-Type: text/plain; version=0.0.4"), answer)
        let text = try PrometheusText(parsing: parts.dropFirst().joined(separator: "\r\n\r\n"))
        XCTAssertEqual(text.value("tts_requests_total", ["tier": "local"]), 1)
        XCTAssertEqual(text.types["tts_request_duration_seconds"], "histogram")
    }

    func testOtherPathsAre404AndOtherMethods405() throws {
        let server = try MetricsHTTPServer(port: 0) { "" }
        defer { server.stop() }
        XCTAssertTrue(try Self.exchange(port: server.port, "GET / HTTP/1.1\r\n\r\n").hasPrefix("HTTP/1.1 404 "))
        let post = try Self.exchange(port: server.port, "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n")
        XCTAssertTrue(post.hasPrefix("HTTP/1.1 405 "), post)
        XCTAssertTrue(post.contains("Allow: GET"), post)
        XCTAssertTrue(try Self.exchange(port: server.port, "nonsense\r\n\r\n").hasPrefix("HTTP/1.1 400 "))
    }

    /// A connection that says nothing must not hold up a scrape: the scrape is answered while
    /// the idle connection is still open (the server used to answer one connection at a time,
    /// so the scrape waited until the idle one timed out and was closed).
    func testAnIdleConnectionDoesNotHoldUpAScrape() throws {
        let server = try MetricsHTTPServer(port: 0) { "tts_up 1\n" }
        defer { server.stop() }
        let idle = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        XCTAssertGreaterThanOrEqual(idle, 0)
        defer { close(idle) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(server.port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(idle, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        XCTAssertEqual(connected, 0)
        let answer = try LoopbackHTTP.exchange(port: server.port, "GET /metrics HTTP/1.1\r\n\r\n", timeoutSeconds: 30)
        XCTAssertTrue(answer.hasPrefix("HTTP/1.1 200 OK"), answer)
        var byte: UInt8 = 0
        let read = recv(idle, &byte, 1, Int32(MSG_DONTWAIT))
        let error = errno
        XCTAssertEqual(read, -1, "the idle connection was already closed: the scrape waited for it")
        XCTAssertTrue(error == EAGAIN || error == EWOULDBLOCK, "errno \(error)")
    }

    func testStoppedServerReleasesItsPort() throws {
        let server = try MetricsHTTPServer(port: 0) { "" }
        let port = server.port
        server.stop()
        let again = try MetricsHTTPServer(port: port) { "" }
        again.stop()
    }
}
