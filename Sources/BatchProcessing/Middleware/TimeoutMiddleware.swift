/// The error ``TimeoutMiddleware`` fails a record with when its handler runs too long.
public struct RecordTimeoutError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The time the record was given.
    public let timeout: Duration
    /// The record's position in the batch.
    public let index: Int

    /// Creates the error.
    public init(timeout: Duration, index: Int) {
        self.timeout = timeout
        self.index = index
    }

    public var description: String { "record \(index) ran longer than its timeout of \(timeout)" }
}

/// Gives each record a time limit: when the rest of the chain runs longer, it is cancelled and the record fails
/// with ``RecordTimeoutError`` (the batch goes on per its policy). Cancellation is cooperative: a handler that
/// ignores it is waited for, but its record still fails.
///
/// Put it inside retry to limit each attempt, outside to limit all attempts together. Time is read from the
/// record's ``RecordContext/clock``.
public struct TimeoutMiddleware: RecordMiddleware {
    /// How long a record (or an attempt, inside retry) may take.
    public var timeout: Duration

    /// Creates a timeout step.
    public init(timeout: Duration) {
        self.timeout = timeout
    }

    private enum Finish: Sendable {
        case done(RecordResult)
        case timedOut
    }

    /// The annotation (``RecordResult/annotations``) of a record this middleware failed: the time it was given.
    public enum TimedOut: RecordAnnotationKey {
        public typealias Value = Duration
        public static let name = "timed_out_after"
    }

    public func handle<Record: BatchRecord>(
        _ record: Record,
        context: RecordContext,
        next: RecordNext<Record>
    ) async throws -> RecordResult {
        let clock = context.clock
        let limit = clock.now + timeout
        let index = context.index
        let timeout = self.timeout
        // The task group ends before this method returns, so `next` never outlives the call.
        return try await withoutActuallyEscaping(next) { next in
            try await race(next: next, record: record, context: context, limit: limit, timeout: timeout, index: index)
        }
    }

    private func race<Record: BatchRecord>(
        next: @escaping RecordNext<Record>,
        record: Record,
        context: RecordContext,
        limit: ContinuousClock.Instant,
        timeout: Duration,
        index: Int
    ) async throws -> RecordResult {
        let clock = context.clock
        return try await withThrowingTaskGroup(of: Finish.self) { group in
            group.addTask {
                .done(await next(record, context))
            }
            group.addTask {
                try await clock.sleep(until: limit, tolerance: nil)
                return .timedOut
            }
            defer { group.cancelAll() }
            // The chain never throws, so the only error here is the timer's: cancelled, because the record's task
            // was (the deadline, a shutdown); then the chain is cancelled too and its result is the answer.
            var first: Finish?
            do {
                first = try await group.next()
            } catch {
                first = nil
            }
            switch first {
            case .done(let result):
                return result
            case .timedOut:
                group.cancelAll()
                // Wait for the handler to stop (cooperatively), then fail the record for its time, keeping the facts
                // the chain learned (its attempts).
                var result = RecordResult.failed(RecordTimeoutError(timeout: timeout, index: index), context)
                while let finish = try? await group.next() {
                    if case .done(let inner) = finish {
                        result.attempts = inner.attempts
                        result.annotations = inner.annotations
                    }
                }
                result.annotations[TimedOut.self] = timeout
                return result
            case nil:
                group.cancelAll()
                while let finish = try? await group.next() {
                    if case .done(let result) = finish { return result }
                }
                throw CancellationError()
            }
        }
    }
}
