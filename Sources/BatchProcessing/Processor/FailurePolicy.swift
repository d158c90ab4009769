/// What the processor does with the rest of a batch once a record fails.
///
/// | policy | after record *i* fails | fits |
/// | --- | --- | --- |
/// | ``continueOnFailure`` | every other record still runs; only failures are reported | SQS standard, streams |
/// | ``stopOnFirstFailure`` | no later record starts; *i* and every later record are reported | SQS FIFO, streams |
/// | ``skipGroup`` | later records of *i*'s `MessageGroupId` are skipped and reported; other groups go on | SQS FIFO |
/// | ``skipKey`` | later records with *i*'s partition key (Kinesis) or item keys (DynamoDB) are skipped | streams |
///
/// ``automatic`` (the default) picks ``stopOnFirstFailure`` for a FIFO queue (its ARN ends in `.fifo`), which
/// keeps each group in order as Lambda requires; ``skipKey`` for Kafka, whose partitions Lambda resumes from the
/// lowest reported offset, so the records after a failure in its partition would come back anyway (skipping them
/// saves running them twice and keeps the partition in order, while other partitions go on); and
/// ``continueOnFailure`` for everything else.
public struct FailurePolicy: Sendable, Hashable, CustomStringConvertible {
    enum Kind: String, CaseIterable {
        case automatic = "auto"
        case continueOnFailure = "continue"
        case stopOnFirstFailure = "stop-on-first-failure"
        case skipGroup = "skip-group"
        case skipKey = "skip-key"
    }

    let kind: Kind

    /// Follow the event: stop on the first failure for a FIFO queue, continue otherwise.
    public static let automatic = FailurePolicy(kind: .automatic)
    /// Run every record; report those that failed.
    public static let continueOnFailure = FailurePolicy(kind: .continueOnFailure)
    /// Start no record after the first failure; report it and every later record.
    public static let stopOnFirstFailure = FailurePolicy(kind: .stopOnFirstFailure)
    /// SQS: after a failure, skip and report the later records of the same `MessageGroupId` only. Records
    /// without a group are never skipped.
    public static let skipGroup = FailurePolicy(kind: .skipGroup)
    /// Kinesis, DynamoDB Streams and Kafka: after a failure, skip and report the later records with the same
    /// partition key, item keys or topic-partition only.
    public static let skipKey = FailurePolicy(kind: .skipKey)

    /// Every policy, in the order the command line lists them.
    public static let all: [FailurePolicy] = Kind.allCases.map(FailurePolicy.init(kind:))

    /// The policy named as on the command line: `auto`, `continue`, `stop-on-first-failure`, `skip-group`,
    /// `skip-key`.
    public init?(name: String) {
        guard let kind = Kind(rawValue: name.lowercased()) else { return nil }
        self.kind = kind
    }

    private init(kind: Kind) {
        self.kind = kind
    }

    /// The policy's name as on the command line.
    public var name: String { kind.rawValue }

    public var description: String { kind.rawValue }

    /// The policy this one means for `records`: ``automatic`` resolved, and a policy that does not fit the
    /// source rejected.
    func resolved(for records: [some BatchRecord]) throws(BatchProcessingError) -> FailurePolicy {
        guard let first = records.first else { return self == .automatic ? .continueOnFailure : self }
        switch kind {
        case .automatic:
            if first.batchSource.isKafka { return .skipKey }
            return records.contains(where: \.isFromFIFOQueue) ? .stopOnFirstFailure : .continueOnFailure
        case .skipGroup where first.batchSource != .sqs:
            throw .invalidConfiguration(
                "policy skip-group applies to SQS message groups; for \(first.batchSource.name) records use skip-key"
            )
        case .skipKey where first.batchSource == .sqs:
            throw .invalidConfiguration(
                "policy skip-key applies to Kinesis, DynamoDB Streams and Kafka; for SQS message groups use skip-group"
            )
        default:
            return self
        }
    }
}
