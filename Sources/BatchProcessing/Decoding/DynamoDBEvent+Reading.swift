import BatchProcessingJSONSupport

// Reading DynamoDB Streams records from an event's bytes (one pass with `JSONScanner`; see `ObjectReading.swift`),
// attribute values included: images and keys are checked when the event is read and built when the handler asks for
// them (`DynamoDBImageReading`). The `Decodable` conformances in `DynamoDBEvent.swift` and
// `DynamoDBAttributeValue.swift` are the reference.

extension DynamoDBEvent: RecordsEvent {
    static var source: BatchEventSource { .dynamoDB }
    static func records(in body: RawEvent.Body) -> [Record]? {
        if case .dynamoDB(let records) = body { records } else { nil }
    }
}

extension DynamoDBEvent.Record.CodingKeys: ObjectFields {
    static let table = KeyTable<Self>()
}

extension DynamoDBEvent.StreamRecord.CodingKeys: ObjectFields {
    static let table = KeyTable<Self>()
}

extension DynamoDBEvent.UserIdentity.CodingKeys: ObjectFields {
    static let table = KeyTable<Self>()
}

extension DynamoDBEvent.Record {
    init(reading scanner: inout JSONScanner) throws(JSONReadError) {
        var streamRecord: DynamoDBEvent.StreamRecord?
        var eventID: String?
        var eventName: DynamoDBEvent.OperationType?
        var eventVersion: String?
        var eventSource: String?
        var awsRegion: String?
        var eventSourceArn: String?
        var userIdentity: DynamoDBEvent.UserIdentity?
        try scanner.readFields(CodingKeys.self) { scanner, field throws(JSONReadError) in
            switch field {
            case .eventID: eventID = try scanner.readOptionalString()
            case .eventName:
                eventName = try scanner.readOptionalString().map(DynamoDBEvent.OperationType.init(rawValue:))
            case .eventVersion: eventVersion = try scanner.readOptionalString()
            case .eventSource: eventSource = try scanner.readOptionalString()
            case .awsRegion: awsRegion = try scanner.readOptionalString()
            case .dynamodb: streamRecord = try scanner.requiredObject(DynamoDBEvent.StreamRecord.init(reading:))
            case .eventSourceArn: eventSourceArn = try scanner.readOptionalString()
            case .userIdentity: userIdentity = try scanner.optionalObject(DynamoDBEvent.UserIdentity.init(reading:))
            }
        }
        guard let streamRecord else { throw scanner.missing(CodingKeys.dynamodb) }
        self.init(
            eventID: eventID,
            eventName: eventName,
            eventVersion: eventVersion,
            eventSource: eventSource,
            awsRegion: awsRegion,
            dynamodb: streamRecord,
            eventSourceArn: eventSourceArn,
            userIdentity: userIdentity
        )
    }
}

extension DynamoDBEvent.UserIdentity {
    init(reading scanner: inout JSONScanner) throws(JSONReadError) {
        self.init(type: nil, principalId: nil)
        try scanner.readFields(CodingKeys.self) { scanner, field throws(JSONReadError) in
            switch field {
            case .type: type = try scanner.readOptionalString()
            case .principalId: principalId = try scanner.readOptionalString()
            }
        }
    }
}

extension DynamoDBEvent.StreamRecord {
    init(reading scanner: inout JSONScanner) throws(JSONReadError) {
        var sequenceNumber: String?
        self.init(keys: nil, sequenceNumber: "")
        try scanner.readFields(CodingKeys.self) { scanner, field throws(JSONReadError) in
            switch field {
            case .sequenceNumber: sequenceNumber = try scanner.requiredString()
            case .rawKeys: keysStorage = try scanner.readDeferred(DynamoDBImageReading.self)
            case .newImage: newImageStorage = try scanner.readDeferred(DynamoDBImageReading.self)
            case .oldImage: oldImageStorage = try scanner.readDeferred(DynamoDBImageReading.self)
            case .sizeBytes: sizeBytes = try scanner.optionalInt64().map { Int($0) }
            case .approximateCreationDateTime: approximateCreationDateTime = try scanner.optionalDouble()
            case .streamViewType: streamViewType = try scanner.readOptionalString()
            }
        }
        guard let sequenceNumber else { throw scanner.missing(CodingKeys.sequenceNumber) }
        self.sequenceNumber = sequenceNumber
    }
}

extension JSONScanner {
    fileprivate func exactlyOneKey(found count: Int, at position: Int) -> JSONReadError {
        shapeError(
            "is invalid: an attribute value must have exactly one type key (one of "
                + "\(DynamoDBEvent.AttributeValue.typeNameList)), found \(count)",
            at: position
        )
    }
}

extension DynamoDBEvent.AttributeValue {
    fileprivate static let typeNameList = "S, N, B, SS, NS, BS, M, L, NULL, BOOL"

    static func readMap(_ scanner: inout JSONScanner) throws(JSONReadError) -> [String: Self] {
        try readMap(&scanner, building: true) ?? [:]
    }

    /// Reads a map of attribute values, or with `building` false only checks it by the same rules (and gives
    /// `nil`), making no value.
    fileprivate static func readMap(
        _ scanner: inout JSONScanner,
        building: Bool
    ) throws(JSONReadError) -> [String: Self]? {
        try scanner.beginObject()
        var first = true
        var map: [String: Self] = [:]
        var keys = scanner.beginKeyCheck()
        while true {
            let position = scanner.offset
            guard let key = try scanner.nextKey(first: &first) else { break }
            try scanner.check(key, &keys, at: position)
            do throws(JSONReadError) {
                if let value = try Self.read(&scanner, building: building) { map[key.string] = value }
            } catch {
                throw error.at(.key(key.string))
            }
        }
        scanner.endKeyCheck(keys)
        return building ? map : nil
    }

