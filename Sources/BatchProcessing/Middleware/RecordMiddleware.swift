/// Your handler: runs one record; a thrown error fails it.
public typealias RecordHandler<Record: BatchRecord> = @Sendable (Record, RecordContext) async throws -> Void

/// The next step of the chain as a middleware sees it: the following middleware, or at the end your handler.
/// It never throws: how the record ended, the handler's error included, is in the ``RecordResult`` it returns.
public typealias RecordNext<Record: BatchRecord> = @Sendable (Record, RecordContext) async -> RecordResult

/// A step that every record passes through on its way to the handler.
///
/// A middleware may run code before and after calling `next`, call it several times (retry), or not at all
/// (answer from elsewhere, or fail the record). It returns the record's ``RecordResult``: usually what `next`
/// returned, perhaps with facts of its own added (``RecordResult/annotations``). Throwing fails the record with
/// that error at the context's attempt; to keep what the inner steps learned (their attempts, their facts), set
/// ``RecordResult/error`` on the result of `next` and return it instead. The batch goes on per its policy.
///
/// ```swift
/// struct Timing: RecordMiddleware {
///     func handle<Record: BatchRecord>(
///         _ record: Record, context: RecordContext, next: RecordNext<Record>
///     ) async throws -> RecordResult {
///         let start = ContinuousClock.now
///         let result = await next(record, context)
///         context.logger.debug("took \(ContinuousClock.now - start)")
///         return result
///     }
/// }
/// ```
///
/// The method is generic so that one middleware serves every source; use `record as? SQSEvent.Message` (or
/// ``AnyBatchRecord``) when it needs a source's fields.
public protocol RecordMiddleware: Sendable {
    /// Handles one record, calling `next` to pass it on, and returns how the record ended.
    func handle<Record: BatchRecord>(
        _ record: Record,
        context: RecordContext,
        next: RecordNext<Record>
    ) async throws -> RecordResult
}

extension Array where Element == any RecordMiddleware {
    /// The chain ending in `handler`: the first element is the outermost step. A thrown error, the handler's or a
    /// middleware's, becomes a failed result at the attempt of the context it was thrown with.
    func chained<Record: BatchRecord>(to handler: @escaping RecordHandler<Record>) -> RecordNext<Record> {
        let end: RecordNext<Record> = { record, context in
            do {
                try await handler(record, context)
                return RecordResult(attempts: context.attempt)
            } catch {
                return RecordResult(attempts: context.attempt, error: error)
            }
        }
        return reversed().reduce(end) { next, middleware in
            { record, context in
                do {
                    return try await middleware.handle(record, context: context, next: next)
                } catch {
                    return RecordResult(attempts: context.attempt, error: error)
                }
            }
        }
    }
}
