import BatchProcessing

struct Order: Decodable { var orderId: Int; var amount: Double }

func charge(_ order: Order) async throws { /* … your work; a thrown error fails this record only … */  }

// Made once per execution environment: warm invocations reuse it.
let processor = BatchProcessor(
    configuration: .init(maxConcurrency: 4),
    middleware: [RetryMiddleware(strategy: .exponentialJitter(maxAttempts: 3))]
)

/// Your runtime calls this with the SQSEvent decoded from the invocation's payload.
func handle(_ event: SQSEvent, invocation: InvocationContext) async throws -> PartialBatchResponse {
    let result = try await processor.process(event, context: invocation) { message, context in
        let order = try message.decodeBody(as: Order.self)
        context.logger.info("charging order", metadata: ["order": "\(order.orderId)"])
        try await charge(order)
    }
    return result.response  // Encodable to {"batchItemFailures":[…]}
}
