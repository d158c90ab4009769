import BatchProcessingJSONSupport

// The fast path from an event's bytes to its models: one pass over the bytes with `JSONScanner`, each model read by
// hand, field by field. The models' `Codable` conformances stay as the reference (the differential tests hold the
// two to the same values and the same accept/reject answers, but for the stricter checks documented on
// `JSONScanner`).

/// Which known keys an object has shown, so that a second one is refused; unknown keys go through the scanner's
/// ``JSONScanner/KeyCheck``. Call ``finish(in:)`` when the object ends.
struct SeenKeys {
    private var bits: UInt32 = 0
    private var others: JSONScanner.KeyCheck

    init(in scanner: inout JSONScanner) {
        others = scanner.beginKeyCheck()
    }

    @inline(__always)
    mutating func insert(
        _ bit: UInt32,
        _ name: StaticString,
        at position: Int,
        in scanner: JSONScanner
    )
        throws(JSONReadError)
    {
        let mask: UInt32 = 1 << bit
        if bits & mask != 0 { throw scanner.duplicate(name.description, at: position) }
        bits |= mask
    }

    mutating func insertOther(_ key: JSONKey, at position: Int, in scanner: inout JSONScanner) throws(JSONReadError) {
        try scanner.check(key, &others, at: position)
    }

    func finish(in scanner: inout JSONScanner) {
        scanner.endKeyCheck(others)
    }
}

extension JSONScanner {
    /// Reads an object whose members of interest are `fields`: `read` gets each such member's position in `fields`,
    /// the scanner at its value; other members are checked and skipped. A key twice is an error, and an error in a
    /// field's value names the field.
    @inline(__always)
    mutating func readFields(
        _ fields: [StaticString],
        _ read: (inout JSONScanner, Int) throws(JSONReadError) -> Void
    ) throws(JSONReadError) {
        try beginObject()
        var first = true
        var seen = SeenKeys(in: &self)
        while true {
            let position = offset
            guard let key = try nextKey(first: &first) else {
                seen.finish(in: &self)
                return
            }
            guard let field = fields.firstIndex(where: { key.matches($0) }) else {
                try seen.insertOther(key, at: position, in: &self)
                try skipValue()
                continue
            }
            try seen.insert(UInt32(field), fields[field], at: position, in: self)
            do throws(JSONReadError) {
                try read(&self, field)
            } catch {
                throw error.at(key: fields[field])
            }
        }
    }

    /// The value `read` makes of what is next: a multi-line read written in place.
    @inline(__always)
    mutating func value<T>(_ read: (inout JSONScanner) throws(JSONReadError) -> T) throws(JSONReadError) -> T {
        try read(&self)
    }

    /// Runs `read` on the value of member `key`, adding the key to the path of any error.
    @inline(__always)
    mutating func member<T>(
        _ key: StaticString,
        _ read: (inout JSONScanner) throws(JSONReadError) -> T
    ) throws(JSONReadError) -> T {
        do throws(JSONReadError) {
            return try read(&self)
        } catch {
            throw error.at(key: key)
        }
    }

    mutating func optionalString(_ key: StaticString) throws(JSONReadError) -> String? {
        do throws(JSONReadError) {
            return try readOptionalString()
        } catch {
            throw error.at(key: key)
        }
    }

    /// A required string: `null` is refused, as the reference decoder does.
    mutating func requiredString() throws(JSONReadError) -> String {
        if try peek() == UInt8(ascii: "n") {
            let position = offset
            _ = try takeNull()
            throw shapeError("is null: expected a string", at: position)
        }
        return try readString()
    }

    mutating func optionalInt64() throws(JSONReadError) -> Int64? {
        try takeNull() ? nil : try readInt64()
    }

    mutating func optionalDouble() throws(JSONReadError) -> Double? {
        try takeNull() ? nil : try readDouble()
    }

    /// An array of strings, or `nil` for `null`.
    mutating func optionalStrings() throws(JSONReadError) -> [String]? {
        if try takeNull() { return nil }
        try beginArray()
        var values: [String] = []
        var first = true
        while try nextElement(first: &first) {
            let index = values.count
            do throws(JSONReadError) {
                values.append(try requiredString())
            } catch {
                throw error.at(.index(index))
            }
        }
        return values
    }

    /// The error for a required member the object did not have; `position` is the object's end.
    func missing(_ key: StaticString, at position: Int) -> JSONReadError {
        shapeError("is missing", at: position).at(key: key)
    }
}

// MARK: - SQS

