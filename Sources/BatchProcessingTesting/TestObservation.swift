public import BatchProcessing
public import InMemoryLogging
public import InMemoryTracing
public import Logging
public import MetricsTestKit
import Synchronization

/// What a processor logged, counted and traced, captured in memory: give its ``logger`` to the invocation and its
/// ``instrumentation`` to the processor, then read ``logs``, ``metrics`` and ``spans``. No global system is
/// bootstrapped, so tests that capture can run in parallel.
///
/// ```swift
/// let observation = TestObservation()
/// let processor = BatchProcessor(configuration: .init(instrumentation: observation.instrumentation))
/// _ = try await processor.process(event, context: .init(logger: observation.logger)) { … }
/// #expect(try observation.metrics.expectCounter("RecordsFailed", [("event_source", "aws:sqs")]).totalValue == 1)
/// ```
public final class TestObservation: Sendable {
    /// Every log entry, with its level, message, metadata and error (swift-log's in-memory handler).
    public let logs: InMemoryLogHandler
    /// Every metric made and its values (swift-metrics' test kit).
    public let metrics: TestMetrics
    /// Every span the processor started (swift-distributed-tracing's in-memory tracer).
    public let tracer: InMemoryTracer
    private let flushes = FlushCounter()

    /// Creates an empty capture.
    public init() {
        logs = InMemoryLogHandler()
        metrics = TestMetrics()
        tracer = InMemoryTracer()
    }

    /// The spans that have ended, in the order they ended (every record's before its batch's).
    public var spans: [FinishedInMemorySpan] { tracer.finishedSpans }

    /// A logger, at `level` (trace by default, so nothing is missed), whose entries land in ``logs``.
    public func logger(level: Logger.Level = .trace) -> Logger {
        var handler = logs
        handler.logLevel = level
        return Logger(label: "test", factory: { _ in handler })
    }

    /// A logger at trace level whose entries land in ``logs``.
    public var logger: Logger { logger() }

    /// The processor's instrumentation: metrics into ``metrics``, spans into ``tracer``, and each flush counted in
    /// ``flushCount``.
    public var instrumentation: Instrumentation {
        Instrumentation(metricsFactory: metrics, flushMetrics: { [flushes] in flushes.increment() }, tracer: tracer)
    }

    /// How many times the processor flushed its metrics (once per batch, also when the batch failed).
    public var flushCount: Int { flushes.count }

    /// The log entries whose message is `message`.
    public func entries(withMessage message: String) -> [InMemoryLogHandler.Entry] {
        logs.entries.filter { $0.message.description == message }
    }
}

private final class FlushCounter: Sendable {
    private let value = Atomic<Int>(0)
    func increment() { value.add(1, ordering: .relaxed) }
    var count: Int { value.load(ordering: .relaxed) }
}
