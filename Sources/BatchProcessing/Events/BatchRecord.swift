import BatchProcessingJSONSupport

/// A record that the processor can run: it knows its identifier for the partial batch response, the key that
/// orders it against other records, and its source.
///
/// ``SQSEvent/Message``, ``KinesisEvent/Record``, ``DynamoDBEvent/Record`` and ``AnyBatchRecord`` conform. A
/// record type of your own conforms with a ``BatchEventSource`` of its own
/// (``BatchEventSource/init(rawValue:name:)``).
public protocol BatchRecord: Sendable {
    /// The identifier Lambda expects in `batchItemFailures`: SQS `messageId`, Kinesis `sequenceNumber`,
    /// DynamoDB `SequenceNumber`.
    var itemIdentifier: ItemIdentifier { get }

    /// Records with the same key are never run concurrently or out of order: the SQS `MessageGroupId`, the
    /// Kinesis partition key, the DynamoDB item's keys. `nil` means the record is not ordered against others.
    var orderingKey: String? { get }

    /// The service that delivered the record.
    var batchSource: BatchEventSource { get }

    /// True for messages of an SQS FIFO queue, whose default policy is to stop at the first failure.
    var isFromFIFOQueue: Bool { get }

    /// The record's payload as text, for logs when payload logging is on (it is off by default).
    var payloadDescription: String? { get }

    /// Keys that say where the record comes from, added to its log lines (Kafka: `kafka_topic`,
    /// `kafka_partition`, `kafka_offset`). Empty by default.
    var logMetadata: [String: String] { get }

    /// The value of a trace-propagation header the producer sent with the record (`X-Amzn-Trace-Id`,
    /// `traceparent`, `tracestate`…), matched without regard to case; `nil` when the record carries none.
    ///
    /// The processor hands these to the tracer to link each record's span to the producer's trace, and writes the
    /// producer's trace id in the record's log lines (`record_trace_id`). SQS messages answer from the
    /// `AWSTraceHeader` system attribute (also as a `traceparent`, for tracers that read only W3C headers) and from
    /// string message attributes; Kafka records from their headers. Others carry none by default.
    func traceHeader(named name: String) -> String?
}

extension BatchRecord {
    public var isFromFIFOQueue: Bool { false }
    public var payloadDescription: String? { nil }
    public var logMetadata: [String: String] { [:] }
    public func traceHeader(named name: String) -> String? { nil }

    /// The id of the trace the producer sent the record in: the `Root` of its X-Ray header (`1-5759e988-…`), or
    /// else the trace id of its W3C `traceparent`; `nil` when it carries neither.
    public var producerTraceID: String? { TraceHeaderName.producerTraceID { traceHeader(named: $0) } }

    /// ``logMetadata`` and, when the record carries a producer's trace, `record_trace_id`: what the record adds
    /// to its log lines.
    var recordLogMetadata: [String: String] {
        var metadata = logMetadata
        if let traceID = producerTraceID { metadata["record_trace_id"] = traceID }
        return metadata
    }
}

/// The names of the trace headers the processor itself reads.
public enum TraceHeaderName {
    /// AWS X-Ray's header (`Root=1-…;Parent=…;Sampled=1`): SQS delivers it as the `AWSTraceHeader` system attribute.
    public static let xRay = "X-Amzn-Trace-Id"
    /// W3C Trace Context's header (`00-<trace id>-<parent id>-<flags>`).
    public static let traceparent = "traceparent"

    /// The X-Ray root of the `X-Amzn-Trace-Id` that `header` gives, or else the trace id of its `traceparent`.
    static func producerTraceID(_ header: (String) -> String?) -> String? {
        if let xRay = header(xRay), let root = XRay.traceRoot(of: xRay) { return root }
        return header(traceparent).flatMap(XRay.traceID(ofTraceparent:))
    }
}

