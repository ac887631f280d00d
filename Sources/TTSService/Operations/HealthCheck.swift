import Foundation
import TTSConcurrency
import TTSCore
import TTSEngines
import TTSStore

/// One line of `health`.
public struct HealthItem: Sendable {
    public enum Status: String, Sendable, Comparable {
        case ok, warn, fail
        private var rank: Int { self == .ok ? 0 : self == .warn ? 1 : 2 }
        public static func < (a: Status, b: Status) -> Bool { a.rank < b.rank }
    }

    public var name: String
    public var status: Status
    public var detail: String
    /// What to do about a warning or failure.
    public var fix: String?
    public var fields: [(String, JSONValue)]

    public init(_ name: String, _ status: Status, _ detail: String, fix: String? = nil, fields: [(String, JSONValue)] = []) {
        self.name = name
        self.status = status
        self.detail = detail
        self.fix = fix
        self.fields = fields
    }
}

public struct HealthReport: Sendable {
    public var items: [HealthItem]
    /// No item failed (warnings are healthy).
    public var isHealthy: Bool { !items.contains { $0.status == .fail } }

    /// The report when the store could not even be opened (a damaged index, a file where a
    /// folder should be): that is the failure to report.
    public static func storeUnusable(_ error: TTSError, store: URL) -> HealthReport {
        // A damaged index is one file: the blobs beside it are fine and stay.
        let index = StoreLayout(root: store).indexURL.path
        let fix = error.message.contains(index)
            ? "Only the index is affected: stop other tts-repl processes and move \(index) (with its -wal and -shm files) aside; tts-repl creates a fresh index and keeps the blobs."
            : "Move \(store.path) aside (or fix what the message names) and run again; tts-repl creates a fresh store."
        return HealthReport(items: [HealthItem("store", .fail, error.message, fix: fix)])
    }
}

/// `health`: whether this process can do its job. The store folder takes writes and has room,
/// the index passes `PRAGMA quick_check`, Redis answers (with its latency and version), and the
/// engines are ready (with `probe`, one real synthesis each; that may cost money).
///
/// Failing: an unwritable or full store, a damaged index, an explicitly configured Redis that
/// does not answer, and the configured engine not being usable. Other engines and a default
/// Redis that is absent are warnings.
public struct HealthCheck: Sendable {
    public let service: SpeechService
    public let configuration: Configuration
    /// Below this much free space the store fails the check; below 8 times it, a warning.
    public var minimumFreeBytes = 64 << 20

    public init(service: SpeechService, configuration: Configuration) {
        self.service = service
        self.configuration = configuration
    }

    public func run(probe: Bool) async -> HealthReport {
        var items = [storeItem(), diskItem(), await indexItem()]
        items.append(await redisItem())
        for name in service.engines.names { items.append(await engineItem(name, probe: probe)) }
        return HealthReport(items: items)
    }

    private func storeItem() -> HealthItem {
        let root = service.local.blobs.layout.root.path
        if let problem = service.local.blobs.writeProbe() {
            return HealthItem("store", .fail, problem, fix: "Make \(root) writable by this user, or choose another store with --store or TTS_STORE.",
                              fields: [("path", .string(root))])
        }
        return HealthItem("store", .ok, "\(root) is writable", fields: [("path", .string(root))])
    }

    private func diskItem() -> HealthItem {
        guard let space = service.local.blobs.diskSpace() else {
            return HealthItem("disk", .warn, "cannot read the free space of \(service.local.blobs.layout.root.path)")
        }
        let fields: [(String, JSONValue)] = [("free_bytes", .int(space.freeBytes)), ("total_bytes", .int(space.totalBytes))]
        let detail = "\(formatBytes(space.freeBytes)) free of \(formatBytes(space.totalBytes))"
        if space.freeBytes < minimumFreeBytes {
            return HealthItem("disk", .fail, detail, fix: "Free disk space, or shrink the cache: `evict --max-bytes 500MiB`, `gc`.", fields: fields)
        }
        if space.freeBytes < minimumFreeBytes * 8 {
            return HealthItem("disk", .warn, detail, fix: "Space is getting low: set TTS_CACHE_MAX_BYTES, or run `evict` and `gc`.", fields: fields)
        }
        return HealthItem("disk", .ok, detail, fields: fields)
    }

    private func indexItem() async -> HealthItem {
        let index = service.local.index
        do {
            let (findings, version) = try await Blocking.run { (try index.quickCheck(), try index.schemaVersion) }
            let fields: [(String, JSONValue)] = [("path", .string(index.url.path)), ("schema_version", .int(version))]
            if findings.isEmpty { return HealthItem("index", .ok, "quick_check ok, schema version \(version)", fields: fields) }
            return HealthItem("index", .fail, "quick_check found \(findings.count) problem(s): \(findings.prefix(3).joined(separator: "; "))",
                              fix: "Stop other tts-repl processes, copy \(index.url.path) aside, and run `verify --repair`; if that fails, move the index aside and the cache starts empty (blobs are re-indexed as clips are asked for again).",
                              fields: fields + [("findings", .array(findings.prefix(20).map { .string($0) }))])
        } catch {
            return HealthItem("index", .fail, TTSError.message(of: error), fix: "Move \(index.url.path) aside; tts-repl creates a fresh index.")
        }
    }

