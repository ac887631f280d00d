import BenchStats
import Foundation
import Glibc
import TTSCore

/// `tts-repl serve` under load, each figure beside its baseline from the same run:
///
/// - a cached blob `GET /v1/blobs/<sha>.wav` against the floor (`bench/mhd-floor.c`: the least
///   a libmicrohttpd server with serve's flags does per request, built here with `cc`) and
///   against nginx (1 worker, sendfile, keep-alive) serving the same file;
/// - a cached `POST /v1/speech` (JSON in, WAV out) against the floor;
/// - isolation: p99 of cached requests while 16 misses wait on a 2 s engine (fake-gemini with
///   `--latency-ms 2000`), against the p99 with no misses; and the floor's own figure, its
///   misses parked 2 s by libmicrohttpd's suspend/resume;
/// - the peak RSS of serve across those runs.
///
/// wrk drives every run (2 threads, 16 connections). Rounds alternate the servers, so load from
/// other processes hits all alike. Without the `serve` command (a build before it), without
/// wrk, nginx or a C compiler, the rows are skipped and say why.
struct ServeScenario: Scenario {
    let name = "serve"

    static let blobRow = "serve: cached blob GET vs libmicrohttpd floor"
    static let postRow = "serve: cached POST /v1/speech vs floor"
    static let isolationRow = "serve: p99 of cached POST while 16 misses wait on a 2 s engine"
    static let isolationFloorRow = "libmicrohttpd floor: p99 of cached GET while 16 misses are parked 2 s"
    static let memoryRow = "serve: peak RSS"
    static let targets: [(row: String, text: String)] = [
        (blobRow, "≥ 0.8×"), (postRow, "≥ 0.5×"), (isolationRow, "≤ 2×"), (isolationFloorRow, "—"), (memoryRow, "≤ 96 MiB"),
    ]

    static let cachedText = "The benchmark asks for this sentence again and again, and the cache answers every time."

