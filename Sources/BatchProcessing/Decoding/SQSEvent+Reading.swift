import BatchProcessingJSONSupport

// Reading SQS messages from an event's bytes (one pass with `JSONScanner`; see `ObjectReading.swift`). The
// `Decodable` conformances in `SQSEvent.swift` are the reference: the differential tests hold both to the same values
// and the same accept/reject answers.

extension SQSEvent: RecordsEvent {
    static var source: BatchEventSource { .sqs }
    static func records(in body: RawEvent.Body) -> [Message]? {
        if case .sqs(let records) = body { records } else { nil }
    }
}

extension SQSEvent.Message.CodingKeys: ObjectFields {
    static let table = KeyTable<Self>()
}

extension SQSEvent.MessageAttribute.CodingKeys: ObjectFields {
    static let table = KeyTable<Self>()
}

extension SQSEvent.Message {
    init(reading scanner: inout JSONScanner) throws(JSONReadError) {
        var messageId: String?
        self.init(messageId: "", eventSource: nil)
        try scanner.readFields(CodingKeys.self) { scanner, field throws(JSONReadError) in
            switch field {
            case .messageId: messageId = try scanner.requiredString()
            case .receiptHandle: receiptHandleText = try scanner.readDeferredString()
            case .rawBody: bodyText = try scanner.readDeferredString()
            case .rawAttributes: rawAttributes = try scanner.optionalObject(SQSEvent.Attributes.init(reading:))
            case .rawMessageAttributes:
                rawMessageAttributes = try scanner.optionalObject(SQSEvent.MessageAttribute.readMap)
            case .md5OfBody: md5OfBodyText = try scanner.readDeferredString()
            case .md5OfMessageAttributes: md5OfMessageAttributes = try scanner.readOptionalString()
            case .eventSource: eventSource = try scanner.readOptionalString()
            case .eventSourceArn: eventSourceArn = try scanner.readOptionalString()
            case .awsRegion: awsRegion = try scanner.readOptionalString()
            }
        }
        guard let messageId else { throw scanner.missing(CodingKeys.messageId) }
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

    init(reading scanner: inout JSONScanner) throws(JSONReadError) {
        self.init(dataType: nil)
        try scanner.readFields(CodingKeys.self) { scanner, field throws(JSONReadError) in
            switch field {
            case .dataType: dataType = try scanner.readOptionalString()
            case .stringValue: stringValue = try scanner.readOptionalString()
            case .base64BinaryValue: base64BinaryValue = try scanner.readOptionalString()
            case .stringListValues: stringListValues = try scanner.optionalStrings()
            case .binaryListValues: binaryListValues = try scanner.optionalStrings()
            }
        }
    }
}