extension SQSEvent.Message {
    private static let fields: [StaticString] = [
        "messageId", "receiptHandle", "body", "attributes", "messageAttributes", "md5OfBody", "md5OfMessageAttributes",
        "eventSource", "eventSourceARN", "awsRegion",
    ]

    init(reading scanner: inout JSONScanner) throws(JSONReadError) {
        var messageId: String?
        self.init(messageId: "", eventSource: nil)
        try scanner.readFields(Self.fields) { scanner, field throws(JSONReadError) in
            switch field {
            case 0:  // messageId
                messageId = try scanner.requiredString()
            case 1:  // receiptHandle
                receiptHandleText = try scanner.readDeferredString()
            case 2:  // body
                bodyText = try scanner.readDeferredString()
            case 3:  // attributes
                rawAttributes = try scanner.takeNull() ? nil : try SQSEvent.Attributes(reading: &scanner)
            case 4:  // messageAttributes
                rawMessageAttributes = try scanner.takeNull() ? nil : try SQSEvent.MessageAttribute.readMap(&scanner)
            case 5:  // md5OfBody
                md5OfBodyText = try scanner.readDeferredString()
            case 6:  // md5OfMessageAttributes
                md5OfMessageAttributes = try scanner.readOptionalString()
            case 7:  // eventSource
                eventSource = try scanner.readOptionalString()
            case 8:  // eventSourceARN
                eventSourceArn = try scanner.readOptionalString()
            case 9:  // awsRegion
                awsRegion = try scanner.readOptionalString()
            default: break
            }
        }
        guard let messageId else { throw scanner.missing("messageId", at: scanner.offset &- 1) }
        self.messageId = messageId
    }
}

extension SQSEvent.Attributes {
    /// Attribute values are strings; numbers and booleans are kept as their text, and `null` leaves the attribute
    /// out, as the `Decodable` conformance does. Read from an array the scanner knows (`source`), the attributes
    /// are checked now and stay in it (``values`` makes the dictionary when asked for).
    init(reading scanner: inout JSONScanner) throws(JSONReadError) {
        let start = scanner.mark
        if let source = scanner.source, let object = try Self.check(&scanner) {
            self.init(json: source, object: object)
            return
        }
        scanner.rewind(to: start)
        self.init(try Self.readValues(&scanner))
    }

    /// Checks the attributes' object without making strings; its range (braces included), or `nil` when a key has
    /// escapes (rare: the caller then reads the object the ordinary way).
    private static func check(_ scanner: inout JSONScanner) throws(JSONReadError) -> Range<Int>? {
        guard try scanner.peek() == UInt8(ascii: "{") else { throw scanner.wrongType(expected: "an object") }
        let start = scanner.offset
        try scanner.beginObject()
        var first = true
        var keys = scanner.beginKeyCheck()
        while true {
            let position = scanner.offset
            guard let key = try scanner.nextKey(first: &first) else { break }
            guard key.decoded == nil else { return nil }
            try scanner.check(key, &keys, at: position)
            do throws(JSONReadError) {
                _ = try readValue(&scanner, decoding: false)
            } catch {
                throw error.at(.key(key.string))
            }
        }
        scanner.endKeyCheck(keys)
        return start..<scanner.offset
    }

    /// One attribute's value: its text, or `nil` for `null`. Without `decoding`, the value is only checked.
    private static func readValue(_ scanner: inout JSONScanner, decoding: Bool) throws(JSONReadError) -> String? {
        switch try scanner.peek() {
        case UInt8(ascii: "n"):
            _ = try scanner.takeNull()
            return nil
        case UInt8(ascii: "\""):
            if decoding { return try scanner.readString() }
            _ = try scanner.skimString()
            return nil
        case UInt8(ascii: "t"), UInt8(ascii: "f"): return String(try scanner.readBool())
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            let start = scanner.offset
            do throws(JSONReadError) {
                return String(try scanner.readInt64())
            } catch  where error.kind == .shape {
                throw scanner.shapeError("has the wrong type: an attribute value must be a string", at: start)
            }
        default:
            throw scanner.shapeError("has the wrong type: an attribute value must be a string")
        }
    }

    /// Reads the attributes' object into a dictionary.
    private static func readValues(_ scanner: inout JSONScanner) throws(JSONReadError) -> [String: String] {
        try scanner.beginObject()
        var first = true
        var values: [String: String] = [:]
        var nulls: [String] = []
        while true {
            let position = scanner.offset
            guard let key = try scanner.nextKey(first: &first) else { break }
            let name = key.string
            do throws(JSONReadError) {
                let value = try readValue(&scanner, decoding: true)
                // A duplicate is refused even when one of the two was null (and so left out).
                if values[name] != nil || nulls.contains(name) { throw scanner.duplicate(name, at: position) }
                if let value { values[name] = value } else { nulls.append(name) }
            } catch {
                throw error.at(.key(name))
            }
        }
        return values
    }

