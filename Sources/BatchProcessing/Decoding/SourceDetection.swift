import BatchProcessingJSONSupport

// The source detection rules: which source an event is, from its records' `eventSource` (or a Kafka event's), and
// what to say when it cannot be told or does not fit the source a caller gave.

/// What a detection rule found wrong with an event: the message, and the record it names (the field is always
/// `eventSource`). Made into the caller's ``BatchProcessingError`` once, where the error leaves the decoder.
struct DetectionFailure: Error {
    var message: String
    var recordIndex: Int?
    var field = "eventSource"
    var eventSource: BatchEventSource?

    init(_ message: String, recordIndex: Int? = nil, eventSource: BatchEventSource? = nil) {
        self.message = message
        self.recordIndex = recordIndex
        self.eventSource = eventSource
    }

    /// The error the processor reports.
    var error: BatchProcessingError {
        .malformedEvent(message, recordIndex: recordIndex, field: field, eventSource: eventSource)
    }
}

extension EventDecoding {
    /// The source a Kafka event's `eventSource` names.
    static func kafkaSource(named field: String?) throws(DetectionFailure) -> BatchEventSource {
        guard let field else {
            throw DetectionFailure(
                "the Kafka event has no eventSource, so the source cannot be detected; name the source explicitly "
                    + "(kafka)"
            )
        }
        guard let source = BatchEventSource(eventSourceField: field), source.isKafka else {
            throw DetectionFailure(
                "the event has a \"records\" object, as Kafka events do, but its eventSource is "
                    + "\(JSONText.quoted(field)); expected aws:kafka or SelfManagedKafka"
            )
        }
        return source
    }

    /// The source record `index` names, checked against the one the batch started with.
    static func recordSource(
        named field: String?,
        index: Int,
        detected: BatchEventSource?
    ) throws(DetectionFailure) -> BatchEventSource {
        guard let field else {
            throw DetectionFailure(
                "record \(index) has no eventSource, so the source cannot be detected; name the source "
                    + "explicitly (\(BatchEventSource.all.map(\.name).joined(separator: ", ")))",
                recordIndex: index,
                eventSource: detected
            )
        }
        if let detected, field == detected.rawValue { return detected }
        guard let source = BatchEventSource(eventSourceField: field), !source.isKafka else {
            throw DetectionFailure(
                "record \(index) has an unknown eventSource \(JSONText.quoted(field)); expected one of "
                    + [BatchEventSource.sqs, .kinesis, .dynamoDB].map(\.rawValue).joined(separator: ", "),
                recordIndex: index,
                eventSource: detected
            )
        }
        if let detected, detected != source {
            throw DetectionFailure(
                "record \(index) has eventSource \(source) but the batch started with \(detected); a batch "
                    + "comes from one source",
                recordIndex: index,
                eventSource: detected
            )
        }
        return source
    }

    /// The error for the first record (or Kafka event) whose `eventSource` names another source than `forced`.
    static func mismatchedSource(in bytes: [UInt8], forced: BatchEventSource) -> DetectionFailure? {
        guard
            let outline = try? read(
                bytes,
                source: forced,
                { scanner throws(JSONReadError) in
                    try Outline(reading: &scanner)
                }
            )
        else { return nil }
        let index: Int?
        let field: String
        switch outline {
        case .records(let named):
            guard let found = named.firstIndex(where: { $0 != nil && $0 != forced.rawValue }), let name = named[found]
            else { return nil }
            (index, field) = (found, name)
        case .kafka(let name):
            guard let name, name != forced.rawValue,
                !(forced.isKafka && BatchEventSource(eventSourceField: name)?.isKafka == true)
            else { return nil }
            (index, field) = (nil, name)
        }
        let subject = index.map { "record \($0)" } ?? "the event"
        return DetectionFailure(
            "\(subject) has eventSource \(JSONText.quoted(field)), but the source was given as "
                + "\(forced.name) (\(forced.rawValue)); "
                + (BatchEventSource(eventSourceField: field).map { "it is a \($0.name) event" }
                    ?? "that is not a source the processor knows"),
            recordIndex: index,
            eventSource: forced
        )
    }
}

extension BatchEventSource {
    /// Whether the raw API reads events of this source.
    var isReadableRaw: Bool { self == .sqs || self == .kinesis || self == .dynamoDB || isKafka }
}

/// The records of SQS, Kinesis and DynamoDB Streams events say where they come from.
protocol SourceNamingRecord: BatchRecord {
    var eventSource: String? { get }
}

extension SQSEvent.Message: SourceNamingRecord {}
extension KinesisEvent.Record: SourceNamingRecord {}
extension DynamoDBEvent.Record: SourceNamingRecord {}

// MARK: - The event's outline

/// What an event's outline says of its source, read without the records' other fields.
enum Outline {
    /// A `Records` array (SQS, Kinesis, DynamoDB Streams): each record's `eventSource`, `nil` where absent.
    case records([String?])
    /// A Kafka event's `records` object: the event's `eventSource`, `nil` when absent.
    case kafka(String?)

    init(reading scanner: inout JSONScanner) throws(JSONReadError) {
        let start = scanner.offset
        try RawEvent.beginEvent(&scanner)
        var first = true
        var seen = SeenKeys(in: &scanner)
        var named: [String?]?
        var kafka = false
        var eventSource: String?
        while true {
            let position = scanner.offset
            guard let key = try scanner.nextKey(first: &first) else { break }
            if key.matches("Records") {
                try seen.insert(0, "Records", at: position, in: scanner)
                named = try scanner.member("Records") {
                    (scanner: inout JSONScanner) throws(JSONReadError) -> [String?]? in
                    if try scanner.takeNull() { return nil }
                    // Each record's source, `nil` kept where it has none.
                    return try scanner.readElements { scanner throws(JSONReadError) -> String?? in
                        let named = try RawEvent.peekEventSource(&scanner)
                        try scanner.skipValue()
                        return .some(named)
                    }
                }
            } else if key.matches("records") {
                try seen.insert(1, "records", at: position, in: scanner)
                kafka = try scanner.peek() != UInt8(ascii: "n")
                try scanner.skipValue()
            } else if key.matches("eventSource") {
                try seen.insert(2, "eventSource", at: position, in: scanner)
                eventSource = try scanner.optionalString("eventSource")
            } else {
                try seen.insertOther(key, at: position, in: &scanner)
                try scanner.skipValue()
            }
        }
        seen.finish(in: &scanner)
        if let named {
            self = .records(named)
        } else if kafka {
            self = .kafka(eventSource)
        } else {
            throw RawEvent.noRecords(scanner, at: start)
        }
    }
}
