// Reading Kafka events from their bytes (one pass with `JSONScanner`; see `ObjectReading.swift`): the `records`
// object's topic-partitions, each record with its headers (checked when the event is read, built when asked for:
// `KafkaHeadersReading`). The `Decodable` conformances in `KafkaEvent.swift` are the reference.

extension KafkaEvent.Record.CodingKeys: ObjectFields {
    static let table = KeyTable<Self>()
}

extension KafkaEvent.SchemaMetadata.CodingKeys: ObjectFields {
    static let table = KeyTable<Self>()
}

extension KafkaEvent {
    /// The `records` object: partitions in the order the event lists them.
    static func readPartitions(_ scanner: inout JSONScanner) throws(JSONReadError) -> [TopicPartition] {
        try scanner.beginObject()
        var first = true
        var partitions: [TopicPartition] = []
        var keys: Set<String> = []
        while true {
            let position = scanner.offset
            guard let key = try scanner.nextKey(first: &first) else { break }
            let name = key.string
            guard keys.insert(name).inserted else { throw scanner.duplicate(name, at: position) }
            do throws(JSONReadError) {
                if try scanner.peek() == UInt8(ascii: "n") { throw scanner.shapeError("is null: expected an array") }
                var list = try scanner.readElements { scanner throws(JSONReadError) in try Record(reading: &scanner) }
                switch TopicPartition.check(key: name, records: list) {
                case .valid(let topic, let number):
                    TopicPartition.fillIn(&list, topic: topic, partition: number)
                    partitions.append(TopicPartition(key: name, topic: topic, partition: number, filledIn: list))
                case .badKey(let message):
                    throw scanner.shapeError("is invalid: " + message, at: position)
                case .badRecord(let index, let field, let message):
                    throw scanner.shapeError("is invalid: " + message, at: position).at(.key(field)).at(.index(index))
                }
            } catch {
                throw error.at(.key(name))
            }
        }
        return partitions
    }
}

extension KafkaEvent.Record {
    init(reading scanner: inout JSONScanner) throws(JSONReadError) {
        var offset: Int64?
        self.init(offset: 0)
        try scanner.readFields(CodingKeys.self) { scanner, field throws(JSONReadError) in
            switch field {
            case .offset:
                offset = try scanner.value { scanner throws(JSONReadError) in
                    if try scanner.peek() == UInt8(ascii: "n") {
                        throw scanner.shapeError("is null: expected an integer")
                    }
                    return try scanner.readInt64()
                }
            case .topic: topic = try scanner.readOptionalString()
            case .partition: partition = try scanner.optionalInt64().map { Int($0) }
            case .timestamp: timestamp = try scanner.optionalInt64()
            case .timestampType: timestampType = try scanner.readOptionalString()
            case .base64Key: keyText = try scanner.readDeferredString()
            case .base64Value: valueText = try scanner.readDeferredString()
            case .headers: headersStorage = try scanner.readDeferred(KafkaHeadersReading.self)
            case .keySchemaMetadata:
                keySchemaMetadata = try scanner.optionalObject(KafkaEvent.SchemaMetadata.init(reading:))
            case .valueSchemaMetadata:
                valueSchemaMetadata = try scanner.optionalObject(KafkaEvent.SchemaMetadata.init(reading:))
            }
        }
        guard let offset else { throw scanner.missing(CodingKeys.offset) }
        self.offset = offset
    }
}

extension KafkaEvent.Header {
    static func readList(_ scanner: inout JSONScanner) throws(JSONReadError) -> [Self] {
        try readList(&scanner, building: true)
    }

    /// Reads the headers' array, or with `building` false only checks it by the same rules (and gives none).
    fileprivate static func readList(_ scanner: inout JSONScanner, building: Bool) throws(JSONReadError) -> [Self] {
        try scanner.readElements { scanner throws(JSONReadError) in try Self.read(&scanner, building: building) }
    }

    init(reading scanner: inout JSONScanner) throws(JSONReadError) {
        self = try Self.read(&scanner, building: true) ?? Self(name: "", numbers: [])
    }

    /// One header (`{"<name>": [<byte>, …]}`), or with `building` false only checked (and `nil`).
    private static func read(_ scanner: inout JSONScanner, building: Bool) throws(JSONReadError) -> Self? {
        let start = scanner.offset
        try scanner.beginObject()
        var first = true
        guard let key = try scanner.nextKey(first: &first) else {
            throw scanner.shapeError("is invalid: a header must be an object with one name, found 0", at: start)
        }
        let header: Self?
        do throws(JSONReadError) {
            if try scanner.peek() == UInt8(ascii: "n") { throw scanner.shapeError("is null: expected an array") }
            let numbers = try scanner.readElements { scanner throws(JSONReadError) -> Int? in
                if try scanner.peek() == UInt8(ascii: "n") { throw scanner.shapeError("is null: expected an integer") }
                let number = try scanner.readInt()
                return building ? number : nil
            }
            header = building ? Self(name: key.string, numbers: numbers) : nil
        } catch {
            throw error.at(.key(key.string))
        }
        var others = 0
        while try scanner.nextKey(first: &first) != nil {
            others += 1
            try scanner.skipValue()
        }
        if others > 0 {
            throw scanner.shapeError(
                "is invalid: a header must be an object with one name, found \(1 + others)",
                at: start
            )
        }
        return header
    }
}

extension KafkaEvent.SchemaMetadata {
    init(reading scanner: inout JSONScanner) throws(JSONReadError) {
        self.init(dataFormat: nil, schemaId: nil)
        try scanner.readFields(CodingKeys.self) { scanner, field throws(JSONReadError) in
            switch field {
            case .dataFormat: dataFormat = try scanner.readOptionalString()
            case .schemaId: schemaId = try scanner.readOptionalString()
            }
        }
    }
}

// MARK: - Values kept in the event's bytes

/// A Kafka record's headers.
enum KafkaHeadersReading: DeferredReading {
    static func check(_ scanner: inout JSONScanner) throws(JSONReadError) {
        _ = try KafkaEvent.Header.readList(&scanner, building: false)
    }

    static func build(_ scanner: inout JSONScanner) throws(JSONReadError) -> [KafkaEvent.Header] {
        try KafkaEvent.Header.readList(&scanner)
    }

    static var fallback: [KafkaEvent.Header] { [] }
}