    /// The dictionary of an object checked by ``check(_:)``.
    static func values(in bytes: [UInt8], object: Range<Int>) -> [String: String] {
        bytes.withUnsafeBufferPointer { buffer in
            var scanner = JSONScanner(buffer, at: object.lowerBound)
            return (try? readValues(&scanner)) ?? [:]
        }
    }

    /// One attribute of an object checked by ``check(_:)``, found without making the others.
    static func value(named name: String, in bytes: [UInt8], object: Range<Int>) -> String? {
        bytes.withUnsafeBufferPointer { buffer in
            var scanner = JSONScanner(buffer, at: object.lowerBound)
            do throws(JSONReadError) {
                try scanner.beginObject()
                var first = true
                while let key = try scanner.nextKey(first: &first) {
                    if key.matches(name) { return try readValue(&scanner, decoding: true) }
                    try scanner.skipValue()
                }
            } catch {
                return nil
            }
            return nil
        }
    }
}

extension SQSEvent.MessageAttribute {
    static func readMap(_ scanner: inout JSONScanner) throws(JSONReadError) -> [String: Self] {
        try scanner.beginObject()
        var first = true
        var map: [String: Self] = [:]
        while true {
            let position = scanner.offset
            guard let key = try scanner.nextKey(first: &first) else { break }
            let name = key.string
            do throws(JSONReadError) {
                let attribute = try Self(reading: &scanner)
                if map.updateValue(attribute, forKey: name) != nil { throw scanner.duplicate(name, at: position) }
            } catch {
                throw error.at(.key(name))
            }
        }
        return map
    }

    private static let fields: [StaticString] = [
        "dataType", "stringValue", "binaryValue", "stringListValues", "binaryListValues",
    ]

    init(reading scanner: inout JSONScanner) throws(JSONReadError) {
        self.init(dataType: nil)
        try scanner.readFields(Self.fields) { scanner, field throws(JSONReadError) in
            switch field {
            case 0:  // dataType
                dataType = try scanner.readOptionalString()
            case 1:  // stringValue
                stringValue = try scanner.readOptionalString()
            case 2:  // binaryValue
                base64BinaryValue = try scanner.readOptionalString()
            case 3:  // stringListValues
                stringListValues = try scanner.optionalStrings()
            case 4:  // binaryListValues
                binaryListValues = try scanner.optionalStrings()
            default: break
            }
        }
    }
}

// MARK: - Kinesis

extension KinesisEvent.Record {
    private static let fields: [StaticString] = [
        "kinesis", "eventSource", "eventID", "eventName", "eventVersion", "invokeIdentityArn", "eventSourceARN",
        "awsRegion",
    ]

    init(reading scanner: inout JSONScanner) throws(JSONReadError) {
        var payload: KinesisEvent.Payload?
        var eventSource: String?
        var eventID: String?
        var eventName: String?
        var eventVersion: String?
        var invokeIdentityArn: String?
        var eventSourceArn: String?
        var awsRegion: String?
        try scanner.readFields(Self.fields) { scanner, field throws(JSONReadError) in
            switch field {
            case 0:  // kinesis
                payload = try scanner.value { scanner throws(JSONReadError) in
                    if try scanner.peek() == UInt8(ascii: "n") {
                        throw scanner.shapeError("is null: expected an object")
                    }
                    return try KinesisEvent.Payload(reading: &scanner)
                }
            case 1:  // eventSource
                eventSource = try scanner.readOptionalString()
            case 2:  // eventID
                eventID = try scanner.readOptionalString()
            case 3:  // eventName
                eventName = try scanner.readOptionalString()
            case 4:  // eventVersion
                eventVersion = try scanner.readOptionalString()
            case 5:  // invokeIdentityArn
                invokeIdentityArn = try scanner.readOptionalString()
            case 6:  // eventSourceARN
                eventSourceArn = try scanner.readOptionalString()
            case 7:  // awsRegion
                awsRegion = try scanner.readOptionalString()
            default: break
            }
        }
        guard let payload else { throw scanner.missing("kinesis", at: scanner.offset &- 1) }
        self.init(
            kinesis: payload,
            eventSource: eventSource,
            eventID: eventID,
            eventName: eventName,
            eventVersion: eventVersion,
            invokeIdentityArn: invokeIdentityArn,
            eventSourceArn: eventSourceArn,
            awsRegion: awsRegion
        )
    }
}

