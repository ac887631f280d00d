import Foundation
import Glibc
import Synchronization

/// Follows a child's peak resident set by reading `VmHWM` from `/proc/<pid>/status` every few
/// milliseconds until stopped.
///
/// Not `ru_maxrss` from `wait4`: a child started by `posix_spawn` (vfork semantics) carries the
/// parent's peak into its own at exec, so a bench process holding 100 MB would report that for
/// every child. `VmHWM` belongs to the child's own address space and only grows, so the last
/// reading before exit is the peak, short of growth in the final few milliseconds.
final class PeakMemorySampler: Sendable {
    private let pid: pid_t
    /// Guards the highest reading and the stop flag, shared with the sampling thread.
    private let state = Mutex((peakKiB: 0, stopped: false))
    private let finished = DispatchSemaphore(value: 0)

    init(pid: pid_t, every interval: Duration = .milliseconds(5)) {
        self.pid = pid
        let micros = useconds_t(interval.components.attoseconds / 1_000_000_000_000 + interval.components.seconds * 1_000_000)
        let thread = Thread { [self] in
            while !state.withLock({ $0.stopped }) {
                if let kib = PeakMemorySampler.vmHWM(pid) {
                    state.withLock { $0.peakKiB = max($0.peakKiB, kib) }
                }
                usleep(micros)
            }
            finished.signal()
        }
        thread.start()
    }

    /// Stops sampling and returns the highest `VmHWM` seen, in KiB (0 when none was read).
    func stop() -> Int {
        if let kib = PeakMemorySampler.vmHWM(pid) { state.withLock { $0.peakKiB = max($0.peakKiB, kib) } }
        state.withLock { $0.stopped = true }
        finished.wait()
        return state.withLock { $0.peakKiB }
    }

    /// `VmHWM:   12345 kB` → 12345, or nil when the process is gone.
    static func vmHWM(_ pid: pid_t) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }) else { return nil }
        return line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.flatMap { Int($0) }
    }
}
