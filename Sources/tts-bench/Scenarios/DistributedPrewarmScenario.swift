import BenchStats
import Foundation
import Glibc
import TTSCore
import TTSStore

/// Distributed pre-warm on the Redis Cluster: one list queued with `prewarm --queue`, then
/// drained by 1 worker, and (another list) by 3 workers at once, each `worker --concurrency 8`
/// against fake-gemini answering after 200 ms. Throughput is phrases per second from the
/// workers' start until the queue counts every job done (read from Redis every 20 ms, so the
/// workers' idle exit is not counted). Each worker has a store of its own, as machines would.
struct DistributedPrewarmScenario: Scenario {
    let name = "prewarm-distributed"

    func run(_ context: BenchContext) async throws -> [Row] {
        let title = "distributed prewarm on a 3-master cluster, 3 workers"
        guard let repl = context.executable("tts-repl"), let fake = context.executable("fake-gemini") else {
            return [.skipped(title, target: "≥ 2.5×", because: "tts-repl or fake-gemini is not built next to tts-bench")]
        }
        guard let clusterURL = context.options.redisClusterURL else {
            return [.skipped(title, target: "≥ 2.5×", because: "no cluster: `make bench` starts one and sets TTS_BENCH_REDIS_CLUSTER_URL")]
        }
        let phrases = context.quick ? 240 : 480
        let folder = try context.folder("prewarm-distributed")
        let server = try FakeGemini(fake, latencyMs: 200, folder: folder)
        defer { server.stop() }
        let client = RedisClient(try RedisTarget(parsing: clusterURL))
        defer { client.close() }

        var rates: [Int: Double] = [:]
        for workers in [1, 3] {
            let prefix = "bench-dist-\(getpid())-\(workers):"
            var environment = server.replEnvironment(home: try context.folder("prewarm-distributed-home-\(workers)"), concurrency: 8)
            environment["REDIS_URL"] = clusterURL
            environment["TTS_REDIS_PREFIX"] = prefix
            let list = folder.appendingPathComponent("list-\(workers).txt")
            try (0..<phrases).map { "Distributed bench, \(workers) worker(s), phrase \($0)." }.joined(separator: "\n")
                .write(to: list, atomically: true, encoding: .utf8)
            let queued = try runRepl(repl, ["--store", folder.appendingPathComponent("queue-store-\(workers)").path,
                                            "--engine", "gemini", "prewarm", list.path, "--queue"], environment: environment)
            guard queued.exit.status == 0 else { throw HarnessError("prewarm --queue exited \(queued.exit.status): \(queued.summary.serialized().prefix(300))") }

            let queue = RedisJobQueue(client: client, prefix: prefix)
            let start = monotonicNanos()
            var children: [ChildProcess] = []
            for w in 0..<workers {
                children.append(try ChildProcess(executable: repl.path,
                                                 ["--json", "--store", folder.appendingPathComponent("store-\(workers)-\(w)").path,
                                                  "--engine", "gemini", "worker", "--concurrency", "8", "--idle-exit", "1"],
                                                 environment: environment))
            }
            let drained = DispatchGroup()
            for child in children {
                drained.enter()
                let reader = OutputReader(child: child)
                Thread.detachNewThread { _ = reader.child.readAll(); drained.leave() }
            }
            var done = 0
            var end = start
            // Bounded: at most 120 s of polling.
            for _ in 0..<6000 where done < phrases {
                try await Task.sleep(for: .milliseconds(20))
                done = (try? await queue.counts().done) ?? done
                end = monotonicNanos()
            }
            _ = drained.wait(timeout: .now() + 30)
            for child in children { _ = try? child.wait() }
            guard done >= phrases else { throw HarnessError("\(workers) worker(s) finished \(done) of \(phrases) jobs within 120 s") }
            rates[workers] = Double(phrases) / (Double(end - start) / 1e9)
            // The queue's keys and the clips stay until the cluster is thrown away with the run.
        }
        return [.measured("\(title) (\(phrases) phrases, fake-gemini 200 ms, concurrency 8 each)",
                          Figure(rates[3] ?? 0, .requestsPerSecond),
                          baseline: Figure(rates[1] ?? 0, .requestsPerSecond), label: "1 worker",
                          target: Target(.ratio, .atLeast, 2.5),
                          note: "from the workers' start until the queue counts every job done; each worker a tts-repl process with a store of its own")]
    }
}

/// A worker whose output one thread reads to the end (so its pipe never fills) while the
/// scenario polls Redis; only that thread touches the child until it is waited for.
private struct OutputReader: @unchecked Sendable {
    let child: ChildProcess
}
