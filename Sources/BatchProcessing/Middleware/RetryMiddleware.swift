import Logging
import Tracing

/// How many times to try a record and how long to wait in between.
public struct RetryStrategy: Sendable {
    /// The number of attempts in all, the first included. 1 means no retry.
    public var maxAttempts: Int
    /// The delay cap for the first retry; it doubles with each further retry.
    public var baseDelay: Duration
    /// The most any one delay can be.
    public var maxDelay: Duration
    /// With jitter, each delay is drawn at random between zero and its cap ("full jitter"), which spreads
    /// retries of many records apart; without it, the delay is the cap.
    public var jitter: Bool

    /// Creates a strategy.
    public init(maxAttempts: Int, baseDelay: Duration, maxDelay: Duration, jitter: Bool) {
        self.maxAttempts = maxAttempts
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.jitter = jitter
    }

    /// Exponential backoff with full jitter: retry up to `maxAttempts` attempts in all, waiting a random time
    /// up to `baseDelay`, `2 × baseDelay`, `4 × baseDelay`… capped at `maxDelay`.
    public static func exponentialJitter(
        maxAttempts: Int = 3,
        baseDelay: Duration = .milliseconds(100),
        maxDelay: Duration = .seconds(5)
    ) -> RetryStrategy {
        RetryStrategy(maxAttempts: maxAttempts, baseDelay: baseDelay, maxDelay: maxDelay, jitter: true)
    }

    /// One attempt, no retry.
    public static let dontRetry = RetryStrategy(maxAttempts: 1, baseDelay: .zero, maxDelay: .zero, jitter: false)

    /// The delay before attempt `attempt + 1`, after attempt `attempt` (from 1) failed.
    func delay(after attempt: Int, using generator: inout some RandomNumberGenerator) -> Duration {
        let exponent = min(max(attempt - 1, 0), 30)
        let cap = min(maxDelay, baseDelay * (1 << exponent))
        guard jitter, cap > .zero else { return max(cap, .zero) }
        let nanoseconds = cap.components.seconds * 1_000_000_000 + cap.components.attoseconds / 1_000_000_000
        return .nanoseconds(Int64.random(in: 0...max(nanoseconds, 0), using: &generator))
    }
}

/// Retries a record whose handler threw a retryable error, with backoff, and never sleeps past the record's
/// deadline: when the next wait would end after it, the last error is thrown at once.
///
/// The handler sees the attempt number in ``RecordContext/attempt``; the result's ``RecordResult/attempts`` says how
/// many were made. `CancellationError` is never retried, and a
/// wait cut short by cancellation ends the record with the handler's last error. Waits use the record's
/// ``RecordContext/clock``, the processor's. When the processor traces, each retried attempt's error is recorded on
/// the record's span, followed by a `retry` event (``Instrumentation/SpanEventName/retry``) with the delay.
public struct RetryMiddleware: RecordMiddleware {
    /// The attempts and delays.
    public var strategy: RetryStrategy
    /// Which errors are worth another attempt; all but cancellation by default.
    public var isRetryable: @Sendable (any Error) -> Bool

    /// Creates a retry step.
    public init(
        strategy: RetryStrategy = .exponentialJitter(),
        isRetryable: @escaping @Sendable (any Error) -> Bool = { _ in true }
    ) {
        self.strategy = strategy
        self.isRetryable = isRetryable
    }

    public func handle<Record: BatchRecord>(
        _ record: Record,
        context: RecordContext,
        next: RecordNext<Record>
    ) async throws -> RecordResult {
        var context = context
        var generator = SystemRandomNumberGenerator()
        while true {
            let result = await next(record, context)
            guard let error = result.error, context.attempt < strategy.maxAttempts, !(error is CancellationError),
                isRetryable(error), !Task.isCancelled
            else { return result }
            let delay = strategy.delay(after: context.attempt, using: &generator)
            let clock = context.clock
            if let deadline = context.deadline, clock.now + delay >= deadline {
                context.logger.debug(
                    "not retrying: the next attempt would start after the deadline",
                    metadata: ["attempt": "\(context.attempt)"]
                )
                return result
            }
            context.logger.debug(
                "retrying after failure",
                metadata: ["attempt": "\(context.attempt)", "delay": "\(delay)", "error": "\(error)"]
            )
            if let span = context.span {
                Self.noteRetry(on: span, attempt: context.attempt, error: error, delay: delay)
            }
            if delay > .zero {
                do {
                    try await clock.sleep(until: clock.now + delay, tolerance: nil)
                } catch _ {
                    // Cancelled while waiting (deadline, shutdown): the record failed with what the handler last
                    // threw (not the sleep's error), which says more than the cancellation does.
                    return result
                }
            }
            context.attempt += 1
        }
    }
}

extension RetryMiddleware {
    /// Records the failed attempt's error and the coming retry on the record's span.
    static func noteRetry(on span: any Span, attempt: Int, error: any Error, delay: Duration) {
        typealias Name = Instrumentation.TraceAttribute
        span.recordError(error, attributes: [Name.attempt: .int64(Int64(attempt))])
        span.addEvent(
            SpanEvent(
                name: Instrumentation.SpanEventName.retry,
                attributes: [
                    Name.attempt: .int64(Int64(attempt)),
                    Name.retryDelayMilliseconds: .double(BatchProcessor.milliseconds(delay)),
                ]
            )
        )
    }
}
