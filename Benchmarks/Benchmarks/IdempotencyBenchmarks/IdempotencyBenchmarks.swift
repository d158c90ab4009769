import BatchIdempotency
import BatchProcessing
import Benchmark
import CoreMetrics
import Foundation
import Logging

/// A batch of `count` SQS messages with distinct identifiers, made fresh for each iteration so that every record
/// is a first delivery (a claim and a completion), not a replay.
func freshBatch(_ count: Int, iteration: Int) -> [SQSEvent.Message] {
    (0..<count).map { SQSEvent.Message(messageId: "it\(iteration)-msg-\($0)", body: "{\"orderId\":\($0)}") }
}

let quiet = InvocationContext(requestID: "req", logger: Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() })

func processor(_ middleware: [any RecordMiddleware], concurrency: Int) -> BatchProcessor {
    BatchProcessor(
        configuration: .init(
            maxConcurrency: concurrency,
            instrumentation: .init(metricsFactory: NOOPMetricsHandler.instance)
        ),
        middleware: middleware
    )
}

/// A fresh store in a temporary folder for each benchmark run.
func temporaryStore(_ durability: FileIdempotencyStore.Durability) throws -> FileIdempotencyStore {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("bench-\(UUID().uuidString)").path
    return try FileIdempotencyStore(directory: path, durability: durability)
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal],
        scalingFactor: .one,
        maxDuration: .seconds(20),
        maxIterations: 5
    )
    let size = 10_000

    for concurrency in [1, 16] {
        Benchmark("10000 SQS records, no-op chain, concurrency \(concurrency)") { benchmark in
            let bare = processor([], concurrency: concurrency)
            for iteration in benchmark.scaledIterations {
                let batch = freshBatch(size, iteration: iteration)
                benchmark.startMeasurement()
                blackHole(try await bare.process(batch, context: quiet) { _, _ in })
                benchmark.stopMeasurement()
            }
        }

        for durability in FileIdempotencyStore.Durability.allCases {
            Benchmark(
                "10000 SQS records, idempotency on the file store (\(durability.rawValue)), concurrency \(concurrency)"
            ) {
                benchmark in
                let store = try temporaryStore(durability)
                let idempotent = processor(
                    [IdempotencyMiddleware(store: store)],
                    concurrency: concurrency
                )
                for iteration in benchmark.scaledIterations {
                    let batch = freshBatch(size, iteration: iteration)
                    benchmark.startMeasurement()
                    blackHole(try await idempotent.process(batch, context: quiet) { _, _ in })
                    benchmark.stopMeasurement()
                }
                try? FileManager.default.removeItem(atPath: store.directory)
            }
        }
    }
}
