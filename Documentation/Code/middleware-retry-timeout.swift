import BatchProcessing

// docs: begin
let processor = BatchProcessor(middleware: [
    RetryMiddleware(strategy: .exponentialJitter(maxAttempts: 3, baseDelay: .milliseconds(100))),
    TimeoutMiddleware(timeout: .seconds(5)),
])
// docs: end
