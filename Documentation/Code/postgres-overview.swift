import BatchIdempotency
import BatchIdempotencyPostgres
import BatchProcessing
import Foundation

let store = try PostgresIdempotencyStore(
    configuration: PostgresStoreConfiguration(
        url: "postgres://batch@orders-db:5432/orders?sslmode=verify-full",
        environment: ProcessInfo.processInfo.environment  // PGPASSWORD and the other PG* variables
    )
)
let processor = BatchProcessor(middleware: [RetryMiddleware(), IdempotencyMiddleware(store: store)])
