import BatchProcessingJSONSupport
import Tracing

extension Instrumentation {
    /// The names of the spans the processor starts.
    public enum SpanName {
        /// One span per batch (kind `consumer`), a child of the span current when `process` is called, or else of
        /// the invocation's X-Ray trace (``InvocationContext/traceID``) when the tracer reads it.
        public static let batch = "process batch"
        /// One span per record (kind `consumer`), a child of the batch span, linked to the producer's trace when the
        /// record carries one. A skipped record gets one too, started and ended when the batch ends.
        public static let record = "process record"
    }

    /// The names of the events the processor and its middleware add to a record's span.
    public enum SpanEventName {
        /// ``RetryMiddleware`` is about to wait and try again (attributes ``TraceAttribute/attempt``, the attempt
        /// that failed, and ``TraceAttribute/retryDelayMilliseconds``); the failed attempt's error is recorded too.
        public static let retry = "retry"
    }

    /// The attribute names on the processor's spans. Those under `batch.` are this library's; the others follow
    /// OpenTelemetry's semantic conventions.
    public enum TraceAttribute {
        /// Batch and record spans: the event source (`aws:sqs`, `aws:kinesis`, …).
        public static let eventSource = "batch.event_source"
        /// Batch span: how many records the batch holds.
        public static let recordCount = "batch.record_count"
        /// Batch span: the failure policy the batch ran under (`continue`, `stop-on-first-failure`, …).
        public static let policy = "batch.policy"
        /// Batch span: how many records could run at once.
        public static let maxConcurrency = "batch.max_concurrency"
        /// Batch span, at its end: records that succeeded, failed, were skipped, and were reported to Lambda.
        public static let succeededCount = "batch.records_succeeded"
        /// Batch span, at its end: records whose handler or middleware threw.
        public static let failedCount = "batch.records_failed"
        /// Batch span, at its end: records not run.
        public static let skippedCount = "batch.records_skipped"
        /// Batch span, at its end: entries of the partial batch response.
        public static let reportedCount = "batch.records_reported"
        /// Batch span, at its end: extra attempts made by retrying middleware over all records.
        public static let retryCount = "batch.retries"
        /// Record span: the record's 0-based position in the batch.
        public static let recordIndex = "batch.record.index"
        /// Record span: the record's item identifier as the partial batch response writes it.
        public static let itemIdentifier = "batch.record.item_identifier"
        /// Record span: how many attempts the record took (1 without retries, 0 when skipped).
        public static let attempts = "batch.record.attempts"
        /// Record span of a replayed record (``RecordResult/replay``): where its completed idempotency key was
        /// found, `memory` or `store`.
        public static let replayedFrom = "batch.idempotency.replayed_from"
        /// Record span: `succeeded`, `failed` or `skipped`.
        public static let outcome = "batch.record.outcome"
        /// Record span of a skipped record: ``RecordOutcome/SkipReason/code`` (`earlier_failure`,
        /// `same_key_failed`, `deadline`, `cancelled`).
        public static let skipReason = "batch.record.skip_reason"
        /// Record span of a record skipped because another failed: that record's index.
        public static let skipCauseIndex = "batch.record.skip_cause_index"
        /// Retry event and recorded errors: the attempt (from 1) that failed.
        public static let attempt = "batch.record.attempt"
        /// Retry event: how long the middleware waits before the next attempt, in milliseconds.
        public static let retryDelayMilliseconds = "batch.retry.delay_ms"
        /// Record span: the producer's trace id the record carried (``BatchRecord/producerTraceID``).
        public static let producerTraceID = "batch.record.producer_trace_id"
        /// Batch and record spans: `aws_sqs` or `kafka` (OpenTelemetry defines no name for the streams).
        public static let messagingSystem = "messaging.system"
        /// Record span of an SQS message: its `messageId`.
        public static let messageID = "messaging.message.id"
        /// Batch span: how many records the batch holds.
        public static let batchMessageCount = "messaging.batch.message_count"
        /// Batch span: the Lambda request id.
        public static let invocationID = "faas.invocation_id"
    }
}

/// The spans of one batch: made only when a tracer is bootstrapped (or configured), so that a process without one
/// does no tracing work at all.
final class BatchTracing: Sendable {
    let tracer: any Tracer
    let span: any Span

    private init(tracer: any Tracer, span: any Span) {
        self.tracer = tracer
        self.span = span
    }

    /// Starts the batch span with `configured` or else the bootstrapped tracer; `nil` when that is the no-op one.
    static func start(configured: (any Tracer)?, invocation: InvocationContext) -> BatchTracing? {
        let tracer = configured ?? InstrumentationSystem.tracer
        if tracer is NoOpTracer { return nil }
        var parent = InstrumentationContext.current ?? .topLevel
        if InstrumentationContext.current == nil, let header = invocation.traceID {
            // In Lambda the batch belongs to the invocation's trace; a tracer that reads X-Ray or W3C headers
            // finds its segment here.
            tracer.extract(header, into: &parent, using: InvocationTraceExtractor())
        }
        let span = tracer.startSpan(Instrumentation.SpanName.batch, context: parent, ofKind: .consumer)
        if let requestID = invocation.requestID {
            span.attributes[Instrumentation.TraceAttribute.invocationID] = requestID
        }
        return BatchTracing(tracer: tracer, span: span)
    }

