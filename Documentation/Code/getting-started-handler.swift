import BatchProcessing

struct Order: Decodable { var orderId: String; var amountCents: Int }

struct RefusedOrder: Error {}

func charge(_ order: Order) async throws {
    guard order.amountCents > 0 else { throw RefusedOrder() }  // fails this record only
}

let processor = BatchProcessor(
    configuration: .init(maxConcurrency: 4),
    middleware: [RetryMiddleware(strategy: .exponentialJitter(maxAttempts: 3))]
)

func handle(_ event: SQSEvent, remaining: Duration) async throws -> PartialBatchResponse {
    let result = try await processor.process(event, context: InvocationContext(remainingTime: remaining)) {
        message,
        context in
        let order = try message.decodeBody(as: Order.self)
        context.logger.info("charging", metadata: ["order": "\(order.orderId)"])
        try await charge(order)
    }
    return result.response  // {"batchItemFailures":[…]}
}
