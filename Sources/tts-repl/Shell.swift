import Dispatch
import Foundation
import TTSConcurrency
import TTSCore
import TTSService

/// Runs command lines against the session: the same code for the interactive prompt, scripts
/// on stdin and one-shot invocations; only where lines come from differs.
final class Shell: @unchecked Sendable {
    enum Outcome { case succeeded, failed, quit }

    private(set) var session: Session
    /// The kind of the last command's error, if it failed with one: a one-shot command that
    /// fails for configuration (`worker` with Redis off) exits with the usage status, 2.
    private(set) var lastErrorKind: TTSError.Kind?
    let table: CommandTable
    let context: CommandContext
    let output: Output
    let runner = CommandRunner()

    init(runtime: Runtime, output: Output) {
        let table = makeCommandTable()
        self.table = table
        self.output = output
        session = Session(configuration: runtime.configuration)
        context = CommandContext(runtime: runtime, output: output, table: { table })
    }

    /// Runs one line as typed or read from a script. Blank lines and `#` comments do nothing.
    func execute(line: String, lineNumber: Int? = nil) -> Outcome {
        let trimmed = trimmingSpaces(line)
        if trimmed.isEmpty || trimmed.hasPrefix("#") { return .succeeded }
        let (word, rest) = Tokenizer.headAndRest(trimmed)
        guard let command = table.command(named: word) else {
            let hint = table.suggestion(for: word).map { " Did you mean `\($0)`?" } ?? ""
            output.error(TTSError.validation("command", "unknown command '\(word)'.\(hint) Type `help` for the list."), line: lineNumber)
            return .failed
        }
        let arguments: [String]
        switch command.input {
        case .text:
            arguments = [rest]
        case .words:
            do {
                arguments = try Tokenizer.split(rest)
            } catch let error as Tokenizer.Unterminated {
                output.error(TTSError.validation("line", "unterminated \(error.quote) quote: close it, or escape it with \\"), line: lineNumber)
                return .failed
            } catch {
                return .failed
            }
        }
        return run(command, arguments, lineNumber: lineNumber)
    }

    /// Runs a command with its arguments already split (one-shot mode passes argv through);
    /// they are parsed against the command's declaration first, so a usage mistake is reported
    /// like any other failure of the command. A command that can answer at once (a cached
    /// `say`) does so on this thread; otherwise it runs as a task.
    func run(_ command: Command, _ arguments: [String], lineNumber: Int? = nil) -> Outcome {
        // A SIGTERM stopped this command: report it, then leave the exit to the shutdown
        // thread, which closes the store and exits with 128 + the signal.
        defer { runner.parkIfShuttingDown() }
        let parsed: ParsedArguments
        do {
            parsed = try command.parse(arguments)
            if let answerAtOnce = command.answerAtOnce,
               let report = try runner.runAtOnce({ try answerAtOnce(&session, context, parsed) }) {
                return conclude(.success(report), lineNumber: lineNumber)
            }
        } catch {
            return conclude(.failure(error), lineNumber: lineNumber)
        }
        let result = runner.run(session: session, onInputThread: command.runsOnInputThread) { [context] session in
            try await command.run(&session, context, parsed)
        }
        session = result.session
        return conclude(result.outcome, lineNumber: lineNumber)
    }

    /// Reports what the command ended with, and says how the shell goes on.
    private func conclude(_ outcome: Result<Report, Error>, lineNumber: Int?) -> Outcome {
        lastErrorKind = nil
        if case .failure(let error as TTSError) = outcome { lastErrorKind = error.kind }
        switch outcome {
        case .success(let report):
            output.emit(report)
            return report.failed ? .failed : .succeeded
        case .failure(let error as TTSError):
            output.error(error, line: lineNumber)
            return .failed
        case .failure(is Quit):
            return .quit
        case .failure(is CancellationError):
            output.error(TTSError(.cancelled, "cancelled"), line: lineNumber)
            return .failed
        case .failure(let error):
            output.error(TTSError(.internal, "\(error)"), line: lineNumber)
            return .failed
        }
    }