    func run(_ context: BenchContext) async throws -> [Row] {
        func skipped(_ reason: String) -> [Row] {
            ServeScenario.targets.map { Row.skipped($0.row, target: $0.text, because: reason) }
        }
        guard let repl = context.executable("tts-repl"), let fakeGemini = context.executable("fake-gemini") else {
            return skipped("tts-repl or fake-gemini is not built next to tts-bench (`make bench` builds them)")
        }
        guard let wrkPath = systemTool("wrk"), let nginx = systemTool("nginx"), let cc = systemTool("cc", "gcc"),
              let curl = systemTool("curl") else {
            return skipped("wrk, nginx, cc or curl is missing (`make bench` installs them)")
        }
        guard let floorSource = ServeScenario.floorSource(near: context.options.binDirectory) else {
            return skipped("bench/mhd-floor.c not found above \(context.options.binDirectory.path)")
        }
        let folder = try context.folder("serve")
        let home = try context.folder("serve-home")
        let wrk = Wrk(executable: wrkPath, seconds: context.quick ? 3 : 5)
        let http = CurlClient(executable: curl)

        // serve on the espeak engine, over an empty store; its first answer makes the clip.
        var environment = ChildProcess.replEnvironment(home: home)
        environment["TTS_STORE"] = folder.appendingPathComponent("store").path
        environment["REDIS_URL"] = "off"
        environment["TTS_ENGINE"] = "espeak"
        let serve: BackgroundServer
        do {
            serve = try BackgroundServer(name: "serve", executable: repl.path,
                                         ["serve", "--listen", "127.0.0.1:0", "--port-file", folder.appendingPathComponent("serve.port").path],
                                         environment: environment, folder: folder,
                                         portFile: folder.appendingPathComponent("serve.port"), samplePeakMemory: true)
        } catch let failure as BackgroundServer.DidNotStart where failure.exited && failure.log.contains("unknown command") {
            return skipped("serve not available: this tts-repl has no `serve` command")
        }
        var servers = [serve]
        defer { for server in servers { _ = try? server.stop() } }

        let body = JSONValue.object([("text", .string(ServeScenario.cachedText))]).serialized()
        let first = try http.post(serve.baseURL + "/v1/speech", json: body, saveTo: folder.appendingPathComponent("clip.wav"))
        guard first.status == 200, let location = first.header("Content-Location"), location.hasPrefix("/v1/blobs/") else {
            throw HarnessError("POST /v1/speech answered \(first.status) without a Content-Location /v1/blobs/…: \(first.headers.prefix(400))")
        }
        let clip = folder.appendingPathComponent("clip.wav")
        let clipBytes = (try? FileManager.default.attributesOfItem(atPath: clip.path)[.size] as? Int) ?? 0

        // The floor and nginx serve the same bytes.
        let floorBinary = folder.appendingPathComponent("mhd-floor")
        let build = try ChildProcess(executable: cc, ["-O2", "-o", floorBinary.path, floorSource.path, "-lmicrohttpd", "-lpthread"],
                                     environment: ["PATH": "/usr/bin:/bin"])
        _ = build.readAll()
        guard try build.wait().status == 0 else { throw HarnessError("cc could not build \(floorSource.path) (is libmicrohttpd-dev installed?)") }
        let floor = try BackgroundServer(name: "mhd-floor", executable: floorBinary.path,
                                         [clip.path, folder.appendingPathComponent("floor.port").path, "2000"],
                                         environment: ["PATH": "/usr/bin:/bin"], folder: folder,
                                         portFile: folder.appendingPathComponent("floor.port"))
        servers.append(floor)
        let nginxServer = try ServeScenario.startNginx(nginx, serving: clip, folder: folder)
        servers.append(nginxServer)

        let script = try Wrk.postScript(body: body, at: folder.appendingPathComponent("post.lua"))
        let blobURL = serve.baseURL + location
        _ = try wrk.run(blobURL)  // warm-up: page cache, connections, the index's first look-ups
        _ = try wrk.run(floor.baseURL + "/clip.wav")
        var blob: [Double] = [], post: [Double] = [], floorRates: [Double] = [], nginxRates: [Double] = []
        for _ in 0..<(context.quick ? 1 : 3) {
            floorRates.append(try wrk.run(floor.baseURL + "/clip.wav").requestsPerSecond)
            blob.append(try wrk.run(blobURL).requestsPerSecond)
            nginxRates.append(try wrk.run(nginxServer.baseURL + "/clip.wav").requestsPerSecond)
            post.append(try wrk.run(serve.baseURL + "/v1/speech", script: script).requestsPerSecond)
        }
        let floorRate = Figure(try Stats(floorRates).median, .requestsPerSecond)
        let nginxRate = Figure(try Stats(nginxRates).median, .requestsPerSecond)
        let blobRate = Figure(try Stats(blob).median, .requestsPerSecond)
        let size = "\(grouped(clipBytes)) B WAV, wrk -t2 -c16 -d\(wrk.seconds)s, median of \(floorRates.count)"
        var rows: [Row] = [
            .measured(ServeScenario.blobRow, blobRate, baseline: floorRate, label: "mhd-floor", target: Target(.ratio, .atLeast, 0.8), note: size),
            .measured("serve: cached blob GET vs nginx", blobRate, baseline: nginxRate, label: "nginx"),
            .measured("libmicrohttpd floor vs nginx", floorRate, baseline: nginxRate, label: "nginx",
                      note: "the ceiling the library sets (about 0.53× measured when the issue was written)"),
            .measured(ServeScenario.postRow, Figure(try Stats(post).median, .requestsPerSecond), baseline: floorRate,
                      label: "mhd-floor", target: Target(.ratio, .atLeast, 0.5), note: "JSON in, the cached WAV out"),
        ]

        let isolation = try isolationRows(context: context, repl: repl, fakeGemini: fakeGemini, wrk: wrk, http: http,
                                          body: body, floor: floor)
        rows += isolation.rows
        servers.removeFirst()
        let peak = max(try serve.stop().peakRSSMiB, isolation.peakRSSMiB)
        rows.append(.measured(ServeScenario.memoryRow, Figure(peak, .mebibytes), target: Target(.value, .atMost, 96),
                              note: "VmHWM of serve over the runs above, the higher of its two processes"))
        return rows
    }

