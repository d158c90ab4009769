public import BatchProcessing

/// Builders of events and records for tests (SQS standard and FIFO, Kinesis, DynamoDB Streams, Kafka): only what a test cares about is asked for, and the rest is filled
/// the way Lambda fills it.
public enum TestEvents {
    /// The ARN of the standard queue that built messages come from.
    public static let standardQueueARN = "arn:aws:sqs:us-east-1:123456789012:orders"
    /// The ARN of the FIFO queue that built FIFO messages come from.
    public static let fifoQueueARN = "arn:aws:sqs:us-east-1:123456789012:orders.fifo"

    /// An SQS message as Lambda delivers it. A `group` makes it a FIFO message with that `MessageGroupId`,
    /// unless `fifo` says otherwise.
    public static func sqsMessage(
        id: String,
        body: String = "{}",
        group: String? = nil,
        fifo: Bool? = nil,
        receiveCount: Int = 1
    ) -> SQSEvent.Message {
        var attributes = SQSEvent.Attributes([
            "ApproximateReceiveCount": String(receiveCount),
            "SentTimestamp": "1700000000000",
            "SenderId": "AIDAIENQZJOLO23YVJ4VO",
            "ApproximateFirstReceiveTimestamp": "1700000000001",
        ])
        attributes["MessageGroupId"] = group
        let isFIFO = fifo ?? (group != nil)
        return SQSEvent.Message(
            messageId: id,
            receiptHandle: "receipt-\(id)",
            body: body,
            md5OfBody: "",
            attributes: attributes,
            messageAttributes: [:],
            eventSource: BatchEventSource.sqs.rawValue,
            eventSourceArn: isFIFO ? fifoQueueARN : standardQueueARN,
            awsRegion: "us-east-1"
        )
    }

    /// An SQS event of messages with these identifiers (bodies `{"n":<index>}`), from a standard queue, or a FIFO
    /// queue with every message in `group` when one is given.
    public static func sqs(_ ids: [String], group: String? = nil) -> SQSEvent {
        SQSEvent(
            records: ids.enumerated().map { index, id in sqsMessage(id: id, body: "{\"n\":\(index)}", group: group) }
        )
    }

    /// A Kinesis record as Lambda delivers it.
    public static func kinesisRecord(
        sequenceNumber: String,
        partitionKey: String = "key",
        data: [UInt8] = Array("{}".utf8)
    ) -> KinesisEvent.Record {
        KinesisEvent.Record(
            kinesis: .init(
                partitionKey: partitionKey,
                sequenceNumber: sequenceNumber,
                data: data,
                approximateArrivalTimestamp: 1_700_000_000.5,
                kinesisSchemaVersion: "1.0"
            ),
            eventSource: BatchEventSource.kinesis.rawValue,
            eventID: "shardId-000000000000:\(sequenceNumber)",
            eventName: "aws:kinesis:record",
            eventVersion: "1.0",
            invokeIdentityArn: "arn:aws:iam::123456789012:role/lambda-role",
            eventSourceArn: "arn:aws:kinesis:us-east-1:123456789012:stream/clicks",
            awsRegion: "us-east-1"
        )
    }

    /// A Kinesis event of records with these sequence numbers, each with its own partition key unless
    /// `partitionKey` gives them one.
    public static func kinesis(_ sequenceNumbers: [String], partitionKey: String? = nil) -> KinesisEvent {
        KinesisEvent(
            records: sequenceNumbers.enumerated().map { index, number in
                kinesisRecord(sequenceNumber: number, partitionKey: partitionKey ?? "key-\(index)")
            }
        )
    }

    /// A DynamoDB stream record as Lambda delivers it, for the item whose key `Id` is `itemID`.
    public static func dynamoDBRecord(
        sequenceNumber: String,
        itemID: String = "item",
        eventName: DynamoDBEvent.OperationType = .modify,
        newImage: [String: DynamoDBEvent.AttributeValue]? = nil
    ) -> DynamoDBEvent.Record {
        DynamoDBEvent.Record(
            eventID: "event-\(sequenceNumber)",
            eventName: eventName,
            eventVersion: "1.1",
            eventSource: BatchEventSource.dynamoDB.rawValue,
            awsRegion: "us-east-1",
            dynamodb: .init(
                keys: ["Id": .string(itemID)],
                newImage: newImage ?? ["Id": .string(itemID)],
                sequenceNumber: sequenceNumber,
                sizeBytes: 26,
                streamViewType: "NEW_AND_OLD_IMAGES",
                approximateCreationDateTime: 1_700_000_000
            ),
            eventSourceArn: "arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2024-01-01T00:00:00.000"
        )
    }

    /// A DynamoDB event of records with these sequence numbers, each for its own item unless `itemID` names one.
    public static func dynamoDB(_ sequenceNumbers: [String], itemID: String? = nil) -> DynamoDBEvent {
        DynamoDBEvent(
            records: sequenceNumbers.enumerated().map { index, number in
                dynamoDBRecord(sequenceNumber: number, itemID: itemID ?? "item-\(index)")
            }
        )
    }

    /// A Kafka record as Lambda delivers it, with a JSON value unless `value` says otherwise (`nil`: a tombstone).
    public static func kafkaRecord(
        topic: String = "orders",
        partition: Int = 0,
        offset: Int64,
        key: String? = nil,
        value: String? = "{}",
        headers: [String: String] = [:]
    ) -> KafkaEvent.Record {
        KafkaEvent.Record(
            topic: topic,
            partition: partition,
            offset: offset,
            timestamp: 1_700_000_000_000 + offset,
            timestampType: "CREATE_TIME",
            key: key.map { Array($0.utf8) },
            value: value.map { Array($0.utf8) },
            headers: headers.sorted { $0.key < $1.key }.map {
                KafkaEvent.Header(name: $0.key, bytes: Array($0.value.utf8))
            }
        )
    }

    /// An Amazon MSK event (or, with `selfManaged`, a self-managed Kafka one) with these partitions of `topic`, in
    /// this order, each holding records at these offsets.
    public static func kafka(
        topic: String = "orders",
        partitions: [(partition: Int, offsets: [Int64])],
        selfManaged: Bool = false
    ) -> KafkaEvent {
        KafkaEvent(
            eventSource: selfManaged ? BatchEventSource.selfManagedKafka.rawValue : BatchEventSource.kafka.rawValue,
            eventSourceArn: selfManaged ? nil : "arn:aws:kafka:us-east-1:123456789012:cluster/orders/abc-1",
            bootstrapServers: "b-1.orders.kafka.us-east-1.amazonaws.com:9098",
            partitions: partitions.map { partition, offsets in
                KafkaEvent.TopicPartition(
                    topic: topic,
                    partition: partition,
                    records: offsets.map { kafkaRecord(topic: topic, partition: partition, offset: $0) }
                )
            }
        )
    }
}