    /// Runs one-shot argv: the command word, then its arguments (for `say`, the rest joined).
    func runArguments(_ words: [String]) -> Outcome? {
        guard let word = words.first, let command = table.command(named: word) else { return nil }
        let rest = Array(words.dropFirst())
        return run(command, command.input == .text ? [rest.joined(separator: " ")] : rest)
    }
}

/// `line.trimmingCharacters(in: .whitespaces)`, without Foundation's string bridging for the
/// usual script line, which starts and ends with a printable ASCII character and has nothing
/// to trim.
func trimmingSpaces(_ line: String) -> String {
    if let first = line.utf8.first, let last = line.utf8.last, first > 0x20, first < 0x7F, last > 0x20, last < 0x7F {
        return line
    }
    return line.trimmingCharacters(in: .whitespaces)
}

/// Runs one command at a time as a task while the calling thread (which reads input, and must
/// not be a cooperative-pool thread) waits; Ctrl-C cancels that task, never the REPL.
final class CommandRunner: @unchecked Sendable {
    struct Result {
        var session: Session
        var outcome: Swift.Result<Report, Error>
    }

    /// Guards `current`, `answering` and `shuttingDown`, which the signal handlers read from
    /// other threads.
    private let lock = NSLock()
    private var current: Task<Void, Never>?
    /// A command is answering at once on the calling thread (`runAtOnce`).
    private var answering = false
    private var shuttingDown = false
    /// Called for SIGINT in a script or one-shot run (graceful exit: the running command is
    /// cancelled, work in flight drained); set once at start, before any signal can arrive.
    nonisolated(unsafe) var onRunInterrupt: (@Sendable () -> Void)?

    /// - Parameter handlingInterrupts: whether Ctrl-C reaches this runner (always in the
    ///   program; a test of the runner alone leaves the process's signals as they are).
    init(handlingInterrupts: Bool = true) {
        if handlingInterrupts { SignalRouter.shared.push(SIGINT) { [weak self] in self?.interrupt() } }
    }

    /// Set by the interactive session before its first prompt: there Ctrl-C cancels the
    /// running command and the REPL goes on.
    nonisolated(unsafe) var isInteractive = false

    /// At the interactive prompt: cancels the running command. In a script or one-shot run:
    /// stops the run, with status 130 (the running command is cancelled on the way out, and the
    /// lines after it never run), as the sqlite3 shell does.
    private func interrupt() {
        if !isInteractive {
            if let onRunInterrupt { onRunInterrupt() } else { StandardOutputBuffer.shared.flush(); exit(130) }
            return
        }
        lock.withLock { current }?.cancel()
    }

    /// Blocks the calling thread for good once shutdown has begun (the process is about to exit).
    func parkIfShuttingDown() {
        guard lock.withLock({ shuttingDown }) else { return }
        while true { pause() }
    }

    /// Shutdown: refuses further commands, cancels the running one and waits (bounded) until it
    /// has returned. Returns whether a command was running.
    @discardableResult
    func stopCommands(waitingUpTo timeout: Duration) -> Bool {
        let (task, answering) = lock.withLock { () -> (Task<Void, Never>?, Bool) in
            shuttingDown = true
            return (current, self.answering)
        }
        guard task != nil || answering else { return false }
        // An answer at once takes microseconds and cannot be cancelled: it is waited for.
        task?.cancel()
        let deadline = ContinuousClock.now + timeout
        while lock.withLock({ current != nil || self.answering }) && ContinuousClock.now < deadline { usleep(5_000) }
        return true
    }