    private func redisItem() async -> HealthItem {
        let shared = service.shared
        guard shared.isEnabled else { return HealthItem("redis", .ok, "off (REDIS_URL=off): local tier only", fields: [("enabled", false)]) }
        do {
            guard let diagnosis = try await shared.diagnose() else { return HealthItem("redis", .ok, "off") }
            let latency = (diagnosis.latencyMs * 1000).rounded() / 1000
            var item = HealthItem("redis", .ok, "\(shared.serverDescription) answers in \(String(format: "%.2f", latency)) ms, version \(diagnosis.version ?? "unknown")",
                                  fields: [("enabled", true), ("latency_ms", .double(latency)), ("version", diagnosis.version.map { .string($0) } ?? .null)])
            if !diagnosis.nodes.isEmpty {
                let masters = diagnosis.nodes.filter(\.isMaster).count
                item.detail = "\(shared.serverDescription): a cluster of \(masters) masters and \(diagnosis.nodes.count - masters) replicas, the slowest answering in \(String(format: "%.2f", latency)) ms, version \(diagnosis.version ?? "unknown")"
                HealthCheck.describeClusterNodes(diagnosis.nodes, in: &item)
            }
            return item
        } catch {
            let reason = TTSError.message(of: error)
            let explicit = !configuration.redisIsDefault
            return HealthItem("redis", explicit ? .fail : .warn, reason,
                              fix: explicit ? "Start redis-server at REDIS_URL or fix the URL; set REDIS_URL=off to run on the local tier alone."
                                            : "No Redis at the default address: the local tier serves alone. Start redis-server to share clips, or set REDIS_URL=off to silence this.",
                              fields: [("enabled", true)])
        }
    }

    /// A cluster's nodes in the Redis item: one line each, and a warning when any of them does
    /// not answer (its slots fail over to a replica, or fail).
    static func describeClusterNodes(_ nodes: [RedisNodeDiagnosis], in item: inout HealthItem) {
        for node in nodes {
            let role = node.isMaster ? "master" : "replica"
            let state = node.problem.map { "NOT OK: \($0)" }
                ?? "\(String(format: "%.2f", node.latencyMs ?? 0)) ms, \(node.keys ?? 0) keys, \(formatNodeBytes(node.usedMemoryBytes ?? 0))"
            item.detail += "\n    \(role) \(node.address): \(state)"
        }
        if nodes.contains(where: { $0.problem != nil }) {
            item.status = .warn
            item.fix = "A node does not answer: its replica takes its slots over (or has); restart it so the cluster has a replica again."
        }
        item.fields.append(("nodes", .array(nodes.map(\.json))))
    }

    private static func formatNodeBytes(_ bytes: Int) -> String {
        bytes >= 1 << 20 ? String(format: "%.1f MB", Double(bytes) / 1_048_576) : "\(bytes / 1024) KB"
    }

    private func engineItem(_ name: String, probe: Bool) async -> HealthItem {
        let configured = name == configuration.engine
        let failing: HealthItem.Status = configured ? .fail : .warn
        let engine: any SpeechEngine
        do {
            engine = try service.engines.engine(named: name)
        } catch {
            let message = TTSError.message(of: error)
            return HealthItem("engine \(name)", failing, message, fix: configured ? "Fix the engine's configuration, or choose another with TTS_ENGINE." : nil,
                              fields: [("engine", .string(name)), ("configured", .bool(configured)), ("ready", false)])
        }
        var fields: [(String, JSONValue)] = [("engine", .string(name)), ("configured", .bool(configured))]
        do {
            let voices = try await engine.voices()
            fields.append(("voices", .int(voices.count)))
            guard probe else { return HealthItem("engine \(name)", .ok, "ready, \(voices.count) voices", fields: fields + [("ready", true)]) }
            let started = ContinuousClock.now
            let request = try await engine.resolve(AudioRequest(text: "Health check.", engine: name, model: ""))
            let audio = try WAVAudio.decode(try await engine.synthesize(request))
            let ms = (started.duration(to: .now).milliseconds * 10).rounded() / 10
            fields += [("ready", true), ("probe_ms", .double(ms)), ("probe_audio_ms", .int(audio.durationMs))]
            return HealthItem("engine \(name)", .ok, "ready, \(voices.count) voices; a probe request took \(ms) ms", fields: fields)
        } catch {
            let message = TTSError.message(of: error)
            return HealthItem("engine \(name)", failing, message,
                              fix: name == "espeak" ? "Install espeak-ng (apt-get install espeak-ng libespeak-ng-dev)." : "Check the engine's key and network, then run `health --probe` again.",
                              fields: fields + [("ready", false)])
        }
    }
}

/// 1536 → "1.5 KiB".
public func formatBytes(_ bytes: Int) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var value = Double(bytes)
    var unit = 0
    while abs(value) >= 1024 && unit < units.count - 1 {
        value /= 1024
        unit += 1
    }
    return unit == 0 ? "\(bytes) B" : String(format: "%.1f", value) + " " + units[unit]
}
