import Dispatch
import Foundation
import Glibc
import Synchronization
import TTSCore
import TTSService

// Self-pipe of the SIGTERM handler: the handler may only do async-signal-safe work, so it
// writes one byte and a thread of ours does the rest. Globals because a C signal handler
// cannot capture context; written once, before the handler is installed.
nonisolated(unsafe) private var terminateWriteFD: Int32 = -1

/// Set by the SIGTERM handler itself (a lock-free store is async-signal-safe), before the
/// shutdown thread has even woken up: the main thread checks it before it exits on its own.
private let terminateRequested = Atomic<Bool>(false)

private func noteTerminate(_ signal: Int32) {
    terminateRequested.store(true, ordering: .sequentiallyConsistent)
    var byte = UInt8(truncatingIfNeeded: signal)
    _ = write(terminateWriteFD, &byte, 1)
}

/// Graceful exit on SIGTERM (at any time) and on SIGINT in a script or one-shot run: the running command is cancelled and allowed to return, generations in flight
/// finish (their blobs and rows written, their Redis locks released), hit counts and shared
/// counters are flushed, the index is closed, and the process exits with 128 + the signal.
/// `exit` runs the line editor's atexit hook, which puts the terminal back.
///
/// SIGTERM uses a plain `sigaction` handler: the line editor, which installs its own SIGTERM
/// handler at its first prompt, keeps the one found before it and calls it, so both happen.
/// At an interactive prompt SIGINT never ends the REPL (Ctrl-C clears the line there).
enum Shutdown {
    static func install(runner: CommandRunner, runtime: Runtime) {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return }
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFL, fcntl(fds[1], F_GETFL) | O_NONBLOCK)
        terminateWriteFD = fds[1]
        let readFD = fds[0]

        let once = Once()
        let begin: @Sendable (Int32) -> Void = { signal in
            guard once.first() else { return }
            finish(signal: signal, runner: runner, runtime: runtime)
        }
        runner.onRunInterrupt = { begin(SIGINT) }
        let thread = Thread {
            var byte: UInt8 = 0
            while true {
                let count = read(readFD, &byte, 1)
                if count == 1 { begin(Int32(byte)) }
                if count < 0 && errno != EINTR { return }
            }
        }
        thread.name = "tts.shutdown"
        thread.start()

        var action = sigaction()
        action.__sigaction_handler.sa_handler = noteTerminate
        action.sa_flags = SA_RESTART
        sigemptyset(&action.sa_mask)
        sigaction(SIGTERM, &action, nil)
    }

    /// Called by the main thread before it ends the process by itself (input ended, one-shot
    /// command done): once SIGTERM has arrived the shutdown thread owns the exit (flush, close,
    /// status 128 + signal), so the main thread waits for it instead of racing it to `exit`.
    /// The kernel hands a process-directed signal to the main thread first when it can take it,
    /// so a SIGTERM sent before stdin closes is seen here.
    static func parkIfTerminating() {
        guard terminateRequested.load(ordering: .sequentiallyConsistent) else { return }
        while true { pause() }
    }

    private static func finish(signal: Int32, runner: CommandRunner, runtime: Runtime) {
        let started = ContinuousClock.now
        let interrupted = runner.stopCommands(waitingUpTo: .seconds(10))
        let drained = Blocking.wait(upTo: 10) { await runtime.service.drain(timeout: .seconds(10)) } ?? false
        runtime.logger.info("shutdown", [("operation", "shutdown"), ("signal", .string(signal == SIGTERM ? "SIGTERM" : "SIGINT")),
                                         ("interrupted_command", .bool(interrupted)), ("drained", .bool(drained)),
                                         ("ms", .double(started.duration(to: .now).milliseconds)),
                                         ("outcome", .string(drained ? "ok" : "timeout"))])
        runtime.close()
        exit(128 + signal)
    }
}

/// True for the first caller only.
private final class Once: @unchecked Sendable {
    /// Guards `done`.
    private let lock = NSLock()
    private var done = false
    func first() -> Bool { lock.withLock { defer { done = true }; return !done } }
}

/// Runs async work from a plain thread and waits for it, bounded.
enum Blocking {
    static func wait<T: Sendable>(upTo seconds: Double, _ body: @escaping @Sendable () async -> T) -> T? {
        let box = Box<T>()
        let done = DispatchSemaphore(value: 0)
        Task.detached {
            box.value = await body()
            done.signal()
        }
        guard done.wait(timeout: .now() + seconds) == .success else { return nil }
        return box.value
    }

    private final class Box<T>: @unchecked Sendable {
        /// Written by the task before it signals, read after the wait.
        var value: T?
    }
}
