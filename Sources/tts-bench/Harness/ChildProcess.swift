import Foundation
import Glibc

/// A child process started with `posix_spawn`, its stdin and stdout on pipes, for the scenarios
/// that run the built `tts-repl` (script throughput, start-up) or a reference tool
/// (`sha256sum`). Timings start just before the spawn.
///
/// ```swift
/// let child = try ChildProcess(executable: "/usr/bin/sha256sum", ["file"])
/// let output = child.readAll()
/// let exit = try child.wait()     // status and peak RSS
/// ```
final class ChildProcess {
    let pid: pid_t
    /// Write end of the child's stdin, or -1 when stdin is /dev/null.
    private(set) var input: Int32
    /// Read end of the child's stdout.
    let output: Int32
    let executable: String
    /// Bytes read from stdout and not yet consumed by `readLine`.
    private var pending: [UInt8] = []
    private var sawEOF = false

    /// Started with the child when asked for, stopped by `wait()`.
    private let sampler: PeakMemorySampler?

    struct Exit {
        var status: Int32
        /// The child's peak resident set (`VmHWM`), in KiB; 0 when it was not sampled.
        var peakRSSKiB: Int
    }

    init(executable: String, _ arguments: [String], environment: [String: String], stdin: Bool = false,
         samplePeakMemory: Bool = false) throws {
        self.executable = executable
        // Pipes and spawn under one lock: a child spawned by another thread between our pipe()
        // and fcntl() would inherit our pipe ends and hold them open.
        ChildProcess.spawnLock.lock()
        defer { ChildProcess.spawnLock.unlock() }
        var stdinPipe: [Int32] = [-1, -1]
        var stdoutPipe: [Int32] = [-1, -1]
        if stdin {
            try ChildProcess.makePipe(&stdinPipe)
        }
        try ChildProcess.makePipe(&stdoutPipe)

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if stdin {
            posix_spawn_file_actions_adddup2(&actions, stdinPipe[0], 0)
        } else {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        }
        posix_spawn_file_actions_adddup2(&actions, stdoutPipe[1], 1)

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        // The spawning thread may be one of Swift's, which block most signals; a child inherits
        // that mask, and a server child would then never see the SIGTERM that stops it.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGPIPE] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var child: pid_t = 0
        let code = posix_spawn(&child, executable, &actions, &attributes, argv, envp)
        if stdin { close(stdinPipe[0]) }
        close(stdoutPipe[1])
        guard code == 0 else {
            if stdin { close(stdinPipe[1]) }
            close(stdoutPipe[0])
            throw HarnessError("cannot start \(executable): \(String(cString: strerror(code)))")
        }
        pid = child
        input = stdin ? stdinPipe[1] : -1
        output = stdoutPipe[0]
        sampler = samplePeakMemory ? PeakMemorySampler(pid: child) : nil
    }

    /// Guards the window between creating a child's pipes and spawning it.
    private static let spawnLock = NSLock()

    /// A pipe whose ends are closed on exec (pipe2 is not visible from Swift here), so one
    /// child never holds another child's pipe open. Callers hold `spawnLock`.
    private static func makePipe(_ ends: inout [Int32]) throws {
        guard pipe(&ends) == 0 else { throw HarnessError("pipe failed: \(String(cString: strerror(errno)))") }
        _ = fcntl(ends[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(ends[1], F_SETFD, FD_CLOEXEC)
    }

    deinit {
        if input >= 0 { close(input) }
        close(output)
    }

    /// Writes `bytes` to the child's stdin on a thread of its own, then closes stdin, so a
    /// child that answers while it reads cannot deadlock against a full pipe.
    func feedInput(_ bytes: [UInt8]) -> Thread {
        let fd = input
        input = -1
        let writer = Thread {
            bytes.withUnsafeBytes { buffer in
                var offset = 0
                while offset < buffer.count {
                    let n = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                    if n < 0 && errno == EINTR { continue }
                    if n <= 0 { break }
                    offset += n
                }
            }
            close(fd)
        }
        writer.start()
        return writer
    }

    /// The next line of stdout without its newline, or nil at end of output.
    func readLine() -> [UInt8]? {
        while true {
            if let newline = pending.firstIndex(of: 10) {
                let line = Array(pending[..<newline])
                pending.removeSubrange(...newline)
                return line
            }
            if sawEOF || !fill() {
                sawEOF = true
                if pending.isEmpty { return nil }
                defer { pending.removeAll() }
                return pending
            }
        }
    }

    /// Everything left on stdout, until the child closes it.
    func readAll() -> [UInt8] {
        while !sawEOF && fill() {}
        sawEOF = true
        defer { pending.removeAll() }
        return pending
    }

    /// Reads one chunk into `pending`; false at end of output.
    private func fill() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(output, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return false }
            pending.append(contentsOf: chunk[0..<n])
            return true
        }
    }

    /// Waits for the child to exit; a child killed by a signal is an error unless
    /// `stoppedBySignal` (a server the harness stopped with SIGTERM or SIGKILL).
    func wait(stoppedBySignal: Bool = false) throws -> Exit {
        // Read the peak before reaping: a reaped child has no /proc entry.
        var exited = siginfo_t()
        while waitid(P_PID, id_t(pid), &exited, WEXITED | WNOWAIT) < 0 {
            if errno != EINTR { throw HarnessError("waiting for \(executable): \(String(cString: strerror(errno)))") }
        }
        let peak = sampler?.stop() ?? 0
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { throw HarnessError("waiting for \(executable): \(String(cString: strerror(errno)))") }
        }
        // WIFEXITED / WEXITSTATUS are macros Swift does not import.
        let signal = status & 0x7f
        guard signal == 0 || stoppedBySignal else { throw HarnessError("\(executable) was killed by signal \(signal)") }
        return Exit(status: (status >> 8) & 0xff, peakRSSKiB: peak)
    }

    /// The environment for a `tts-repl` child: a private HOME, no API keys, no Redis unless
    /// asked, and nothing else from the caller's environment.
    static func replEnvironment(home: URL) -> [String: String] {
        ["PATH": "/usr/bin:/bin", "HOME": home.path, "XDG_CACHE_HOME": home.appendingPathComponent(".cache").path,
         "LANG": "C.UTF-8"]
    }
}

extension ChildProcess.Exit {
    var peakRSSMiB: Double { Double(peakRSSKiB) / 1024 }
}
