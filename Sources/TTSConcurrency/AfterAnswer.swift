import Glibc

/// Work that a blocking call leaves for right after it has answered its waiting caller, done
/// on the same thread.
///
/// Why: a Redis hit's index row (one SQLite write, ~50 µs) must not delay the answer, yet
/// handing it to a queue of its own cost ~16 µs on the hit path (waking that queue's thread)
/// and put a third busy thread on two cores just as the caller resumed. The thread that ran
/// the look-up is awake anyway: it answers, then writes.
///
/// A thread that answers a continuation with the result of blocking work wraps the two in
/// `answering(_:then:)` (Redis connections, `Blocking.run`); blocking code running inside hands
/// work to `later(_:)`, which says false when no answer is pending on this thread (its caller
/// then does the work its own way).
///
/// ```swift
/// queue.async { AfterAnswer.answering({ lookUpAndStore() }, then: { continuation.resume(returning: $0) }) }
/// // inside lookUpAndStore: if !AfterAnswer.later(writeRow) { rowQueue.async(execute: writeRow) }
/// ```
public enum AfterAnswer {
    /// Runs `body`, hands its result to `answer`, then runs the work `body` left with `later`.
    public static func answering<T>(_ body: () -> T, then answer: (T) -> Void) {
        let left = Left()
        let outer = pthread_getspecific(key)
        pthread_setspecific(key, Unmanaged.passUnretained(left).toOpaque())
        let result = body()
        pthread_setspecific(key, outer)
        answer(result)
        if !left.work.isEmpty { sched_yield() }
        for work in left.work { work() }
    }

    /// Leaves `work` for after the answer this thread is computing; false (and `work` not
    /// taken) when this thread is not inside `answering`.
    public static func later(_ work: @escaping () -> Void) -> Bool {
        guard let raw = pthread_getspecific(key) else { return false }
        Unmanaged<Left>.fromOpaque(raw).takeUnretainedValue().work.append(work)
        return true
    }

    /// The work left during one `answering`; lives on that thread's stack frame only.
    private final class Left {
        var work: [() -> Void] = []
    }

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        precondition(pthread_key_create(&key, nil) == 0, "no thread-specific key left")
        return key
    }()
}
