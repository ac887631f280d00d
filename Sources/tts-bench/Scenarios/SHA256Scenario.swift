import BenchStats
import Foundation
import Glibc
import TTSCore

/// SHA-256 throughput over a 64 MiB file against `sha256sum` on the same file (page cache warm
/// for both). Ours reads the file in 1 MiB chunks and hashes as it goes, as `sha256sum` does;
/// the `sha256sum` time includes its process start (about a millisecond, under 1 % here).
/// Both digests must agree, or the run is a harness failure.
struct SHA256Scenario: Scenario {
    let name = "sha256"
    static let size = 64 << 20

    func run(_ context: BenchContext) async throws -> [Row] {
        guard let tool = ["/usr/bin/sha256sum", "/bin/sha256sum"].first(where: FileManager.default.isExecutableFile) else {
            return [.skipped("SHA-256, 64 MiB", target: "≥ 0.5×", because: "sha256sum is not installed")]
        }
        let folder = try context.folder("sha256")
        let file = folder.appendingPathComponent("random-64MiB.bin").path
        try writeRandomFile(file, bytes: SHA256Scenario.size)

        let rounds = context.quick ? 3 : 9
        var ours: [Double] = []
        var theirs: [Double] = []
        var ourDigest = ""
        var theirDigest = ""
        for round in 0...rounds {  // round 0 is the warm-up
            var digest = ""
            let reference = try seconds { theirDigest = try runTool(tool, file) }
            let own = try seconds { digest = try hashFile(file) }
            ourDigest = digest
            if round > 0 {
                theirs.append(Double(SHA256Scenario.size) / 1e6 / reference)
                ours.append(Double(SHA256Scenario.size) / 1e6 / own)
            }
        }
        guard ourDigest == theirDigest else {
            throw HarnessError("SHA-256 of \(file) is \(ourDigest), sha256sum says \(theirDigest): the hash is wrong")
        }
        return [.measured("SHA-256, 64 MiB (median of \(rounds))", Figure(try Stats(ours).median, .megabytesPerSecond),
                          baseline: Figure(try Stats(theirs).median, .megabytesPerSecond), label: "sha256sum",
                          target: Target(.ratio, .atLeast, 0.5))]
    }

    private func hashFile(_ path: String) throws -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw HarnessError("cannot open \(path)") }
        defer { close(fd) }
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 64)
        defer { chunk.deallocate() }
        var hasher = SHA256()
        while true {
            let n = read(fd, chunk.baseAddress, chunk.count)
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw HarnessError("cannot read \(path)") }
            if n == 0 { break }
            hasher.update(UnsafeRawBufferPointer(rebasing: chunk[0..<n]))
        }
        return hasher.finalize().hex
    }

    private func runTool(_ tool: String, _ file: String) throws -> String {
        let child = try ChildProcess(executable: tool, [file], environment: ["PATH": "/usr/bin:/bin", "LC_ALL": "C"])
        let output = String(decoding: child.readAll(), as: UTF8.self)
        let exit = try child.wait()
        guard exit.status == 0 else { throw HarnessError("\(tool) exited with status \(exit.status)") }
        return String(output.prefix(64))
    }

    private func writeRandomFile(_ path: String, bytes: Int) throws {
        var generator = SystemRandomNumberGenerator()
        var data = [UInt8](repeating: 0, count: bytes)
        data.withUnsafeMutableBytes { raw in
            let words = raw.bindMemory(to: UInt64.self)
            for i in words.indices { words[i] = generator.next() }
        }
        guard FileManager.default.createFile(atPath: path, contents: Data(data)) else {
            throw HarnessError("cannot write \(path)")
        }
    }
}
