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
        // 100 rounds (3 s): with 20 a p99 moved by a third between runs (the floor's 2.7–3.8 µs).
        let rounds = context.quick ? 4 : 100
        var service: [Double] = []
        var floor: [Double] = []
        var parts = LocalHitProbe.Breakdown()
        for round in 0...rounds {
            let order = Array(0..<store.count).shuffled()
            let f = try probe.floorLatencies(order)
            let s = try await probe.serviceLatencies(order)
            let b = try await probe.breakdown(order)
            if round > 0 {  // round 0 warms caches, the espeak voice list and the branch predictors
                floor += f
                service += s
                parts.append(b)
            }
        }
        let memory = try await memoryHitRows(store, rounds: rounds)
        let serviceStats = try Stats(service)
        let floorStats = try Stats(floor)
        let label = "SELECT+stat"
        let scope = "\(grouped(LocalHitScenario.clips)) clips, \(grouped(service.count)) hits"
        return [
            .measured("local-tier hit p50 (\(scope))", Figure(serviceStats.p50, .microseconds),
                      baseline: Figure(floorStats.p50, .microseconds), label: label, target: Target(.ratio, .atMost, 2)),
            .measured("local-tier hit p99", Figure(serviceStats.p99, .microseconds),
                      baseline: Figure(floorStats.p99, .microseconds), label: label, target: Target(.ratio, .atMost, 2)),
            .measured("  of which: normalize text, p50", Figure(try Stats(parts.normalize).p50, .microseconds),
                      note: "information: the steps of a local hit timed one by one through public API (AudioRequest.normalized, the engine's resolve, RequestKey, LocalTier.clip(for:)); the rest of a hit is counting it and building the result"),
            .measured("  of which: espeak resolve (voice, model), p50", Figure(try Stats(parts.resolve).p50, .microseconds)),
            .measured("  of which: request key (SHA-256), p50", Figure(try Stats(parts.key).p50, .microseconds)),
            .measured("  of which: index row + stat, p50", Figure(try Stats(parts.lookUp).p50, .microseconds),
                      baseline: Figure(floorStats.p50, .microseconds), label: label),
        ] + memory
    }

    /// A hit through the memory tier (a long-lived process's repeat) against the floor of its
    /// required steps in plain Swift with nothing else: normalize the text, SHA-256 of the key's
    /// canonical bytes, one hash-map look-up, one `stat` of the blob.
    private func memoryHitRows(_ store: SeededStore, rounds: Int) async throws -> [Row] {
        let service = try store.serviceWithMemory(store.count)
        defer { service.close() }
        let requests = (0..<store.count).map(store.request)
        for request in requests { _ = try await service.generateOrFetch(request) }  // fills memory
        var paths: [RequestKey: String] = [:]
        for i in 0..<store.count {
            guard let clip = try service.local.clip(for: store.key(i)) else { throw HarnessError("clip \(i) is not stored") }
            paths[store.key(i)] = service.local.url(for: clip).path
        }
        let template = store.template
        var memory: [Double] = [], floor: [Double] = []
        for round in 0...rounds {
            let order = Array(0..<store.count).shuffled()
            var f: [Double] = [], m: [Double] = []
            for i in order {
                let start = monotonicNanos()
                var request = template
                request.text = TextNormalizer.normalize(store.request(i).text)
                let key = RequestKey(request)
                var info = stat()
                guard let path = paths[key], stat(path, &info) == 0 else { throw HarnessError("the floor missed clip \(i)") }
                f.append(microseconds(from: start, to: monotonicNanos()))
            }
            for i in order {
                let request = requests[i]
                let start = monotonicNanos()
                let result = try await service.generateOrFetch(request)
                m.append(microseconds(from: start, to: monotonicNanos()))
                guard result.tier == .memory else { throw HarnessError("clip \(i) came from the \(result.tier) tier, not memory") }
            }
            if round > 0 {
                floor += f
                memory += m
            }
        }
        let memoryStats = try Stats(memory), floorStats = try Stats(floor)
        let label = "normalize+SHA-256+map+stat"
        return [
            .measured("memory-tier hit p50 (\(grouped(store.count)) clips)", Figure(memoryStats.p50, .microseconds),
                      baseline: Figure(floorStats.p50, .microseconds), label: label, target: Target(.ratio, .atMost, 1.5),
                      note: "the floor: TextNormalizer, RequestKey's SHA-256, a [RequestKey: String] look-up and one stat, in plain Swift; the service also resolves the espeak voice and counts the hit"),
            .measured("memory-tier hit p99", Figure(memoryStats.p99, .microseconds),
                      baseline: Figure(floorStats.p99, .microseconds), label: label, target: Target(.ratio, .atMost, 1.5)),
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

    func close() { service.local.index.close() }

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

    /// Per-step latencies of a local hit, in µs.
    struct Breakdown {
        var normalize: [Double] = []
        var resolve: [Double] = []
        var key: [Double] = []
        var lookUp: [Double] = []

        mutating func append(_ other: Breakdown) {
            normalize += other.normalize
            resolve += other.resolve
            key += other.key
            lookUp += other.lookUp
        }
    }

    /// The steps of `generateOrFetch`'s hit path, timed one by one.
    func breakdown(_ order: [Int]) async throws -> Breakdown {
        var result = Breakdown()
        let engine = try service.engines.engine(named: "espeak")
        for i in order {
            let t0 = monotonicNanos()
            let normalized = try store.request(i).normalized(maxTextCharacters: service.maxTextCharacters)
            let t1 = monotonicNanos()
            let resolved = try await engine.resolve(normalized)
            let t2 = monotonicNanos()
            let key = RequestKey(resolved)
            let t3 = monotonicNanos()
            let clip = try service.local.clip(for: key)
            let t4 = monotonicNanos()
            guard clip != nil else { throw HarnessError("clip \(i) is not in the local tier") }
            result.normalize.append(microseconds(from: t0, to: t1))
            result.resolve.append(microseconds(from: t1, to: t2))
            result.key.append(microseconds(from: t2, to: t3))
            result.lookUp.append(microseconds(from: t3, to: t4))
        }
        return result
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
