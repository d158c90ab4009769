import BatchIdempotency
import BatchProcessing

// docs: begin
let store = try FileIdempotencyStore(directory: "/mnt/efs/orders-idempotency")
let processor = BatchProcessor(middleware: [
    RetryMiddleware(),
    IdempotencyMiddleware(store: store, configuration: .init(validatesPayload: true)),
])
// docs: end
