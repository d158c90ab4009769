public import Logging

/// What a handler and each middleware know about the record being processed.
public struct RecordContext: Sendable {
    /// The record's 0-based position in the batch.
    public let index: Int
    /// The record's item identifier (SQS `messageId`, stream sequence number).
    public let itemIdentifier: String
    /// The service that delivered the record.
    public let eventSource: BatchEventSource
    /// The attempt being made, from 1. ``RetryMiddleware`` raises it before each new attempt.
    public var attempt: Int
    /// The instant by which the record should be done: the invocation's deadline less the processor's
    /// margin. `nil` when the invocation has no deadline. Work that would run past it should not start.
    public let deadline: ContinuousClock.Instant?
    /// A logger carrying the record's metadata (`record_index`, `item_identifier`, `event_source`, and the
    /// invocation's request id and function name when known).
    public var logger: Logger
    /// The invocation this record belongs to.
    public let invocation: InvocationContext

    /// Creates a context; the processor does this for you, tests of a middleware may do it by hand.
    public init(
        index: Int,
        itemIdentifier: String,
        eventSource: BatchEventSource,
        attempt: Int = 1,
        deadline: ContinuousClock.Instant? = nil,
        logger: Logger? = nil,
        invocation: InvocationContext = InvocationContext()
    ) {
        self.index = index
        self.itemIdentifier = itemIdentifier
        self.eventSource = eventSource
        self.attempt = attempt
        self.deadline = deadline
        self.invocation = invocation
        var logger = logger ?? invocation.logger
        logger[metadataKey: "record_index"] = "\(index)"
        logger[metadataKey: "item_identifier"] = "\(itemIdentifier)"
        logger[metadataKey: "event_source"] = "\(eventSource.rawValue)"
        if let requestID = invocation.requestID {
            logger[metadataKey: "function_request_id"] = "\(requestID)"
        }
        if let functionName = invocation.functionName {
            logger[metadataKey: "function_name"] = "\(functionName)"
        }
        self.logger = logger
    }

    /// The Lambda request id of the invocation.
    public var requestID: String? { invocation.requestID }
    /// The function's name.
    public var functionName: String? { invocation.functionName }

    /// The time left before ``deadline``, or `nil` without a deadline.
    public var remainingTime: Duration? {
        deadline.map { ContinuousClock.now.duration(to: $0) }
    }
}
