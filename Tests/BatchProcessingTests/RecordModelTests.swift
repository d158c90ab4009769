import BatchProcessing
import BatchProcessingTesting
import Foundation
import InMemoryLogging
import Logging
import MetricsTestKit
import Testing

/// A record type of a source the package does not know: its identifier is an object, as Kafka's is.
struct QueueRecord: BatchRecord {
    static let source = BatchEventSource(rawValue: "example:queue", name: "queue")
    var topic: String
    var offset: Int64
    var itemIdentifier: ItemIdentifier { .object([("partition", .string(topic)), ("offset", .integer(offset))]) }
    var orderingKey: String? { topic }
    var batchSource: BatchEventSource { Self.source }
}

@Suite("Record model: item identifiers and sources of your own")
struct RecordModelTests {
    @Test("String identifiers encode exactly as before: one JSON string per failure, in record order")
    func stringIdentifiers() {
        let response = PartialBatchResponse(batchItemFailures: [
            .init(itemIdentifier: "a"), .init(itemIdentifier: "quote\"and\\slash\n"),
        ])
        #expect(
            response.jsonString
                == #"{"batchItemFailures":[{"itemIdentifier":"a"},{"itemIdentifier":"quote\"and\\slash\n"}]}"#
        )
        #expect(PartialBatchResponse().jsonString == #"{"batchItemFailures":[]}"#)
    }

    @Test("Object identifiers encode as objects, fields in the order given, integers as numbers")
    func objectIdentifiers() throws {
        let identifier = ItemIdentifier.object([("partition", .string("orders-3")), ("offset", .integer(15))])
        let response = PartialBatchResponse(batchItemFailures: [.init(itemIdentifier: identifier)])
        #expect(
            response.jsonString == #"{"batchItemFailures":[{"itemIdentifier":{"partition":"orders-3","offset":15}}]}"#
        )
        #expect(identifier.description == #"{"partition":"orders-3","offset":15}"#)
        #expect(identifier.stringValue == nil)
        // Codable agrees with the hand-written encoding (field order aside, which Foundation does not keep).
        let decoded = try JSONDecoder().decode(PartialBatchResponse.self, from: Data(response.jsonBytes))
        #expect(decoded.batchItemFailures[0].itemIdentifier.fields?.count == 2)
        #expect(try JSONDecoder().decode(ItemIdentifier.self, from: Data(#""m1""#.utf8)) == "m1")
    }

    @Test(
        "Blank identifiers are told apart from usable ones",
        arguments: [
            (ItemIdentifier(""), true), (ItemIdentifier("  "), true), (ItemIdentifier("m"), false),
            (ItemIdentifier.object([(String, ItemIdentifier.FieldValue)]()), true),
            (ItemIdentifier.object([("partition", .string(""))]), true),
            (ItemIdentifier.object([("offset", .integer(0))]), false),
        ]
    )
    func blank(identifier: ItemIdentifier, isBlank: Bool) {
        #expect(identifier.isBlank == isBlank)
    }

    @Test("A source of your own gets policies, ordering, an object identifier in the response, and metrics")
    func customSource() async throws {
        let observation = TestObservation()
        let processor = BatchProcessor(
            configuration: .init(policy: .skipKey, instrumentation: observation.instrumentation)
        )
        let records = [
            QueueRecord(topic: "t-0", offset: 1), QueueRecord(topic: "t-1", offset: 1),
            QueueRecord(topic: "t-0", offset: 2), QueueRecord(topic: "t-1", offset: 2),
        ]
        let result = try await processor.process(records, context: .init(logger: observation.logger)) { record, _ in
            if record.topic == "t-0" && record.offset == 1 {
                throw TestHandlerFailure(itemIdentifier: record.itemIdentifier)
            }
        }
        #expect(
            result.response.jsonString
                == #"{"batchItemFailures":[{"itemIdentifier":{"partition":"t-0","offset":1}},"#
                + #"{"itemIdentifier":{"partition":"t-0","offset":2}}]}"#
        )
        #expect(result.eventSource == QueueRecord.source)
        let failed = try observation.metrics.expectCounter("RecordsFailed", [("event_source", "example:queue")])
        #expect(failed.values == [1])
        #expect(
            observation.entries(withMessage: "record failed").first?.metadata["item_identifier"]
                == .string(#"{"partition":"t-0","offset":1}"#)
        )
    }

    @Test("Built-in sources are found by eventSource and by name, in any case; others are not")
    func builtInLookup() {
        #expect(BatchEventSource(eventSourceField: "aws:sqs") == .sqs)
        #expect(BatchEventSource(name: "DynamoDB") == .dynamoDB)
        #expect(BatchEventSource(name: "queue") == nil)
        #expect(BatchEventSource(eventSourceField: "example:queue") == nil)
    }
}

