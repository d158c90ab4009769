/// A batch of records that Lambda read from a Kinesis data stream.
///
/// Only `kinesis.sequenceNumber` is required of a record (and `eventSource`, when the raw API detects the
/// source): every other field may be absent or `null`. A field that was absent stays absent when the event is
/// encoded again.
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

    /// Decodes an event from its JSON bytes with the package's one-pass reader, the fast path the processor's raw
    /// API uses. (The `Decodable` conformance reads the same JSON through Foundation's `JSONDecoder`.)
    ///
    /// - Throws: ``BatchProcessingError`` (``BatchProcessingError/Code/malformedEvent``) naming the byte offset, the
    ///   record and the field.
    public init(jsonBytes: [UInt8]) throws(BatchProcessingError) {
        self.init(records: try Self.readRecords(jsonBytes))
    }

    /// One Kinesis record with Lambda's envelope.
    public struct Record: Codable, Sendable, Equatable {
        /// The stream record itself: data, partition key, sequence number.
        public var kinesis: Payload
        /// `aws:kinesis` (needed only when the raw API detects the source).
        public var eventSource: String?
        /// `shardId-…:sequenceNumber`.
        public var eventID: String?
        /// `aws:kinesis:record`.
        public var eventName: String?
        /// The version of the event format.
        public var eventVersion: String?
        /// The ARN of the role Lambda used to read the stream.
        public var invokeIdentityArn: String?
        /// The ARN of the stream.
        public var eventSourceArn: String?
        /// The region of the stream.
        public var awsRegion: String?

        /// Creates a record; fields left `nil` are absent from the JSON.
        public init(
            kinesis: Payload,
            eventSource: String? = BatchEventSource.kinesis.rawValue,
            eventID: String? = nil,
            eventName: String? = nil,
            eventVersion: String? = nil,
            invokeIdentityArn: String? = nil,
            eventSourceArn: String? = nil,
            awsRegion: String? = nil
        ) {
            self.kinesis = kinesis
            self.eventSource = eventSource
            self.eventID = eventID
            self.eventName = eventName
            self.eventVersion = eventVersion
            self.invokeIdentityArn = invokeIdentityArn
            self.eventSourceArn = eventSourceArn
            self.awsRegion = awsRegion
        }

        enum CodingKeys: String, CodingKey, CaseIterable {
            case kinesis, eventSource, eventID, eventName, eventVersion, invokeIdentityArn
            case eventSourceArn = "eventSourceARN"
            case awsRegion
        }
    }

    /// The data and placement of a Kinesis record.
    ///
    /// The data is kept as the base64 text of the event and decoded only when the handler asks for it
    /// (``data``, ``dataString``, ``decodeData(as:)``), so that a record with bad data fails alone.
    public struct Payload: Codable, Sendable, Equatable {
        /// The schema version of this payload.
        public var kinesisSchemaVersion: String?
        /// The key that chose the record's shard; records of one key are ordered. `nil` orders the record
        /// against no other.
        public var partitionKey: String?
        /// The record's sequence number in its shard; it is the item identifier in the partial batch response.
        public var sequenceNumber: String
        /// The record's data as the event carries it: base64 text (`nil` when the event had none).
        public var base64Data: String? {
            get { dataText.string }
            set { dataText = newValue.map(DeferredString.init) }
        }
        /// `data` as read from the event, decoded when asked for.
        var dataText: DeferredString?
        /// When the record reached the stream, in seconds since 1970.
        public var approximateArrivalTimestamp: Double?
        /// `KMS` when the record was encrypted at rest, `NONE` or absent otherwise.
        public var encryptionType: String?

        /// Creates a payload from the data's bytes.
        public init(
            partitionKey: String?,
            sequenceNumber: String,
            data: [UInt8],
            approximateArrivalTimestamp: Double? = nil,
            kinesisSchemaVersion: String? = nil,
            encryptionType: String? = nil
        ) {
            self.init(
                partitionKey: partitionKey,
                sequenceNumber: sequenceNumber,
                base64Data: Base64.encode(data),
                approximateArrivalTimestamp: approximateArrivalTimestamp,
                kinesisSchemaVersion: kinesisSchemaVersion,
                encryptionType: encryptionType
            )
        }

        /// Creates a payload from the data's base64 text, as the event carries it (it is not checked here).
        public init(
            partitionKey: String?,
            sequenceNumber: String,
            base64Data: String?,
            approximateArrivalTimestamp: Double? = nil,
            kinesisSchemaVersion: String? = nil,
            encryptionType: String? = nil
        ) {
            self.kinesisSchemaVersion = kinesisSchemaVersion
            self.partitionKey = partitionKey
            self.sequenceNumber = sequenceNumber
            self.base64Data = base64Data
            self.approximateArrivalTimestamp = approximateArrivalTimestamp
            self.encryptionType = encryptionType
        }

        /// The members of a payload, most frequent first (the event reader matches keys in this order).
        enum CodingKeys: String, CodingKey, CaseIterable {
            case sequenceNumber
            case base64Data = "data"
            case partitionKey, approximateArrivalTimestamp, kinesisSchemaVersion, encryptionType
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            self.init(
                partitionKey: try container.decodeIfPresent(String.self, forKey: .partitionKey),
                sequenceNumber: try container.decode(String.self, forKey: .sequenceNumber),
                base64Data: try container.decodeIfPresent(String.self, forKey: .base64Data),
                approximateArrivalTimestamp: try container.decodeIfPresent(
                    Double.self,
                    forKey: .approximateArrivalTimestamp
                ),
                kinesisSchemaVersion: try container.decodeIfPresent(String.self, forKey: .kinesisSchemaVersion),
                encryptionType: try container.decodeIfPresent(String.self, forKey: .encryptionType)
            )
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encodeIfPresent(kinesisSchemaVersion, forKey: .kinesisSchemaVersion)
            try container.encodeIfPresent(partitionKey, forKey: .partitionKey)
            try container.encode(sequenceNumber, forKey: .sequenceNumber)
            try container.encodeIfPresent(base64Data, forKey: .base64Data)
            try container.encodeIfPresent(approximateArrivalTimestamp, forKey: .approximateArrivalTimestamp)
            try container.encodeIfPresent(encryptionType, forKey: .encryptionType)
        }

        /// The record's data, decoded from base64 (empty when the event had none).
        ///
        /// - Throws: ``RecordPayloadError`` (field `kinesis.data`) when the text is not valid base64.
        public var data: [UInt8] {
            get throws(RecordPayloadError) {
                guard let base64Data else { return [] }
                return try RecordPayloadError.decodeBase64(base64Data, field: "kinesis.data")
            }
        }
    }
}
