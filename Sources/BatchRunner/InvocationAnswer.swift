public import BatchProcessing

/// The answer to one invocation, the same whichever way the event came (`invoke`, a `serve` line or spool file,
/// a `replay` event, a Lambda invocation): the bytes that go back, and whether the invocation failed as a whole.
///
/// - A batch that ran: ``json`` is the partial batch response (`{"batchItemFailures":[…]}`), ``failure`` is `nil`.
/// - An invocation that failed as a whole (a malformed or empty event, every record failed while throwing is on,
///   a failed record without an identifier): ``json`` is Lambda's error shape (`{"errorType":…,"errorMessage":…}`)
///   and ``failure`` says why; Lambda then retries the whole batch.
public struct InvocationAnswer: Sendable {
    /// The partial batch response, or Lambda's error shape when the invocation failed as a whole; one line of JSON.
    public var json: [UInt8]
    /// Why the invocation failed as a whole, or `nil` when it answered with a partial batch response.
    public var failure: BatchProcessingError?
    /// The batch's result: every record's outcome. Also there for a whole failure that ran the batch (every record
    /// failed), `nil` when the event could not be read.
    public var result: BatchResult?

    /// The answer of a batch that ran.
    public init(_ result: BatchResult) {
        json = result.response.jsonBytes
        failure = nil
        self.result = result
    }

    /// The answer of an invocation that failed as a whole.
    public init(_ failure: BatchProcessingError) {
        json = Array(failure.lambdaErrorJSON.utf8)
        self.failure = failure
        result = failure.result
    }

    /// Whether the invocation failed as a whole (and ``json`` is Lambda's error shape).
    public var failedAsWhole: Bool { failure != nil }

    /// ``json`` as text.
    public var text: String { String(decoding: json, as: UTF8.self) }
}

extension BatchProcessor {
    /// Runs one event as one Lambda invocation and gives its answer, whatever happened: the partial batch response,
    /// or Lambda's error shape when the invocation fails as a whole.
    ///
    /// - Parameters:
    ///   - eventJSON: the event's bytes.
    ///   - source: the source to read the event as, or `nil` to detect it.
    ///   - context: the invocation's request id, deadline, logger and shutdown signal.
    ///   - handler: runs each record.
    public func answer(
        eventJSON: [UInt8],
        source: BatchEventSource? = nil,
        context: InvocationContext = InvocationContext(),
        handler: @escaping RecordHandler<AnyBatchRecord>
    ) async -> InvocationAnswer {
        do {
            return InvocationAnswer(
                try await process(eventJSON: eventJSON, source: source, context: context, handler: handler)
            )
        } catch {
            return InvocationAnswer(error)
        }
    }
}
