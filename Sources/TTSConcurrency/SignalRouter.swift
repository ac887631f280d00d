import Foundation
import Glibc
import Synchronization

// The self-pipe of the C handler: a handler may only do async-signal-safe work, so it writes
// the signal's number and the router's thread does the rest. A global because a C signal
// handler cannot capture context; written once, before the first handler is installed.
nonisolated(unsafe) private var routerWriteFD: Int32 = -1

/// One bit per signal number, set while a command's handler sits above the bottom one.
private let commandOwnsSignal = Atomic<UInt64>(0)

/// One bit per signal number, set by the C handler itself (a lock-free store is
/// async-signal-safe) when the signal arrives for the bottom handler, before the router's
/// thread has even woken up.
private let arrivedForBottomHandler = Atomic<UInt64>(0)

private func signalBit(_ signal: Int32) -> UInt64 { UInt64(1) << UInt64(signal & 63) }

private func routeSignal(_ signal: Int32) {
    let bit = signalBit(signal)
    if commandOwnsSignal.load(ordering: .sequentiallyConsistent) & bit == 0 {
        arrivedForBottomHandler.bitwiseOr(bit, ordering: .sequentiallyConsistent)
    }
    var byte = UInt8(truncatingIfNeeded: signal)
    _ = write(routerWriteFD, &byte, 1)
}

/// Who handles SIGTERM and SIGINT right now: a stack of handlers per signal, the top one called.
///
/// One plain `sigaction` handler per signal is installed the first time a handler is pushed for
/// it, and never replaced, so handlers that chain to it (the line editor's, which restores the
/// terminal) keep working. The process's lifetime handler (graceful shutdown) sits at the
/// bottom; a command that wants the signal for itself while it runs (the queue worker stops
/// taking jobs on SIGTERM) pushes a handler and pops it when it returns, and the one below is
/// in charge again. Handlers run on the router's own thread, one at a time, never on the
/// cooperative pool, so they may block briefly (cancel a task, wait for it, close a store).
///
/// ```swift
/// let handler = SignalRouter.shared.push(SIGTERM) { run.cancel() }
/// defer { SignalRouter.shared.pop(handler) }
/// ```
public final class SignalRouter: Sendable {
    /// The process's router: signals are per process.
    public static let shared = SignalRouter()

    /// A pushed handler; give it back to `pop`.
    public struct Registration: Sendable, Hashable {
        let signal: Int32
        let id: Int
    }

    private struct Entry {
        let id: Int
        let handler: @Sendable () -> Void
    }

    private struct State {
        var stacks: [Int32: [Entry]] = [:]
        var nextID = 0
        var readFD: Int32 = -1
    }

    /// Guards the handler stacks, the id counter and the pipe's read end.
    private let state = Mutex(State())

    private init() {}

    /// Makes `handler` the one called for `signal` until it is popped.
    @discardableResult
    public func push(_ signal: Int32, _ handler: @escaping @Sendable () -> Void) -> Registration {
        let (registration, install) = state.withLock { state -> (Registration, Bool) in
            state.nextID += 1
            let install = state.stacks[signal] == nil
            state.stacks[signal, default: []].append(Entry(id: state.nextID, handler: handler))
            noteDepth(of: signal, state.stacks[signal]!.count)
            return (Registration(signal: signal, id: state.nextID), install)
        }
        if install { installHandler(for: signal) }
        return registration
    }

    /// Removes a handler pushed before; the one below it (if any) handles the signal again.
    public func pop(_ registration: Registration) {
        state.withLock { state in
            state.stacks[registration.signal]?.removeAll { $0.id == registration.id }
            noteDepth(of: registration.signal, state.stacks[registration.signal]?.count ?? 0)
        }
    }

    /// Keeps the C handler's view of who owns the signal in step with the stack.
    private func noteDepth(of signal: Int32, _ depth: Int) {
        if depth > 1 {
            commandOwnsSignal.bitwiseOr(signalBit(signal), ordering: .sequentiallyConsistent)
        } else {
            commandOwnsSignal.bitwiseAnd(~signalBit(signal), ordering: .sequentiallyConsistent)
        }
    }

    /// Whether `signal` has arrived while only the bottom handler (the process's own) was
    /// pushed, as seen by the C handler: true before that handler has even started to run.
    public func hasArrivedForBottomHandler(_ signal: Int32) -> Bool {
        arrivedForBottomHandler.load(ordering: .sequentiallyConsistent) & signalBit(signal) != 0
    }

    private func installHandler(for signal: Int32) {
        startThreadOnce()
        // A process started from a thread that blocks the signal inherits the block; unblock it
        // here so it can be delivered at all.
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, signal)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        var action = sigaction()
        action.__sigaction_handler.sa_handler = routeSignal
        action.sa_flags = SA_RESTART
        sigemptyset(&action.sa_mask)
        sigaction(signal, &action, nil)
    }

    private func startThreadOnce() {
        let readFD: Int32? = state.withLock { state in
            guard state.readFD < 0 else { return nil }
            var fds: [Int32] = [-1, -1]
            guard pipe(&fds) == 0 else { return nil }
            _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
            _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
            _ = fcntl(fds[1], F_SETFL, fcntl(fds[1], F_GETFL) | O_NONBLOCK)
            routerWriteFD = fds[1]
            state.readFD = fds[0]
            return fds[0]
        }
        guard let readFD else { return }
        let thread = Thread { [self] in
            var byte: UInt8 = 0
            while true {
                let count = read(readFD, &byte, 1)
                if count == 1 { deliver(Int32(byte)) }
                if count < 0 && errno != EINTR { return }
            }
        }
        thread.name = "tts.signals"
        thread.start()
    }

    private func deliver(_ signal: Int32) {
        let top = state.withLock { $0.stacks[signal]?.last?.handler }
        // Nobody handles it any more: what the default action would do, end the process.
        guard let top else { exit(128 + signal) }
        top()
    }
}
