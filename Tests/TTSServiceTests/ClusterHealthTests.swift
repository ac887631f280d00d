import Foundation
import XCTest
import TTSCore
import TTSStore
@testable import TTSService

/// `health` on a Redis Cluster: a line per node, and a warning when one does not answer.
final class ClusterHealthTests: XCTestCase {
    func testEveryNodeIsListedAndANodeNotAnsweringIsAWarning() {
        let nodes = [
            RedisNodeDiagnosis(address: "10.0.0.1:7000", isMaster: true, latencyMs: 0.2, version: "7.0.15", keys: 12,
                               usedMemoryBytes: 2 << 20),
            RedisNodeDiagnosis(address: "10.0.0.2:7000", isMaster: false, problem: "no answer within 500 ms"),
        ]
        var item = HealthItem("redis", .ok, "Redis Cluster")
        HealthCheck.describeClusterNodes(nodes, in: &item)
        XCTAssertEqual(item.status, .warn)
        XCTAssertNotNil(item.fix)
        XCTAssertTrue(item.detail.contains("master 10.0.0.1:7000: 0.20 ms, 12 keys, 2.0 MB"), item.detail)
        XCTAssertTrue(item.detail.contains("replica 10.0.0.2:7000: NOT OK: no answer within 500 ms"), item.detail)
        guard case let .array(listed)? = item.fields.first(where: { $0.0 == "nodes" })?.1 else { return XCTFail("no nodes field") }
        XCTAssertEqual(listed.count, 2)

        var healthy = HealthItem("redis", .ok, "Redis Cluster")
        HealthCheck.describeClusterNodes([nodes[0]], in: &healthy)
        XCTAssertEqual(healthy.status, .ok)
    }
}
