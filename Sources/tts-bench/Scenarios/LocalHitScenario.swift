import BenchStats
import Foundation
import TTSCore
import TTSService

/// A local-tier hit, request → clip path, in process through `SpeechService.generateOrFetch`
/// (normalize, resolve the espeak voice, key, SELECT, stat, count the hit), against the floor
/// of the same look-up in raw C: one prepared SELECT by key plus one `stat()` of the blob, on
/// the same 1,000-clip store. Rounds alternate floor and service over the same shuffled keys;
/// p50 and p99 are over every look-up of every round.
struct LocalHitScenario: Scenario {
    let name = "local-hit"
    static let clips = 1_000

    func run(_ context: BenchContext) async throws -> [Row] {
        let store = try await SeededStore.make(at: try context.folder("local-hit"), count: LocalHitScenario.clips)
        let probe = try LocalHitProbe(store: store)
        defer { probe.close() }
        let rounds = context.quick ? 4 : 20
        var service: [Double] = []
        var floor: [Double] = []
        for round in 0...rounds {
            let order = Array(0..<store.count).shuffled()
            let f = try probe.floorLatencies(order)
            let s = try await probe.serviceLatencies(order)
            if round > 0 {  // round 0 warms caches, the espeak voice list and the branch predictors
                floor += f
                service += s
            }
        }
        let serviceStats = try Stats(service)
        let floorStats = try Stats(floor)
        let label = "SELECT+stat"
        let scope = "\(grouped(LocalHitScenario.clips)) clips, \(grouped(service.count)) hits"
        return [
            .measured("local-tier hit p50 (\(scope))", Figure(serviceStats.p50, .microseconds),
                      baseline: Figure(floorStats.p50, .microseconds), label: label, target: Target(.ratio, .atMost, 3)),
            .measured("local-tier hit p99", Figure(serviceStats.p99, .microseconds),
                      baseline: Figure(floorStats.p99, .microseconds), label: label, target: Target(.ratio, .atMost, 3)),
        ]
    }
}

/// Times local hits on one seeded store, through the service and through the raw floor.
struct LocalHitProbe {
    let store: SeededStore
    let service: SpeechService
    let floor: SQLiteFloor
    /// Key bytes by clip number, for the floor.
    private let keys: [Int: [UInt8]]
    let sampled: [Int]

    /// - Parameter sample: the clip numbers to time (all of them by default).
    init(store: SeededStore, sample: [Int]? = nil) throws {
        self.store = store
        service = try store.service()
        floor = try SQLiteFloor(indexPath: store.layout.indexURL.path, storeRoot: store.layout.root.path)
        sampled = sample ?? Array(0..<store.count)
        var keys: [Int: [UInt8]] = [:]
        for i in sampled { keys[i] = Array(store.key(i).hex.utf8) }
        self.keys = keys
    }

    func close() { service.index.close() }

    func floorLatencies(_ order: [Int]) throws -> [Double] {
        var samples: [Double] = []
        samples.reserveCapacity(order.count)
        for i in order {
            let key = keys[i]!
            let start = monotonicNanos()
            let found = floor.lookUp(key)
            let end = monotonicNanos()
            guard found else { throw HarnessError("the SQLite floor did not find clip \(i) in \(store.layout.root.path)") }
            samples.append(microseconds(from: start, to: end))
        }
        return samples
    }

    func serviceLatencies(_ order: [Int]) async throws -> [Double] {
        let requests = order.map(store.request)
        var samples: [Double] = []
        samples.reserveCapacity(order.count)
        for (n, request) in requests.enumerated() {
            let start = monotonicNanos()
            let result = try await service.generateOrFetch(request)
            let end = monotonicNanos()
            guard result.tier == .local else {
                throw HarnessError("clip \(order[n]) came from the \(result.tier) tier, not local: the seeded store does not match `say`")
            }
            samples.append(microseconds(from: start, to: end))
        }
        return samples
    }
}
