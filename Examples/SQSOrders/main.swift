// An SQS order processor: each message's body is an order in JSON; a valid order is charged once, even when SQS
// delivers its message again (idempotency on the embedded file store), and a refused order goes back to the queue
// alone (partial batch response). The chain — retry, then idempotency — is in orders.yaml (standard queue) or
// orders-fifo.yaml (FIFO queue, skip-group: a failed order holds back the later orders of its customer only).
//
//     swift run sqs-orders invoke Examples/Events/sqs-orders/orders-1.json --config Examples/SQSOrders/orders.yaml
//
// `invoke`, `replay` and `serve` come from BatchProgram; see Examples/SQSOrders/README.md for running it on Lambda.
import BatchProcessing
import BatchRunner
import Logging
import Observability

/// An order, as the checkout service sends it.
struct Order: Decodable, Sendable {
    var orderId: String
    var customerId: String
    var amountCents: Int
    var currency: String
}

/// An order that cannot be charged: it fails its record, which SQS delivers again (and, after the queue's
/// maxReceiveCount, moves to the dead-letter queue).
struct OrderRefused: Error, CustomStringConvertible {
    var orderId: String
    var reason: String

    var description: String { "order \(orderId) refused: \(reason)" }
}

/// Charges an order (here: checks it and logs the charge; a real function calls its payment service).
func charge(_ order: Order, logger: Logger) throws {
    guard order.amountCents > 0 else {
        throw OrderRefused(orderId: order.orderId, reason: "the amount must be above 0, not \(order.amountCents) cents")
    }
    logger.info(
        "order charged",
        metadata: [
            "order_id": "\(order.orderId)",
            "customer_id": "\(order.customerId)",
            "amount_cents": "\(order.amountCents)",
            "currency": "\(order.currency)",
        ]
    )
}

@main
enum SQSOrders {
    static func main() {
        BatchProgram(
            name: "sqs-orders",
            abstract: "Charge the orders of an SQS queue (standard or FIFO), each order once.",
            observability: .init(namespace: "ExampleShop")
        ) { (message: SQSEvent.Message, context: RecordContext) in
            let order = try message.decodeBody(as: Order.self)
            try charge(order, logger: context.logger)
        }.main()
    }
}
