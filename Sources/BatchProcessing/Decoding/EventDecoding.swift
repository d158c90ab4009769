import BatchProcessingJSONSupport

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The one place where event JSON becomes models. Everything the processor reads from bytes goes through here,
/// so a faster decoder can replace Foundation's without touching anything else.
enum EventDecoding {
    /// Decodes a whole event of a known shape.
    static func decode<Event: Decodable>(_ type: Event.Type, from bytes: [UInt8]) throws(BatchProcessingError) -> Event
    {
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
            throw .malformedEvent("the event is empty; expected a JSON object with a \"Records\" array")
        }
        do {
            return try JSONDecoder().decode(type, from: Data(bytes))
        } catch let error as DecodingError {
            throw translate(error)
        } catch {
            throw .malformedEvent("the event could not be read: \(error)", underlying: error)
        }
    }

    /// Decodes the records of an event, detecting the source from the records' `eventSource` (or a Kafka event's)
    /// unless one is forced. An empty batch gives no records, and a source only when the event names one.
    static func decodeRecords(
        from bytes: [UInt8],
        source forcedSource: BatchEventSource?
    ) throws(BatchProcessingError) -> (records: [AnyBatchRecord], source: BatchEventSource?) {
        let source: BatchEventSource?
        if let forcedSource {
            source = forcedSource
        } else {
            source = try detectSource(probe(bytes))
        }
        do throws(BatchProcessingError) {
            switch source {
            case .none:
                return ([], nil)
            case .some(.sqs):
                return (try decode(SQSEvent.self, from: bytes).records.map(AnyBatchRecord.sqs), .sqs)
            case .some(.kinesis):
                return (try decode(KinesisEvent.self, from: bytes).records.map(AnyBatchRecord.kinesis), .kinesis)
            case .some(.dynamoDB):
                return (try decode(DynamoDBEvent.self, from: bytes).records.map(AnyBatchRecord.dynamoDB), .dynamoDB)
            case .some(let kafka) where kafka.isKafka:
                var event = try decode(KafkaEvent.self, from: bytes)
                event.restoreDeliveredOrder(from: bytes)
                // A forced `kafka` reads either flavour; the event says which.
                let named = event.eventSource.flatMap { BatchEventSource(eventSourceField: $0) }
                let eventSource = named?.isKafka == true ? event.source : kafka
                let records = event.records(source: eventSource).map(AnyBatchRecord.kafka)
                return (records, eventSource)
            case .some(let other):
                throw .invalidConfiguration(
                    "the raw API reads \(BatchEventSource.all.map(\.name).joined(separator: ", ")) events, not "
                        + "\(other.name); decode \(other.name) records yourself and pass them to process(_:)"
                )
            }
        } catch {
            // With a forced source, a record that says it comes from elsewhere fails on a field its real source
            // does not have: say what it really is. (Only on failure, so the happy path parses the event once.)
            if let forcedSource, let mismatch = try? mismatchedSource(in: bytes, forced: forcedSource) {
                throw mismatch
            }
            throw error.withEventSource(source)
        }
    }

    /// The error for the first record (or Kafka event) whose `eventSource` names another source than `forced`.
    private static func mismatchedSource(
        in bytes: [UInt8],
        forced: BatchEventSource
    ) throws(BatchProcessingError) -> BatchProcessingError? {
        let index: Int?
        let field: String
        switch try probe(bytes) {
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
        return .malformedEvent(
            "\(subject) has eventSource \(JSONText.quoted(field)), but the source was given as "
                + "\(forced.name) (\(forced.rawValue)); "
                + (BatchEventSource(eventSourceField: field).map { "it is a \($0.name) event" }
                    ?? "that is not a source the processor knows"),
            recordIndex: index,
            field: "eventSource",
            eventSource: forced
        )
    }

    /// What an event's outline says of its source.
    enum Outline {
        /// A `Records` array (SQS, Kinesis, DynamoDB Streams): each record's `eventSource`, `nil` where absent.
        case records([String?])
        /// A Kafka event's `records` object: the event's `eventSource`, `nil` when absent.
        case kafka(String?)
    }

    private struct Probe: Decodable {
        struct Record: Decodable {
            var eventSource: String?
        }
        var outline: Outline

        enum CodingKeys: String, CodingKey {
            case Records, records, eventSource
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            if let records = try container.decodeIfPresent([Record].self, forKey: .Records) {
                outline = .records(records.map(\.eventSource))
            } else if container.contains(.records), try !container.decodeNil(forKey: .records) {
                outline = .kafka(try container.decodeIfPresent(String.self, forKey: .eventSource))
            } else {
                throw DecodingError.keyNotFound(
                    CodingKeys.Records,
                    .init(
                        codingPath: [],
                        debugDescription:
                            "the event has neither a \"Records\" array (SQS, Kinesis, DynamoDB Streams) nor a "
                            + "\"records\" object (Kafka)"
                    )
                )
            }
        }
    }

    /// The event's outline: records with their `eventSource`, or a Kafka event with its own.
    static func probe(_ bytes: [UInt8]) throws(BatchProcessingError) -> Outline {
        try decode(Probe.self, from: bytes).outline
    }

    /// The source the event names; an error when a record's (or the Kafka event's) is missing, unknown or
    /// different from the others'.
    static func detectSource(from bytes: [UInt8]) throws(BatchProcessingError) -> BatchEventSource? {
        try detectSource(probe(bytes))
    }

    private static func detectSource(_ outline: Outline) throws(BatchProcessingError) -> BatchEventSource? {
        let known = BatchEventSource.all.map(\.name).joined(separator: ", ")
        switch outline {
        case .kafka(let field):
            guard let field else {
                throw .malformedEvent(
                    "the Kafka event has no eventSource, so the source cannot be detected; name the source "
                        + "explicitly (kafka)",
                    field: "eventSource"
                )
            }
            guard let source = BatchEventSource(eventSourceField: field), source.isKafka else {
                throw .malformedEvent(
                    "the event has a \"records\" object, as Kafka events do, but its eventSource is "
                        + "\(JSONText.quoted(field)); expected aws:kafka or SelfManagedKafka",
                    field: "eventSource"
                )
            }
            return source
        case .records(let named):
            var detected: BatchEventSource?
            for (index, field) in named.enumerated() {
                guard let field else {
                    throw .malformedEvent(
                        "record \(index) has no eventSource, so the source cannot be detected; name the source "
                            + "explicitly (\(known))",
                        recordIndex: index,
                        field: "eventSource",
                        eventSource: detected
                    )
                }
                guard let source = BatchEventSource(eventSourceField: field), !source.isKafka else {
                    throw .malformedEvent(
                        "record \(index) has an unknown eventSource \(JSONText.quoted(field)); expected one of "
                            + [BatchEventSource.sqs, .kinesis, .dynamoDB].map(\.rawValue).joined(separator: ", "),
                        recordIndex: index,
                        field: "eventSource",
                        eventSource: detected
                    )
                }
                if let detected, detected != source {
                    throw .malformedEvent(
                        "record \(index) has eventSource \(source) but the batch started with \(detected); a batch "
                            + "comes from one source",
                        recordIndex: index,
                        field: "eventSource",
                        eventSource: detected
                    )
                }
                detected = source
            }
            return detected
        }
    }

    /// Turns a `DecodingError` into an error that names the record index and the field.
    static func translate(_ error: DecodingError) -> BatchProcessingError {
        let (path, detail): ([any CodingKey], String) =
            switch error {
            case .keyNotFound(let key, let context):
                (context.codingPath + [key], "is missing")
            case .valueNotFound(_, let context):
                (context.codingPath, "is null: \(describe(context))")
            case .typeMismatch(_, let context):
                (context.codingPath, "has the wrong type: \(describe(context))")
            case .dataCorrupted(let context):
                (context.codingPath, "is invalid: \(describe(context))")
            @unknown default:
                ([], "\(error)")
            }

        if path.isEmpty {
            if case .dataCorrupted(let context) = error {
                return .malformedEvent("the event is not valid JSON: \(describe(context))", underlying: error)
            }
            return .malformedEvent(
                "the event must be a JSON object with a \"Records\" array: \(detail)",
                underlying: error
            )
        }
        if path[0].stringValue == "records", path.count > 1 {
            // A Kafka event: records grouped by topic-partition.
            let partition = path[1].stringValue
            var place = "topic-partition \(JSONText.quoted(partition))"
            if path.count > 2, let position = path[2].intValue { place += ", record \(position)" }
            let rest = Array(path.dropFirst(3))
            let field = fieldPath(path)
            let what = rest.isEmpty ? "\(detail)" : "field \(fieldPath(rest)) \(detail)"
            return .malformedEvent("\(place): \(what)", field: field, underlying: error)
        }
        guard path[0].stringValue == "Records" else {
            return .malformedEvent(
                "field \(fieldPath(path)) \(detail)",
                field: fieldPath(path),
                underlying: error
            )
        }
        guard path.count > 1, let index = path[1].intValue else {
            return .malformedEvent(
                "\"Records\" \(detail); it must be an array of records",
                field: "Records",
                underlying: error
            )
        }
        let rest = Array(path.dropFirst(2))
        if rest.isEmpty {
            return .malformedEvent(
                "record \(index) \(detail); each record must be a JSON object",
                recordIndex: index,
                underlying: error
            )
        }
        let field = fieldPath(rest)
        return .malformedEvent(
            "record \(index): field \(field) \(detail)",
            recordIndex: index,
            field: field,
            underlying: error
        )
    }

    private static func fieldPath(_ path: [any CodingKey]) -> String {
        var text = ""
        for key in path {
            if let index = key.intValue {
                text += "[\(index)]"
            } else {
                text += text.isEmpty ? key.stringValue : "." + key.stringValue
            }
        }
        return text
    }

    private static func describe(_ context: DecodingError.Context) -> String {
        var text = context.debugDescription
        if let underlying = context.underlyingError {
            text += " (\(underlying))"
        }
        return text
    }
}
