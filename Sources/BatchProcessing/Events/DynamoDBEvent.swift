/// A batch of change records that Lambda read from a DynamoDB stream.
public struct DynamoDBEvent: Codable, Sendable, Equatable {
    /// The records, in stream order.
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

    /// One change to one item, with Lambda's envelope.
    ///
    /// Only `dynamodb.SequenceNumber` is required (and `eventSource`, when the raw API detects the source): every
    /// other field may be absent or `null`. A field that was absent stays absent when the event is encoded again.
    public struct Record: Codable, Sendable, Equatable {
        /// A unique identifier of the event.
        public var eventID: String?
        /// What happened to the item.
        public var eventName: OperationType?
        /// The version of the event format.
        public var eventVersion: String?
        /// `aws:dynamodb` (needed only when the raw API detects the source).
        public var eventSource: String?
        /// The region of the table.
        public var awsRegion: String?
        /// The change itself: keys, images, sequence number.
        public var dynamodb: StreamRecord
        /// The ARN of the stream.
        public var eventSourceArn: String?
        /// Who made the change, for changes made by DynamoDB itself (TTL deletions).
        public var userIdentity: UserIdentity?

        /// Creates a record; fields left `nil` are absent from the JSON.
        public init(
            eventID: String? = nil,
            eventName: OperationType? = nil,
            eventVersion: String? = nil,
            eventSource: String? = BatchEventSource.dynamoDB.rawValue,
            awsRegion: String? = nil,
            dynamodb: StreamRecord,
            eventSourceArn: String? = nil,
            userIdentity: UserIdentity? = nil
        ) {
            self.eventID = eventID
            self.eventName = eventName
            self.eventVersion = eventVersion
            self.eventSource = eventSource
            self.awsRegion = awsRegion
            self.dynamodb = dynamodb
            self.eventSourceArn = eventSourceArn
            self.userIdentity = userIdentity
        }

        /// The members of a record, in the order AWS writes them (the event reader matches keys in this order).
        enum CodingKeys: String, CodingKey, CaseIterable {
            case eventID, eventName, eventVersion, eventSource, awsRegion, dynamodb
            case eventSourceArn = "eventSourceARN"
            case userIdentity
        }
    }

    /// The kind of change: `INSERT`, `MODIFY` or `REMOVE` (kept as text, so a new kind still decodes).
    public struct OperationType: Codable, Sendable, Hashable, CustomStringConvertible {
        /// The name as DynamoDB writes it.
        public var rawValue: String

        /// An operation named `rawValue`.
        public init(rawValue: String) {
            self.rawValue = rawValue
        }

        /// A new item was added.
        public static let insert = OperationType(rawValue: "INSERT")
        /// An item was changed.
        public static let modify = OperationType(rawValue: "MODIFY")
        /// An item was deleted.
        public static let remove = OperationType(rawValue: "REMOVE")

        public init(from decoder: any Decoder) throws {
            rawValue = try decoder.singleValueContainer().decode(String.self)
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(rawValue)
        }

        public var description: String { rawValue }
    }

    /// The change carried by a DynamoDB stream record.
    ///
    /// Read from an event, the keys and images stay in the event's bytes (checked, not yet built) until first read:
    /// a handler that does not look at an image pays nothing for it. Each read builds the image afresh, so read it
    /// once into a constant when a handler needs it more than once.
    public struct StreamRecord: Codable, Sendable, Equatable {
        /// When the change was made, in seconds since 1970.
        public var approximateCreationDateTime: Double?
        /// The primary key of the changed item as it was in the event; `nil` when the event had none.
        public var rawKeys: [String: AttributeValue]? {
            get { keysStorage?.value }
            set { keysStorage = newValue.map(Deferred<DynamoDBImageReading>.init) }
        }
        /// The item after the change, when the stream view includes it.
        public var newImage: [String: AttributeValue]? {
            get { newImageStorage?.value }
            set { newImageStorage = newValue.map(Deferred<DynamoDBImageReading>.init) }
        }
        /// The item before the change, when the stream view includes it.
        public var oldImage: [String: AttributeValue]? {
            get { oldImageStorage?.value }
            set { oldImageStorage = newValue.map(Deferred<DynamoDBImageReading>.init) }
        }
        /// The record's sequence number; it is the item identifier in the partial batch response. Required.
        public var sequenceNumber: String
        /// The size of the record in bytes.
        public var sizeBytes: Int?
        /// `KEYS_ONLY`, `NEW_IMAGE`, `OLD_IMAGE` or `NEW_AND_OLD_IMAGES`.
        public var streamViewType: String?

