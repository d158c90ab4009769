import BatchProcessingJSONSupport

/// How a record is named in Lambda's partial batch response (`batchItemFailures[].itemIdentifier`).
///
/// SQS, Kinesis and DynamoDB Streams name a record by a string (the `messageId` or the sequence number).
/// Other sources name it by a small JSON object: Kafka, for instance, by its topic-partition and offset. An
/// identifier is encoded exactly as the source expects: a string as a JSON string, an object with its fields in
/// the order given.
///
/// ```swift
/// let sqs: ItemIdentifier = "059f36b4-87a3-44ab-83d2-661975830a7d"
/// let kafka = ItemIdentifier.object([("partition", .string("orders-0")), ("offset", .integer(15))])
/// ```
public struct ItemIdentifier: Sendable, Hashable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// The value of one field of an object identifier.
    public enum FieldValue: Sendable, Hashable {
        /// A JSON string.
        case string(String)
        /// A JSON integer.
        case integer(Int64)
    }

    /// One field of an object identifier.
    public struct Field: Sendable, Hashable {
        /// The field's name.
        public var name: String
        /// The field's value.
        public var value: FieldValue

        /// Creates a field.
        public init(name: String, value: FieldValue) {
            self.name = name
            self.value = value
        }
    }

    enum Storage: Sendable, Hashable {
        case string(String)
        case object([Field])
    }

    let storage: Storage

    /// An identifier written as a JSON string.
    public init(_ string: String) {
        storage = .string(string)
    }

    public init(stringLiteral value: String) {
        storage = .string(value)
    }

    /// An identifier written as a JSON object with these fields, in this order.
    public static func object(_ fields: [Field]) -> ItemIdentifier {
        ItemIdentifier(storage: .object(fields))
    }

    /// An identifier written as a JSON object with these fields, in this order.
    public static func object(_ fields: [(String, FieldValue)]) -> ItemIdentifier {
        ItemIdentifier(storage: .object(fields.map { Field(name: $0.0, value: $0.1) }))
    }

    private init(storage: Storage) {
        self.storage = storage
    }

    /// The string, for an identifier written as a string; `nil` for an object.
    public var stringValue: String? {
        if case .string(let value) = storage { return value }
        return nil
    }

    /// The fields, for an identifier written as an object; `nil` for a string.
    public var fields: [Field]? {
        if case .object(let fields) = storage { return fields }
        return nil
    }

    /// True when Lambda could not tell which record is meant: an empty or blank string, or an object without
    /// fields or with an empty or blank string field. Lambda takes such an entry as a failure of the whole batch.
    public var isBlank: Bool {
        switch storage {
        case .string(let value):
            return value.allSatisfy(\.isWhitespace)
        case .object(let fields):
            return fields.isEmpty
                || fields.contains {
                    if case .string(let value) = $0.value { return value.allSatisfy(\.isWhitespace) }
                    return false
                }
        }
    }

    /// The string itself, or for an object its compact JSON text: what logs and error messages show.
    public var description: String {
        switch storage {
        case .string(let value):
            return value
        case .object:
            var json = JSONText(capacity: 64)
            write(to: &json)
            return json.string
        }
    }

    /// Writes the identifier as the JSON value Lambda expects.
    func write(to json: inout JSONText) {
        switch storage {
        case .string(let value):
            json.string(value)
        case .object(let fields):
            json.beginObject()
            for field in fields {
                json.key(field.name)
                switch field.value {
                case .string(let value): json.string(value)
                case .integer(let value): json.integer(value)
                }
            }
            json.endObject()
        }
    }
}

extension ItemIdentifier: Codable {

    /// Decodes a JSON string, or a JSON object whose values are strings or integers.
    ///
    /// An object's field order is the decoder's (Foundation's decoder does not keep it); build object identifiers
    /// with `ItemIdentifier.object(_:)` when the order matters.
    public init(from decoder: any Decoder) throws {
        if let container = try? decoder.singleValueContainer(), let string = try? container.decode(String.self) {
            storage = .string(string)
            return
        }
        let container = try decoder.container(keyedBy: NamedCodingKey.self)
        var fields: [Field] = []
        for key in container.allKeys.sorted(by: { $0.stringValue < $1.stringValue }) {
            if let integer = try? container.decode(Int64.self, forKey: key) {
                fields.append(Field(name: key.stringValue, value: .integer(integer)))
            } else {
                fields.append(
                    Field(name: key.stringValue, value: .string(try container.decode(String.self, forKey: key)))
                )
            }
        }
        storage = .object(fields)
    }

    public func encode(to encoder: any Encoder) throws {
        switch storage {
        case .string(let value):
            var container = encoder.singleValueContainer()
            try container.encode(value)
        case .object(let fields):
            var container = encoder.container(keyedBy: NamedCodingKey.self)
            for field in fields {
                switch field.value {
                case .string(let value): try container.encode(value, forKey: NamedCodingKey(field.name))
                case .integer(let value): try container.encode(value, forKey: NamedCodingKey(field.name))
                }
            }
        }
    }
}