    /// Runs `body` on the calling thread, as a command that answers at once (a cached `say`):
    /// refused like any command once shutdown has begun (the store is being closed), and
    /// waited for by `stopCommands` while it runs.
    func runAtOnce<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        if shuttingDown {
            lock.unlock()
            while true { pause() }
        }
        answering = true
        lock.unlock()
        defer { lock.withLock { answering = false } }
        return try body()
    }

    /// Runs `body` as a task and waits for it. With `onInputThread` the task's jobs run on the
    /// calling thread while it waits (see `WaitingThreadExecutor`); otherwise on the pool.
    func run(session: Session, onInputThread: Bool = false,
             _ body: @escaping @Sendable (inout Session) async throws -> Report) -> Result {
        let box = ResultBox(session: session)
        let executor = onInputThread ? waitingThread : nil
        let done = DispatchSemaphore(value: 0)
        let operation: @Sendable () async -> Void = {
            var session = box.session
            do {
                let report = try await body(&session)
                box.set(session: session, outcome: .success(report))
            } catch {
                box.set(session: session, outcome: .failure(error))
            }
            if let executor { executor.finish() } else { done.signal() }
        }
        let start = { () -> Task<Void, Never> in
            let task = executor.map { Task(executorPreference: $0, operation: operation) } ?? Task.detached(operation: operation)
            self.lock.lock()
            self.current = task
            let refused = self.shuttingDown
            self.lock.unlock()
            if refused {
                // Shutting down: the store is being closed and the process ends in a moment.
                task.cancel()
                while true { pause() }
            }
            return task
        }
        if let executor {
            executor.runJobs(startingWith: { _ = start() })
        } else {
            _ = start()
            done.wait()
        }
        lock.lock()
        current = nil
        lock.unlock()
        return box.result
    }

    /// The executor of commands that run on the input thread; one, reused for every command.
    private let waitingThread = WaitingThreadExecutor()
}

/// A task executor whose jobs run on the thread that waits for the task: `runJobs` starts the
/// task and runs every job the task (and any child that inherits the preference) enqueues, until
/// the task calls `finish()`. The thread sleeps on a condition while the task waits for something
/// elsewhere (a continuation resumed by the espeak or curl thread, a timer, an actor), so
/// cancellation from the Ctrl-C handler still reaches it.
///
/// Jobs enqueued while no thread is running jobs (a child task left behind by a finished
/// command) go to the global concurrent executor, so nothing waits on a thread that is reading
/// input.
final class WaitingThreadExecutor: TaskExecutor, @unchecked Sendable {
    /// Guards `jobs`, `draining` and `finished`; signalled when a job arrives or the task finishes.
    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []
    private var draining = false
    private var finished = false

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        guard draining else {
            condition.unlock()
            globalConcurrentExecutor.enqueue(ExecutorJob(job))
            return
        }
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    /// Called by the task as its last step.
    func finish() {
        condition.lock()
        finished = true
        condition.signal()
        condition.unlock()
    }

    /// Calls `start` (which creates the task with this executor as its preference), then runs
    /// jobs on this thread until the task has finished and no job is left.
    func runJobs(startingWith start: () -> Void) {
        condition.lock()
        draining = true
        finished = false
        condition.unlock()
        start()
        while true {
            condition.lock()
            while jobs.isEmpty && !finished { condition.wait() }
            guard !jobs.isEmpty else {
                draining = false
                condition.unlock()
                return
            }
            let job = jobs.removeFirst()
            condition.unlock()
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}

/// Hands a command's result from its task back to the waiting thread.
private final class ResultBox: @unchecked Sendable {
    /// Written once by the task before it signals; read by the waiter after.
    private(set) var session: Session
    private var outcome: Swift.Result<Report, Error> = .success(.empty)

    init(session: Session) { self.session = session }

    func set(session: Session, outcome: Swift.Result<Report, Error>) {
        self.session = session
        self.outcome = outcome
    }

    var result: CommandRunner.Result { CommandRunner.Result(session: session, outcome: outcome) }
}
