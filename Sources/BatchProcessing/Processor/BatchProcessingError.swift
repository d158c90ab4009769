import BatchProcessingJSONSupport

/// Why an invocation failed as a whole rather than answering with a partial batch response.
///
/// When this error escapes a Lambda handler, Lambda delivers the whole batch again: no record is lost.
public struct BatchProcessingError: Error, Sendable, CustomStringConvertible {
    /// The kind of failure. New codes may be added; switch with a `default`.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        enum Kind: String {
            case malformedEvent
            case allRecordsFailed
            case missingItemIdentifier
            case invalidConfiguration
        }

        let kind: Kind

        /// The event is not a batch the processor can read: not JSON, not an object, no `Records` array, a
        /// record of the wrong shape, an unknown `eventSource`. ``BatchProcessingError/recordIndex`` and
        /// ``BatchProcessingError/field`` say where.
        public static let malformedEvent = Code(kind: .malformedEvent)
        /// Every record of the batch failed or was skipped, and the processor is set to throw then.
        /// ``BatchProcessingError/result`` carries the full response and every record's error.
        public static let allRecordsFailed = Code(kind: .allRecordsFailed)
        /// A record to report has an empty identifier, which Lambda would take as a failure of the whole
        /// batch without saying so. ``BatchProcessingError/recordIndex`` names the record.
        public static let missingItemIdentifier = Code(kind: .missingItemIdentifier)
        /// The processor's configuration is invalid or does not fit the batch.
        public static let invalidConfiguration = Code(kind: .invalidConfiguration)

        public var description: String { kind.rawValue }
    }

    /// The kind of failure.
    public let code: Code
    /// What went wrong, in words a person can act on.
    public let message: String
    /// The 0-based index of the record concerned, when one is.
    public let recordIndex: Int?
    /// The path of the field concerned inside the record (or the event, without a record index), e.g.
    /// `kinesis.data`.
    public let field: String?
    /// For ``Code/allRecordsFailed`` and ``Code/missingItemIdentifier``: the full result, with the response
    /// and every record's outcome and error.
    public let result: BatchResult?
    /// The error that caused this one, such as the `DecodingError` of a malformed event.
    public let underlying: (any Error)?
    /// The source of the batch, when it was known (from the records, or forced by the caller).
    public let eventSource: BatchEventSource?

    init(
        code: Code,
        message: String,
        recordIndex: Int? = nil,
        field: String? = nil,
        result: BatchResult? = nil,
        underlying: (any Error)? = nil,
        eventSource: BatchEventSource? = nil
    ) {
        self.code = code
        self.message = message
        self.recordIndex = recordIndex
        self.field = field
        self.result = result
        self.underlying = underlying
        self.eventSource = eventSource
    }

    /// This error with `source` as its event source, unless it already names one.
    func withEventSource(_ source: BatchEventSource?) -> BatchProcessingError {
        guard eventSource == nil, let source else { return self }
        return BatchProcessingError(
            code: code,
            message: message,
            recordIndex: recordIndex,
            field: field,
            result: result,
            underlying: underlying,
            eventSource: source
        )
    }

    static func invalidConfiguration(_ message: String) -> BatchProcessingError {
        BatchProcessingError(code: .invalidConfiguration, message: message)
    }

    static func malformedEvent(
        _ message: String,
        recordIndex: Int? = nil,
        field: String? = nil,
        underlying: (any Error)? = nil,
        eventSource: BatchEventSource? = nil
    )
        -> BatchProcessingError
    {
        BatchProcessingError(
            code: .malformedEvent,
            message: message,
            recordIndex: recordIndex,
            field: field,
            underlying: underlying,
            eventSource: eventSource
        )
    }

    /// The name Lambda shows as `errorType`: `BatchProcessingError.<code>`.
    public var errorType: String { "BatchProcessingError.\(code)" }

    /// The partial batch response this failure carries, when the whole batch failed.
    public var response: PartialBatchResponse? { result?.response }

    public var description: String { "\(errorType): \(message)" }

    /// Lambda's error shape, `{"errorType":"…","errorMessage":"…"}`, as one line of JSON.
    public var lambdaErrorJSON: String {
        var json = JSONText()
        json.beginObject()
        json.key("errorType")
        json.string(errorType)
        json.key("errorMessage")
        json.string(message)
        json.endObject()
        return json.string
    }
}
