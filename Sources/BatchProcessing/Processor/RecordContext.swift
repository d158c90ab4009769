public import Logging

/// What a handler and each middleware know about the record being processed.
public struct RecordContext: Sendable {
    /// The record's 0-based position in the batch.
    public let index: Int
    /// The record's item identifier (SQS `messageId`, stream sequence number).
    public let itemIdentifier: ItemIdentifier
    /// The service that delivered the record.
    public let eventSource: BatchEventSource
    /// The attempt being made, from 1. ``RetryMiddleware`` raises it before each new attempt.
    public var attempt: Int
    /// The instant by which the record should be done: the invocation's deadline less the processor's
    /// margin. `nil` when the invocation has no deadline. Work that would run past it should not start.
    public let deadline: ContinuousClock.Instant?
    /// A logger carrying the record's metadata (`record_index`, `item_identifier`, `event_source`) and the
    /// invocation's (`function_request_id`, `function_name`, `xray_trace_id`, `cold_start`, when known).
    ///
    /// Made when asked for, so that a record whose handler does not log costs no metadata work; a logger you set
    /// (with metadata of your own) is kept as it is.
    public var logger: Logger {
        get {
            storedLogger
                ?? Self.recordLogger(
                    base: baseLogger,
                    index: index,
                    itemIdentifier: itemIdentifier,
                    eventSource: eventSource,
                    extra: extraMetadata
                )
        }
        set { storedLogger = newValue }
    }
    private var storedLogger: Logger?
    private let baseLogger: Logger
    private let extraMetadata: [String: String]
    /// The invocation this record belongs to.
    public let invocation: InvocationContext
    /// The processor's clock: measure and wait with it (``RetryMiddleware`` does), so that tests with a manual
    /// clock need not sleep.
    public let clock: any BatchClock
    /// Shared by every copy of this context, so the processor learns how many attempts the record took.
    let attemptTracker: AttemptTracker?

    /// Creates a context; the processor does this for you, tests of a middleware may do it by hand.
    public init(
        index: Int,
        itemIdentifier: ItemIdentifier,
        eventSource: BatchEventSource,
        attempt: Int = 1,
        deadline: ContinuousClock.Instant? = nil,
        logger: Logger? = nil,
        invocation: InvocationContext = InvocationContext(),
        clock: any BatchClock = ContinuousClock()
    ) {
        self.init(
            index: index,
            itemIdentifier: itemIdentifier,
            eventSource: eventSource,
            attempt: attempt,
            deadline: deadline,
            baseLogger: logger ?? invocation.loggerWithMetadata(coldStart: nil),
            extraMetadata: [:],
            invocation: invocation,
            clock: clock,
            attemptTracker: nil
        )
    }

    /// `base` with the record's keys added.
    static func recordLogger(
        base: Logger,
        index: Int,
        itemIdentifier: ItemIdentifier,
        eventSource: BatchEventSource,
        extra: [String: String] = [:]
    ) -> Logger {
        var logger = base
        for (key, value) in extra { logger[metadataKey: key] = .string(value) }
        logger[metadataKey: "record_index"] = .stringConvertible(index)
        logger[metadataKey: "item_identifier"] = .string(itemIdentifier.description)
        logger[metadataKey: "event_source"] = .string(eventSource.rawValue)
        return logger
    }

    /// The processor's initialiser: `logger` already carries the invocation's metadata.
    init(
        index: Int,
        itemIdentifier: ItemIdentifier,
        eventSource: BatchEventSource,
        attempt: Int,
        deadline: ContinuousClock.Instant?,
        baseLogger: Logger,
        extraMetadata: [String: String],
        invocation: InvocationContext,
        clock: any BatchClock,
        attemptTracker: AttemptTracker?
    ) {
        self.index = index
        self.itemIdentifier = itemIdentifier
        self.eventSource = eventSource
        self.attempt = attempt
        self.deadline = deadline
        self.invocation = invocation
        self.baseLogger = baseLogger
        self.extraMetadata = extraMetadata
        self.clock = clock
        self.attemptTracker = attemptTracker
    }

    /// The Lambda request id of the invocation.
    public var requestID: String? { invocation.requestID }
    /// The function's name.
    public var functionName: String? { invocation.functionName }

    /// The time left before ``deadline``, or `nil` without a deadline.
    public var remainingTime: Duration? {
        deadline.map { clock.now.duration(to: $0) }
    }
}
