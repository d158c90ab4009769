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

    static func race<Value: Sendable>(
        until deadline: ContinuousClock.Instant,
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
                let timer = Task {
                    try? await Task.sleep(until: deadline, clock: .continuous)
                    race.finish(.timedOut)
                }
                race.attach(work: work, timer: timer)
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

        func attach(work: Task<Void, Never>, timer: Task<Void, Never>) {
            let finished = state.withLock { state -> Bool in
                state.work = work
                state.timer = timer
                return state.answer != nil
            }
            if finished {
                work.cancel()
                timer.cancel()
            }
        }

        func finish(_ outcome: Outcome<Value>) {
            let (continuation, work, timer) = state.withLock {
                state -> (CheckedContinuation<Outcome<Value>, Never>?, Task<Void, Never>?, Task<Void, Never>?) in
                guard state.answer == nil else { return (nil, nil, nil) }
                state.answer = outcome
                defer {
                    state.continuation = nil
                    state.work = nil
                    state.timer = nil
                }
                return (state.continuation, state.work, state.timer)
            }
            work?.cancel()
            timer?.cancel()
            continuation?.resume(returning: outcome)
        }
    }
}
