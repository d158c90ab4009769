import BatchProcessing

struct Order: Decodable { var orderId: String }
func handle(_ order: Order) async throws {}

// docs: begin
let processor = BatchProcessor(middleware: [RetryMiddleware(strategy: .exponentialJitter(maxAttempts: 3))])

func answer(_ event: SQSEvent, remaining: Duration) async throws -> PartialBatchResponse {
    let result = try await processor.process(event, context: InvocationContext(remainingTime: remaining)) {
        message,
        context in
        try await handle(message.decodeBody(as: Order.self))
    }
    return result.response
}
// docs: end
