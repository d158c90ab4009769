/// A batch of messages that Lambda received from an Amazon SQS queue (standard or FIFO).
///
/// Field names follow swift-aws-lambda-events; the wire names are AWS's (`eventSourceARN`, `Records`).
public struct SQSEvent: Codable, Sendable, Equatable {
    /// The messages, in the order Lambda delivered them.
    public var records: [Message]

    /// Creates an event from its messages.
    public init(records: [Message]) {
        self.records = records
    }

    enum CodingKeys: String, CodingKey {
        case records = "Records"
    }

    /// One SQS message as Lambda delivers it.
    public struct Message: Codable, Sendable, Equatable {
        /// The message's unique identifier; it is the item identifier in the partial batch response.
        public var messageId: String
        /// The handle with which the message would be deleted.
        public var receiptHandle: String
        /// The message body, as sent.
        public var body: String
        /// The MD5 digest of the body.
        public var md5OfBody: String
        /// The MD5 digest of the message attributes, when the message has any.
        public var md5OfMessageAttributes: String?
        /// System attributes (`ApproximateReceiveCount`, `MessageGroupId`, …).
        public var attributes: Attributes
        /// Attributes the sender attached to the message.
        public var messageAttributes: [String: MessageAttribute]
        /// Always `aws:sqs`.
        public var eventSource: String
        /// The ARN of the queue; it ends in `.fifo` for a FIFO queue.
        public var eventSourceArn: String
        /// The region of the queue.
        public var awsRegion: String

        /// Creates a message. Only the identifier and body are required; the rest default to what a test needs.
        public init(
            messageId: String,
            receiptHandle: String = "",
            body: String,
            md5OfBody: String = "",
            md5OfMessageAttributes: String? = nil,
            attributes: Attributes = Attributes(),
            messageAttributes: [String: MessageAttribute] = [:],
            eventSource: String = BatchEventSource.sqs.rawValue,
            eventSourceArn: String = "arn:aws:sqs:us-east-1:123456789012:queue",
            awsRegion: String = "us-east-1"
        ) {
            self.messageId = messageId
            self.receiptHandle = receiptHandle
            self.body = body
            self.md5OfBody = md5OfBody
            self.md5OfMessageAttributes = md5OfMessageAttributes
            self.attributes = attributes
            self.messageAttributes = messageAttributes
            self.eventSource = eventSource
            self.eventSourceArn = eventSourceArn
            self.awsRegion = awsRegion
        }

        enum CodingKeys: String, CodingKey {
            case messageId, receiptHandle, body, md5OfBody, md5OfMessageAttributes, attributes, messageAttributes
            case eventSource
            case eventSourceArn = "eventSourceARN"
            case awsRegion
        }

        /// True when the message comes from a FIFO queue (its queue ARN ends in `.fifo`).
        public var isFromFIFOQueue: Bool { eventSourceArn.hasSuffix(".fifo") }
    }

    /// The system attributes of a message. Every attribute AWS sends is kept, known or not, so that encoding
    /// gives back what was decoded; the common ones have typed accessors.
    public struct Attributes: Codable, Sendable, Equatable {
        /// Every attribute, by its AWS name.
        public var values: [String: String]

        /// Creates attributes from AWS names and values.
        public init(_ values: [String: String] = [:]) {
            self.values = values
        }

        public init(from decoder: any Decoder) throws {
            values = try decoder.singleValueContainer().decode([String: String].self)
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(values)
        }

        /// The attribute with this AWS name.
        public subscript(name: String) -> String? {
            get { values[name] }
            set { values[name] = newValue }
        }

        /// How many times the message has been received, this time included.
        public var approximateReceiveCount: Int? { values["ApproximateReceiveCount"].flatMap { Int($0) } }
        /// When the message was sent, in milliseconds since 1970.
        public var sentTimestamp: String? { values["SentTimestamp"] }
        /// Who sent the message.
        public var senderId: String? { values["SenderId"] }
        /// When the message was first received, in milliseconds since 1970.
        public var approximateFirstReceiveTimestamp: String? { values["ApproximateFirstReceiveTimestamp"] }
        /// FIFO queues (and fair standard queues): the message group; messages of one group are ordered.
        public var messageGroupId: String? { values["MessageGroupId"] }
        /// FIFO queues: the token that deduplicates sends.
        public var messageDeduplicationId: String? { values["MessageDeduplicationId"] }
        /// FIFO queues: the message's sequence number within its group.
        public var sequenceNumber: String? { values["SequenceNumber"] }
        /// The X-Ray trace header, when tracing is on.
        public var awsTraceHeader: String? { values["AWSTraceHeader"] }
    }

