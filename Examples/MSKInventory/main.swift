// A Kafka (Amazon MSK) consumer of stock levels: each record's key is a SKU and its value the SKU's stock in a
// warehouse, in JSON; a record whose value is null (a tombstone) withdraws the SKU. Records of a partition stay in
// order: when one fails, the later records of its partition are reported unrun, and the other partitions go on.
// Idempotency keeps its keys in PostgreSQL (shared by every instance of the function); the chain is in
// inventory.yaml and the database comes from the PG* variables (PGHOST, PGUSER, PGPASSWORD, PGDATABASE…) or
// BATCH_PROCESSING_IDEMPOTENCY_STORE_POSTGRES_URL.
//
//     batchproc idempotency migrate --idempotency-postgres "$URL" --idempotency-postgres-table inventory_idempotency
//     BATCH_PROCESSING_IDEMPOTENCY_STORE_POSTGRES_URL="$URL" swift run msk-inventory invoke \
//         Examples/Events/msk-inventory/inventory-1.json --config Examples/MSKInventory/inventory.yaml
import BatchProcessing
import BatchRunner
import BatchRunnerPostgres
import Logging
import Observability

/// A SKU's stock in one warehouse.
struct StockLevel: Decodable, Sendable {
    var sku: String
    var warehouse: String
    var quantity: Int
}

/// A stock level that cannot be right: its record fails, and the later records of its partition wait for it.
struct ImpossibleStock: Error, CustomStringConvertible {
    var sku: String
    var quantity: Int

    var description: String { "stock of \(sku) cannot be \(quantity): a stock level is 0 or more" }
}

/// Applies one record: a tombstone withdraws its SKU; a stock level must be 0 or more.
func apply(_ record: KafkaEvent.Record, logger: Logger) throws {
    let sku = try record.keyString ?? "(no key)"
    if record.isTombstone {
        logger.info("sku withdrawn", metadata: ["sku": "\(sku)", "offset": "\(record.offset)"])
        return
    }
    let level = try record.decodeValue(as: StockLevel.self)
    guard level.quantity >= 0 else { throw ImpossibleStock(sku: level.sku, quantity: level.quantity) }
    logger.info(
        "stock set",
        metadata: [
            "sku": "\(level.sku)", "warehouse": "\(level.warehouse)", "quantity": "\(level.quantity)",
            "offset": "\(record.offset)",
        ]
    )
}

@main
enum MSKInventory {
    static func main() {
        BatchProgram(
            name: "msk-inventory",
            abstract: "Apply the stock levels of a Kafka topic (Amazon MSK), in order within each partition.",
            observability: .init(namespace: "ExampleShop"),
            stores: { logger in PostgresStoreProvider(logger: logger) }
        ) { (record: KafkaEvent.Record, context: RecordContext) in
            try apply(record, logger: context.logger)
        }.main()
    }
}
