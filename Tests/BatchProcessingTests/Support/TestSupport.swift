import BatchProcessing
import Foundation
import Logging
import Synchronization
import Testing

/// The sample events kept beside the tests.
enum Fixture {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures")

    static func url(_ name: String) -> URL { directory.appendingPathComponent(name) }

    static func bytes(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: url(name)))
    }

    static func decode<T: Decodable>(_ type: T.Type, _ name: String) throws -> T {
        try JSONDecoder().decode(type, from: Data(contentsOf: url(name)))
    }
}

/// An error a test handler throws on purpose.
struct HandlerFailure: Error, Equatable, CustomStringConvertible {
    let identifier: String
    var description: String { "handler failed for \(identifier)" }
}

/// A test's description of one record: its identifier and its ordering key (group, partition key or item key).
struct RecordSpec: Sendable {
    var id: String
    var key: String?
}

/// The four sources, for tests that hold for each.
enum SourceKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqs, kinesis, dynamodb, kafka
    var testDescription: String { rawValue }

    /// The sources whose item identifier is a string (Kafka's is an object, which cannot be blank text).
    static let stringIdentified: [SourceKind] = [.sqs, .kinesis, .dynamodb]

    var source: BatchEventSource {
        switch self {
        case .sqs: .sqs
        case .kinesis: .kinesis
        case .dynamodb: .dynamoDB
        case .kafka: .kafka
        }
    }

    /// The policy that skips later records of a failed record's group or key.
    var skipPolicy: FailurePolicy { self == .sqs ? .skipGroup : .skipKey }

    /// The policy `automatic` means for a batch of this source.
    func automaticPolicy(fifo: Bool) -> FailurePolicy {
        switch self {
        case .kafka: .skipKey
        case .sqs where fifo: .stopOnFirstFailure
        default: .continueOnFailure
        }
    }

    /// An event of this source with no records, as JSON.
    var emptyEventJSON: String {
        self == .kafka ? #"{"eventSource":"aws:kafka","records":{}}"# : #"{"Records": []}"#
    }

    /// Records of this source. SQS keys become `MessageGroupId`s (on a FIFO queue when `fifo`); Kinesis keys
    /// partition keys (a record without one gets its own); DynamoDB keys the item's `Id`.
    func records(_ specs: [RecordSpec], fifo: Bool = false) -> [AnyBatchRecord] {
        specs.enumerated().map { index, spec in
            switch self {
            case .sqs:
                var attributes = SQSEvent.Attributes(["ApproximateReceiveCount": "1"])
                attributes["MessageGroupId"] = spec.key
                return .sqs(
                    SQSEvent.Message(
                        messageId: spec.id,
                        body: "body \(index)",
                        attributes: attributes,
                        eventSourceArn: fifo
                            ? "arn:aws:sqs:us-east-1:123456789012:queue.fifo"
                            : "arn:aws:sqs:us-east-1:123456789012:queue"
                    )
                )
            case .kinesis:
                return .kinesis(
                    KinesisEvent.Record(
                        kinesis: .init(
                            partitionKey: spec.key ?? "unique-\(index)",
                            sequenceNumber: spec.id,
                            data: Array("data \(index)".utf8)
                        )
                    )
                )
            case .dynamodb:
                return .dynamoDB(
                    DynamoDBEvent.Record(
                        eventName: .modify,
                        dynamodb: .init(
                            keys: ["Id": .string(spec.key ?? "unique-\(index)")],
                            sequenceNumber: spec.id
                        )
                    )
                )
            case .kafka:
                // A key names a topic-partition; a record without one gets a partition of its own. The offset is
                // the record's index, and the test's identifier travels in the record's key (see `specID`).
                var record = KafkaEvent.Record(
                    topic: spec.key.map { "topic.\($0)" } ?? "solo",
                    partition: spec.key == nil ? 1000 + index : 0,
                    offset: Int64(index),
                    key: Array(spec.id.utf8),
                    value: Array("value \(index)".utf8)
                )
                record.source = .kafka
                return .kafka(record)
            }
        }
    }
}

/// `count` records with identifiers `r0`, `r1`, … and the given keys (cycled), for quick batches.
func specs(_ count: Int, keys: [String?] = [nil]) -> [RecordSpec] {
    (0..<count).map { RecordSpec(id: "r\($0)", key: keys[$0 % keys.count]) }
}

/// The identifier a test gave a record: its item identifier's text, or for a Kafka record built by
/// ``SourceKind/records(_:fifo:)`` the test's identifier kept in its key.
func specID(_ record: some BatchRecord) -> String {
    if case .kafka(let kafka) = record as? AnyBatchRecord, let key = try? kafka.keyString { return key }
    return record.itemIdentifier.description
}

/// The test identifiers of the records a result reports, in order.
func reportedIDs(_ result: BatchResult?, _ records: [AnyBatchRecord]) -> [String] {
    (result?.outcomes ?? []).filter(\.isReported).map { specID(records[$0.index]) }
}

/// A handler that throws ``HandlerFailure`` for the listed identifiers (see ``specID(_:)``) and succeeds otherwise.
func failing<Record: BatchRecord>(_ identifiers: Set<String>) -> RecordHandler<Record> {
    { record, _ in
        let identifier = specID(record)
        if identifiers.contains(identifier) { throw HandlerFailure(identifier: identifier) }
    }
}

/// Runs `body` and returns the `BatchProcessingError` it throws, or records an issue when it does not throw.
func expectBatchError(
    sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () async throws -> BatchResult
) async -> BatchProcessingError? {
    do {
        let result = try await body()
        Issue.record(
            "expected a BatchProcessingError, got response \(result.response.jsonString)",
            sourceLocation: sourceLocation
        )
        return nil
    } catch let error as BatchProcessingError {
        return error
    } catch {
        Issue.record(
            "expected a BatchProcessingError, got \(type(of: error)): \(error)",
            sourceLocation: sourceLocation
        )
        return nil
    }
}

/// A thread-safe log of what handlers did, in the order they did it.
final class EventLog<Entry: Sendable>: Sendable {
    private let entries = Mutex<[Entry]>([])

    func append(_ entry: Entry) {
        entries.withLock { $0.append(entry) }
    }

    var all: [Entry] { entries.withLock { $0 } }
}