    /// An attribute the sender attached to a message: a string, a number (carried as a string) or binary.
    public struct MessageAttribute: Codable, Sendable, Equatable {
        /// `String`, `Number` or `Binary`, optionally followed by `.` and a custom type.
        public var dataType: String
        /// The value of a `String` or `Number` attribute.
        public var stringValue: String?
        /// The value of a `Binary` attribute (base64 on the wire).
        public var binaryValue: [UInt8]?
        /// Reserved by AWS; kept for a lossless round trip.
        public var stringListValues: [String]
        /// Reserved by AWS; kept for a lossless round trip.
        public var binaryListValues: [[UInt8]]

        /// Creates an attribute.
        public init(
            dataType: String,
            stringValue: String? = nil,
            binaryValue: [UInt8]? = nil,
            stringListValues: [String] = [],
            binaryListValues: [[UInt8]] = []
        ) {
            self.dataType = dataType
            self.stringValue = stringValue
            self.binaryValue = binaryValue
            self.stringListValues = stringListValues
            self.binaryListValues = binaryListValues
        }

        /// A `String` attribute.
        public static func string(_ value: String) -> MessageAttribute {
            MessageAttribute(dataType: "String", stringValue: value)
        }

        /// A `Number` attribute; SQS carries numbers as their decimal text.
        public static func number(_ value: String) -> MessageAttribute {
            MessageAttribute(dataType: "Number", stringValue: value)
        }

        /// A `Binary` attribute.
        public static func binary(_ value: [UInt8]) -> MessageAttribute {
            MessageAttribute(dataType: "Binary", binaryValue: value)
        }

        /// The attribute's value, typed by its data type (a custom suffix such as `Number.float` is ignored).
        public var value: Value? {
            let base = dataType.split(separator: ".", maxSplits: 1).first.map(String.init) ?? dataType
            switch base {
            case "String": return stringValue.map(Value.string)
            case "Number": return stringValue.map(Value.number)
            case "Binary": return binaryValue.map(Value.binary)
            default: return nil
            }
        }

        /// A message attribute's value.
        public enum Value: Sendable, Equatable {
            /// A `String` attribute.
            case string(String)
            /// A `Number` attribute, as its decimal text (SQS allows 38 significant digits).
            case number(String)
            /// A `Binary` attribute.
            case binary([UInt8])
        }

        enum CodingKeys: String, CodingKey {
            case dataType, stringValue, binaryValue, stringListValues, binaryListValues
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            dataType = try container.decode(String.self, forKey: .dataType)
            stringValue = try container.decodeIfPresent(String.self, forKey: .stringValue)
            binaryValue = try container.decodeIfPresent(String.self, forKey: .binaryValue).map {
                try decodeBase64($0, forKey: CodingKeys.binaryValue, in: container)
            }
            stringListValues = try container.decodeIfPresent([String].self, forKey: .stringListValues) ?? []
            let binaryList = try container.decodeIfPresent([String].self, forKey: .binaryListValues) ?? []
            binaryListValues = try binaryList.map {
                try decodeBase64($0, forKey: CodingKeys.binaryListValues, in: container)
            }
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(dataType, forKey: .dataType)
            try container.encodeIfPresent(stringValue, forKey: .stringValue)
            try container.encodeIfPresent(binaryValue.map { Base64.encode($0) }, forKey: .binaryValue)
            try container.encode(stringListValues, forKey: .stringListValues)
            try container.encode(binaryListValues.map { Base64.encode($0) }, forKey: .binaryListValues)
        }
    }
}

/// Decodes base64 text found in a keyed container, turning a bad value into a `DecodingError` at that key.
func decodeBase64<Key: CodingKey>(
    _ text: String,
    forKey key: Key,
    in container: KeyedDecodingContainer<Key>
) throws -> [UInt8] {
    do {
        return try Base64.decode(text)
    } catch {
        throw DecodingError.dataCorruptedError(
            forKey: key,
            in: container,
            debugDescription: "not valid base64: \(error.description)"
        )
    }
}
