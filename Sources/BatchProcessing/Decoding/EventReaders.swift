import BatchProcessingJSONSupport

// The fast path from an event's bytes to its models: one pass over the bytes with `JSONScanner`, each model read by
// hand, field by field. The models' `Codable` conformances stay as the reference (the differential tests hold the
// two to the same values and the same accept/reject answers, but for the stricter checks documented on
// `JSONScanner`).

/// Which known keys an object has shown, so that a second one is refused; unknown keys are kept by name.
struct SeenKeys {
    private var bits: UInt32 = 0
    private var others: Set<String> = []

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

    mutating func insertOther(_ key: JSONKey, at position: Int, in scanner: JSONScanner) throws(JSONReadError) {
        let name = key.string
        guard others.insert(name).inserted else { throw scanner.duplicate(name, at: position) }
    }
}

extension JSONScanner {
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

    mutating func optionalStrings(_ key: StaticString) throws(JSONReadError) -> [String]? {
        do throws(JSONReadError) {
            return try optionalStrings()
        } catch {
            throw error.at(key: key)
        }
    }

    mutating func optionalInt64(_ key: StaticString) throws(JSONReadError) -> Int64? {
        do throws(JSONReadError) {
            return try optionalInt64()
        } catch {
            throw error.at(key: key)
        }
    }