    /// serve on the Gemini engine over fake-gemini answering after 2 s: the p99 of one cached
    /// request, with no misses and then while 16 connections keep a miss waiting each; and the
    /// same two runs against the floor, whose misses (POSTs) are parked 2 s by libmicrohttpd's
    /// suspend/resume with nothing of serve on top. Rounds alternate serve and the floor.
    func isolationRows(context: BenchContext, repl: URL, fakeGemini: URL, wrk: Wrk, http: CurlClient,
                       body: String, floor: BackgroundServer) throws -> (rows: [Row], peakRSSMiB: Double) {
        let folder = try context.folder("serve-isolation")
        let home = try context.folder("serve-isolation-home")
        let fake = try FakeGemini(fakeGemini, latencyMs: 2000, folder: folder)
        defer { fake.stop() }
        let serve = try fake.serve(repl, name: "serve-gemini", store: folder.appendingPathComponent("store"), home: home,
                                   folder: folder, concurrency: 16, samplePeakMemory: true)
        var stopped = false
        defer { if !stopped { _ = try? serve.stop() } }
        let first = try http.post(serve.baseURL + "/v1/speech", json: body, saveTo: folder.appendingPathComponent("clip.wav"))
        guard first.status == 200 else { throw HarnessError("the first POST /v1/speech to serve on fake-gemini answered \(first.status)") }
        let script = try Wrk.postScript(body: body, at: folder.appendingPathComponent("post.lua"))
        let missScript = try Wrk.missScript(at: folder.appendingPathComponent("miss.lua"))
        let url = serve.baseURL + "/v1/speech"
        let floorURL = floor.baseURL + "/clip.wav"
        _ = try wrk.run(url, connections: 4, script: script)  // warm-up

        // One p99 with no misses, then one while 16 misses wait; the misses' connections are
        // closed and their generations finish before the next quiet run.
        func pair(_ cached: String, script: URL?, misses: String, round: Int) throws -> (quiet: Double, loaded: Double) {
            let quiet = try wrk.run(cached, connections: 4, script: script).latencyMs[99] ?? .nan
            let load = try MissLoad(wrk: wrk, url: misses, connections: 16, script: missScript, tag: "\(getpid())-\(round)")
            usleep(500_000)  // every connection has its miss in flight
            let loaded: Double
            do {
                loaded = try wrk.run(cached, connections: 4, script: script).latencyMs[99] ?? .nan
            } catch {
                load.stop()
                throw error
            }
            load.stop()
            usleep(2_200_000)
            return (quiet, loaded)
        }
        var quiet: [Double] = [], loaded: [Double] = [], floorQuiet: [Double] = [], floorLoaded: [Double] = []
        for round in 0..<(context.quick ? 3 : 5) {
            let ours = try pair(url, script: script, misses: url, round: round)
            quiet.append(ours.quiet)
            loaded.append(ours.loaded)
            let least = try pair(floorURL, script: nil, misses: floorURL, round: round)
            floorQuiet.append(least.quiet)
            floorLoaded.append(least.loaded)
        }
        let calls = (try? http.get(fake.baseURL + "/__control/counters")).flatMap { try? JSONValue.parse($0) }
        stopped = true
        let exit = try serve.stop()
        let floorRatio = try Stats(floorLoaded).median / Stats(floorQuiet).median
        let note = "wrk -c4 on one cached clip, median of \(quiet.count) rounds; the misses: one wrk, 16 keep-alive connections, a new text each; fake-gemini answered \(calls?["requests"]?.intValue ?? 0) misses, up to \(calls?["peakConcurrentRequests"]?.intValue ?? 0) at once; the floor's own ratio: \(String(format: "%.2f", floorRatio))×"
        let row = Row.measured(ServeScenario.isolationRow, Figure(try Stats(loaded).median, .milliseconds),
                               baseline: Figure(try Stats(quiet).median, .milliseconds), label: "p99, no misses",
                               target: Target(.ratio, .atMost, 2), note: note)
        let floorRow = Row.measured(ServeScenario.isolationFloorRow, Figure(try Stats(floorLoaded).median, .milliseconds),
                                    baseline: Figure(try Stats(floorQuiet).median, .milliseconds), label: "p99, no misses",
                                    note: "mhd-floor: cached GET, its misses (POST) parked 2 s by suspend/resume")
        return ([row, floorRow], exit.peakRSSMiB)
    }

    /// `bench/mhd-floor.c` in the first folder above the binaries, or above tts-bench itself,
    /// that has it (the checkout they were built in).
    static func floorSource(near binDirectory: URL) -> URL? {
        let benchDirectory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for start in [binDirectory, benchDirectory] {
            var folder = start
            for _ in 0..<6 {
                let candidate = folder.appendingPathComponent("bench/mhd-floor.c")
                if FileManager.default.fileExists(atPath: candidate.path) { return candidate }
                folder = folder.deletingLastPathComponent()
            }
        }
        return nil
    }

