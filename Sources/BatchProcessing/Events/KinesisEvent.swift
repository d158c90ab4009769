/// A batch of records that Lambda read from a Kinesis data stream.
public struct KinesisEvent: Codable, Sendable, Equatable {
    /// The records, in shard order.
    public var records: [Record]

    /// Creates an event from its records.
    public init(records: [Record]) {
        self.records = records
    }

    enum CodingKeys: String, CodingKey {
        case records = "Records"
    }

    /// One Kinesis record with Lambda's envelope.
    public struct Record: Codable, Sendable, Equatable {
        /// The stream record itself: data, partition key, sequence number.
        public var kinesis: Payload
        /// Always `aws:kinesis`.
        public var eventSource: String
        /// `shardId-…:sequenceNumber`.
        public var eventID: String
        /// Always `aws:kinesis:record`.
        public var eventName: String
        /// The version of the event format.
        public var eventVersion: String
        /// The ARN of the role Lambda used to read the stream.
        public var invokeIdentityArn: String
        /// The ARN of the stream.
        public var eventSourceArn: String
        /// The region of the stream.
        public var awsRegion: String

        /// Creates a record; everything but the payload defaults to what a test needs.
        public init(
            kinesis: Payload,
            eventSource: String = BatchEventSource.kinesis.rawValue,
            eventID: String? = nil,
            eventName: String = "aws:kinesis:record",
            eventVersion: String = "1.0",
            invokeIdentityArn: String = "arn:aws:iam::123456789012:role/lambda-role",
            eventSourceArn: String = "arn:aws:kinesis:us-east-1:123456789012:stream/stream",
            awsRegion: String = "us-east-1"
        ) {
            self.kinesis = kinesis
            self.eventSource = eventSource
            self.eventID = eventID ?? "shardId-000000000000:\(kinesis.sequenceNumber)"
            self.eventName = eventName
            self.eventVersion = eventVersion
            self.invokeIdentityArn = invokeIdentityArn
            self.eventSourceArn = eventSourceArn
            self.awsRegion = awsRegion
        }

        enum CodingKeys: String, CodingKey {
            case kinesis, eventSource, eventID, eventName, eventVersion, invokeIdentityArn
            case eventSourceArn = "eventSourceARN"
            case awsRegion
        }
    }

    /// The data and placement of a Kinesis record.
    public struct Payload: Codable, Sendable, Equatable {
        /// The schema version of this payload.
        public var kinesisSchemaVersion: String
        /// The key that chose the record's shard; records of one key are ordered.
        public var partitionKey: String
        /// The record's sequence number in its shard; it is the item identifier in the partial batch response.
        public var sequenceNumber: String
        /// The record's data, decoded from base64.
        public var data: [UInt8]
        /// When the record reached the stream, in seconds since 1970.
        public var approximateArrivalTimestamp: Double
        /// `KMS` when the record was encrypted at rest, `NONE` or absent otherwise.
        public var encryptionType: String?

        /// Creates a payload.
        public init(
            partitionKey: String,
            sequenceNumber: String,
            data: [UInt8],
            approximateArrivalTimestamp: Double = 0,
            kinesisSchemaVersion: String = "1.0",
            encryptionType: String? = nil
        ) {
            self.kinesisSchemaVersion = kinesisSchemaVersion
            self.partitionKey = partitionKey
            self.sequenceNumber = sequenceNumber
            self.data = data
            self.approximateArrivalTimestamp = approximateArrivalTimestamp
            self.encryptionType = encryptionType
        }

        enum CodingKeys: String, CodingKey {
            case kinesisSchemaVersion, partitionKey, sequenceNumber, data, approximateArrivalTimestamp, encryptionType
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            kinesisSchemaVersion = try container.decode(String.self, forKey: .kinesisSchemaVersion)
            partitionKey = try container.decode(String.self, forKey: .partitionKey)
            sequenceNumber = try container.decode(String.self, forKey: .sequenceNumber)
            data = try decodeBase64(
                container.decode(String.self, forKey: .data),
                forKey: CodingKeys.data,
                in: container
            )
            approximateArrivalTimestamp = try container.decode(Double.self, forKey: .approximateArrivalTimestamp)
            encryptionType = try container.decodeIfPresent(String.self, forKey: .encryptionType)
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(kinesisSchemaVersion, forKey: .kinesisSchemaVersion)
            try container.encode(partitionKey, forKey: .partitionKey)
            try container.encode(sequenceNumber, forKey: .sequenceNumber)
            try container.encode(Base64.encode(data), forKey: .data)
            try container.encode(approximateArrivalTimestamp, forKey: .approximateArrivalTimestamp)
            try container.encodeIfPresent(encryptionType, forKey: .encryptionType)
        }
    }
}