    init(reading scanner: inout JSONScanner) throws(JSONReadError) {
        self = try Self.read(&scanner, building: true) ?? .null
    }

    /// Reads one attribute value (`{"<type>": …}`), or with `building` false only checks it (and gives `nil`).
    private static func read(_ scanner: inout JSONScanner, building: Bool) throws(JSONReadError) -> Self? {
        let start = scanner.offset
        try scanner.beginObject()
        var first = true
        guard let key = try scanner.nextKey(first: &first) else {
            throw scanner.exactlyOneKey(found: 0, at: start)
        }
        let value: Self?
        do throws(JSONReadError) {
            value = try Self.read(type: key, from: &scanner, building: building)
        } catch {
            throw error.at(.key(key.string))
        }
        var others = 0
        while try scanner.nextKey(first: &first) != nil {
            others += 1
            try scanner.skipValue()
        }
        if others > 0 { throw scanner.exactlyOneKey(found: 1 + others, at: start) }
        return value
    }

    /// The attribute types, most common first; matched against the key's bytes, so no `String` is made for it.
    private enum TypeKey: Int {
        case s, n, m, l, bool, null, ss, ns, b, bs

        static let names: [StaticString] = ["S", "N", "M", "L", "BOOL", "NULL", "SS", "NS", "B", "BS"]

        init?(_ key: JSONKey) {
            guard let index = Self.names.firstIndex(where: { key.matches($0) }) else { return nil }
            self.init(rawValue: index)
        }
    }

    private static func read(
        type key: JSONKey,
        from scanner: inout JSONScanner,
        building: Bool
    ) throws(JSONReadError) -> Self? {
        guard let type = TypeKey(key) else {
            throw scanner.shapeError(
                "is invalid: unknown attribute type '\(key.string)' (expected one of \(typeNameList))"
            )
        }
        switch type {
        case .s, .n:
            if !building, try scanner.peek() == UInt8(ascii: "\"") {
                // Checked where it is, not copied.
                try scanner.skipValue()
                return nil
            }
            let text = try scanner.requiredString()
            return type == .s ? .string(text) : .number(text)
        case .b:
            let bytes = try base64(&scanner)
            return building ? .binary(bytes) : nil
        case .ss, .ns:
            let texts = try requiredStrings(&scanner)
            guard building else { return nil }
            return type == .ss ? .stringSet(texts) : .numberSet(texts)
        case .bs:
            let start = scanner.offset
            let texts = try requiredStrings(&scanner)
            var sets: [[UInt8]] = []
            for text in texts {
                do throws(Base64.DecodingError) {
                    sets.append(try Base64.decode(text))
                } catch {
                    throw scanner.shapeError("is invalid: not valid base64: \(error.description)", at: start)
                }
            }
            return building ? .binarySet(sets) : nil
        case .m:
            if try scanner.peek() == UInt8(ascii: "n") { throw scanner.shapeError("is null: expected an object") }
            let map = try readMap(&scanner, building: building)
            return map.map { .map($0) }
        case .l:
            if try scanner.peek() == UInt8(ascii: "n") { throw scanner.shapeError("is null: expected an array") }
            let list = try scanner.readElements { scanner throws(JSONReadError) in
                try Self.read(&scanner, building: building)
            }
            return building ? .list(list) : nil
        case .null:
            let start = scanner.offset
            if try scanner.peek() == UInt8(ascii: "n") { throw scanner.shapeError("is null: expected true") }
            guard try scanner.readBool() else { throw scanner.shapeError("is invalid: NULL must be true", at: start) }
            return building ? .null : nil
        case .bool:
            if try scanner.peek() == UInt8(ascii: "n") { throw scanner.shapeError("is null: expected a boolean") }
            let value = try scanner.readBool()
            return building ? .bool(value) : nil
        }
    }

    private static func requiredStrings(_ scanner: inout JSONScanner) throws(JSONReadError) -> [String] {
        if try scanner.peek() == UInt8(ascii: "n") { throw scanner.shapeError("is null: expected an array") }
        return try scanner.optionalStrings() ?? []
    }

    private static func base64(_ scanner: inout JSONScanner) throws(JSONReadError) -> [UInt8] {
        let start = scanner.offset
        let text = try scanner.requiredString()
        do throws(Base64.DecodingError) {
            return try Base64.decode(text)
        } catch {
            throw scanner.shapeError("is invalid: not valid base64: \(error.description)", at: start)
        }
    }
}

/// A DynamoDB image or key map.
enum DynamoDBImageReading: DeferredReading {
    static func check(_ scanner: inout JSONScanner) throws(JSONReadError) {
        _ = try DynamoDBEvent.AttributeValue.readMap(&scanner, building: false)
    }

    static func build(_ scanner: inout JSONScanner) throws(JSONReadError) -> [String: DynamoDBEvent.AttributeValue] {
        try DynamoDBEvent.AttributeValue.readMap(&scanner)
    }

    static var fallback: [String: DynamoDBEvent.AttributeValue] { [:] }
}
