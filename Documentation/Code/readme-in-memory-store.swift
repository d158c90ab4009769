import BatchIdempotency
import BatchIdempotencyTesting
import BatchProcessing
import BatchProcessingTesting

// docs: begin
let store = InMemoryIdempotencyStore()
let processor = BatchProcessor(middleware: [IdempotencyMiddleware(store: store)])
let event = TestEvents.sqs(["m1", "m2"])
_ = try await processor.process(event) { _, _ in }
let again = try await processor.process(event) { _, _ in }
// again.replayedCount == 2; store.allRecords: two completed records
// docs: end
