import BatchIdempotency
import BatchProcessing

let store = try FileIdempotencyStore(directory: "/mnt/efs/orders-idempotency")  // created 0700 when missing
let processor = BatchProcessor(middleware: [
    RetryMiddleware(strategy: .exponentialJitter(maxAttempts: 3)),  // outside: each attempt claims afresh
    IdempotencyMiddleware(
        store: store,
        configuration: .init(
            keySource: .recordIdentity,  // or .payload, .jsonPath("order.id"), .custom { … }
            expiry: .seconds(3600),  // how long a completed key makes redeliveries replays
            validatesPayload: true  // same key, other payload: an error, not a replay
        )
    ),
])
