import Synchronization

/// Runs an action for each registered deadline that passes, checked every `tick` by one task:
/// the bound on a request's wait costs a dictionary entry, not a timer per request (a timer
/// per cached answer, thousands a second, would each live until its deadline).
///
/// ```swift
/// let watchdog = DeadlineWatchdog(tick: .milliseconds(100))
/// let id = watchdog.add(after: .seconds(60)) { answer.resume(nil) }
/// watchdog.remove(id)   // answered in time
/// ```
final class DeadlineWatchdog: Sendable {
    private struct Entry: Sendable {
        let deadline: ContinuousClock.Instant
        let action: @Sendable () -> Void
    }

    private let state = Mutex<(next: Int, entries: [Int: Entry], running: Bool)>((0, [:], false))
    private let tick: Duration

    init(tick: Duration) {
        self.tick = max(tick, .milliseconds(1))
    }

    /// Registers `action` to run once `delay` has passed, unless removed before.
    func add(after delay: Duration, _ action: @escaping @Sendable () -> Void) -> Int {
        let (id, start) = state.withLock { state -> (Int, Bool) in
            state.next += 1
            state.entries[state.next] = Entry(deadline: .now + delay, action: action)
            defer { state.running = true }
            return (state.next, !state.running)
        }
        if start { Task { [weak self] in await self?.watch() } }
        return id
    }

    func remove(_ id: Int) {
        _ = state.withLock { $0.entries.removeValue(forKey: id) }
    }

    /// Ticks while deadlines are registered, then ends (the next `add` starts it again).
    private func watch() async {
        while true {
            try? await Task.sleep(for: tick)
            let now = ContinuousClock.now
            let (due, done) = state.withLock { state -> ([Entry], Bool) in
                let due = state.entries.filter { $0.value.deadline <= now }
                for id in due.keys { state.entries[id] = nil }
                if state.entries.isEmpty { state.running = false }
                return (Array(due.values), state.entries.isEmpty)
            }
            due.forEach { $0.action() }
            if done { return }
        }
    }
}
