/// A batch of messages that Lambda received from an Amazon SQS queue (standard or FIFO).
///
/// Field names follow swift-aws-lambda-events; the wire names are AWS's (`eventSourceARN`, `Records`).
///
/// Only `messageId` is required of a message (and `eventSource`, when the raw API detects the source): every other
/// field may be absent or `null`, as in the events people write by hand. A field that was absent stays absent when
/// the event is encoded again.
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

    /// Decodes an event from its JSON bytes with the package's one-pass reader, the fast path the processor's raw
    /// API uses. (The `Decodable` conformance reads the same JSON through Foundation's `JSONDecoder`.)
    ///
    /// - Throws: ``BatchProcessingError`` (``BatchProcessingError/Code/malformedEvent``) naming the byte offset, the
    ///   record and the field.
    public init(jsonBytes: [UInt8]) throws(BatchProcessingError) {
        self.init(records: try Self.readRecords(jsonBytes))
    }

    /// One SQS message as Lambda delivers it.
    public struct Message: Codable, Sendable, Equatable {
        /// The message's unique identifier; it is the item identifier in the partial batch response. Required.
        public var messageId: String
        /// The handle with which the message would be deleted.
        public var receiptHandle: String? {
            get { receiptHandleText.string }
            set { receiptHandleText = newValue.map(DeferredString.init) }
        }
        /// The body as it was in the event; `nil` when the event had none.
        ///
        /// Read from the event's bytes when asked for (the event was checked when it was read): a handler that
        /// does not read the body costs no copy of it.
        public var rawBody: String? {
            get { bodyText.string }
            set { bodyText = newValue.map(DeferredString.init) }
        }
        /// The MD5 digest of the body.
        public var md5OfBody: String? {
            get { md5OfBodyText.string }
            set { md5OfBodyText = newValue.map(DeferredString.init) }
        }
        var receiptHandleText: DeferredString?
        var bodyText: DeferredString?
        var md5OfBodyText: DeferredString?
        /// The MD5 digest of the message attributes, when the message has any.
        public var md5OfMessageAttributes: String?
        /// System attributes as they were in the event; `nil` when the event had none.
        public var rawAttributes: Attributes?
        /// Sender's attributes as they were in the event; `nil` when the event had none.
        public var rawMessageAttributes: [String: MessageAttribute]?
        /// `aws:sqs` (needed only when the raw API detects the source).
        public var eventSource: String?
        /// The ARN of the queue; it ends in `.fifo` for a FIFO queue.
        public var eventSourceArn: String?
        /// The region of the queue.
        public var awsRegion: String?

        /// Creates a message. Only the identifier is required; other fields left `nil` are absent from the JSON.
        public init(
            messageId: String,
            receiptHandle: String? = nil,
            body: String? = nil,
            md5OfBody: String? = nil,
            md5OfMessageAttributes: String? = nil,
            attributes: Attributes? = nil,
            messageAttributes: [String: MessageAttribute]? = nil,
            eventSource: String? = BatchEventSource.sqs.rawValue,
            eventSourceArn: String? = nil,
            awsRegion: String? = nil
        ) {
            self.messageId = messageId
            self.receiptHandle = receiptHandle
            self.rawBody = body
            self.md5OfBody = md5OfBody
            self.md5OfMessageAttributes = md5OfMessageAttributes
            self.rawAttributes = attributes
            self.rawMessageAttributes = messageAttributes
            self.eventSource = eventSource
            self.eventSourceArn = eventSourceArn
            self.awsRegion = awsRegion
        }

        /// The members of a message, in the order AWS writes them (the event reader matches keys in this order).
        enum CodingKeys: String, CodingKey, CaseIterable {
            case messageId, receiptHandle
            case rawBody = "body"
            case rawAttributes = "attributes"
            case rawMessageAttributes = "messageAttributes"
            case md5OfBody, md5OfMessageAttributes
            case eventSource
            case eventSourceArn = "eventSourceARN"
            case awsRegion
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            self.init(
                messageId: try container.decode(String.self, forKey: .messageId),
                receiptHandle: try container.decodeIfPresent(String.self, forKey: .receiptHandle),
                body: try container.decodeIfPresent(String.self, forKey: .rawBody),
                md5OfBody: try container.decodeIfPresent(String.self, forKey: .md5OfBody),
                md5OfMessageAttributes: try container.decodeIfPresent(String.self, forKey: .md5OfMessageAttributes),
                attributes: try container.decodeIfPresent(Attributes.self, forKey: .rawAttributes),
                messageAttributes: try container.decodeIfPresent(
                    [String: MessageAttribute].self,
                    forKey: .rawMessageAttributes
                ),
                eventSource: try container.decodeIfPresent(String.self, forKey: .eventSource),
                eventSourceArn: try container.decodeIfPresent(String.self, forKey: .eventSourceArn),
                awsRegion: try container.decodeIfPresent(String.self, forKey: .awsRegion)
            )
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(messageId, forKey: .messageId)
            try container.encodeIfPresent(receiptHandle, forKey: .receiptHandle)
            try container.encodeIfPresent(rawBody, forKey: .rawBody)
            try container.encodeIfPresent(md5OfBody, forKey: .md5OfBody)
            try container.encodeIfPresent(md5OfMessageAttributes, forKey: .md5OfMessageAttributes)
            try container.encodeIfPresent(rawAttributes, forKey: .rawAttributes)
            try container.encodeIfPresent(rawMessageAttributes, forKey: .rawMessageAttributes)
            try container.encodeIfPresent(eventSource, forKey: .eventSource)
            try container.encodeIfPresent(eventSourceArn, forKey: .eventSourceArn)
            try container.encodeIfPresent(awsRegion, forKey: .awsRegion)
        }

        /// The message body, as sent; empty when the event had none.
        public var body: String {
            get { rawBody ?? "" }
            set { rawBody = newValue }
        }

        /// System attributes (`ApproximateReceiveCount`, `MessageGroupId`, …); empty when the event had none.
        public var attributes: Attributes {
            get { rawAttributes ?? Attributes() }
            set { rawAttributes = newValue }
        }

        /// Attributes the sender attached to the message; empty when the event had none.
        public var messageAttributes: [String: MessageAttribute] {
            get { rawMessageAttributes ?? [:] }
            set { rawMessageAttributes = newValue }
        }

        /// True when the message comes from a FIFO queue (its queue ARN ends in `.fifo`).
        public var isFromFIFOQueue: Bool { eventSourceArn?.hasSuffix(".fifo") ?? false }
    }

    /// The system attributes of a message. Every attribute AWS sends is kept, known or not, so that encoding
    /// gives back what was decoded; the common ones have typed accessors.
    public struct Attributes: Codable, Sendable, Equatable {
        /// Every attribute, by its AWS name.
        ///
        /// Attributes read from an event stay as their JSON text there (checked when the event was read) until
        /// asked for: the dictionary is made on each read of `values`; one attribute (``subscript(_:)``, and the
        /// named ones below) is found without making it.
        public var values: [String: String] {
            get {
                switch storage {
                case .values(let values): values
                case .json(let bytes, let object): Self.values(in: bytes, object: object)
                }
            }
            set { storage = .values(newValue) }
        }

        private enum Storage: Sendable {
            case values([String: String])
            /// The event's bytes and where the attributes' object is in them, braces included.
            case json([UInt8], Range<Int>)
        }

        private var storage: Storage

        /// Creates attributes from AWS names and values.
        public init(_ values: [String: String] = [:]) {
            storage = .values(values)
        }

        /// Attributes that stay in `bytes`, whose object at `object` was checked by ``init(reading:)``.
        init(json bytes: [UInt8], object: Range<Int>) {
            storage = .json(bytes, object)
        }

        public static func == (lhs: Attributes, rhs: Attributes) -> Bool { lhs.values == rhs.values }

        /// Reads an object of attributes. AWS writes every value as a string; a number or a boolean written by
        /// hand is kept as its text, and a `null` value is left out.
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: NamedCodingKey.self)
            var values: [String: String] = [:]
            for key in container.allKeys {
                if try container.decodeNil(forKey: key) { continue }
                if let text = try? container.decode(String.self, forKey: key) {
                    values[key.stringValue] = text
                } else if let number = try? container.decode(Int64.self, forKey: key) {
                    values[key.stringValue] = String(number)
                } else if let flag = try? container.decode(Bool.self, forKey: key) {
                    values[key.stringValue] = String(flag)
                } else {
                    throw DecodingError.typeMismatch(
                        String.self,
                        .init(
                            codingPath: container.codingPath + [key],
                            debugDescription: "an attribute value must be a string"
                        )
                    )
                }
            }
            storage = .values(values)
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(values)
        }

        /// The attribute with this AWS name.
        public subscript(name: String) -> String? {
            get {
                switch storage {
                case .values(let values): values[name]
                case .json(let bytes, let object): Self.value(named: name, in: bytes, object: object)
                }
            }
            set {
                var values = self.values
                values[name] = newValue
                storage = .values(values)
            }
        }

        /// How many times the message has been received, this time included.
        public var approximateReceiveCount: Int? { self["ApproximateReceiveCount"].flatMap { Int($0) } }
        /// When the message was sent, in milliseconds since 1970.
        public var sentTimestamp: String? { self["SentTimestamp"] }
        /// Who sent the message.
        public var senderId: String? { self["SenderId"] }
        /// When the message was first received, in milliseconds since 1970.
        public var approximateFirstReceiveTimestamp: String? { self["ApproximateFirstReceiveTimestamp"] }
        /// FIFO queues (and fair standard queues): the message group; messages of one group are ordered.
        public var messageGroupId: String? { self["MessageGroupId"] }
        /// FIFO queues: the token that deduplicates sends.
        public var messageDeduplicationId: String? { self["MessageDeduplicationId"] }
        /// FIFO queues: the message's sequence number within its group.
        public var sequenceNumber: String? { self["SequenceNumber"] }
        /// The X-Ray trace header, when tracing is on.
        public var awsTraceHeader: String? { self["AWSTraceHeader"] }
    }

    /// An attribute the sender attached to a message: a string, a number (carried as a string) or binary.
    ///
    /// A binary value is kept as the base64 text of the event and decoded only when asked for
    /// (``binaryValue``), so that a bad one fails the handler that reads it, not the whole batch.
    public struct MessageAttribute: Codable, Sendable, Equatable {
        /// `String`, `Number` or `Binary`, optionally followed by `.` and a custom type.
        public var dataType: String?
        /// The value of a `String` or `Number` attribute.
        public var stringValue: String?
        /// The value of a `Binary` attribute as the event carries it: base64 text.
        public var base64BinaryValue: String?
        /// Reserved by AWS; kept for a lossless round trip.
        public var stringListValues: [String]?
        /// Reserved by AWS (base64 texts); kept for a lossless round trip.
        public var binaryListValues: [String]?

        /// Creates an attribute.
        public init(
            dataType: String?,
            stringValue: String? = nil,
            binaryValue: [UInt8]? = nil,
            stringListValues: [String]? = nil,
            binaryListValues: [String]? = nil
        ) {
            self.dataType = dataType
            self.stringValue = stringValue
            self.base64BinaryValue = binaryValue.map { Base64.encode($0) }
            self.stringListValues = stringListValues
            self.binaryListValues = binaryListValues
        }

        enum CodingKeys: String, CodingKey, CaseIterable {
            case dataType, stringValue
            case base64BinaryValue = "binaryValue"
            case stringListValues, binaryListValues
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

        /// The bytes of a `Binary` attribute, decoded from base64; `nil` when there are none.
        ///
        /// - Throws: ``RecordPayloadError`` when the text is not valid base64.
        public var binaryValue: [UInt8]? {
            get throws(RecordPayloadError) {
                guard let base64BinaryValue else { return nil }
                return try RecordPayloadError.decodeBase64(base64BinaryValue, field: "binaryValue")
            }
        }

        /// The attribute's value, typed by its data type (a custom suffix such as `Number.float` is ignored);
        /// `nil` for an unknown data type or a missing value.
        ///
        /// - Throws: ``RecordPayloadError`` when a binary value is not valid base64.
        public var value: Value? {
            get throws(RecordPayloadError) {
                guard let dataType else { return nil }
                let base = dataType.split(separator: ".", maxSplits: 1).first.map(String.init) ?? dataType
                switch base {
                case "String": return stringValue.map(Value.string)
                case "Number": return stringValue.map(Value.number)
                case "Binary": return try binaryValue.map(Value.binary)
                default: return nil
                }
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
    }
}