/// An event that carries a batch of records: ``SQSEvent``, ``KinesisEvent``, ``DynamoDBEvent``, ``KafkaEvent``.
public protocol BatchEvent: Sendable {
    /// The kind of record the event carries.
    associatedtype Record: BatchRecord
    /// The records, in the order Lambda delivered them.
    var records: [Record] { get }
}

extension SQSEvent: BatchEvent {}
extension KinesisEvent: BatchEvent {}
extension DynamoDBEvent: BatchEvent {}
extension KafkaEvent: BatchEvent {}

extension SQSEvent.Message: BatchRecord {
    public var itemIdentifier: ItemIdentifier { ItemIdentifier(messageId) }
    public var payloadDescription: String? { rawBody }
    public var orderingKey: String? { rawAttributes?.messageGroupId }
    public var batchSource: BatchEventSource { .sqs }

    /// `X-Amzn-Trace-Id` (or `AWSTraceHeader`) is the message's `AWSTraceHeader` system attribute; any other name
    /// is a string message attribute of that name; and `traceparent`, when no attribute has it, is the
    /// `AWSTraceHeader` written as W3C Trace Context.
    public func traceHeader(named name: String) -> String? {
        if name.caseInsensitiveEquals(TraceHeaderName.xRay) || name.caseInsensitiveEquals("AWSTraceHeader") {
            return rawAttributes?.awsTraceHeader
        }
        if let attributes = rawMessageAttributes, !attributes.isEmpty {
            if let value = attributes[name]?.stringValue { return value }
            if let match = attributes.first(where: { $0.key.caseInsensitiveEquals(name) }) {
                return match.value.stringValue
            }
        }
        if name.caseInsensitiveEquals(TraceHeaderName.traceparent), let header = rawAttributes?.awsTraceHeader {
            return XRay.traceparent(fromTraceHeader: header)
        }
        return nil
    }
}

extension KinesisEvent.Record: BatchRecord {
    public var itemIdentifier: ItemIdentifier { ItemIdentifier(kinesis.sequenceNumber) }
    public var payloadDescription: String? {
        guard let base64 = kinesis.base64Data else { return nil }
        // Data that is not base64 is shown as it came, so the log still says what the record held.
        return (try? kinesis.dataString) ?? "(not valid base64) " + base64
    }
    public var orderingKey: String? { kinesis.partitionKey }
    public var batchSource: BatchEventSource { .kinesis }
}

extension DynamoDBEvent.Record: BatchRecord {
    public var itemIdentifier: ItemIdentifier { ItemIdentifier(dynamodb.sequenceNumber) }
    public var payloadDescription: String? {
        var text =
            "\(eventName?.rawValue ?? "change") keys=" + DynamoDBEvent.AttributeValue.canonicalText(of: dynamodb.keys)
        if let newImage = dynamodb.newImage {
            text += " new=" + DynamoDBEvent.AttributeValue.canonicalText(of: newImage)
        }
        if let oldImage = dynamodb.oldImage {
            text += " old=" + DynamoDBEvent.AttributeValue.canonicalText(of: oldImage)
        }
        return text
    }
    public var orderingKey: String? {
        dynamodb.keys.isEmpty ? nil : DynamoDBEvent.AttributeValue.canonicalText(of: dynamodb.keys)
    }
    public var batchSource: BatchEventSource { .dynamoDB }
}

extension KafkaEvent.Record: BatchRecord {
    /// As Lambda expects for Kafka: `{"partition":"<topic>-<partition>","offset":<offset>}`. The spelling is AWS's
    /// (Lambda Developer Guide, "Configuring error handling controls for Kafka event sources", section
    /// PartialBatchResponse): `partition` names the topic-partition as the event's `records` keys do, and `offset`
    /// is a JSON number.
    public var itemIdentifier: ItemIdentifier {
        .object([("partition", .string(topicPartition)), ("offset", .integer(offset))])
    }
    /// The topic-partition: Lambda resumes each partition from its lowest reported offset, so a partition is the
    /// unit of order.
    public var orderingKey: String? { topicPartition }
    public var batchSource: BatchEventSource { source }
    public var payloadDescription: String? {
        guard let base64 = base64Value else { return "(tombstone)" }
        return (try? valueString) ?? "(not valid base64) " + base64
    }
    public var logMetadata: [String: String] {
        [
            "kafka_topic": topic ?? "", "kafka_partition": partition.map(String.init) ?? "",
            "kafka_offset": String(offset),
        ]
    }

