import BatchProcessing

// docs: begin
struct Audit: RecordMiddleware {
    func handle<Record: BatchRecord>(
        _ record: Record,
        context: RecordContext,
        next: RecordNext<Record>
    ) async throws -> RecordResult {
        context.logger.debug("record starts")
        let result = await next(record, context)
        if let error = result.error { context.logger.debug("record failed: \(error)") }
        return result
    }
}
// docs: end