    /// Notes what the run is about to do.
    func describe(source: BatchEventSource?, recordCount: Int, policy: FailurePolicy, maxConcurrency: Int) {
        typealias Name = Instrumentation.TraceAttribute
        span.updateAttributes { attributes in
            if let source {
                attributes[Name.eventSource] = source.rawValue
                if let system = source.messagingSystem { attributes[Name.messagingSystem] = system }
            }
            attributes[Name.recordCount] = recordCount
            attributes[Name.batchMessageCount] = recordCount
            attributes[Name.policy] = policy.name
            attributes[Name.maxConcurrency] = maxConcurrency
        }
    }

    /// Starts a record's span under the batch span, linked to the producer's trace when the tracer finds one in
    /// the record's trace headers.
    func startRecord<Record: BatchRecord>(_ record: Record, index: Int, identifier: ItemIdentifier) -> RecordTrace {
        var producer = InstrumentationContext.topLevel
        tracer.extract(record, into: &producer, using: RecordTraceExtractor<Record>())
        let recordSpan = tracer.startSpan(Instrumentation.SpanName.record, context: span.context, ofKind: .consumer)
        let source = record.batchSource
        typealias Name = Instrumentation.TraceAttribute
        recordSpan.updateAttributes { attributes in
            attributes[Name.eventSource] = source.rawValue
            attributes[Name.recordIndex] = index
            attributes[Name.itemIdentifier] = identifier.description
            if let system = source.messagingSystem { attributes[Name.messagingSystem] = system }
            if source == .sqs { attributes[Name.messageID] = identifier.description }
            if let traceID = record.producerTraceID { attributes[Name.producerTraceID] = traceID }
        }
        if !producer.isEmpty {
            recordSpan.addLink(SpanLink(context: producer, attributes: [:]))
        }
        return RecordTrace(span: recordSpan, producerContext: producer.isEmpty ? nil : producer)
    }

    /// Ends the span of a record that ran: its attempts and outcome, where a replay was found, and its error when
    /// it failed.
    func endRecord(_ trace: RecordTrace, result: RecordResult) {
        typealias Name = Instrumentation.TraceAttribute
        trace.span.updateAttributes { attributes in
            attributes[Name.attempts] = result.attempts
            attributes[Name.outcome] = result.succeeded ? "succeeded" : "failed"
            if let replay = result.replay { attributes[Name.replayedFrom] = replay.rawValue }
        }
        if let error = result.error {
            trace.span.recordError(error, attributes: [Name.attempt: .int64(Int64(result.attempts))])
            trace.span.setStatus(SpanStatus(code: .error, message: String(describing: error)))
        }
        trace.span.end()
    }

    /// Gives every skipped record its span, and the batch span its counts.
    func finish<Record: BatchRecord>(_ result: BatchResult, records: [Record]) {
        typealias Name = Instrumentation.TraceAttribute
        for outcome in result.outcomes {
            guard let reason = outcome.skipReason, outcome.index < records.count else { continue }
            let trace = startRecord(records[outcome.index], index: outcome.index, identifier: outcome.itemIdentifier)
            trace.span.updateAttributes { attributes in
                attributes[Name.attempts] = 0
                attributes[Name.outcome] = "skipped"
                attributes[Name.skipReason] = reason.code
                if let cause = reason.failedRecordIndex { attributes[Name.skipCauseIndex] = cause }
            }
            trace.span.end()
        }
        span.updateAttributes { attributes in
            attributes[Name.succeededCount] = result.succeededCount
            attributes[Name.failedCount] = result.failedCount
            attributes[Name.skippedCount] = result.skippedCount
            attributes[Name.reportedCount] = result.response.batchItemFailures.count
            attributes[Name.retryCount] = result.outcomes.reduce(0) { $0 + max($1.attempts - 1, 0) }
        }
    }

    /// Marks the batch span failed: the invocation fails as a whole.
    func fail(_ error: BatchProcessingError) {
        span.recordError(error)
        span.setStatus(SpanStatus(code: .error, message: error.message))
    }

    func end() {
        span.end()
    }
}

/// A record's span and the producer's trace context it links to.
final class RecordTrace: Sendable {
    let span: any Span
    let producerContext: InstrumentationContext?

    init(span: any Span, producerContext: InstrumentationContext?) {
        self.span = span
        self.producerContext = producerContext
    }
}

/// Reads a record's trace headers for the tracer (``BatchRecord/traceHeader(named:)``).
struct RecordTraceExtractor<Record: BatchRecord>: Extractor {
    func extract(key: String, from carrier: Record) -> String? {
        carrier.traceHeader(named: key)
    }
}

/// Reads the invocation's X-Ray trace header for the tracer, as `X-Amzn-Trace-Id` or as a W3C `traceparent`.
struct InvocationTraceExtractor: Extractor {
    func extract(key: String, from carrier: String) -> String? {
        if key.caseInsensitiveEquals(TraceHeaderName.xRay) { return carrier }
        if key.caseInsensitiveEquals(TraceHeaderName.traceparent) { return XRay.traceparent(fromTraceHeader: carrier) }
        return nil
    }
}

extension BatchEventSource {
    /// OpenTelemetry's `messaging.system` value, for the sources it names.
    var messagingSystem: String? {
        if self == .sqs { return "aws_sqs" }
        if isKafka { return "kafka" }
        return nil
    }
}
