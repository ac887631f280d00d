import BenchStats
import Foundation
import Glibc
import TTSCore

/// Export of 10,000 clips (2,000 with --quick), each its own half-second blob (22 KB):
/// `tts-repl export DIR --link always` against `cp -al`, and `export DIR --copy` against
/// `cp -r`, of a flat folder holding the same blob files (hard links made once, untimed) — the
/// same files, bytes and folder shape (the store's sharded tree would make `cp` create
/// thousands of folders export does not), into a fresh folder on the same file system. Export also writes its CSV manifest; copies are fsync'ed, `cp` does
/// not sync.
struct ExportScenario: Scenario {
    let name = "export"

    func run(_ context: BenchContext) async throws -> [Row] {
        let clips = context.quick ? 2_000 : 10_000
        guard let repl = context.executable("tts-repl") else {
            return [.skipped("export \(grouped(clips)) clips", target: "≤ 2× / ≤ 1.5×", because: "tts-repl is not built next to tts-bench")]
        }
        let store = try await SeededStore.make(at: try context.folder("export-store"), count: clips, distinctAudio: true)
        let environment = ChildProcess.replEnvironment(home: try context.folder("export-home"))
        let flat = try flatCopySource(store, in: try context.folder("export-flat"))
        let runs = context.quick ? 1 : 3
        var link: [Double] = [], copy: [Double] = [], cpLink: [Double] = [], cpCopy: [Double] = []
        for run in 0...runs {  // run 0 warms the page cache
            let out = try context.folder("export-out")
            let l = try exportOnce(repl, store, into: out.appendingPathComponent("link"), mode: ["--link", "always"],
                                   counter: "linked", clips: clips, environment: environment)
            let c = try exportOnce(repl, store, into: out.appendingPathComponent("copy"), mode: ["--copy"],
                                   counter: "copied", clips: clips, environment: environment)
            let cl = try cp(["-al"], from: flat, to: out.appendingPathComponent("cp-al"))
            let cc = try cp(["-r"], from: flat, to: out.appendingPathComponent("cp-r"))
            try FileManager.default.removeItem(at: out)
            if run > 0 {
                link.append(l); copy.append(c); cpLink.append(cl); cpCopy.append(cc)
            }
        }
        let scope = "\(grouped(clips)) clips, median of \(runs)"
        return [
            .measured("export \(scope), link mode", Figure(try Stats(link).median * 1000, .milliseconds),
                      baseline: Figure(try Stats(cpLink).median * 1000, .milliseconds), label: "cp -al",
                      target: Target(.ratio, .atMost, 2),
                      note: "wall time of `tts-repl export DIR --link always` (start-up, selection, links, CSV manifest) against `cp -al` of a flat folder of the same blob files"),
            .measured("export \(scope), copy mode", Figure(try Stats(copy).median * 1000, .milliseconds),
                      baseline: Figure(try Stats(cpCopy).median * 1000, .milliseconds), label: "cp -r",
                      target: Target(.ratio, .atMost, 1.5),
                      note: "`tts-repl export DIR --copy` fsyncs every file it writes (crash safety); `cp -r` leaves them to the page cache"),
        ]
    }

    /// One folder with every blob of the store, hard-linked, no subfolders.
    private func flatCopySource(_ store: SeededStore, in folder: URL) throws -> URL {
        let blobs = FileManager.default.enumerator(atPath: store.layout.blobsURL.path)?
            .compactMap { $0 as? String }.filter { $0.hasSuffix(".wav") } ?? []
        for relative in blobs {
            let source = store.layout.blobsURL.appendingPathComponent(relative).path
            let name = (relative as NSString).lastPathComponent
            guard link(source, folder.appendingPathComponent(name).path) == 0 else {
                throw HarnessError("cannot hard-link \(source) into \(folder.path)")
            }
        }
        return folder
    }

    private func exportOnce(_ repl: URL, _ store: SeededStore, into folder: URL, mode: [String], counter: String,
                            clips: Int, environment: [String: String]) throws -> Double {
        let result = try runRepl(repl, ["--store", store.layout.root.path, "--redis", "off", "export", folder.path] + mode,
                                 environment: environment)
        guard result.exit.status == 0, result.summary[counter]?.intValue == clips else {
            throw HarnessError("export \(mode.joined(separator: " ")) exited \(result.exit.status) and reported \(result.summary.serialized().prefix(400)); expected \(clips) \(counter)")
        }
        return result.seconds
    }

    private func cp(_ flags: [String], from source: URL, to destination: URL) throws -> Double {
        let start = monotonicNanos()
        let child = try ChildProcess(executable: "/bin/cp", flags + [source.path, destination.path], environment: ["PATH": "/usr/bin:/bin"])
        _ = child.readAll()
        let exit = try child.wait()
        guard exit.status == 0 else { throw HarnessError("cp \(flags.joined(separator: " ")) exited \(exit.status)") }
        return Double(monotonicNanos() - start) / 1e9
    }
}
