// In a file not named main.swift (a main.swift is top-level code, where `@main` is not allowed).
import BatchProcessing
import BatchRunner

struct Order: Decodable { var orderId: String; var amountCents: Int }

struct RefusedOrder: Error { var reason: String }

func charge(_ order: Order) async throws {
    guard order.amountCents > 0 else { throw RefusedOrder(reason: "no positive amount") }
    // … call the payment service …
}

@main
enum Orders {
    static func main() {
        BatchProgram(name: "orders", abstract: "Charge the orders of an SQS queue.") {
            (message: SQSEvent.Message, context: RecordContext) in
            let order = try message.decodeBody(as: Order.self)
            try await charge(order)  // a thrown error fails this record only
        }.main()
    }
}
