// An SQS order processor wired the way a Lambda function would be: observability set up once at start, one
// processor for every invocation, partial batch responses. It depends on BatchProcessing and Observability
// only, so it never links libsystemd (a test checks this with ldd).
//
// Locally it stands in for the Lambda runtime: the event comes on standard input and the response is written
// as the last line of standard output. With AWS_LAMBDA_FUNCTION_NAME set it logs and writes metrics as on
// Lambda (JSON lines on stdout); elsewhere on stderr.
//
//     swift run orders-lambda-example < Examples/batchproc/events/sqs-orders.json
import BatchProcessing
import Foundation
import Logging
import Observability

struct Order: Decodable {
    var orderId: Int
    var amount: Double
}

struct RejectedOrder: Error, CustomStringConvertible {
    var orderId: Int
    var description: String { "order \(orderId) has no amount to charge" }
}

let observability = try ObservabilitySetup.bootstrap(.init(service: "orders", namespace: "Orders"))
let processor = BatchProcessor(
    configuration: .init(
        instrumentation: .init(metricsFactory: observability.metrics, flushMetrics: observability.flushMetrics)
    ),
    middleware: [RetryMiddleware(strategy: .exponentialJitter(maxAttempts: 2, baseDelay: .milliseconds(5)))]
)

// `readToEnd()` throws on a closed or unreadable standard input, where `readDataToEndOfFile()` would trap.
let event = try JSONDecoder().decode(SQSEvent.self, from: FileHandle.standardInput.readToEnd() ?? Data())
let invocation = InvocationContext(
    requestID: UUID().uuidString,
    remainingTime: .seconds(30),
    logger: observability.logger(label: "orders")
)
do {
    let result = try await processor.process(event, context: invocation) { message, context in
        let order = try message.decodeBody(as: Order.self)
        // Orders whose id ends in 3 carry no amount in this sample; treat them as rejected.
        guard order.orderId % 10 != 3 else { throw RejectedOrder(orderId: order.orderId) }
        context.logger.debug("charged", metadata: ["order": "\(order.orderId)", "amount": "\(order.amount)"])
    }
    print(result.response.jsonString)
} catch {
    print(error.lambdaErrorJSON)
    exit(1)
}
