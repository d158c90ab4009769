/// The AWS service that delivered a batch, as named by each record's `eventSource` field.
public struct BatchEventSource: Sendable, Hashable, CustomStringConvertible {
    /// The value of the records' `eventSource` field (`aws:sqs`, `aws:kinesis`, `aws:dynamodb`).
    public let rawValue: String

    private init(rawValue: String) {
        self.rawValue = rawValue
    }

    /// Amazon SQS, standard and FIFO queues.
    public static let sqs = BatchEventSource(rawValue: "aws:sqs")
    /// Amazon Kinesis Data Streams.
    public static let kinesis = BatchEventSource(rawValue: "aws:kinesis")
    /// Amazon DynamoDB Streams.
    public static let dynamoDB = BatchEventSource(rawValue: "aws:dynamodb")

    /// Every source the processor understands.
    public static let all: [BatchEventSource] = [.sqs, .kinesis, .dynamoDB]

    /// The source whose records carry `eventSource` equal to `value`, or `nil` for an unknown value.
    public init?(eventSourceField value: String) {
        guard let match = Self.all.first(where: { $0.rawValue == value }) else { return nil }
        self = match
    }

    /// The short name used on the command line and in environment variables: `sqs`, `kinesis`, `dynamodb`.
    public var name: String {
        switch rawValue {
        case Self.sqs.rawValue: "sqs"
        case Self.kinesis.rawValue: "kinesis"
        default: "dynamodb"
        }
    }

    /// The source with the short `name` (`sqs`, `kinesis`, `dynamodb`), or `nil`.
    public init?(name: String) {
        guard let match = Self.all.first(where: { $0.name == name.lowercased() }) else { return nil }
        self = match
    }

    public var description: String { rawValue }
}
