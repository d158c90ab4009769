// Reading Kinesis records from an event's bytes (one pass with `JSONScanner`; see `ObjectReading.swift`). The
// `Decodable` conformances in `KinesisEvent.swift` are the reference.

extension KinesisEvent: RecordsEvent {
    static var source: BatchEventSource { .kinesis }
    static func records(in body: RawEvent.Body) -> [Record]? {
        if case .kinesis(let records) = body { records } else { nil }
    }
}

extension KinesisEvent.Record.CodingKeys: ObjectFields {
    static let table = KeyTable<Self>()
}

extension KinesisEvent.Payload.CodingKeys: ObjectFields {
    static let table = KeyTable<Self>()
}

extension KinesisEvent.Record {
    init(reading scanner: inout JSONScanner) throws(JSONReadError) {
        var payload: KinesisEvent.Payload?
        var eventSource: String?
        var eventID: String?
        var eventName: String?
        var eventVersion: String?
        var invokeIdentityArn: String?
        var eventSourceArn: String?
        var awsRegion: String?
        try scanner.readFields(CodingKeys.self) { scanner, field throws(JSONReadError) in
            switch field {
            case .kinesis: payload = try scanner.requiredObject(KinesisEvent.Payload.init(reading:))
            case .eventSource: eventSource = try scanner.readOptionalString()
            case .eventID: eventID = try scanner.readOptionalString()
            case .eventName: eventName = try scanner.readOptionalString()
            case .eventVersion: eventVersion = try scanner.readOptionalString()
            case .invokeIdentityArn: invokeIdentityArn = try scanner.readOptionalString()
            case .eventSourceArn: eventSourceArn = try scanner.readOptionalString()
            case .awsRegion: awsRegion = try scanner.readOptionalString()
            }
        }
        guard let payload else { throw scanner.missing(CodingKeys.kinesis) }
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
        var sequenceNumber: String?
        self.init(partitionKey: nil, sequenceNumber: "", base64Data: nil)
        try scanner.readFields(CodingKeys.self) { scanner, field throws(JSONReadError) in
            switch field {
            case .sequenceNumber: sequenceNumber = try scanner.requiredString()
            case .base64Data: dataText = try scanner.readDeferredString()
            case .partitionKey: partitionKey = try scanner.readOptionalString()
            case .approximateArrivalTimestamp: approximateArrivalTimestamp = try scanner.optionalDouble()
            case .kinesisSchemaVersion: kinesisSchemaVersion = try scanner.readOptionalString()
            case .encryptionType: encryptionType = try scanner.readOptionalString()
            }
        }
        guard let sequenceNumber else { throw scanner.missing(CodingKeys.sequenceNumber) }
        self.sequenceNumber = sequenceNumber
    }
}
