import Dispatch
import Foundation
import Glibc
import Synchronization
import TTSConcurrency
import TTSCore
import TTSService

/// Graceful exit on SIGTERM (at any time) and on SIGINT in a script or one-shot run: the
/// running command is cancelled and allowed to return, generations in flight
/// finish (their blobs and rows written, their Redis locks released), hit counts and shared
/// counters are flushed, the index is closed, and the process exits with 128 + the signal.
/// `exit` runs the line editor's atexit hook, which puts the terminal back.
///
/// This is the bottom SIGTERM handler of `SignalRouter`, pushed at start and never popped: a
/// command that takes SIGTERM for itself (`worker`) pushes its own and pops it when it returns,
/// so SIGTERM after it still shuts down gracefully. The router's C handler stays installed for
/// the whole run: the line editor, which installs its own SIGTERM handler at its first prompt,
/// keeps the one found before it and calls it, so both happen. At an interactive prompt SIGINT
/// never ends the REPL (Ctrl-C clears the line there).
enum Shutdown {
    static func install(runner: CommandRunner, runtime: Runtime) {
        let once = Once()
        let begin: @Sendable (Int32) -> Void = { signal in
            guard once.first() else { return }
            finish(signal: signal, runner: runner, runtime: runtime)
        }
        runner.onRunInterrupt = { begin(SIGINT) }
        SignalRouter.shared.push(SIGTERM) { begin(SIGTERM) }
    }

    /// Called by the main thread before it ends the process by itself (input ended, one-shot
    /// command done): once SIGTERM has arrived the shutdown thread owns the exit (flush, close,
    /// status 128 + signal), so the main thread waits for it instead of racing it to `exit`.
    /// The kernel hands a process-directed signal to the main thread first when it can take it,
    /// so a SIGTERM sent before stdin closes is seen here.
    static func parkIfTerminating() {
        guard SignalRouter.shared.hasArrivedForBottomHandler(SIGTERM) else { return }
        while true { pause() }
    }

    private static func finish(signal: Int32, runner: CommandRunner, runtime: Runtime) {
        let started = ContinuousClock.now
        // `serve` ends on a signal by design: it gets its grace to finish requests, and exit 0.
        let signalEnded = SignalEndedCommand.grace
        let interrupted = runner.stopCommands(waitingUpTo: signalEnded.map { $0 + .seconds(5) } ?? .seconds(10))
        let drained = Blocking.wait(upTo: .seconds(10)) { await runtime.service.drain(timeout: .seconds(10)) } ?? false
        runtime.logger.info("shutdown", [("operation", "shutdown"), ("signal", .string(signal == SIGTERM ? "SIGTERM" : "SIGINT")),
                                         ("interrupted_command", .bool(interrupted)), ("drained", .bool(drained)),
                                         ("ms", .double(started.duration(to: .now).milliseconds)),
                                         ("outcome", .string(drained ? "ok" : "timeout"))])
        runtime.close()
        StandardOutputBuffer.shared.flush()
        exit(signalEnded == nil ? 128 + signal : 0)
    }
}

/// The command running now that a signal ends normally (`serve`), and how long it may take
/// to stop. Set while it runs; read by the shutdown thread.
enum SignalEndedCommand {
    private static let running = Mutex<Duration?>(nil)

    static func begin(grace: Duration) { running.withLock { $0 = grace } }
    static func end() { running.withLock { $0 = nil } }
    static var grace: Duration? { running.withLock { $0 } }
}

/// True for the first caller only.
private final class Once: Sendable {
    private let done = Atomic<Bool>(false)
    func first() -> Bool { !done.exchange(true, ordering: .sequentiallyConsistent) }
}
