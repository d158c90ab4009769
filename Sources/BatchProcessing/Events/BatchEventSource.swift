/// The service that delivered a batch, as named by each record's `eventSource` field.
///
/// The processor knows SQS, Kinesis and DynamoDB Streams; a source of your own (any record type that conforms
/// to ``BatchRecord``) is made with ``init(rawValue:name:)`` and gets the same policies, logs and metrics.
public struct BatchEventSource: Sendable, Hashable, CustomStringConvertible {
    /// The value of the records' `eventSource` field (`aws:sqs`, `aws:kinesis`, `aws:dynamodb`), or of a Kafka
    /// event's (`aws:kafka`, `SelfManagedKafka`).
    public let rawValue: String
    /// The short name used on the command line, in environment variables and in configuration: `sqs`,
    /// `kinesis`, `dynamodb`, `kafka`, `self-managed-kafka`.
    public let name: String

    /// A source whose records carry `eventSource` equal to `rawValue`, known by the short `name`.
    ///
    /// Two sources are equal when both their raw value and name are.
    public init(rawValue: String, name: String) {
        self.rawValue = rawValue
        self.name = name
    }

    /// Amazon SQS, standard and FIFO queues.
    public static let sqs = BatchEventSource(rawValue: "aws:sqs", name: "sqs")
    /// Amazon Kinesis Data Streams.
    public static let kinesis = BatchEventSource(rawValue: "aws:kinesis", name: "kinesis")
    /// Amazon DynamoDB Streams.
    public static let dynamoDB = BatchEventSource(rawValue: "aws:dynamodb", name: "dynamodb")
    /// Amazon MSK (Managed Streaming for Apache Kafka).
    public static let kafka = BatchEventSource(rawValue: "aws:kafka", name: "kafka")
    /// A self-managed Apache Kafka cluster.
    public static let selfManagedKafka = BatchEventSource(rawValue: "SelfManagedKafka", name: "self-managed-kafka")

    /// The sources whose events the raw API (JSON in, JSON out) reads and detects.
    public static let all: [BatchEventSource] = [.sqs, .kinesis, .dynamoDB, .kafka, .selfManagedKafka]

    /// True for Amazon MSK and self-managed Kafka, whose events group records by topic-partition.
    public var isKafka: Bool { self == .kafka || self == .selfManagedKafka }

    /// The built-in source whose records carry `eventSource` equal to `value`, or `nil` for any other value.
    public init?(eventSourceField value: String) {
        guard let match = Self.all.first(where: { $0.rawValue == value }) else { return nil }
        self = match
    }

    /// The built-in source with the short `name` (`sqs`, `kinesis`, `dynamodb`, `kafka`, `self-managed-kafka`, in
    /// any case), or `nil`.
    public init?(name: String) {
        guard let match = Self.all.first(where: { $0.name == name.lowercased() }) else { return nil }
        self = match
    }

    public var description: String { rawValue }
}
