public import BatchProcessing
import Synchronization

/// A clock that moves only when a test says so: deadline and backoff tests run in milliseconds, not seconds.
///
/// Its instants are `ContinuousClock` instants, starting at the moment the clock is made, so deadlines built from
/// ``now`` mean what they say. ``sleep(until:tolerance:)`` returns when ``advance(by:)`` moves the clock to or
/// past the wake-up instant, or throws `CancellationError` when the sleeping task is cancelled.
///
/// ```swift
/// let clock = ManualClock()
/// let processor = BatchProcessor(configuration: .init(clock: clock), middleware: [RetryMiddleware()])
/// async let result = processor.process(event) { … }
/// await clock.waitForSleepers(1)      // the retry is waiting
/// clock.advance(by: .seconds(1))
/// ```
public final class ManualClock: BatchClock, @unchecked Sendable {
    public typealias Instant = ContinuousClock.Instant
    public typealias Duration = Swift.Duration

    private struct Sleeper {
        var id: UInt64
        var deadline: Instant
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var now: Instant
        var sleepers: [Sleeper] = []
        var nextID: UInt64 = 0
        var sleepsStarted = 0
    }

    private let state: Mutex<State>

    /// A clock that reads `start` (by default the continuous clock's now) until it is advanced.
    public init(start: Instant = ContinuousClock.now) {
        state = Mutex(State(now: start))
    }

    public var now: Instant { state.withLock { $0.now } }

    public var minimumResolution: Duration { .nanoseconds(1) }

    /// How many tasks are sleeping on the clock now.
    public var sleeperCount: Int { state.withLock { $0.sleepers.count } }

    /// The earliest instant a sleeper waits for, or `nil` when none sleeps.
    public var nextWakeUp: Instant? { state.withLock { $0.sleepers.map(\.deadline).min() } }

    /// How many sleeps that had to wait were started since the clock was made.
    public var sleepsStarted: Int { state.withLock { $0.sleepsStarted } }

    public func sleep(until deadline: Instant, tolerance: Duration? = nil) async throws {
        let id: UInt64? = state.withLock { state in
            guard deadline > state.now else { return nil }
            state.nextID += 1
            state.sleepsStarted += 1
            return state.nextID
        }
        guard let id else {
            try Task.checkCancellation()
            return
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let resumeNow: Bool = state.withLock { state in
                    if Task.isCancelled { return true }
                    state.sleepers.append(Sleeper(id: id, deadline: deadline, continuation: continuation))
                    return false
                }
                if resumeNow { continuation.resume(throwing: CancellationError()) }
            }
        } onCancel: {
            let sleeper: Sleeper? = state.withLock { state in
                guard let position = state.sleepers.firstIndex(where: { $0.id == id }) else { return nil }
                return state.sleepers.remove(at: position)
            }
            sleeper?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Moves the clock forward and wakes every sleeper whose instant has come, earliest first.
    public func advance(by duration: Duration) {
        let woken: [Sleeper] = state.withLock { state in
            state.now = state.now.advanced(by: duration)
            let now = state.now
            let due = state.sleepers.filter { $0.deadline <= now }.sorted { $0.deadline < $1.deadline }
            state.sleepers.removeAll { $0.deadline <= now }
            return due
        }
        for sleeper in woken { sleeper.continuation.resume() }
    }

    /// Moves the clock to `instant` (if it is later than now), waking the sleepers that are due.
    public func advance(to instant: Instant) {
        let duration = now.duration(to: instant)
        if duration > .zero { advance(by: duration) }
    }

    /// Waits (yielding, without sleeping on a real clock) until at least `count` tasks sleep on this clock.
    ///
    /// Gives up after `maximumYields` yields, so that a test whose code never sleeps fails instead of hanging.
    public func waitForSleepers(_ count: Int, maximumYields: Int = 100_000) async {
        var yields = 0
        while sleeperCount < count, yields < maximumYields {
            await Task.yield()
            yields += 1
        }
    }
}
