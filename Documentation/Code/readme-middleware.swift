import BatchProcessing

// docs: begin
struct Timing: RecordMiddleware {
    func handle<Record: BatchRecord>(
        _ record: Record,
        context: RecordContext,
        next: RecordNext<Record>
    ) async throws -> RecordResult {
        let start = ContinuousClock.now
        let result = await next(record, context)  // never throws: a failure is in result.error
        context.logger.debug("record took \(ContinuousClock.now - start), \(result.attempts) attempt(s)")
        return result
    }
}

let processor = BatchProcessor(middleware: [
    Timing(),  // outermost
    RetryMiddleware(strategy: .exponentialJitter(maxAttempts: 3)),
    FaultInjectionMiddleware(fraction: 0.1, seed: 7),  // innermost, just before the handler
])
// docs: end
