import AWSLambdaRuntime
import BatchProcessing
import Logging

let processor = BatchProcessor()
let logger = Logger(label: "example")

// docs: begin
let runtime = LambdaRuntime { (event: DynamoDBEvent, context: LambdaContext) async throws -> PartialBatchResponse in
    let invocation = InvocationContext(
        requestID: context.requestID,
        functionARN: context.invokedFunctionARN,
        traceID: context.traceID,
        remainingTime: context.getRemainingTime(),
        logger: logger
    )
    return try await processor.process(event, context: invocation) {
        (change: DynamoDBEvent.Record, record: RecordContext) in
        try apply(change, logger: record.logger)  // main.swift's apply(_:logger:)
    }.response
}
try await runtime.run()
// docs: end

// Not shown: what the example's main.swift defines, with its signatures.
func apply(_ record: DynamoDBEvent.Record, logger: Logger) throws {}