@Suite("A failed invocation is seen")
struct FailedInvocationTests {
    @Test(
        "A malformed event is logged once, counted in BatchFailures with its source when known, and flushed",
        arguments: [
            ("{\"Records\": 3}", nil as String?),
            (#"{"Records":[{"eventSource":"aws:kinesis","kinesis":{"partitionKey":"p"}}]}"#, "aws:kinesis"),
            ("", nil),
        ]
    )
    func malformedEvent(json: String, source: String?) async throws {
        let observation = TestObservation()
        let processor = BatchProcessor(configuration: .init(instrumentation: observation.instrumentation))
        await #expect(throws: BatchProcessingError.self) {
            try await processor.process(eventJSON: Array(json.utf8), context: .init(logger: observation.logger)) {
                _,
                _ in
            }
        }
        let lines = observation.entries(withMessage: "batch failed as a whole")
        #expect(lines.count == 1)
        #expect(lines.first?.level == .error)
        #expect(lines.first?.metadata["error_type"] == .string("BatchProcessingError.malformedEvent"))
        #expect(lines.first?.metadata["event_source"] == .string(source ?? "unknown"))
        let dimensions = source.map { [("event_source", $0)] } ?? []
        #expect(try observation.metrics.expectCounter("BatchFailures", dimensions).values == [1])
        #expect(observation.flushCount == 1)
    }

    @Test("Invalid configuration is logged, counted and flushed too")
    func invalidConfiguration() async throws {
        let observation = TestObservation()
        let processor = BatchProcessor(
            configuration: .init(policy: .skipGroup, instrumentation: observation.instrumentation)
        )
        await #expect(throws: BatchProcessingError.self) {
            try await processor.process(TestEvents.kinesis(["1"]), context: .init(logger: observation.logger)) { _, _ in
            }
        }
        #expect(observation.entries(withMessage: "batch failed as a whole").count == 1)
        #expect(
            try observation.metrics.expectCounter("BatchFailures", [("event_source", "aws:kinesis")]).values == [1]
        )
        #expect(observation.flushCount == 1)
    }

    @Test("The invocation's function ARN and trace header reach every record's log line")
    func invocationFacts() async throws {
        let observation = TestObservation()
        let processor = BatchProcessor(configuration: .init(instrumentation: observation.instrumentation))
        let context = InvocationContext(
            requestID: "req-1",
            functionName: "orders",
            functionARN: "arn:aws:lambda:us-east-1:123456789012:function:orders",
            traceID: "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
            logger: observation.logger
        )
        _ = try? await processor.process(TestEvents.sqs(["m1", "m2"]), context: context) { message, _ in
            if message.messageId == "m2" { throw TestHandlerFailure(itemIdentifier: message.itemIdentifier) }
        }
        let line = try #require(observation.entries(withMessage: "record failed").first)
        #expect(line.metadata["function_arn"] == .string("arn:aws:lambda:us-east-1:123456789012:function:orders"))
        #expect(line.metadata["xray_trace_id"] == .string("1-5759e988-bd862e3fe1be46a994272793"))
        #expect(line.metadata["function_request_id"] == .string("req-1"))
        #expect(line.metadata["item_identifier"] == .string("m2"))
    }
}

@Suite("Logged payloads")
struct LoggedPayloadTests {
    @Test("A payload longer than the limit is cut at a character boundary, with a marker and its full size")
    func payloadCut() async throws {
        let observation = TestObservation()
        var instrumentation = observation.instrumentation
        instrumentation.logsRecordPayloads = true
        instrumentation.payloadLogLimit = 5
        let processor = BatchProcessor(
            configuration: .init(throwsOnFullBatchFailure: false, instrumentation: instrumentation)
        )
        let event = SQSEvent(records: [
            TestEvents.sqsMessage(id: "short", body: "tiny"),
            TestEvents.sqsMessage(id: "long", body: "ééé-and-more"),
        ])
        _ = try await processor.process(event, context: .init(logger: observation.logger)) { message, _ in
            throw TestHandlerFailure(itemIdentifier: message.itemIdentifier)
        }
        let payloads = observation.entries(withMessage: "record failed").map { $0.metadata["payload"] }
        #expect(payloads.count == 2)
        #expect(payloads.first == .string("tiny"))
        // "é" is two bytes: two fit in five bytes, a third would not.
        #expect(payloads.last == .string("éé" + Instrumentation.truncationMarker + "15 bytes in all]"))
    }

    @Test("The default limit is 4,096 bytes")
    func defaultLimit() {
        #expect(Instrumentation().payloadLogLimit == 4096)
    }
}
