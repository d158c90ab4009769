import BatchProcessing
import Benchmark
import CoreMetrics
import EMFMetrics
import Foundation
import JSONLogging
import JournaldLogging
import Logging
import Synchronization
import Tracing

/// A batch of `count` SQS messages on a standard queue.
func sqsBatch(_ count: Int) -> [SQSEvent.Message] {
    (0..<count).map { SQSEvent.Message(messageId: "msg-\($0)", body: "{\"orderId\":\($0)}") }
}

/// Writes nowhere, so that the measurement is the work of formatting, not of the terminal.
let discard = LineWriter { _ in }

/// No logs and no metrics: the processor's own cost.
func bareProcessor() -> (BatchProcessor, InvocationContext) {
    let processor = BatchProcessor(
        configuration: .init(instrumentation: .init(metricsFactory: NOOPMetricsHandler.instance))
    )
    let logger = Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() }
    return (processor, InvocationContext(requestID: "req", logger: logger))
}

/// Everything on: JSON logs (a line per failed record and a summary) and EMF metrics, flushed every batch.
func instrumentedProcessor() throws -> (BatchProcessor, InvocationContext) {
    let metrics = try EMFMetricsFactory(
        configuration: .init(
            namespace: "Bench",
            defaultDimensions: [("service", "bench")],
            output: { discard.write(line: $0) }
        )
    )
    let processor = BatchProcessor(
        configuration: .init(instrumentation: .init(metricsFactory: metrics, flushMetrics: metrics.flush))
    )
    let configuration = JSONLogHandler.Configuration(service: "bench", output: discard)
    let logger = Logger(label: "bench") { JSONLogHandler(label: $0, configuration: configuration) }
    return (processor, InvocationContext(requestID: "req", functionName: "bench-fn", logger: logger))
}

/// A tracer whose spans keep what they are given (attributes, events, errors, links) under a lock, as a real
/// tracer's do, and are dropped when they end: the processor's tracing work without an exporter's.
struct KeepingTracer: Tracer {
    final class KeptSpan: Tracing.Span {
        struct State {
            var operationName: String
            var attributes: SpanAttributes = [:]
            var events: [SpanEvent] = []
            var links: [SpanLink] = []
            var errors = 0
            var status: SpanStatus?
        }

        let context: InstrumentationContext
        private let state: Mutex<State>

        init(operationName: String, context: InstrumentationContext) {
            self.context = context
            state = Mutex(State(operationName: operationName))
        }

        var operationName: String {
            get { state.withLock { $0.operationName } }
            set { state.withLock { $0.operationName = newValue } }
        }
        var attributes: SpanAttributes {
            get { state.withLock { $0.attributes } }
            set { state.withLock { $0.attributes = newValue } }
        }
        var isRecording: Bool { true }
        func setStatus(_ status: SpanStatus) { state.withLock { $0.status = status } }
        func addEvent(_ event: SpanEvent) { state.withLock { $0.events.append(event) } }
        func addLink(_ link: SpanLink) { state.withLock { $0.links.append(link) } }
        func recordError<Instant: TracerInstant>(
            _ error: any Error,
            attributes: SpanAttributes,
            at instant: @autoclosure () -> Instant
        ) {
            state.withLock { $0.errors += 1 }
        }
        func end<Instant: TracerInstant>(at instant: @autoclosure () -> Instant) { blackHole(instant()) }
    }

    func startSpan<Instant: TracerInstant>(
        _ operationName: String,
        context: @autoclosure () -> InstrumentationContext,
        ofKind kind: SpanKind,
        at instant: @autoclosure () -> Instant,
        function: String,
        file fileID: String,
        line: UInt
    ) -> KeptSpan {
        blackHole(instant())
        return KeptSpan(operationName: operationName, context: context())
    }

    func extract<Carrier, Extract: Extractor>(
        _ carrier: Carrier,
        into context: inout InstrumentationContext,
        using extractor: Extract
    ) where Extract.Carrier == Carrier {
        blackHole(extractor.extract(key: "traceparent", from: carrier))
    }

    func inject<Carrier, Inject: Injector>(
        _ context: InstrumentationContext,
        into carrier: inout Carrier,
        using injector: Inject
    ) where Inject.Carrier == Carrier {}

    func forceFlush() {}
}

/// Fails every tenth record, so failure lines are part of the cost.
let tenPercentFailing: RecordHandler<SQSEvent.Message> = { message, context in
    if context.index % 10 == 0 { throw FaultInjected() }
}

struct FaultInjected: Error {}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput],
        scalingFactor: .one,
        maxDuration: .seconds(5),
        maxIterations: 50
    )
    let batch = sqsBatch(1000)

    Benchmark("Process 1000 SQS records, no instrumentation") { benchmark in
        let (processor, context) = bareProcessor()
        for _ in benchmark.scaledIterations {
            let result = try await processor.process(batch, context: context, handler: tenPercentFailing)
            blackHole(result)
        }
    }

    let lineMetadata: Logger.Metadata = [
        "record_index": "17", "item_identifier": "059f36b4-87a3-44ab-83d2-661975f4b6a1", "event_source": "aws:sqs",
        "attempt": "1", "policy": "continue",
    ]

    Benchmark("One JSON log line (5 metadata keys)", configuration: .init(scalingFactor: .kilo)) { benchmark in
        let configuration = JSONLogHandler.Configuration(service: "bench", output: discard)
        let logger = Logger(label: "bench") { JSONLogHandler(label: $0, configuration: configuration) }
        for _ in benchmark.scaledIterations {
            logger.error("record failed", metadata: lineMetadata)
        }
    }

    Benchmark("One EMF flush (8 metrics, 1 value each)", configuration: .init(scalingFactor: .kilo)) { benchmark in
        let metrics = try EMFMetricsFactory(
            configuration: .init(
                namespace: "Bench",
                defaultDimensions: [("service", "bench")],
                output: { discard.write(line: $0) }
            )
        )
        let counters = (0..<8).map {
            metrics.makeCounter(label: "Metric\($0)", dimensions: [("event_source", "aws:sqs")])
        }
        for _ in benchmark.scaledIterations {
            for counter in counters { counter.increment(by: 1) }
            metrics.flush()
        }
    }

    // Only where a journal listens (as under `scripts/with-journald.sh`): otherwise entries would go to the fallback.
    if FileManager.default.fileExists(atPath: JournaldLogHandler.defaultSocketPath) {
        Benchmark("One journald entry (5 metadata keys)", configuration: .init(scalingFactor: .kilo)) { benchmark in
            let logger = Logger(label: "bench") {
                JournaldLogHandler(label: $0, syslogIdentifier: "bench", fallback: discard)
            }
            for _ in benchmark.scaledIterations {
                logger.error("record failed", metadata: lineMetadata)
            }
        }
    }

    Benchmark("Process 1000 SQS records, a span per record (no exporter)") { benchmark in
        let processor = BatchProcessor(
            configuration: .init(
                instrumentation: .init(metricsFactory: NOOPMetricsHandler.instance, tracer: KeepingTracer())
            )
        )
        let logger = Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() }
        let context = InvocationContext(requestID: "req", logger: logger)
        for _ in benchmark.scaledIterations {
            let result = try await processor.process(batch, context: context, handler: tenPercentFailing)
            blackHole(result)
        }
    }

    Benchmark("Process 1000 SQS records, JSON logs + EMF metrics") { benchmark in
        let (processor, context) = try instrumentedProcessor()
        for _ in benchmark.scaledIterations {
            let result = try await processor.process(batch, context: context, handler: tenPercentFailing)
            blackHole(result)
        }
    }
}
