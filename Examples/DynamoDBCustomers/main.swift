// A DynamoDB Streams change-data-capture consumer of a customers table: each record's images decode into a typed
// Customer; an insert, a change of tier and a removal each have their effect (here, a log line). The stream's order
// matters (a change must not overtake the insert before it), so the policy is stop-on-first-failure: the first
// failed change and every change after it are reported, and DynamoDB Streams delivers them again from there.
//
//     swift run dynamodb-customers invoke Examples/Events/dynamodb-customers/customers-1.json \
//         --config Examples/DynamoDBCustomers/customers.yaml
import BatchProcessing
import BatchRunner
import Logging
import Observability

/// A customer item, as the table stores it.
struct Customer: Decodable, Sendable {
    var customerId: String
    var email: String
    var tier: String
    /// Seconds since 1970.
    var since: Int
    var marketingOptIn: Bool
}

/// A change that leaves the customer invalid: its record fails, and the changes after it wait.
struct InvalidCustomer: Error, CustomStringConvertible {
    var customerId: String
    var reason: String

    var description: String { "customer \(customerId) is not valid: \(reason)" }
}

func check(_ customer: Customer) throws {
    guard customer.email.contains("@") else {
        throw InvalidCustomer(customerId: customer.customerId, reason: "email \"\(customer.email)\" has no @")
    }
}

/// Applies one change of the customers table: an insert, a change (of tier, or of something else) or a removal.
func apply(_ record: DynamoDBEvent.Record, logger: Logger) throws {
    let new = try record.dynamodb.decodeNewImage(as: Customer.self)
    let old = try record.dynamodb.decodeOldImage(as: Customer.self)
    switch (old, new) {
    case (nil, let customer?):
        try check(customer)
        logger.info(
            "customer created",
            metadata: ["customer_id": "\(customer.customerId)", "tier": "\(customer.tier)"]
        )
    case (let before?, let after?):
        try check(after)
        if before.tier != after.tier {
            logger.info(
                "customer tier changed",
                metadata: [
                    "customer_id": "\(after.customerId)", "from": "\(before.tier)", "to": "\(after.tier)",
                ]
            )
        } else {
            logger.info("customer updated", metadata: ["customer_id": "\(after.customerId)"])
        }
    case (let customer?, nil):
        logger.info("customer removed", metadata: ["customer_id": "\(customer.customerId)"])
    case (nil, nil):
        // KEYS_ONLY streams carry no image: nothing to apply.
        logger.notice(
            "change without images",
            metadata: ["event": "\(record.eventName?.rawValue ?? "?")"]
        )
    }
}

@main
enum DynamoDBCustomers {
    static func main() {
        BatchProgram(
            name: "dynamodb-customers",
            abstract: "Follow the changes of a DynamoDB customers table, in stream order.",
            observability: .init(namespace: "ExampleShop")
        ) { (record: DynamoDBEvent.Record, context: RecordContext) in
            try apply(record, logger: context.logger)
        }.main()
    }
}