    /// nginx as a static file server: one worker, sendfile, keep-alive, no access log, every
    /// path answering `file`, on a free loopback port, all its files in `folder`. One process
    /// (`master_process off`) is nginx's single worker without a master to signal.
    static func startNginx(_ nginx: String, serving file: URL, folder: URL) throws -> BackgroundServer {
        let port = try BackgroundServer.freePort()
        let prefix = folder.appendingPathComponent("nginx", isDirectory: true)
        try FileManager.default.createDirectory(at: prefix.appendingPathComponent("tmp"), withIntermediateDirectories: true)
        let temp = prefix.appendingPathComponent("tmp").path
        let config = prefix.appendingPathComponent("nginx.conf")
        try """
            worker_processes 1;
            daemon off;
            master_process off;
            pid \(prefix.path)/nginx.pid;
            error_log \(prefix.path)/error.log warn;
            events { worker_connections 1024; }
            http {
                access_log off;
                sendfile on;
                tcp_nopush on;
                tcp_nodelay on;
                keepalive_timeout 65;
                keepalive_requests 100000000;
                client_body_temp_path \(temp)/body;
                proxy_temp_path \(temp)/proxy;
                fastcgi_temp_path \(temp)/fastcgi;
                uwsgi_temp_path \(temp)/uwsgi;
                scgi_temp_path \(temp)/scgi;
                types { audio/wav wav; }
                server {
                    listen 127.0.0.1:\(port);
                    root \(file.deletingLastPathComponent().path);
                    location / { try_files /\(file.lastPathComponent) =404; }
                }
            }
            """.write(to: config, atomically: true, encoding: .utf8)
        return try BackgroundServer(name: "nginx", executable: nginx,
                                    ["-e", prefix.appendingPathComponent("error.log").path, "-p", prefix.path, "-c", config.path],
                                    environment: ["PATH": "/usr/sbin:/usr/bin:/bin"], folder: folder, fixedPort: port)
    }
}

/// Set-up requests through the `curl` tool: status, headers and body, nothing measured.
struct CurlClient {
    let executable: String

    struct Answer {
        var status: Int
        var headers: String
        func header(_ name: String) -> String? {
            for line in headers.split(whereSeparator: \.isNewline) {
                let parts = line.split(separator: ":", maxSplits: 1)
                if parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces).caseInsensitiveCompare(name) == .orderedSame {
                    return parts[1].trimmingCharacters(in: .whitespaces)
                }
            }
            return nil
        }
    }

    /// POSTs `json`, saving the body to `saveTo`; the headers come back on stdout.
    func post(_ url: String, json: String, saveTo: URL) throws -> Answer {
        let child = try ChildProcess(executable: executable,
                                     ["-s", "-m", "60", "-D", "-", "-o", saveTo.path, "-H", "Content-Type: application/json",
                                      "--data-binary", json, url], environment: ["PATH": "/usr/bin:/bin"])
        let headers = String(decoding: child.readAll(), as: UTF8.self)
        guard try child.wait().status == 0 else { throw HarnessError("curl could not POST to \(url)") }
        let status = headers.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        return Answer(status: status, headers: headers)
    }

    /// The body of a GET.
    func get(_ url: String) throws -> String {
        let child = try ChildProcess(executable: executable, ["-s", "-m", "10", url], environment: ["PATH": "/usr/bin:/bin"])
        let body = String(decoding: child.readAll(), as: UTF8.self)
        _ = try child.wait()
        return body
    }
}

/// Misses kept waiting on the engine: one `wrk` holding `connections` keep-alive connections,
/// each request a text never asked before (`Wrk.missScript`), so each connection has one miss
/// in flight at any time. Why not a shell loop of `curl` processes: a process started per miss
/// (about 8 ms of CPU each, eight a second) competed with the measured server for the two
/// cores, and by itself moved serve's p99 1.7× with the misses sent elsewhere (bench/NOTES.md).
final class MissLoad {
    let child: ChildProcess

    /// Starts the misses; `tag` makes the texts of this load differ from every other's.
    init(wrk: Wrk, url: String, connections: Int, script: URL, tag: String) throws {
        // Bounded: a load nobody stops ends after 120 s; a miss gives up after 30 s.
        child = try ChildProcess(executable: wrk.executable,
                                 ["-t1", "-c\(connections)", "-d120s", "--timeout", "30s", "-s", script.path, url, "--", tag],
                                 environment: ["PATH": "/usr/bin:/bin"])
    }

    /// Closes the connections (the misses in flight still finish on the server).
    func stop() {
        kill(child.pid, SIGINT)
        _ = child.readAll()
        _ = try? child.wait(stoppedBySignal: true)
    }
}
