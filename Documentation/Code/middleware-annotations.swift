import BatchProcessing

// docs: begin
enum Region: RecordAnnotationKey {
    typealias Value = String
    static let name = "region"
}

struct Routing: RecordMiddleware {
    func handle<Record: BatchRecord>(
        _ record: Record,
        context: RecordContext,
        next: RecordNext<Record>
    ) async throws -> RecordResult {
        var result = await next(record, context)
        result.annotations[Region.self] = "eu-west-1"
        return result
    }
}

// After processing: result.outcomes[0].result?.annotations[Region.self] == "eu-west-1"
// docs: end
