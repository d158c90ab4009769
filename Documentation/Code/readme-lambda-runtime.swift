import AWSLambdaRuntime
import BatchProcessing

struct Order: Decodable { var orderId: Int; var amount: Double }

func charge(_ order: Order) async throws { /* … */  }

let processor = BatchProcessor(middleware: [RetryMiddleware()])

let runtime = LambdaRuntime { (event: SQSEvent, context: LambdaContext) async throws -> PartialBatchResponse in
    let invocation = InvocationContext(
        requestID: context.requestID,
        functionARN: context.invokedFunctionARN,  // logged as function_arn
        traceID: context.traceID,  // the runtime's trace header; logged as xray_trace_id
        remainingTime: context.getRemainingTime(),
        logger: context.logger
    )
    return try await processor.process(event, context: invocation) { message, _ in
        try await charge(message.decodeBody(as: Order.self))
    }.response
}
try await runtime.run()
