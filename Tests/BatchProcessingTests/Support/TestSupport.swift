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

/// The three sources, for tests that hold for each.
enum SourceKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqs, kinesis, dynamodb
    var testDescription: String { rawValue }

    var source: BatchEventSource {
        switch self {
        case .sqs: .sqs
        case .kinesis: .kinesis
        case .dynamodb: .dynamoDB
        }
    }

    /// The policy that skips later records of a failed record's group or key.
    var skipPolicy: FailurePolicy { self == .sqs ? .skipGroup : .skipKey }

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
            }
        }
    }
}

/// `count` records with identifiers `r0`, `r1`, … and the given keys (cycled), for quick batches.
func specs(_ count: Int, keys: [String?] = [nil]) -> [RecordSpec] {
    (0..<count).map { RecordSpec(id: "r\($0)", key: keys[$0 % keys.count]) }
}

/// A handler that throws ``HandlerFailure`` for the listed identifiers and succeeds otherwise.
func failing<Record: BatchRecord>(_ identifiers: Set<String>) -> RecordHandler<Record> {
    { record, _ in
        let identifier = record.itemIdentifier.description
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