    mutating func optionalDouble(_ key: StaticString) throws(JSONReadError) -> Double? {
        do throws(JSONReadError) {
            return try optionalDouble()
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
    init(reading scanner: inout JSONScanner) throws(JSONReadError) {
        try scanner.beginObject()
        var first = true
        var seen = SeenKeys()
        var messageId: String?
        self.init(messageId: "", eventSource: nil)
        while true {
            let position = scanner.offset
            guard let key = try scanner.nextKey(first: &first) else { break }
            if key.matches("messageId") {
                try seen.insert(0, "messageId", at: position, in: scanner)
                messageId = try scanner.member("messageId") { scanner throws(JSONReadError) in
                    try scanner.requiredString()
                }
            } else if key.matches("receiptHandle") {
                try seen.insert(1, "receiptHandle", at: position, in: scanner)
                receiptHandleText = try scanner.readDeferredString("receiptHandle")
            } else if key.matches("body") {
                try seen.insert(2, "body", at: position, in: scanner)
                bodyText = try scanner.readDeferredString("body")
            } else if key.matches("attributes") {
                try seen.insert(3, "attributes", at: position, in: scanner)
                rawAttributes = try scanner.member("attributes") { scanner throws(JSONReadError) in
                    try scanner.takeNull() ? nil : try SQSEvent.Attributes(reading: &scanner)
                }
            } else if key.matches("messageAttributes") {
                try seen.insert(4, "messageAttributes", at: position, in: scanner)
                rawMessageAttributes = try scanner.member("messageAttributes") { scanner throws(JSONReadError) in
                    try scanner.takeNull() ? nil : try SQSEvent.MessageAttribute.readMap(&scanner)
                }
            } else if key.matches("md5OfBody") {
                try seen.insert(5, "md5OfBody", at: position, in: scanner)
                md5OfBodyText = try scanner.readDeferredString("md5OfBody")
            } else if key.matches("md5OfMessageAttributes") {
                try seen.insert(6, "md5OfMessageAttributes", at: position, in: scanner)
                md5OfMessageAttributes = try scanner.optionalString("md5OfMessageAttributes")
            } else if key.matches("eventSource") {
                try seen.insert(7, "eventSource", at: position, in: scanner)
                eventSource = try scanner.optionalString("eventSource")
            } else if key.matches("eventSourceARN") {
                try seen.insert(8, "eventSourceARN", at: position, in: scanner)
                eventSourceArn = try scanner.optionalString("eventSourceARN")
            } else if key.matches("awsRegion") {
                try seen.insert(9, "awsRegion", at: position, in: scanner)
                awsRegion = try scanner.optionalString("awsRegion")
            } else {
                try seen.insertOther(key, at: position, in: scanner)
                try scanner.skipValue()
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
        var keys = scanner.takeKeyScratch()
        defer { scanner.returnKeyScratch(keys) }
        while true {
            let position = scanner.offset
            guard let key = try scanner.nextKey(first: &first) else { break }
            guard key.decoded == nil, let base = key.raw.baseAddress, let eventBase = scanner.bytes.baseAddress else {
                return nil
            }
            let keyStart = base - eventBase
            let range = keyStart..<(keyStart + key.raw.count)
            for earlier in keys where earlier.count == range.count {
                if JSONScanner.equal(
                    UnsafeBufferPointer(rebasing: scanner.bytes[earlier]),
                    UnsafeBufferPointer(rebasing: scanner.bytes[range])
                ) {
                    throw scanner.duplicate(key.string, at: position)
                }
            }
            keys.append(range)
            do throws(JSONReadError) {
                _ = try readValue(&scanner, decoding: false)
            } catch {
                throw error.at(.key(key.string))
            }
        }
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

    init(reading scanner: inout JSONScanner) throws(JSONReadError) {
        try scanner.beginObject()
        var first = true
        var seen = SeenKeys()
        self.init(dataType: nil)
        while true {
            let position = scanner.offset
            guard let key = try scanner.nextKey(first: &first) else { break }
            if key.matches("dataType") {
                try seen.insert(0, "dataType", at: position, in: scanner)
                dataType = try scanner.optionalString("dataType")
            } else if key.matches("stringValue") {
                try seen.insert(1, "stringValue", at: position, in: scanner)
                stringValue = try scanner.optionalString("stringValue")
            } else if key.matches("binaryValue") {
                try seen.insert(2, "binaryValue", at: position, in: scanner)
                base64BinaryValue = try scanner.optionalString("binaryValue")
            } else if key.matches("stringListValues") {
                try seen.insert(3, "stringListValues", at: position, in: scanner)
                stringListValues = try scanner.optionalStrings("stringListValues")
            } else if key.matches("binaryListValues") {
                try seen.insert(4, "binaryListValues", at: position, in: scanner)
                binaryListValues = try scanner.optionalStrings("binaryListValues")
            } else {
                try seen.insertOther(key, at: position, in: scanner)
                try scanner.skipValue()
            }
        }
    }
}

// MARK: - Kinesis

extension KinesisEvent.Record {
    init(reading scanner: inout JSONScanner) throws(JSONReadError) {
        try scanner.beginObject()
        var first = true
        var seen = SeenKeys()
        var payload: KinesisEvent.Payload?
        var eventSource: String?
        var eventID: String?
        var eventName: String?
        var eventVersion: String?
        var invokeIdentityArn: String?
        var eventSourceArn: String?
        var awsRegion: String?
        while true {
            let position = scanner.offset
            guard let key = try scanner.nextKey(first: &first) else { break }
            if key.matches("kinesis") {
                try seen.insert(0, "kinesis", at: position, in: scanner)
                payload = try scanner.member("kinesis") { scanner throws(JSONReadError) in
                    if try scanner.peek() == UInt8(ascii: "n") {
                        throw scanner.shapeError("is null: expected an object")
                    }
                    return try KinesisEvent.Payload(reading: &scanner)
                }
            } else if key.matches("eventSource") {
                try seen.insert(1, "eventSource", at: position, in: scanner)
                eventSource = try scanner.optionalString("eventSource")
            } else if key.matches("eventID") {
                try seen.insert(2, "eventID", at: position, in: scanner)
                eventID = try scanner.optionalString("eventID")
            } else if key.matches("eventName") {
                try seen.insert(3, "eventName", at: position, in: scanner)
                eventName = try scanner.optionalString("eventName")
            } else if key.matches("eventVersion") {
                try seen.insert(4, "eventVersion", at: position, in: scanner)
                eventVersion = try scanner.optionalString("eventVersion")
            } else if key.matches("invokeIdentityArn") {
                try seen.insert(5, "invokeIdentityArn", at: position, in: scanner)
                invokeIdentityArn = try scanner.optionalString("invokeIdentityArn")
            } else if key.matches("eventSourceARN") {
                try seen.insert(6, "eventSourceARN", at: position, in: scanner)
                eventSourceArn = try scanner.optionalString("eventSourceARN")
            } else if key.matches("awsRegion") {
                try seen.insert(7, "awsRegion", at: position, in: scanner)
                awsRegion = try scanner.optionalString("awsRegion")
            } else {
                try seen.insertOther(key, at: position, in: scanner)
                try scanner.skipValue()
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
    init(reading scanner: inout JSONScanner) throws(JSONReadError) {
        try scanner.beginObject()
        var first = true
        var seen = SeenKeys()
        var sequenceNumber: String?
        self.init(partitionKey: nil, sequenceNumber: "", base64Data: nil)
        while true {
            let position = scanner.offset
            guard let key = try scanner.nextKey(first: &first) else { break }
            if key.matches("sequenceNumber") {
                try seen.insert(0, "sequenceNumber", at: position, in: scanner)
                sequenceNumber = try scanner.member("sequenceNumber") { scanner throws(JSONReadError) in
                    try scanner.requiredString()
                }
            } else if key.matches("data") {
                try seen.insert(1, "data", at: position, in: scanner)
                dataText = try scanner.readDeferredString("data")
            } else if key.matches("partitionKey") {
                try seen.insert(2, "partitionKey", at: position, in: scanner)
                partitionKey = try scanner.optionalString("partitionKey")
            } else if key.matches("approximateArrivalTimestamp") {
                try seen.insert(3, "approximateArrivalTimestamp", at: position, in: scanner)
                approximateArrivalTimestamp = try scanner.optionalDouble("approximateArrivalTimestamp")
            } else if key.matches("kinesisSchemaVersion") {
                try seen.insert(4, "kinesisSchemaVersion", at: position, in: scanner)
                kinesisSchemaVersion = try scanner.optionalString("kinesisSchemaVersion")
            } else if key.matches("encryptionType") {
                try seen.insert(5, "encryptionType", at: position, in: scanner)
                encryptionType = try scanner.optionalString("encryptionType")
            } else {
                try seen.insertOther(key, at: position, in: scanner)
                try scanner.skipValue()
            }
        }
        guard let sequenceNumber else { throw scanner.missing("sequenceNumber", at: scanner.offset &- 1) }
        self.sequenceNumber = sequenceNumber
    }
}

// MARK: - DynamoDB Streams

extension DynamoDBEvent.Record {
    init(reading scanner: inout JSONScanner) throws(JSONReadError) {
        try scanner.beginObject()
        var first = true
        var seen = SeenKeys()
        var streamRecord: DynamoDBEvent.StreamRecord?
        var eventID: String?
        var eventName: DynamoDBEvent.OperationType?
        var eventVersion: String?
        var eventSource: String?
        var awsRegion: String?
        var eventSourceArn: String?
        var userIdentity: DynamoDBEvent.UserIdentity?
        while true {
            let position = scanner.offset
            guard let key = try scanner.nextKey(first: &first) else { break }
            if key.matches("dynamodb") {
                try seen.insert(0, "dynamodb", at: position, in: scanner)
                streamRecord = try scanner.member("dynamodb") { scanner throws(JSONReadError) in
                    if try scanner.peek() == UInt8(ascii: "n") {
                        throw scanner.shapeError("is null: expected an object")
                    }
                    return try DynamoDBEvent.StreamRecord(reading: &scanner)
                }
            } else if key.matches("eventSource") {
                try seen.insert(1, "eventSource", at: position, in: scanner)
                eventSource = try scanner.optionalString("eventSource")
            } else if key.matches("eventID") {
                try seen.insert(2, "eventID", at: position, in: scanner)
                eventID = try scanner.optionalString("eventID")
            } else if key.matches("eventName") {
                try seen.insert(3, "eventName", at: position, in: scanner)
                eventName = try scanner.optionalString("eventName")
                    .map(DynamoDBEvent.OperationType.init(rawValue:))
            } else if key.matches("eventVersion") {
                try seen.insert(4, "eventVersion", at: position, in: scanner)
                eventVersion = try scanner.optionalString("eventVersion")
            } else if key.matches("awsRegion") {
                try seen.insert(5, "awsRegion", at: position, in: scanner)
                awsRegion = try scanner.optionalString("awsRegion")
            } else if key.matches("eventSourceARN") {
                try seen.insert(6, "eventSourceARN", at: position, in: scanner)
                eventSourceArn = try scanner.optionalString("eventSourceARN")
            } else if key.matches("userIdentity") {
                try seen.insert(7, "userIdentity", at: position, in: scanner)
                userIdentity = try scanner.member("userIdentity") { scanner throws(JSONReadError) in
                    try scanner.takeNull() ? nil : try DynamoDBEvent.UserIdentity(reading: &scanner)
                }
            } else {
                try seen.insertOther(key, at: position, in: scanner)
                try scanner.skipValue()
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
    init(reading scanner: inout JSONScanner) throws(JSONReadError) {
        try scanner.beginObject()
        var first = true
        var seen = SeenKeys()
        self.init(type: nil, principalId: nil)
        while true {
            let position = scanner.offset
            guard let key = try scanner.nextKey(first: &first) else { break }
            if key.matches("type") {
                try seen.insert(0, "type", at: position, in: scanner)
                type = try scanner.optionalString("type")
            } else if key.matches("principalId") {
                try seen.insert(1, "principalId", at: position, in: scanner)
                principalId = try scanner.optionalString("principalId")
            } else {
                try seen.insertOther(key, at: position, in: scanner)
                try scanner.skipValue()
            }
        }
    }
}

extension DynamoDBEvent.StreamRecord {
    init(reading scanner: inout JSONScanner) throws(JSONReadError) {
        try scanner.beginObject()
        var first = true
        var seen = SeenKeys()
        var sequenceNumber: String?
        self.init(keys: nil, sequenceNumber: "")
        while true {
            let position = scanner.offset
            guard let key = try scanner.nextKey(first: &first) else { break }
            if key.matches("SequenceNumber") {
                try seen.insert(0, "SequenceNumber", at: position, in: scanner)
                sequenceNumber = try scanner.member("SequenceNumber") { scanner throws(JSONReadError) in
                    try scanner.requiredString()
                }
            } else if key.matches("Keys") {
                try seen.insert(1, "Keys", at: position, in: scanner)
                rawKeys = try scanner.member("Keys") { scanner throws(JSONReadError) in
                    try DynamoDBEvent.AttributeValue.readOptionalMap(&scanner)
                }
            } else if key.matches("NewImage") {
                try seen.insert(2, "NewImage", at: position, in: scanner)
                newImage = try scanner.member("NewImage") { scanner throws(JSONReadError) in
                    try DynamoDBEvent.AttributeValue.readOptionalMap(&scanner)
                }
            } else if key.matches("OldImage") {
                try seen.insert(3, "OldImage", at: position, in: scanner)
                oldImage = try scanner.member("OldImage") { scanner throws(JSONReadError) in
                    try DynamoDBEvent.AttributeValue.readOptionalMap(&scanner)
                }
            } else if key.matches("SizeBytes") {
                try seen.insert(4, "SizeBytes", at: position, in: scanner)
                sizeBytes = try scanner.member("SizeBytes") { scanner throws(JSONReadError) in
                    try scanner.optionalInt64().map { Int($0) }
                }
            } else if key.matches("ApproximateCreationDateTime") {
                try seen.insert(5, "ApproximateCreationDateTime", at: position, in: scanner)
                approximateCreationDateTime = try scanner.optionalDouble("ApproximateCreationDateTime")
            } else if key.matches("StreamViewType") {
                try seen.insert(6, "StreamViewType", at: position, in: scanner)
                streamViewType = try scanner.optionalString("StreamViewType")
            } else {
                try seen.insertOther(key, at: position, in: scanner)
                try scanner.skipValue()
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

    static func readOptionalMap(_ scanner: inout JSONScanner) throws(JSONReadError) -> [String: Self]? {
        try scanner.takeNull() ? nil : try readMap(&scanner)
    }

    static func readMap(_ scanner: inout JSONScanner) throws(JSONReadError) -> [String: Self] {
        try scanner.beginObject()
        var first = true
        var map: [String: Self] = [:]
        while true {
            let position = scanner.offset
            guard let key = try scanner.nextKey(first: &first) else { break }
            let name = key.string
            do throws(JSONReadError) {
                let value = try Self(reading: &scanner)
                if map.updateValue(value, forKey: name) != nil { throw scanner.duplicate(name, at: position) }
            } catch {
                throw error.at(.key(name))
            }
        }
        return map
    }

    init(reading scanner: inout JSONScanner) throws(JSONReadError) {
        let start = scanner.offset
        try scanner.beginObject()
        var first = true
        guard let key = try scanner.nextKey(first: &first) else {
            throw scanner.exactlyOneKey(found: 0, at: start)
        }
        let name = key.string
        do throws(JSONReadError) {
            self = try Self.read(type: name, from: &scanner)
        } catch {
            throw error.at(.key(name))
        }
        var others = 0
        while try scanner.nextKey(first: &first) != nil {
            others += 1
            try scanner.skipValue()
        }
        if others > 0 { throw scanner.exactlyOneKey(found: 1 + others, at: start) }
    }

    private static func read(type: String, from scanner: inout JSONScanner) throws(JSONReadError) -> Self {
        switch type {
        case "S": return .string(try scanner.requiredString())
        case "N": return .number(try scanner.requiredString())
        case "B": return .binary(try base64(&scanner))
        case "SS": return .stringSet(try requiredStrings(&scanner))
        case "NS": return .numberSet(try requiredStrings(&scanner))
        case "BS":
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
            return .binarySet(sets)
        case "M":
            if try scanner.peek() == UInt8(ascii: "n") { throw scanner.shapeError("is null: expected an object") }
            return .map(try readMap(&scanner))
        case "L":
            if try scanner.peek() == UInt8(ascii: "n") { throw scanner.shapeError("is null: expected an array") }
            try scanner.beginArray()
            var list: [Self] = []
            var first = true
            while try scanner.nextElement(first: &first) {
                let index = list.count
                do throws(JSONReadError) {
                    list.append(try Self(reading: &scanner))
                } catch {
                    throw error.at(.index(index))
                }
            }
            return .list(list)
        case "NULL":
            let start = scanner.offset
            if try scanner.peek() == UInt8(ascii: "n") { throw scanner.shapeError("is null: expected true") }
            guard try scanner.readBool() else { throw scanner.shapeError("is invalid: NULL must be true", at: start) }
            return .null
        case "BOOL":
            if try scanner.peek() == UInt8(ascii: "n") { throw scanner.shapeError("is null: expected a boolean") }
            return .bool(try scanner.readBool())
        default:
            throw scanner.shapeError(
                "is invalid: unknown attribute type '\(type)' (expected one of \(typeNameList))"
            )
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
    init(reading scanner: inout JSONScanner) throws(JSONReadError) {
        try scanner.beginObject()
        var first = true
        var seen = SeenKeys()
        var offset: Int64?
        self.init(offset: 0)
        while true {
            let position = scanner.offset
            guard let key = try scanner.nextKey(first: &first) else { break }
            if key.matches("offset") {
                try seen.insert(0, "offset", at: position, in: scanner)
                offset = try scanner.member("offset") { scanner throws(JSONReadError) in
                    if try scanner.peek() == UInt8(ascii: "n") {
                        throw scanner.shapeError("is null: expected an integer")
                    }
                    return try scanner.readInt64()
                }
            } else if key.matches("topic") {
                try seen.insert(1, "topic", at: position, in: scanner)
                topic = try scanner.optionalString("topic")
            } else if key.matches("partition") {
                try seen.insert(2, "partition", at: position, in: scanner)
                partition = try scanner.member("partition") { scanner throws(JSONReadError) in
                    try scanner.optionalInt64().map { Int($0) }
                }
            } else if key.matches("timestamp") {
                try seen.insert(3, "timestamp", at: position, in: scanner)
                timestamp = try scanner.optionalInt64("timestamp")
            } else if key.matches("timestampType") {
                try seen.insert(4, "timestampType", at: position, in: scanner)
                timestampType = try scanner.optionalString("timestampType")
            } else if key.matches("key") {
                try seen.insert(5, "key", at: position, in: scanner)
                keyText = try scanner.readDeferredString("key")
            } else if key.matches("value") {
                try seen.insert(6, "value", at: position, in: scanner)
                valueText = try scanner.readDeferredString("value")
            } else if key.matches("headers") {
                try seen.insert(7, "headers", at: position, in: scanner)
                headers = try scanner.member("headers") { scanner throws(JSONReadError) in
                    try scanner.takeNull() ? nil : try KafkaEvent.Header.readList(&scanner)
                }
            } else if key.matches("keySchemaMetadata") {
                try seen.insert(8, "keySchemaMetadata", at: position, in: scanner)
                keySchemaMetadata = try scanner.member("keySchemaMetadata") { scanner throws(JSONReadError) in
                    try scanner.takeNull() ? nil : try KafkaEvent.SchemaMetadata(reading: &scanner)
                }
            } else if key.matches("valueSchemaMetadata") {
                try seen.insert(9, "valueSchemaMetadata", at: position, in: scanner)
                valueSchemaMetadata = try scanner.member("valueSchemaMetadata") { scanner throws(JSONReadError) in
                    try scanner.takeNull() ? nil : try KafkaEvent.SchemaMetadata(reading: &scanner)
                }
            } else {
                try seen.insertOther(key, at: position, in: scanner)
                try scanner.skipValue()
            }
        }
        guard let offset else { throw scanner.missing("offset", at: scanner.offset &- 1) }
        self.offset = offset
    }
}

extension KafkaEvent.Header {
    static func readList(_ scanner: inout JSONScanner) throws(JSONReadError) -> [Self] {
        try scanner.beginArray()
        var headers: [Self] = []
        var first = true
        while try scanner.nextElement(first: &first) {
            let index = headers.count
            do throws(JSONReadError) {
                headers.append(try Self(reading: &scanner))
            } catch {
                throw error.at(.index(index))
            }
        }
        return headers
    }

    init(reading scanner: inout JSONScanner) throws(JSONReadError) {
        let start = scanner.offset
        try scanner.beginObject()
        var first = true
        guard let key = try scanner.nextKey(first: &first) else {
            throw scanner.shapeError("is invalid: a header must be an object with one name, found 0", at: start)
        }
        let name = key.string
        do throws(JSONReadError) {
            if try scanner.peek() == UInt8(ascii: "n") { throw scanner.shapeError("is null: expected an array") }
            try scanner.beginArray()
            var numbers: [Int] = []
            var more = true
            while try scanner.nextElement(first: &more) {
                let index = numbers.count
                do throws(JSONReadError) {
                    if try scanner.peek() == UInt8(ascii: "n") {
                        throw scanner.shapeError("is null: expected an integer")
                    }
                    numbers.append(try scanner.readInt())
                } catch {
                    throw error.at(.index(index))
                }
            }
            self.init(name: name, numbers: numbers)
        } catch {
            throw error.at(.key(name))
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
    }
}

extension KafkaEvent.SchemaMetadata {
    init(reading scanner: inout JSONScanner) throws(JSONReadError) {
        try scanner.beginObject()
        var first = true
        var seen = SeenKeys()
        self.init(dataFormat: nil, schemaId: nil)
        while true {
            let position = scanner.offset
            guard let key = try scanner.nextKey(first: &first) else { break }
            if key.matches("dataFormat") {
                try seen.insert(0, "dataFormat", at: position, in: scanner)
                dataFormat = try scanner.optionalString("dataFormat")
            } else if key.matches("schemaId") {
                try seen.insert(1, "schemaId", at: position, in: scanner)
                schemaId = try scanner.optionalString("schemaId")
            } else {
                try seen.insertOther(key, at: position, in: scanner)
                try scanner.skipValue()
            }
        }
    }
}
