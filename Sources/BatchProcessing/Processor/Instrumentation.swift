public import CoreMetrics
import Logging
import Synchronization
public import Tracing

/// How the processor reports what it does: metrics through swift-metrics, logs through each invocation's
/// logger, spans through swift-distributed-tracing, and a flush at the end of every batch.
///
/// The processor knows only the swift-metrics, swift-log and swift-distributed-tracing APIs; the Observability
/// module supplies the log and metric backends (EMF and JSON or journald) and its `flushMetrics` for
/// ``flushMetrics``; a tracer such as swift-otel's is yours to bootstrap (see <doc:TracingBatches>).
public struct Instrumentation: Sendable {
    /// Where metrics go; `nil` means the global `MetricsSystem.factory` at the processor's creation (so
    /// bootstrap metrics before creating the processor).
    public var metricsFactory: (any MetricsFactory)?
    /// Called at the end of every batch, also when the invocation fails, to write the batch's metrics.
    public var flushMetrics: (@Sendable () -> Void)?
    /// Adds each failed record's payload (SQS body, Kinesis data, DynamoDB keys and images) to its log line.
    /// Off by default: payloads may hold personal data.
    public var logsRecordPayloads: Bool
    /// The most bytes of a payload a log line holds (UTF-8, cut at a character boundary); a longer payload is cut
    /// and ends with ``truncationMarker`` and its full size. 4,096 by default, so that a large body neither
    /// floods the logs nor passes CloudWatch's event size.
    public var payloadLogLimit: Int
    /// Where spans go: a span per batch and per record (``SpanName``). `nil` (the default) means the tracer
    /// bootstrapped with `InstrumentationSystem.bootstrap`, or bound to the task with `withTracer`, looked up at
    /// the start of each batch. Without one (the no-op tracer) the processor starts no span and reads no trace
    /// header: tracing costs nothing. `NoOpTracer()` turns tracing off for this processor.
    public var tracer: (any Tracer)?

    /// What ends a payload that was cut: `… [truncated: N bytes in all]`.
    public static let truncationMarker = "… [truncated: "

    /// Creates instrumentation settings.
    public init(
        metricsFactory: (any MetricsFactory)? = nil,
        flushMetrics: (@Sendable () -> Void)? = nil,
        logsRecordPayloads: Bool = false,
        payloadLogLimit: Int = 4096,
        tracer: (any Tracer)? = nil
    ) {
        self.metricsFactory = metricsFactory
        self.flushMetrics = flushMetrics
        self.logsRecordPayloads = logsRecordPayloads
        self.payloadLogLimit = payloadLogLimit
        self.tracer = tracer
    }

    /// `payload` as logged: whole when it fits ``payloadLogLimit``, else cut at a character boundary with the
    /// marker and the payload's full size in bytes.
    func loggedPayload(_ payload: String) -> String {
        let size = payload.utf8.count
        guard size > payloadLogLimit else { return payload }
        var kept = 0
        var end = payload.startIndex
        for index in payload.indices {
            let characterSize = payload[index].utf8.count
            guard kept + characterSize <= max(payloadLogLimit, 0) else { break }
            kept += characterSize
            end = payload.index(after: index)
        }
        return String(payload[..<end]) + Self.truncationMarker + "\(size) bytes in all]"
    }

    /// The metric names the processor emits, each with the `event_source` dimension (plus the backend's
    /// defaults, such as `service`). Dashboards and alarms are built on these names.
    public enum MetricName {
        /// Count: records in the batch.
        public static let recordsReceived = "RecordsReceived"
        /// Count: records whose handler returned (and that are not reported).
        public static let recordsSucceeded = "RecordsSucceeded"
        /// Count: records whose handler or middleware threw.
        public static let recordsFailed = "RecordsFailed"
        /// Count: records not run because of the policy, the deadline or cancellation.
        public static let recordsSkipped = "RecordsSkipped"
        /// Count: entries in the partial batch response (records Lambda will deliver again).
        public static let recordsReported = "RecordsReported"
        /// Count: extra attempts made by retrying middleware.
        public static let recordRetries = "RecordRetries"
        /// Count: records answered from a completed idempotency key, their handler not run
        /// (``RecordResult/replay``). Written only for batches that had a replay.
        public static let recordsReplayed = "RecordsReplayed"
        /// Milliseconds: how long each record that ran took, all attempts included.
        public static let recordDuration = "RecordDuration"
        /// Milliseconds: how long the whole batch took.
        public static let batchDuration = "BatchDuration"
        /// Count: batches whose invocation failed as a whole (every record failed, a missing identifier).
        public static let batchFailures = "BatchFailures"

