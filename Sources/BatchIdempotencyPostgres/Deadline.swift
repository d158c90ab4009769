import Synchronization

/// Runs an operation against a deadline, and stops waiting for it at the deadline even when the operation itself
/// cannot be interrupted (a statement already sent on a connection that has gone silent): the caller gets
/// ``Outcome/timedOut`` and the operation is cancelled and left to end on its own.
enum Deadline {
    enum Outcome<Value: Sendable>: Sendable {
        case success(Value)
        case failure(any Error)
        case timedOut
        case cancelled
    }

    /// Runs `operation` until `deadline`. With a `watchdog`, the deadline is one of the watchdog's (checked on its
    /// tick, so it may pass by up to a tick); without, a timer of its own is started.
    static func race<Value: Sendable>(
        until deadline: ContinuousClock.Instant,
        watchdog: Watchdog? = nil,
        _ operation: @escaping @Sendable () async throws -> Value
    ) async -> Outcome<Value> {
        let race = Race<Value>()
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Outcome<Value>, Never>) in
                race.start(continuation)
                let work = Task {
                    do {
                        race.finish(.success(try await operation()))
                    } catch {
                        race.finish(.failure(error))
                    }
                }
                if let watchdog {
                    let entry = watchdog.watch(until: deadline) { race.finish(.timedOut) }
                    race.attach(work: work, timer: nil, watched: (watchdog, entry))
                } else {
                    let timer = Task {
                        try? await Task.sleep(until: deadline, clock: .continuous)
                        race.finish(.timedOut)
                    }
                    race.attach(work: work, timer: timer, watched: nil)
                }
            }
        } onCancel: {
            race.finish(.cancelled)
        }
    }

    /// The first of the operation, the timer and cancellation to finish answers; the others are cancelled.
    private final class Race<Value: Sendable>: Sendable {
        private struct State {
            var continuation: CheckedContinuation<Outcome<Value>, Never>?
            var answer: Outcome<Value>?
            var work: Task<Void, Never>?
            var timer: Task<Void, Never>?
            var watched: (Watchdog, Int)?
        }

        private let state = Mutex(State())

        func start(_ continuation: CheckedContinuation<Outcome<Value>, Never>) {
            let early = state.withLock { state -> Outcome<Value>? in
                if let answer = state.answer { return answer }
                state.continuation = continuation
                return nil
            }
            // Cancelled before it started.
            if let early { continuation.resume(returning: early) }
        }

        func attach(work: Task<Void, Never>, timer: Task<Void, Never>?, watched: (Watchdog, Int)?) {
            let finished = state.withLock { state -> Bool in
                state.work = work
                state.timer = timer
                state.watched = watched
                return state.answer != nil
            }
            if finished {
                work.cancel()
                timer?.cancel()
                if let (watchdog, entry) = watched { watchdog.forget(entry) }
            }
        }

        func finish(_ outcome: Outcome<Value>) {
            let (continuation, work, timer, watched) = state.withLock {
                state -> (
                    CheckedContinuation<Outcome<Value>, Never>?, Task<Void, Never>?, Task<Void, Never>?,
                    (Watchdog, Int)?
                ) in
                guard state.answer == nil else { return (nil, nil, nil, nil) }
                state.answer = outcome
                defer {
                    state.continuation = nil
                    state.work = nil
                    state.timer = nil
                    state.watched = nil
                }
                return (state.continuation, state.work, state.timer, state.watched)
            }
            // The work is cancelled only when something else answered first: cancelling a finished task costs a
            // status update for nothing.
            switch outcome {
            case .success, .failure: break
            case .timedOut, .cancelled: work?.cancel()
            }
            timer?.cancel()
            if let (watchdog, entry) = watched { watchdog.forget(entry) }
            continuation?.resume(returning: outcome)
        }
    }
}

/// Deadlines of many races checked by one task on a tick, instead of a timer per race: a statement then costs no
/// timer of its own. The task runs only while deadlines are watched.
final class Watchdog: Sendable {
    private struct State {
        var entries: [Int: (deadline: ContinuousClock.Instant, fire: @Sendable () -> Void)] = [:]
        var nextID = 0
        var isTicking = false
    }

    private let state = Mutex(State())
    /// How late a deadline may be noticed.
    let tick: Duration

    init(tick: Duration) {
        self.tick = tick
    }

    /// Calls `fire` once `deadline` has passed (on the first tick after it), unless forgotten first.
    func watch(until deadline: ContinuousClock.Instant, fire: @escaping @Sendable () -> Void) -> Int {
        let (id, start) = state.withLock { state -> (Int, Bool) in
            state.nextID += 1
            state.entries[state.nextID] = (deadline, fire)
            let start = !state.isTicking
            state.isTicking = true
            return (state.nextID, start)
        }
        if start { Task { await self.run() } }
        return id
    }

    func forget(_ id: Int) {
        _ = state.withLock { $0.entries.removeValue(forKey: id) }
    }

    private func run() async {
        while true {
            try? await Task.sleep(for: tick)
            let now = ContinuousClock.now
            let (due, stop) = state.withLock { state -> ([@Sendable () -> Void], Bool) in
                var due: [@Sendable () -> Void] = []
                for (id, entry) in state.entries where entry.deadline <= now {
                    due.append(entry.fire)
                    state.entries[id] = nil
                }
                if state.entries.isEmpty {
                    state.isTicking = false
                    return (due, true)
                }
                return (due, false)
            }
            for fire in due { fire() }
            if stop { return }
        }
    }
}
