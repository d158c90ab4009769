/// The next step of the chain: the following middleware, or at the end your handler.
public typealias RecordHandler<Record: BatchRecord> = @Sendable (Record, RecordContext) async throws -> Void

/// A step that every record passes through on its way to the handler.
///
/// A middleware may run code before and after calling `next`, call it several times (retry), or not at all
/// (answer from elsewhere, or fail the record). Throwing fails the record; the batch goes on per its policy.
///
/// ```swift
/// struct Timing: RecordMiddleware {
///     func handle<Record: BatchRecord>(
///         _ record: Record, context: RecordContext, next: RecordHandler<Record>
///     ) async throws {
///         let start = ContinuousClock.now
///         defer { context.logger.debug("took \(ContinuousClock.now - start)") }
///         try await next(record, context)
///     }
/// }
/// ```
///
/// The method is generic so that one middleware serves every source; use `record as? SQSEvent.Message` (or
/// ``AnyBatchRecord``) when it needs a source's fields.
public protocol RecordMiddleware: Sendable {
    /// Handles one record, calling `next` to pass it on.
    func handle<Record: BatchRecord>(
        _ record: Record,
        context: RecordContext,
        next: RecordHandler<Record>
    ) async throws
}

extension Array where Element == any RecordMiddleware {
    /// The chain ending in `handler`: the first element is the outermost step. Without middleware it is `handler`
    /// itself. (A step that retries raises `context.attempt`, and the context notes it for the processor.)
    func chained<Record: BatchRecord>(to handler: @escaping RecordHandler<Record>) -> RecordHandler<Record> {
        reversed().reduce(handler) { next, middleware in
            { record, context in
                try await middleware.handle(record, context: context, next: next)
            }
        }
    }
}
