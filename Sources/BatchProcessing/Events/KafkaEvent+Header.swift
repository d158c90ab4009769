extension KafkaEvent {
    /// One Kafka header: a name and its value, which the event writes as an array of byte values.
    public struct Header: Codable, Sendable, Equatable {
        /// The header's name.
        public var name: String
        /// The value's numbers as the event writes them (0…255, or -128…127 from producers that write signed
        /// bytes); kept so that encoding gives back what was decoded.
        public var numbers: [Int]

        /// A header with these bytes.
        init(name: String, numbers: [Int]) {
            self.name = name
            self.numbers = numbers
        }

        public init(name: String, bytes: [UInt8]) {
            self.name = name
            self.numbers = bytes.map(Int.init)
        }

        /// The value's bytes (a negative number is read as a signed byte).
        ///
        /// - Throws: ``RecordPayloadError`` for a number outside -128…255.
        public var bytes: [UInt8] {
            get throws(RecordPayloadError) {
                try numbers.map { number throws(RecordPayloadError) in
                    guard (-128...255).contains(number) else {
                        throw RecordPayloadError(
                            .invalidValue,
                            field: "headers.\(name)",
                            message: "holds \(number), which is not a byte (-128…255)"
                        )
                    }
                    return number < 0 ? UInt8(bitPattern: Int8(number)) : UInt8(number)
                }
            }
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: NamedCodingKey.self)
            guard container.allKeys.count == 1, let key = container.allKeys.first else {
                throw DecodingError.dataCorrupted(
                    .init(
                        codingPath: decoder.codingPath,
                        debugDescription: "a header must be an object with one name, found \(container.allKeys.count)"
                    )
                )
            }
            name = key.stringValue
            numbers = try container.decode([Int].self, forKey: key)
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: NamedCodingKey.self)
            try container.encode(numbers, forKey: NamedCodingKey(name))
        }
    }

    /// What a schema registry says of a key or value.
    public struct SchemaMetadata: Codable, Sendable, Equatable {
        /// `AVRO`, `JSON` or `PROTOBUF`.
        public var dataFormat: String?
        /// The schema's identifier in the registry.
        public var schemaId: String?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case dataFormat, schemaId
        }

        /// Creates metadata.
        public init(dataFormat: String?, schemaId: String?) {
            self.dataFormat = dataFormat
            self.schemaId = schemaId
        }
    }
}
