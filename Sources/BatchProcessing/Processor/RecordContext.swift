public import Logging
public import Tracing

/// What a handler and each middleware know about the record being processed.
public struct RecordContext: Sendable {
    /// The record's 0-based position in the batch.
    public let index: Int
    /// The record's item identifier (SQS `messageId`, stream sequence number).
    public let itemIdentifier: ItemIdentifier
    /// The service that delivered the record.
    public var eventSource: BatchEventSource { scope.eventSource }
    /// The attempt being made, from 1. ``RetryMiddleware`` raises it before each new attempt; the chain's
    /// ``RecordResult/attempts`` tells the processor how many were made.
    public var attempt: Int
    /// The instant by which the record should be done: the invocation's deadline less the processor's
    /// margin. `nil` when the invocation has no deadline. Work that would run past it should not start.
    public var deadline: ContinuousClock.Instant? { scope.deadline }
    /// A logger carrying the record's metadata (`record_index`, `item_identifier`, `event_source`, and
    /// `record_trace_id` when the record carries a producer's trace) and the invocation's (`function_request_id`,
    /// `function_name`, `xray_trace_id`, `cold_start`, when known).
    ///
    /// Made when asked for, so that a record whose handler does not log costs no metadata work; a logger you set
    /// (with metadata of your own) is kept as it is.
    public var logger: Logger {
        get {
            storedLogger
                ?? Self.recordLogger(
                    base: scope.baseLogger,
                    index: index,
                    itemIdentifier: itemIdentifier,
                    eventSource: eventSource,
                    extra: scope.recordMetadata(index)
                )
        }
        set { storedLogger = newValue }
    }
    private var storedLogger: Logger?
    /// The level of ``logger``, known without making the record's logger: check it before building a line that
    /// costs something to make.
    public var logLevel: Logger.Level { storedLogger?.logLevel ?? scope.baseLogger.logLevel }
    /// What every record of the batch shares, held once rather than copied into every context.
    private let scope: BatchScope
    /// The record's span, when the processor traces.
    private let trace: RecordTrace?

    /// The record's span, when a tracer is bootstrapped (see ``Instrumentation/tracer``); `nil` otherwise. Add
    /// attributes and events of your own to it; the processor ends it when the record ends. While the chain runs,
    /// the span's context is also `InstrumentationContext.current`, so spans you start (`withSpan`) are its
    /// children, and a logging metadata provider that reads the current span (swift-otel's) tags lines with it.
    public var span: (any Span)? { trace?.span }

    /// The producer's trace context as the tracer read it from the record's trace headers: the context the
    /// record's span links to. `nil` without a tracer, or when the record carries no trace the tracer reads.
    public var producerTraceContext: InstrumentationContext? { trace?.producerContext }

    /// The id of the trace the producer sent the record in (``BatchRecord/producerTraceID``): the X-Ray root of an
    /// SQS message's `AWSTraceHeader`, or the trace id of a W3C `traceparent`. Known with or without a tracer, and
    /// written in the record's log lines as `record_trace_id`.
    public var producerTraceID: String? { TraceHeaderName.producerTraceID { traceHeader(named: $0) } }

    /// The value of a trace header the record carries (``BatchRecord/traceHeader(named:)``).
    public func traceHeader(named name: String) -> String? { scope.traceHeader(index, name) }
    /// The invocation this record belongs to.
    public var invocation: InvocationContext { scope.invocation }
    /// The processor's clock: measure and wait with it (``RetryMiddleware`` does), so that tests with a manual
    /// clock need not sleep.
    public var clock: any BatchClock { scope.clock }

    /// Creates a context; the processor does this for you, tests of a middleware may do it by hand.
    public init(
        index: Int,
        itemIdentifier: ItemIdentifier,
        eventSource: BatchEventSource,
        attempt: Int = 1,
        deadline: ContinuousClock.Instant? = nil,
        logger: Logger? = nil,
        invocation: InvocationContext = InvocationContext(),
        clock: any BatchClock = ContinuousClock(),
        span: (any Span)? = nil
    ) {
        self.init(
            index: index,
            itemIdentifier: itemIdentifier,
            attempt: attempt,
            trace: span.map { RecordTrace(span: $0, producerContext: nil) },
            scope: BatchScope(
                eventSource: eventSource,
                deadline: deadline,
                baseLogger: logger ?? invocation.loggerWithMetadata(coldStart: nil),
                invocation: invocation,
                clock: clock
            )
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

    /// The processor's initialiser: the batch's scope is shared by every record.
    init(index: Int, itemIdentifier: ItemIdentifier, attempt: Int, trace: RecordTrace? = nil, scope: BatchScope) {
        self.index = index
        self.itemIdentifier = itemIdentifier
        self.attempt = attempt
        self.trace = trace
        self.scope = scope
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

/// What every record of one batch shares: made once per batch, referenced by every record's context.
final class BatchScope: Sendable {
    let eventSource: BatchEventSource
    let deadline: ContinuousClock.Instant?
    /// The invocation's logger with its metadata; each record's logger adds the record's keys.
    let baseLogger: Logger
    let invocation: InvocationContext
    let clock: any BatchClock
    /// The log keys a record adds (``BatchRecord/logMetadata`` and `record_trace_id`), by record index; read only
    /// when a record's logger is made, so a record that logs nothing costs nothing here.
    let recordMetadata: @Sendable (Int) -> [String: String]
    /// A record's trace header (``BatchRecord/traceHeader(named:)``), by record index and name.
    let traceHeader: @Sendable (Int, String) -> String?

    init(
        eventSource: BatchEventSource,
        deadline: ContinuousClock.Instant?,
        baseLogger: Logger,
        invocation: InvocationContext,
        clock: any BatchClock,
        recordMetadata: @escaping @Sendable (Int) -> [String: String] = { _ in [:] },
        traceHeader: @escaping @Sendable (Int, String) -> String? = { _, _ in nil }
    ) {
        self.eventSource = eventSource
        self.deadline = deadline
        self.baseLogger = baseLogger
        self.invocation = invocation
        self.clock = clock
        self.recordMetadata = recordMetadata
        self.traceHeader = traceHeader
    }
}
