public import BatchProcessing
import BatchProcessingJSONSupport
import Crypto

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Which part of a record makes its idempotency key. The key is the SHA-256 of the namespace and that part, so
/// records with the same part are the same work.
public struct IdempotencyKeySource: Sendable {
    enum Kind: Sendable {
        case identity
        case payload
        case jsonPath([String])
        case custom(@Sendable (any BatchRecord) -> String?)
    }

    let kind: Kind

    private init(kind: Kind) {
        self.kind = kind
    }

    /// The record's stable identity, as its source keeps it across redeliveries: the SQS `messageId`, the
    /// Kinesis `eventID` (shard and sequence number) or else the sequence number, the DynamoDB `SequenceNumber`,
    /// the Kafka topic-partition and offset; for a record type of your own, its item identifier. The default.
    public static let recordIdentity = IdempotencyKeySource(kind: .identity)

    /// The whole payload: the SQS body, the Kinesis data, the DynamoDB images, the Kafka value. Records with the
    /// same payload are the same work, even when they are different messages.
    public static let payload = IdempotencyKeySource(kind: .payload)

    /// A value inside the payload, read as JSON, named by a dotted path (`order.id`); a record whose payload is not
    /// JSON or lacks the path has no key.
    public static func jsonPath(_ path: String) -> IdempotencyKeySource {
        IdempotencyKeySource(kind: .jsonPath(path.split(separator: ".").map(String.init)))
    }

    /// Your own choice; `nil` means the record has no key.
    public static func custom(_ key: @escaping @Sendable (any BatchRecord) -> String?) -> IdempotencyKeySource {
        IdempotencyKeySource(kind: .custom(key))
    }

    /// The source a configuration names: `identity`, `payload` or `json:<dotted.path>`; `nil` for anything else.
    public init?(name: String) {
        switch name {
        case "identity": self = .recordIdentity
        case "payload": self = .payload
        case _ where name.hasPrefix("json:") && name.count > 5: self = .jsonPath(String(name.dropFirst(5)))
        default: return nil
        }
    }

    /// The part of `record` this source names, or `nil` when the record has none.
    func part(of record: some BatchRecord) -> String? {
        switch kind {
        case .identity: return Self.identity(of: record)
        case .payload: return Self.payload(of: record).map { String(decoding: $0, as: UTF8.self) }
        case .jsonPath(let path):
            guard let bytes = Self.payload(of: record), let value = Self.value(at: path, in: bytes) else { return nil }
            return value
        case .custom(let key): return key(record)
        }
    }

    static func identity(of record: some BatchRecord) -> String {
        switch unwrap(record) {
        case let message as SQSEvent.Message: return "sqs:" + message.messageId
        case let kinesis as KinesisEvent.Record: return "kinesis:" + (kinesis.eventID ?? kinesis.kinesis.sequenceNumber)
        case let change as DynamoDBEvent.Record: return "dynamodb:" + change.dynamodb.sequenceNumber
        case let kafka as KafkaEvent.Record: return "kafka:" + kafka.topicPartition + "@" + String(kafka.offset)
        default: return record.batchSource.rawValue + ":" + record.itemIdentifier.description
        }
    }

    /// The bytes that make a record's payload, for payload keys and payload validation.
    static func payload(of record: some BatchRecord) -> [UInt8]? {
        switch unwrap(record) {
        case let message as SQSEvent.Message: return message.rawBody.map { Array($0.utf8) }
        case let kinesis as KinesisEvent.Record: return try? kinesis.kinesis.data
        case let change as DynamoDBEvent.Record: return change.payloadDescription.map { Array($0.utf8) }
        case let kafka as KafkaEvent.Record: return (try? kafka.valueBytes) ?? nil
        default: return record.payloadDescription.map { Array($0.utf8) }
        }
    }

    private static func unwrap(_ record: some BatchRecord) -> any BatchRecord {
        guard let any = record as? AnyBatchRecord else { return record }
        switch any {
        case .sqs(let message): return message
        case .kinesis(let kinesis): return kinesis
        case .dynamoDB(let change): return change
        case .kafka(let kafka): return kafka
        }
    }

    /// The value at `path` in the JSON `bytes`, as canonical text (a string as it is, anything else as compact
    /// JSON with sorted keys); `nil` when the bytes are not JSON, the path is absent, or the value is `null`.
    private static func value(at path: [String], in bytes: [UInt8]) -> String? {
        guard var node = try? JSONDecoder().decode(JSONValue.self, from: Data(bytes)) else { return nil }
        for component in path {
            guard case .object(let object) = node, let next = object[component] else { return nil }
            node = next
        }
        switch node {
        case .null: return nil
        case .string(let text): return text
        default:
            var json = JSONText()
            node.write(to: &json)
            return json.string
        }
    }

    /// The key of `part` in `namespace`: SHA-256 of both, kept apart by a zero byte.
    static func key(namespace: String, part: String) -> IdempotencyKey {
        var hasher = SHA256()
        hasher.update(data: Array(namespace.utf8))
        hasher.update(data: [0])
        hasher.update(data: Array(part.utf8))
        return IdempotencyKey(hex: hexString(hasher.finalize()))!
    }

    /// The SHA-256 of `bytes` in hex.
    static func hash(_ bytes: [UInt8]) -> String {
        hexString(SHA256.hash(data: bytes))
    }

    private static func hexString(_ digest: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        for byte in digest {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}

/// Any JSON value, for reading a path in a payload.
private indirect enum JSONValue: Decodable {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        if let container = try? decoder.container(keyedBy: NamedKey.self) {
            var object: [String: JSONValue] = [:]
            for key in container.allKeys { object[key.stringValue] = try container.decode(JSONValue.self, forKey: key) }
            self = .object(object)
        } else if var container = try? decoder.unkeyedContainer() {
            var array: [JSONValue] = []
            while !container.isAtEnd { array.append(try container.decode(JSONValue.self)) }
            self = .array(array)
        } else {
            let container = try decoder.singleValueContainer()
            if container.decodeNil() {
                self = .null
            } else if let value = try? container.decode(Bool.self) {
                self = .bool(value)
            } else if let value = try? container.decode(Int64.self) {
                self = .integer(value)
            } else if let value = try? container.decode(Double.self) {
                self = .number(value)
            } else {
                self = .string(try container.decode(String.self))
            }
        }
    }

    func write(to json: inout JSONText) {
        switch self {
        case .null: json.null()
        case .bool(let value): json.bool(value)
        case .integer(let value): json.integer(value)
        case .number(let value): json.number(value)
        case .string(let value): json.string(value)
        case .array(let values):
            json.beginArray()
            for value in values { value.write(to: &json) }
            json.endArray()
        case .object(let object):
            json.beginObject()
            for (key, value) in object.sorted(by: { $0.key < $1.key }) {
                json.key(key)
                value.write(to: &json)
            }
            json.endObject()
        }
    }

    private struct NamedKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}
