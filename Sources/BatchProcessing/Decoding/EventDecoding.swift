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

    /// Decodes the records of an event, detecting the source from the records' `eventSource` unless one is
    /// forced. An empty `Records` array gives no records and no source.
    static func decodeRecords(
        from bytes: [UInt8],
        source forcedSource: BatchEventSource?
    ) throws(BatchProcessingError) -> (records: [AnyBatchRecord], source: BatchEventSource?) {
        let source: BatchEventSource?
        if let forcedSource {
            source = forcedSource
        } else {
            source = try detectSource(namedSources(from: bytes))
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

    /// The error for the first record whose `eventSource` names another source than `forced`, if any.
    private static func mismatchedSource(
        in bytes: [UInt8],
        forced: BatchEventSource
    ) throws(BatchProcessingError) -> BatchProcessingError? {
        let named = try namedSources(from: bytes)
        guard let index = named.firstIndex(where: { $0 != nil && $0 != forced.rawValue }), let field = named[index]
        else { return nil }
        return .malformedEvent(
            "record \(index) has eventSource \(JSONText.quoted(field)), but the source was given as "
                + "\(forced.name) (\(forced.rawValue)); "
                + (BatchEventSource(eventSourceField: field).map { "it is a \($0.name) event" }
                    ?? "that is not a source the processor knows"),
            recordIndex: index,
            field: "eventSource",
            eventSource: forced
        )
    }

    private struct SourceProbe: Decodable {
        struct Record: Decodable {
            var eventSource: String?
        }
        var Records: [Record]
    }

    /// Every record's `eventSource` field (`nil` where a record has none), read without the rest of the record.
    private static func namedSources(from bytes: [UInt8]) throws(BatchProcessingError) -> [String?] {
        try decode(SourceProbe.self, from: bytes).Records.map(\.eventSource)
    }

    /// The source named by every record's `eventSource`; an error when one is missing, unknown or different.
    static func detectSource(from bytes: [UInt8]) throws(BatchProcessingError) -> BatchEventSource? {
        try detectSource(namedSources(from: bytes))
    }

    private static func detectSource(_ named: [String?]) throws(BatchProcessingError) -> BatchEventSource? {
        var detected: BatchEventSource?
        for (index, field) in named.enumerated() {
            guard let field else {
                throw .malformedEvent(
                    "record \(index) has no eventSource, so the source cannot be detected; name the source "
                        + "explicitly (\(BatchEventSource.all.map(\.name).joined(separator: ", ")))",
                    recordIndex: index,
                    field: "eventSource",
                    eventSource: detected
                )
            }
            guard let source = BatchEventSource(eventSourceField: field) else {
                throw .malformedEvent(
                    "record \(index) has an unknown eventSource \(JSONText.quoted(field)); expected one of "
                        + BatchEventSource.all.map(\.rawValue).joined(separator: ", "),
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
