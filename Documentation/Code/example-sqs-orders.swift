import AWSLambdaRuntime
import BatchProcessing
import Logging

let processor = BatchProcessor()
let logger = Logger(label: "example")

// docs: begin
let runtime = LambdaRuntime { (event: SQSEvent, context: LambdaContext) async throws -> PartialBatchResponse in
    let invocation = InvocationContext(
        requestID: context.requestID,
        functionARN: context.invokedFunctionARN,
        traceID: context.traceID,
        remainingTime: context.getRemainingTime(),
        logger: logger
    )
    return try await processor.process(event, context: invocation) {
        (message: SQSEvent.Message, record: RecordContext) in
        try charge(try message.decodeBody(as: Order.self), logger: record.logger)
    }.response
}
try await runtime.run()
// docs: end

// Not shown: what the example's main.swift defines, with its signatures.
struct Order: Decodable, Sendable { var orderId: String }
func charge(_ order: Order, logger: Logger) throws {}
