import BatchProcessingJSONSupport

/// What happened to one record of a batch.
public struct RecordOutcome: Sendable {
    /// The record's 0-based position in the batch.
    public let index: Int
    /// The record's item identifier.
    public let itemIdentifier: ItemIdentifier
    /// Whether it ran and how it ended.
    public let status: Status
    /// True when the record is in the partial batch response, so that Lambda delivers it again.
    ///
    /// Failed and skipped records are always reported. A succeeded record is reported only under
    /// ``FailurePolicy/stopOnFirstFailure`` with a `maxConcurrency` above 1, when it ran concurrently with an
    /// earlier record that failed: the response then stays the one a sequential run would give, and the record
    /// comes back (at least once, never lost).
    public let isReported: Bool
    /// What the middleware chain returned for the record (its attempts, whether it was a replay, the facts
    /// middleware added); `nil` when it was skipped, never run.
    public let result: RecordResult?
    /// How many attempts the record took (0 when it was skipped; above 1 when middleware retried it).
    public var attempts: Int { result?.attempts ?? 0 }
    /// Where the record's completed idempotency key was found, when it succeeded as a replay (its handler not run).
    public var replay: RecordResult.Replay? { result?.replay }
    /// How long the record took, every attempt included (`nil` when it was skipped).
    public let duration: Duration?

    /// How a record ended.
    public enum Status: Sendable {
        /// The handler (through the middleware chain) returned.
        case succeeded
        /// The handler or a middleware threw this error (a cancelled record throws `CancellationError`).
        case failed(any Error)
        /// The record was never run.
        case skipped(SkipReason)
    }

    /// Why a record was not run.
    public enum SkipReason: Sendable, Hashable, CustomStringConvertible {
        /// ``FailurePolicy/stopOnFirstFailure``: the record at this index failed earlier.
        case earlierFailure(index: Int)
        /// ``FailurePolicy/skipGroup`` or ``FailurePolicy/skipKey``: an earlier record of the same group or key,
        /// at this index, failed.
        case sameKeyFailed(index: Int)
        /// The invocation's deadline, less the margin, was reached before the record could start.
        case deadline
        /// The task processing the batch was cancelled, or the invocation's ``InvocationContext/shutdown`` was
        /// requested, before the record could start.
        case cancelled

        public var description: String {
            switch self {
            case .earlierFailure(let index): "record \(index) failed earlier and the policy stops on the first failure"
            case .sameKeyFailed(let index): "record \(index) of the same group or key failed earlier"
            case .deadline: "the invocation's deadline was too close to start it"
            case .cancelled: "processing was cancelled, or the worker shut down, before it started"
            }
        }

        /// A short, stable name for the reason, for span attributes and dashboards: `earlier_failure`,
        /// `same_key_failed`, `deadline` or `cancelled`.
        public var code: String {
            switch self {
            case .earlierFailure: "earlier_failure"
            case .sameKeyFailed: "same_key_failed"
            case .deadline: "deadline"
            case .cancelled: "cancelled"
            }
        }

        /// The record whose failure caused the skip, for the two reasons that have one.
        public var failedRecordIndex: Int? {
            switch self {
            case .earlierFailure(let index), .sameKeyFailed(let index): index
            case .deadline, .cancelled: nil
            }
        }
    }

    /// True when the handler returned.
    public var succeeded: Bool {
        if case .succeeded = status { return true }
        return false
    }

    /// The error when the record failed.
    public var error: (any Error)? {
        if case .failed(let error) = status { return error }
        return nil
    }

    /// The reason when the record was skipped.
    public var skipReason: SkipReason? {
        if case .skipped(let reason) = status { return reason }
        return nil
    }
}

/// The result of processing a batch: Lambda's response and what happened to every record.
public struct BatchResult: Sendable {
    /// The partial batch response to return to Lambda.
    public let response: PartialBatchResponse
    /// One outcome per record, in record order.
    public let outcomes: [RecordOutcome]
    /// The source of the records (`nil` for an empty batch whose source could not be told).
    public let eventSource: BatchEventSource?
    /// The policy that was applied, with ``FailurePolicy/automatic`` resolved.
    public let policy: FailurePolicy

    /// How many records succeeded (and were not reported).
    public var succeededCount: Int { outcomes.count { $0.succeeded && !$0.isReported } }
    /// How many records failed.
    public var failedCount: Int { outcomes.count { $0.error != nil } }
    /// How many records were not run.
    public var skippedCount: Int { outcomes.count { $0.skipReason != nil } }
    /// How many records succeeded as replays: their idempotency key was completed, their handler not run.
    public var replayedCount: Int { outcomes.count { $0.succeeded && $0.replay != nil } }
    /// True when every record of a non-empty batch is reported.
    public var allRecordsReported: Bool { !outcomes.isEmpty && outcomes.allSatisfy(\.isReported) }
}

/// Lambda's partial batch response: `{"batchItemFailures":[{"itemIdentifier":"…"}]}`.
public struct PartialBatchResponse: Codable, Sendable, Hashable {
    /// The records Lambda must deliver again, in record order.
    public var batchItemFailures: [BatchItemFailure]

    /// Creates a response.
    public init(batchItemFailures: [BatchItemFailure] = []) {
        self.batchItemFailures = batchItemFailures
    }

    /// One record to deliver again.
    public struct BatchItemFailure: Codable, Sendable, Hashable {
        /// The record's item identifier: a string for SQS, Kinesis and DynamoDB Streams.
        public var itemIdentifier: ItemIdentifier

        /// Creates an entry.
        public init(itemIdentifier: ItemIdentifier) {
            self.itemIdentifier = itemIdentifier
        }
    }

    /// The identifiers, in order.
    public var itemIdentifiers: [ItemIdentifier] { batchItemFailures.map(\.itemIdentifier) }

    /// The response as compact JSON, exactly what Lambda expects.
    public var jsonBytes: [UInt8] {
        var json = JSONText(capacity: 32 + batchItemFailures.count * 48)
        json.beginObject()
        json.key("batchItemFailures")
        json.beginArray()
        for failure in batchItemFailures {
            json.beginObject()
            json.key("itemIdentifier")
            failure.itemIdentifier.write(to: &json)
            json.endObject()
        }
        json.endArray()
        json.endObject()
        return json.bytes
    }

    /// The response as compact JSON text.
    public var jsonString: String { String(decoding: jsonBytes, as: UTF8.self) }
}
