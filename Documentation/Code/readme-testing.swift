import BatchProcessing
import BatchProcessingTesting

let observation = TestObservation()  // in-memory logs, metrics and spans
let processor = BatchProcessor(configuration: .init(instrumentation: observation.instrumentation))
let event = TestEvents.sqs(["m1", "m2", "m3"], group: "g")  // a FIFO batch
let result = try await processor.process(
    event,
    context: .init(logger: observation.logger),
    handler: TestHandlers.failing(["m2"])
)
// result.response.itemIdentifiers == ["m2", "m3"]
// try observation.metrics.expectCounter("RecordsFailed", [("event_source", "aws:sqs")]).values == [1]
// observation.spans: the batch span and one span per record (swift-distributed-tracing's InMemoryTracer)
