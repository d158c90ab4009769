import BatchIdempotency
import BatchIdempotencyPostgres
import BatchProcessing
import Foundation

// Once per execution environment (outside the handler): warm invocations reuse its connections.
let store = try PostgresIdempotencyStore(
    configuration: PostgresStoreConfiguration(
        url: "postgres://batch@orders-db.cluster-xyz.eu-west-1.rds.amazonaws.com:5432/orders?sslmode=verify-full"
            + "&sslrootcert=/opt/rds-global-bundle.pem",
        environment: ProcessInfo.processInfo.environment  // PGPASSWORD, and PGHOST, PGUSER… for what the URL omits
    )
)
let processor = BatchProcessor(middleware: [RetryMiddleware(), IdempotencyMiddleware(store: store)])
