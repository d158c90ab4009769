import BatchProcessing
import Benchmark
import CoreMetrics
import EMFMetrics
import Foundation
import JSONLogging
import JournaldLogging
import Logging

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

    Benchmark("Process 1000 SQS records, JSON logs + EMF metrics") { benchmark in
        let (processor, context) = try instrumentedProcessor()
        for _ in benchmark.scaledIterations {
            let result = try await processor.process(batch, context: context, handler: tenPercentFailing)
            blackHole(result)
        }
    }
}
