import BatchProcessingJSONSupport

extension DynamoDBEvent {
    /// A DynamoDB value in its typed JSON form (`{"S": "text"}`, `{"N": "42"}`, …): the full set of types.
    public enum AttributeValue: Codable, Sendable, Hashable {
        /// `S`: a string.
        case string(String)
        /// `N`: a number, as its decimal text (DynamoDB keeps 38 digits; no precision is lost here).
        case number(String)
        /// `B`: binary data (base64 on the wire).
        case binary([UInt8])
        /// `SS`: a set of strings.
        case stringSet([String])
        /// `NS`: a set of numbers, as decimal text.
        case numberSet([String])
        /// `BS`: a set of binary values.
        case binarySet([[UInt8]])
        /// `M`: a map of named values.
        case map([String: AttributeValue])
        /// `L`: a list of values.
        case list([AttributeValue])
        /// `NULL`: the null value.
        case null
        /// `BOOL`: a boolean.
        case bool(Bool)

        private static let typeNames = ["S", "N", "B", "SS", "NS", "BS", "M", "L", "NULL", "BOOL"]

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: NamedCodingKey.self)
            let keys = container.allKeys
            guard keys.count == 1, let key = keys.first else {
                throw DecodingError.dataCorrupted(
                    .init(
                        codingPath: decoder.codingPath,
                        debugDescription:
                            "an attribute value must have exactly one type key (one of "
                            + "\(Self.typeNames.joined(separator: ", "))), found \(keys.count)"
                    )
                )
            }
            switch key.stringValue {
            case "S": self = .string(try container.decode(String.self, forKey: key))
            case "N": self = .number(try container.decode(String.self, forKey: key))
            case "B":
                self = .binary(try decodeBase64(container.decode(String.self, forKey: key), forKey: key, in: container))
            case "SS": self = .stringSet(try container.decode([String].self, forKey: key))
            case "NS": self = .numberSet(try container.decode([String].self, forKey: key))
            case "BS":
                let texts = try container.decode([String].self, forKey: key)
                self = .binarySet(try texts.map { try decodeBase64($0, forKey: key, in: container) })
            case "M": self = .map(try container.decode([String: AttributeValue].self, forKey: key))
            case "L": self = .list(try container.decode([AttributeValue].self, forKey: key))
            case "NULL":
                guard try container.decode(Bool.self, forKey: key) else {
                    throw DecodingError.dataCorruptedError(
                        forKey: key,
                        in: container,
                        debugDescription: "NULL must be true"
                    )
                }
                self = .null
            case "BOOL": self = .bool(try container.decode(Bool.self, forKey: key))
            default:
                throw DecodingError.dataCorruptedError(
                    forKey: key,
                    in: container,
                    debugDescription:
                        "unknown attribute type '\(key.stringValue)' (expected one of "
                        + "\(Self.typeNames.joined(separator: ", ")))"
                )
            }
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: NamedCodingKey.self)
            switch self {
            case .string(let value): try container.encode(value, forKey: NamedCodingKey("S"))
            case .number(let value): try container.encode(value, forKey: NamedCodingKey("N"))
            case .binary(let value): try container.encode(Base64.encode(value), forKey: NamedCodingKey("B"))
            case .stringSet(let value): try container.encode(value, forKey: NamedCodingKey("SS"))
            case .numberSet(let value): try container.encode(value, forKey: NamedCodingKey("NS"))
            case .binarySet(let value):
                try container.encode(value.map { Base64.encode($0) }, forKey: NamedCodingKey("BS"))
            case .map(let value): try container.encode(value, forKey: NamedCodingKey("M"))
            case .list(let value): try container.encode(value, forKey: NamedCodingKey("L"))
            case .null: try container.encode(true, forKey: NamedCodingKey("NULL"))
            case .bool(let value): try container.encode(value, forKey: NamedCodingKey("BOOL"))
            }
        }

        /// A text form that is equal for equal values and different for different ones, whatever the order of
        /// a map's keys: used to tell records of one item apart from another's.
        var canonicalText: String {
            switch self {
            case .string(let value): "S:" + JSONText.quoted(value)
            case .number(let value): "N:" + value
            case .binary(let value): "B:" + Base64.encode(value)
            case .stringSet(let value): "SS:[" + value.sorted().map(JSONText.quoted).joined(separator: ",") + "]"
            case .numberSet(let value): "NS:[" + value.sorted().joined(separator: ",") + "]"
            case .binarySet(let value): "BS:[" + value.map { Base64.encode($0) }.sorted().joined(separator: ",") + "]"
            case .map(let value): "M:" + Self.canonicalText(of: value)
            case .list(let value): "L:[" + value.map(\.canonicalText).joined(separator: ",") + "]"
            case .null: "NULL"
            case .bool(let value): "BOOL:\(value)"
            }
        }

        static func canonicalText(of map: [String: AttributeValue]) -> String {
            "{"
                + map.sorted { $0.key < $1.key }.map { JSONText.quoted($0.key) + "=" + $0.value.canonicalText }
                .joined(separator: ",") + "}"
        }
    }
}

/// Decodes base64 text found in a keyed container, turning a bad value into a `DecodingError` at that key.
private func decodeBase64<Key: CodingKey>(
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
