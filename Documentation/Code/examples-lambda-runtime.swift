// docs: begin
import AWSLambdaRuntime
import BatchProcessing
import BatchRunner
import Logging
import Observability

let observability = try ObservabilitySetup.bootstrap(.init(namespace: "ExampleShop"))
let chain = try ChainConfiguration.load(path: "/var/task/orders.yaml")
var configuration = chain.processor
configuration.instrumentation = .init(metricsFactory: observability.metrics, flushMetrics: observability.flushMetrics)
let processor = BatchProcessor(
    configuration: configuration,
    middleware: try chain.makeMiddleware()
)
let logger = observability.logger(label: "orders")

// BatchProcessing's SQSEvent and PartialBatchResponse are Codable: the runtime decodes the event and encodes the
// answer. (Do not import AWSLambdaEvents alongside: it has an SQSEvent of its own.)
let runtime = LambdaRuntime { (event: SQSEvent, context: LambdaContext) async throws -> PartialBatchResponse in
    let invocation = InvocationContext(
        requestID: context.requestID,
        functionARN: context.invokedFunctionARN,
        traceID: context.traceID,
        remainingTime: context.getRemainingTime(),  // records that cannot start in time are reported, not lost
        logger: logger
    )
    // Throws (so Lambda retries the whole batch) only when every record failed or the event is malformed.
    return try await processor.process(event, context: invocation) { message, record in
        try charge(try message.decodeBody(as: Order.self), logger: record.logger)
    }.response
}
try await runtime.run()
// docs: end

// Not shown: what Examples/SQSOrders/main.swift defines, with its signatures.
struct Order: Decodable, Sendable { var orderId: String }
func charge(_ order: Order, logger: Logger) throws {}