    /// The header of that name (the last, when it repeats), as UTF-8 text; `nil` when there is none or the
    /// headers cannot be read.
    public func traceHeader(named name: String) -> String? {
        guard let headers, !headers.isEmpty else { return nil }
        let match =
            headers.last(where: { $0.name == name }) ?? headers.last(where: { $0.name.caseInsensitiveEquals(name) })
        guard let bytes = try? match?.bytes else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// A record of any of the built-in sources: what the raw (JSON in, JSON out) API hands to your handler.
public enum AnyBatchRecord: BatchRecord, Equatable {
    /// An SQS message.
    case sqs(SQSEvent.Message)
    /// A Kinesis record.
    case kinesis(KinesisEvent.Record)
    /// A DynamoDB stream record.
    case dynamoDB(DynamoDBEvent.Record)
    /// A Kafka record (Amazon MSK or self-managed).
    case kafka(KafkaEvent.Record)

    // Each property switches on the case rather than going through `any BatchRecord`, which would copy the
    // record into an existential box on every access.

    public var itemIdentifier: ItemIdentifier {
        switch self {
        case .sqs(let record): record.itemIdentifier
        case .kinesis(let record): record.itemIdentifier
        case .dynamoDB(let record): record.itemIdentifier
        case .kafka(let record): record.itemIdentifier
        }
    }

    public var orderingKey: String? {
        switch self {
        case .sqs(let record): record.orderingKey
        case .kinesis(let record): record.orderingKey
        case .dynamoDB(let record): record.orderingKey
        case .kafka(let record): record.orderingKey
        }
    }

    public var batchSource: BatchEventSource {
        switch self {
        case .sqs(let record): record.batchSource
        case .kinesis(let record): record.batchSource
        case .dynamoDB(let record): record.batchSource
        case .kafka(let record): record.batchSource
        }
    }

    public var isFromFIFOQueue: Bool {
        switch self {
        case .sqs(let record): record.isFromFIFOQueue
        case .kinesis(let record): record.isFromFIFOQueue
        case .dynamoDB(let record): record.isFromFIFOQueue
        case .kafka(let record): record.isFromFIFOQueue
        }
    }

    public var payloadDescription: String? {
        switch self {
        case .sqs(let record): record.payloadDescription
        case .kinesis(let record): record.payloadDescription
        case .dynamoDB(let record): record.payloadDescription
        case .kafka(let record): record.payloadDescription
        }
    }

    public var logMetadata: [String: String] {
        switch self {
        case .sqs(let record): record.logMetadata
        case .kinesis(let record): record.logMetadata
        case .dynamoDB(let record): record.logMetadata
        case .kafka(let record): record.logMetadata
        }
    }

    public func traceHeader(named name: String) -> String? {
        switch self {
        case .sqs(let record): record.traceHeader(named: name)
        case .kinesis(let record): record.traceHeader(named: name)
        case .dynamoDB(let record): record.traceHeader(named: name)
        case .kafka(let record): record.traceHeader(named: name)
        }
    }
}

extension String {
    /// Equal to `other` when ASCII letters are compared without regard to case (header names are ASCII).
    func caseInsensitiveEquals(_ other: String) -> Bool {
        guard utf8.count == other.utf8.count else { return false }
        return zip(utf8, other.utf8).allSatisfy { a, b in
            a == b || (a | 0x20 == b | 0x20 && (0x61...0x7A).contains(a | 0x20))
        }
    }
}