        /// Every name, in the order above.
        public static let all = [
            recordsReceived, recordsSucceeded, recordsFailed, recordsSkipped, recordsReported, recordRetries,
            recordDuration, batchDuration, batchFailures, recordsReplayed,
        ]
    }

    /// The dimension every processor metric carries: the event source (`aws:sqs`, `aws:kinesis`,
    /// `aws:dynamodb`).
    public static let eventSourceDimension = "event_source"
}

/// The metric objects of one event source, made once when the processor is made.
final class SourceInstruments: Sendable {
    let received: Counter
    let succeeded: Counter
    let failed: Counter
    let skipped: Counter
    let reported: Counter
    let retries: Counter
    let replayed: Counter
    let recordDuration: Timer
    let batchDuration: Timer
    let batchFailures: Counter

    init(source: BatchEventSource, factory: any MetricsFactory) {
        let dimensions = [(Instrumentation.eventSourceDimension, source.rawValue)]
        typealias Name = Instrumentation.MetricName
        received = Counter(label: Name.recordsReceived, dimensions: dimensions, factory: factory)
        succeeded = Counter(label: Name.recordsSucceeded, dimensions: dimensions, factory: factory)
        failed = Counter(label: Name.recordsFailed, dimensions: dimensions, factory: factory)
        skipped = Counter(label: Name.recordsSkipped, dimensions: dimensions, factory: factory)
        reported = Counter(label: Name.recordsReported, dimensions: dimensions, factory: factory)
        retries = Counter(label: Name.recordRetries, dimensions: dimensions, factory: factory)
        replayed = Counter(label: Name.recordsReplayed, dimensions: dimensions, factory: factory)
        recordDuration = Timer(label: Name.recordDuration, dimensions: dimensions, factory: factory)
        batchDuration = Timer(label: Name.batchDuration, dimensions: dimensions, factory: factory)
        batchFailures = Counter(label: Name.batchFailures, dimensions: dimensions, factory: factory)
    }
}

/// Every source's instruments, made once per processor: the built-in sources' at once, a custom source's the first
/// time one of its batches ends.
final class Instruments: Sendable {
    private let factory: any MetricsFactory
    private let builtIn: [BatchEventSource: SourceInstruments]
    private let custom = Mutex<[BatchEventSource: SourceInstruments]>([:])
    /// `BatchFailures` without an `event_source` dimension: for events whose source could not be told.
    let batchFailuresOfUnknownSource: Counter

    init(factory: any MetricsFactory) {
        self.factory = factory
        var builtIn: [BatchEventSource: SourceInstruments] = [:]
        for source in BatchEventSource.all {
            builtIn[source] = SourceInstruments(source: source, factory: factory)
        }
        self.builtIn = builtIn
        batchFailuresOfUnknownSource = Counter(
            label: Instrumentation.MetricName.batchFailures,
            dimensions: [],
            factory: factory
        )
    }

    /// The instruments of `source`.
    func forSource(_ source: BatchEventSource) -> SourceInstruments {
        if let instruments = builtIn[source] { return instruments }
        return custom.withLock { custom in
            if let instruments = custom[source] { return instruments }
            let instruments = SourceInstruments(source: source, factory: factory)
            custom[source] = instruments
            return instruments
        }
    }
}

/// Whether this process has finished a batch yet: the first batch of a process is its cold start.
enum ColdStart {
    private static let done = Atomic<Bool>(false)

    /// True for the first call in the process, false after.
    static func take() -> Bool {
        !done.exchange(true, ordering: .relaxed)
    }
}