extension KinesisEvent.Payload {
    private static let fields: [StaticString] = [
        "sequenceNumber", "data", "partitionKey", "approximateArrivalTimestamp", "kinesisSchemaVersion",
        "encryptionType",
    ]

    init(reading scanner: inout JSONScanner) throws(JSONReadError) {
        var sequenceNumber: String?
        self.init(partitionKey: nil, sequenceNumber: "", base64Data: nil)
        try scanner.readFields(Self.fields) { scanner, field throws(JSONReadError) in
            switch field {
            case 0:  // sequenceNumber
                sequenceNumber = try scanner.requiredString()
            case 1:  // data
                dataText = try scanner.readDeferredString()
            case 2:  // partitionKey
                partitionKey = try scanner.readOptionalString()
            case 3:  // approximateArrivalTimestamp
                approximateArrivalTimestamp = try scanner.optionalDouble()
            case 4:  // kinesisSchemaVersion
                kinesisSchemaVersion = try scanner.readOptionalString()
            case 5:  // encryptionType
                encryptionType = try scanner.readOptionalString()
            default: break
            }
        }
        guard let sequenceNumber else { throw scanner.missing("sequenceNumber", at: scanner.offset &- 1) }
        self.sequenceNumber = sequenceNumber
    }
}

// MARK: - DynamoDB Streams

extension DynamoDBEvent.Record {
    private static let fields: [StaticString] = [
        "dynamodb", "eventSource", "eventID", "eventName", "eventVersion", "awsRegion", "eventSourceARN",
        "userIdentity",
    ]

    init(reading scanner: inout JSONScanner) throws(JSONReadError) {
        var streamRecord: DynamoDBEvent.StreamRecord?
        var eventID: String?
        var eventName: DynamoDBEvent.OperationType?
        var eventVersion: String?
        var eventSource: String?
        var awsRegion: String?
        var eventSourceArn: String?
        var userIdentity: DynamoDBEvent.UserIdentity?
        try scanner.readFields(Self.fields) { scanner, field throws(JSONReadError) in
            switch field {
            case 0:  // dynamodb
                streamRecord = try scanner.value { scanner throws(JSONReadError) in
                    if try scanner.peek() == UInt8(ascii: "n") {
                        throw scanner.shapeError("is null: expected an object")
                    }
                    return try DynamoDBEvent.StreamRecord(reading: &scanner)
                }
            case 1:  // eventSource
                eventSource = try scanner.readOptionalString()
            case 2:  // eventID
                eventID = try scanner.readOptionalString()
            case 3:  // eventName
                eventName = try scanner.readOptionalString()
                    .map(DynamoDBEvent.OperationType.init(rawValue:))
            case 4:  // eventVersion
                eventVersion = try scanner.readOptionalString()
            case 5:  // awsRegion
                awsRegion = try scanner.readOptionalString()
            case 6:  // eventSourceARN
                eventSourceArn = try scanner.readOptionalString()
            case 7:  // userIdentity
                userIdentity = try scanner.takeNull() ? nil : try DynamoDBEvent.UserIdentity(reading: &scanner)
            default: break
            }
        }
        guard let streamRecord else { throw scanner.missing("dynamodb", at: scanner.offset &- 1) }
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
    private static let fields: [StaticString] = ["type", "principalId"]

    init(reading scanner: inout JSONScanner) throws(JSONReadError) {
        self.init(type: nil, principalId: nil)
        try scanner.readFields(Self.fields) { scanner, field throws(JSONReadError) in
            switch field {
            case 0:  // type
                type = try scanner.readOptionalString()
            case 1:  // principalId
                principalId = try scanner.readOptionalString()
            default: break
            }
        }
    }
}

extension DynamoDBEvent.StreamRecord {
    private static let fields: [StaticString] = [
        "SequenceNumber", "Keys", "NewImage", "OldImage", "SizeBytes", "ApproximateCreationDateTime", "StreamViewType",
    ]