        var keysStorage: Deferred<DynamoDBImageReading>?
        var newImageStorage: Deferred<DynamoDBImageReading>?
        var oldImageStorage: Deferred<DynamoDBImageReading>?

        /// Creates a change record; fields left `nil` are absent from the JSON.
        public init(
            keys: [String: AttributeValue]?,
            newImage: [String: AttributeValue]? = nil,
            oldImage: [String: AttributeValue]? = nil,
            sequenceNumber: String,
            sizeBytes: Int? = nil,
            streamViewType: String? = nil,
            approximateCreationDateTime: Double? = nil
        ) {
            self.approximateCreationDateTime = approximateCreationDateTime
            self.sequenceNumber = sequenceNumber
            self.sizeBytes = sizeBytes
            self.streamViewType = streamViewType
            self.rawKeys = keys
            self.newImage = newImage
            self.oldImage = oldImage
        }

        /// The primary key of the changed item; records of one item are ordered. Empty when the event had none
        /// (such a record is ordered against no other).
        public var keys: [String: AttributeValue] {
            get { rawKeys ?? [:] }
            set { rawKeys = newValue }
        }

        /// The members of a stream record, most frequent first (the event reader matches keys in this order).
        enum CodingKeys: String, CodingKey, CaseIterable {
            case sequenceNumber = "SequenceNumber"
            case rawKeys = "Keys"
            case newImage = "NewImage"
            case oldImage = "OldImage"
            case sizeBytes = "SizeBytes"
            case approximateCreationDateTime = "ApproximateCreationDateTime"
            case streamViewType = "StreamViewType"
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            self.init(
                keys: try container.decodeIfPresent([String: AttributeValue].self, forKey: .rawKeys),
                newImage: try container.decodeIfPresent([String: AttributeValue].self, forKey: .newImage),
                oldImage: try container.decodeIfPresent([String: AttributeValue].self, forKey: .oldImage),
                sequenceNumber: try container.decode(String.self, forKey: .sequenceNumber),
                sizeBytes: try container.decodeIfPresent(Int.self, forKey: .sizeBytes),
                streamViewType: try container.decodeIfPresent(String.self, forKey: .streamViewType),
                approximateCreationDateTime: try container.decodeIfPresent(
                    Double.self,
                    forKey: .approximateCreationDateTime
                )
            )
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encodeIfPresent(approximateCreationDateTime, forKey: .approximateCreationDateTime)
            try container.encodeIfPresent(rawKeys, forKey: .rawKeys)
            try container.encodeIfPresent(newImage, forKey: .newImage)
            try container.encodeIfPresent(oldImage, forKey: .oldImage)
            try container.encode(sequenceNumber, forKey: .sequenceNumber)
            try container.encodeIfPresent(sizeBytes, forKey: .sizeBytes)
            try container.encodeIfPresent(streamViewType, forKey: .streamViewType)
        }

        public static func == (lhs: StreamRecord, rhs: StreamRecord) -> Bool {
            lhs.sequenceNumber == rhs.sequenceNumber && lhs.sizeBytes == rhs.sizeBytes
                && lhs.streamViewType == rhs.streamViewType
                && lhs.approximateCreationDateTime == rhs.approximateCreationDateTime && lhs.rawKeys == rhs.rawKeys
                && lhs.newImage == rhs.newImage && lhs.oldImage == rhs.oldImage
        }
    }

    /// Who made a change that DynamoDB made itself (a TTL deletion: `Service`, `dynamodb.amazonaws.com`).
    public struct UserIdentity: Codable, Sendable, Equatable {
        /// The kind of identity, `Service` for TTL.
        public var type: String?
        /// The principal, `dynamodb.amazonaws.com` for TTL.
        public var principalId: String?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case type, principalId
        }

        /// Creates an identity.
        public init(type: String?, principalId: String?) {
            self.type = type
            self.principalId = principalId
        }
    }
}
