import BatchIdempotency
import BatchIdempotencyDynamoDB
import BatchProcessing
import Foundation

// Once per execution environment (outside the handler): warm invocations reuse its connections. On Lambda the
// region and the credentials are the function's own (AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SESSION_TOKEN…).
let store = try DynamoDBIdempotencyStore(
    configuration: DynamoDBStoreConfiguration(
        table: "orders-idempotency",
        environment: ProcessInfo.processInfo.environment
    )
)
let processor = BatchProcessor(middleware: [RetryMiddleware(), IdempotencyMiddleware(store: store)])