    init(reading scanner: inout JSONScanner) throws(JSONReadError) {
        var sequenceNumber: String?
        self.init(keys: nil, sequenceNumber: "")
        try scanner.readFields(Self.fields) { scanner, field throws(JSONReadError) in
            switch field {
            case 0:  // SequenceNumber
                sequenceNumber = try scanner.requiredString()
            case 1:  // Keys
                keysStorage = try scanner.readDeferred(DynamoDBImageReading.self)
            case 2:  // NewImage
                newImageStorage = try scanner.readDeferred(DynamoDBImageReading.self)
            case 3:  // OldImage
                oldImageStorage = try scanner.readDeferred(DynamoDBImageReading.self)
            case 4:  // SizeBytes
                sizeBytes = try scanner.optionalInt64().map { Int($0) }
            case 5:  // ApproximateCreationDateTime
                approximateCreationDateTime = try scanner.optionalDouble()
            case 6:  // StreamViewType
                streamViewType = try scanner.readOptionalString()
            default: break
            }
        }
        guard let sequenceNumber else { throw scanner.missing("SequenceNumber", at: scanner.offset &- 1) }
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
            try scanner.beginArray()
            var list: [Self] = []
            var index = 0
            var first = true
            while try scanner.nextElement(first: &first) {
                do throws(JSONReadError) {
                    if let value = try Self.read(&scanner, building: building) { list.append(value) }
                } catch {
                    throw error.at(.index(index))
                }
                index += 1
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

// MARK: - Kafka

extension KafkaEvent.Record {
    private static let fields: [StaticString] = [
        "offset", "topic", "partition", "timestamp", "timestampType", "key", "value", "headers", "keySchemaMetadata",
        "valueSchemaMetadata",
    ]

    init(reading scanner: inout JSONScanner) throws(JSONReadError) {
        var offset: Int64?
        self.init(offset: 0)
        try scanner.readFields(Self.fields) { scanner, field throws(JSONReadError) in
            switch field {
            case 0:  // offset
                offset = try scanner.value { scanner throws(JSONReadError) in
                    if try scanner.peek() == UInt8(ascii: "n") {
                        throw scanner.shapeError("is null: expected an integer")
                    }
                    return try scanner.readInt64()
                }
            case 1:  // topic
                topic = try scanner.readOptionalString()
            case 2:  // partition
                partition = try scanner.optionalInt64().map { Int($0) }
            case 3:  // timestamp
                timestamp = try scanner.optionalInt64()
            case 4:  // timestampType
                timestampType = try scanner.readOptionalString()
            case 5:  // key
                keyText = try scanner.readDeferredString()
            case 6:  // value
                valueText = try scanner.readDeferredString()
            case 7:  // headers
                headersStorage = try scanner.readDeferred(KafkaHeadersReading.self)
            case 8:  // keySchemaMetadata
                keySchemaMetadata = try scanner.takeNull() ? nil : try KafkaEvent.SchemaMetadata(reading: &scanner)
            case 9:  // valueSchemaMetadata
                valueSchemaMetadata = try scanner.takeNull() ? nil : try KafkaEvent.SchemaMetadata(reading: &scanner)
            default: break
            }
        }
        guard let offset else { throw scanner.missing("offset", at: scanner.offset &- 1) }
        self.offset = offset
    }
}

extension KafkaEvent.Header {
    static func readList(_ scanner: inout JSONScanner) throws(JSONReadError) -> [Self] {
        try readList(&scanner, building: true)
    }

    /// Reads the headers' array, or with `building` false only checks it by the same rules (and gives none).
    fileprivate static func readList(_ scanner: inout JSONScanner, building: Bool) throws(JSONReadError) -> [Self] {
        try scanner.beginArray()
        var headers: [Self] = []
        var index = 0
        var first = true
        while try scanner.nextElement(first: &first) {
            do throws(JSONReadError) {
                if let header = try Self.read(&scanner, building: building) { headers.append(header) }
            } catch {
                throw error.at(.index(index))
            }
            index += 1
        }
        return headers
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
            try scanner.beginArray()
            var numbers: [Int] = []
            var index = 0
            var more = true
            while try scanner.nextElement(first: &more) {
                do throws(JSONReadError) {
                    if try scanner.peek() == UInt8(ascii: "n") {
                        throw scanner.shapeError("is null: expected an integer")
                    }
                    let number = try scanner.readInt()
                    if building { numbers.append(number) }
                } catch {
                    throw error.at(.index(index))
                }
                index += 1
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
    private static let fields: [StaticString] = ["dataFormat", "schemaId"]

    init(reading scanner: inout JSONScanner) throws(JSONReadError) {
        self.init(dataFormat: nil, schemaId: nil)
        try scanner.readFields(Self.fields) { scanner, field throws(JSONReadError) in
            switch field {
            case 0:  // dataFormat
                dataFormat = try scanner.readOptionalString()
            case 1:  // schemaId
                schemaId = try scanner.readOptionalString()
            default: break
            }
        }
    }
}

// MARK: - Values kept in the event's bytes

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
