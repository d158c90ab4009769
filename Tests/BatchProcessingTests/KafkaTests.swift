import BatchProcessing
import BatchProcessingTesting
import Foundation
import InMemoryLogging
import Logging
import MetricsTestKit
import Testing

@Suite("Kafka: Amazon MSK and self-managed Apache Kafka")
struct KafkaTests {
    static func event(_ name: String) throws -> KafkaEvent {
        try KafkaEvent(jsonBytes: Fixture.bytes(name))
    }

    @Test(
        "AWS's sample events decode with every field, and round-trip",
        arguments: [
            ("aws-msk.json", "aws:kafka"), ("aws-self-managed-kafka.json", "SelfManagedKafka"),
        ]
    )
    func samples(name: String, eventSource: String) throws {
        let event = try Self.event(name)
        #expect(event.eventSource == eventSource)
        #expect(event.bootstrapServers?.hasPrefix("b-2.demo-cluster-1") == true)
        #expect((event.eventSourceArn != nil) == (eventSource == "aws:kafka"))
        let record = try #require(event.records.first)
        #expect(event.records.count == 1)
        #expect(record.topic == "mytopic")
        #expect(record.partition == 0)
        #expect(record.offset == 15)
        #expect(record.timestamp == 1_545_084_650_987)
        #expect(record.timestampType == "CREATE_TIME")
        #expect(try record.valueString == "Hello, this is a test.")
        #expect(try record.keyBytes?.isEmpty == false)
        #expect(record.headers?.first?.name == "headerKey")
        #expect(try record.headerStrings == ["headerKey": "headerValue"])
        #expect(record.batchSource.rawValue == eventSource)
        #expect(record.orderingKey == "mytopic-0")

        let encoded = try JSONEncoder().encode(event)
        let again = try KafkaEvent(jsonBytes: Array(encoded))
        #expect(again == event)
        let original = try JSONSerialization.jsonObject(with: Data(try Fixture.bytes(name))) as? NSDictionary
        #expect(try JSONSerialization.jsonObject(with: encoded) as? NSDictionary == original)
    }

    @Test("The item identifier is AWS's object: the topic-partition as a string, the offset as a number")
    func identifierEncoding() async throws {
        let processor = BatchProcessor(configuration: .init(throwsOnFullBatchFailure: false))
        let result = try await processor.process(try Self.event("aws-msk.json")) { record, _ in
            throw TestHandlerFailure(itemIdentifier: record.itemIdentifier)
        }
        #expect(
            result.response.jsonString
                == #"{"batchItemFailures":[{"itemIdentifier":{"partition":"mytopic-0","offset":15}}]}"#
        )
    }

    @Test("Partitions keep the order Lambda delivered them in; records keep their list order")
    func deliveredOrder() async throws {
        let bytes = try Fixture.bytes("kafka-many-partitions.json")
        let event = try KafkaEvent(jsonBytes: bytes)
        #expect(
            event.partitions.map(\.key) == ["events-5", "events-0", "events-3", "events-1", "events-4", "events-2"]
        )
        #expect(event.records.prefix(4).map(\.offset) == [1000, 1001, 1002, 1003])
        // The raw API keeps the same order: record 0 is partition 5's first.
        let seen = EventLog<String>()
        let result = try await BatchProcessor().process(eventJSON: bytes) { record, context in
            if context.index < 5 { seen.append(record.orderingKey ?? "") }
        }
        #expect(seen.all.prefix(5) == ["events-5", "events-5", "events-5", "events-5", "events-0"])
        #expect(result.eventSource == .selfManagedKafka)
        // Foundation's decoder loses the order; the partitions are then sorted, so at least stably.
        let decoded = try JSONDecoder().decode(KafkaEvent.self, from: Data(bytes))
        #expect(decoded.partitions.map(\.partition) == [0, 1, 2, 3, 4, 5])
    }

    @Test("Tombstones, absent keys, signed header bytes, schema metadata, topics with dashes and dots")
    func recordVariety() throws {
        let event = try Self.event("kafka-partitions.json")
        #expect(event.partitions.map(\.key) == ["orders.v2-eu-west-3", "clicks-10", "clicks-2", "a-b-c-0"])
        #expect(event.partitions.map(\.topic) == ["orders.v2-eu-west", "clicks", "clicks", "a-b-c"])
        let records = event.records
        let tombstone = records[1]
        #expect(tombstone.isTombstone)
        #expect(try tombstone.valueBytes == nil)
        let tombstoneError = #expect(throws: RecordPayloadError.self) {
            try tombstone.decodeValue(as: [String: Int].self)
        }
        #expect(tombstoneError?.code == .missingValue)
        #expect(try tombstone.keyString == "customer-1")
        #expect(try records[2].keyBytes == nil, "absent key")
        #expect(try records[0].decodeValue(as: [String: Int].self) == ["order": 1])
        #expect(try records[0].headerStrings == ["content-type": "application/json", "trace": "abc"])
        #expect(
            records[3].valueSchemaMetadata
                == KafkaEvent.SchemaMetadata(
                    dataFormat: "JSON",
                    schemaId: "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111"
                )
        )
        #expect(records[3].keySchemaMetadata?.dataFormat == "AVRO")
        #expect(try records[5].headerStrings == ["signed": "é"], "-61, -87 are the signed bytes of U+00E9")
        #expect(records[5].itemIdentifier == .object([("partition", .string("clicks-2")), ("offset", .integer(0))]))
        #expect(records[6].logMetadata == ["kafka_topic": "a-b-c", "kafka_partition": "0", "kafka_offset": "5"])
    }

    @Test("A record without topic or partition takes its key's, and only the offset is required")
    func minimalRecord() async throws {
        let json = #"{"eventSource":"aws:kafka","records":{"orders-3":[{"offset":9},{"offset":10,"value":null}]}}"#
        let result = try await BatchProcessor().process(eventJSON: Array(json.utf8)) { record, _ in
            guard case .kafka(let kafka) = record else { return }
            if kafka.offset == 10 { throw TestHandlerFailure(itemIdentifier: kafka.itemIdentifier) }
        }
        #expect(
            result.response.jsonString
                == #"{"batchItemFailures":[{"itemIdentifier":{"partition":"orders-3","offset":10}}]}"#
        )
    }

    @Test("A handler's own log lines name the record's topic, partition and offset, and its index")
    func handlerLogLines() async throws {
        let observation = TestObservation()
        let processor = BatchProcessor(configuration: .init(instrumentation: observation.instrumentation))
        let json =
            #"{"eventSource":"aws:kafka","records":{"orders-3":[{"offset":9},{"offset":10}],"#
            + #""audit-0":[{"offset":4}]}}"#
        _ = try await processor.process(eventJSON: Array(json.utf8), context: .init(logger: observation.logger)) {
            _,
            context in
            context.logger.info("handled")
        }
        let lines = observation.entries(withMessage: "handled")
        #expect(lines.count == 3)
        let named = lines.map {
            [$0.metadata["kafka_topic"], $0.metadata["kafka_partition"], $0.metadata["kafka_offset"]]
                .map { $0.map { "\($0)" } ?? "-" }.joined(separator: "/")
        }
        #expect(named.sorted() == ["audit/0/4", "orders/3/10", "orders/3/9"])
        #expect(Set(lines.compactMap { $0.metadata["record_index"].map { "\($0)" } }) == ["0", "1", "2"])
    }

    @Test("By default a failure skips the rest of its partition only; other partitions go on")
    func defaultPolicy() async throws {
        let observation = TestObservation()
        let processor = BatchProcessor(configuration: .init(instrumentation: observation.instrumentation))
        let bytes = try Fixture.bytes("kafka-many-partitions.json")
        let result = try await processor.process(eventJSON: bytes, context: .init(logger: observation.logger)) {
            record,
            _ in
            guard case .kafka(let kafka) = record else { return }
            if kafka.partition == 3 && kafka.offset == 1001 {
                throw TestHandlerFailure(itemIdentifier: kafka.itemIdentifier)
            }
        }
        #expect(result.policy == .skipKey)
        #expect(
            result.response.jsonString
                == #"{"batchItemFailures":[{"itemIdentifier":{"partition":"events-3","offset":1001}},"#
                + #"{"itemIdentifier":{"partition":"events-3","offset":1002}},"#
                + #"{"itemIdentifier":{"partition":"events-3","offset":1003}}]}"#
        )
        #expect(result.succeededCount == 21)
        #expect(result.outcomes[10].skipReason == .sameKeyFailed(index: 9))
        // Metrics carry the event's own source, and the failure's log line names topic, partition and offset.
        let dimensions = [("event_source", "SelfManagedKafka")]
        #expect(try observation.metrics.expectCounter("RecordsFailed", dimensions).values == [1])
        #expect(try observation.metrics.expectCounter("RecordsSkipped", dimensions).values == [2])
        let line = try #require(observation.entries(withMessage: "record failed").first)
        #expect(line.metadata["kafka_topic"] == .string("events"))
        #expect(line.metadata["kafka_partition"] == .string("3"))
        #expect(line.metadata["kafka_offset"] == .string("1001"))
    }

    @Test(
        "Every policy on a multi-partition batch reports what it prescribes",
        arguments: [
            (FailurePolicy.continueOnFailure, ["events-3@1001", "events-1@1000"]),
            (
                .skipKey,
                [
                    "events-3@1001", "events-3@1002", "events-3@1003", "events-1@1000", "events-1@1001",
                    "events-1@1002", "events-1@1003",
                ]
            ),
        ] as [(FailurePolicy, [String])]
    )
    func policies(policy: FailurePolicy, expected: [String]) async throws {
        let processor = BatchProcessor(configuration: .init(policy: policy))
        let result = try await processor.process(try Self.event("kafka-many-partitions.json")) { record, _ in
            if (record.partition, record.offset) == (3, 1001) || (record.partition, record.offset) == (1, 1000) {
                throw TestHandlerFailure(itemIdentifier: record.itemIdentifier)
            }
        }
        #expect(result.response.itemIdentifiers.map(Self.text) == expected)
    }

    @Test("Stop-on-first-failure reports the first failure and everything after it, in every partition")
    func stopOnFirstFailure() async throws {
        let processor = BatchProcessor(configuration: .init(policy: .stopOnFirstFailure))
        let event = try Self.event("kafka-many-partitions.json")
        let result = try await processor.process(event) { record, _ in
            if (record.partition, record.offset) == (3, 1001) {
                throw TestHandlerFailure(itemIdentifier: record.itemIdentifier)
            }
        }
        // Partitions 5 and 0 come first (8 records), then partition 3's first record; from index 9 on, all.
        #expect(result.response.batchItemFailures.count == 24 - 9)
        #expect(result.response.itemIdentifiers.first.map(Self.text) == "events-3@1001")
    }

    @Test("Skip-group is refused for Kafka, pointing to skip-key")
    func skipGroupRefused() async throws {
        let error = await expectBatchError {
            try await BatchProcessor(configuration: .init(policy: .skipGroup)).process(try Self.event("aws-msk.json")) {
                _,
                _ in
            }
        }
        #expect(error?.code == .invalidConfiguration)
        #expect(error?.message.contains("skip-key") == true)
    }

    @Test("Detection: aws:kafka and SelfManagedKafka; a forced kafka reads either, keeping the event's own source")
    func detection() async throws {
        let processor = BatchProcessor()
        let msk = try await processor.process(eventJSON: try Fixture.bytes("aws-msk.json")) { _, _ in }
        #expect(msk.eventSource == .kafka)
        let selfManaged = try await processor.process(
            eventJSON: try Fixture.bytes("aws-self-managed-kafka.json"),
            source: .kafka
        ) { record, _ in
            #expect(record.batchSource == .selfManagedKafka)
        }
        #expect(selfManaged.eventSource == .selfManagedKafka)
        let empty = try await processor.process(eventJSON: Array(#"{"eventSource":"aws:kafka","records":{}}"#.utf8)) {
            _,
            _ in
        }
        #expect(empty.eventSource == .kafka)
        #expect(empty.response.batchItemFailures.isEmpty)
    }

    @Test(
        "Malformed Kafka events say what is wrong and where",
        arguments: [
            (#"{"eventSource":"aws:kafka","records":[1,2]}"#, "records"),
            (
                #"{"eventSource":"aws:kafka","records":{"orders-0":[{"topic":"payments","offset":1}]}}"#,
                #"topic-partition "orders-0", record 0"#
            ),
            (
                #"{"eventSource":"aws:kafka","records":{"orders-0":[{"offset":1},{"partition":2,"offset":2}]}}"#,
                #"record 1"#
            ),
            (#"{"eventSource":"aws:kafka","records":{"orders":[{"offset":1}]}}"#, #"does not name a topic-partition"#),
            (#"{"eventSource":"aws:kafka","records":{"orders-0":[{"topic":"orders"}]}}"#, "field offset is missing"),
            (#"{"records":{"orders-0":[{"offset":1}]}}"#, "no eventSource"),
            (
                #"{"eventSource":"aws:sqs","records":{"orders-0":[{"offset":1}]}}"#,
                "expected aws:kafka or SelfManagedKafka"
            ),
        ]
    )
    func malformed(json: String, mentions: String) async throws {
        let error = await expectBatchError {
            try await BatchProcessor().process(eventJSON: Array(json.utf8)) { _, _ in }
        }
        #expect(error?.code == .malformedEvent)
        #expect(error?.message.contains(mentions) == true, "\(error?.message ?? "no error")")
    }

    @Test("Invalid base64 in a key or value fails only the record whose handler reads it")
    func lazyBase64() async throws {
        let json =
            #"{"eventSource":"aws:kafka","records":{"t-0":[{"offset":1,"value":"aGk="},"#
            + #"{"offset":2,"value":"not*base64"},{"offset":3,"key":"%%%%","value":"aGk="}]}}"#
        let processor = BatchProcessor(configuration: .init(policy: .continueOnFailure))
        let result = try await processor.process(eventJSON: Array(json.utf8)) { record, _ in
            guard case .kafka(let kafka) = record else { return }
            _ = try kafka.valueBytes
            _ = try kafka.keyBytes
        }
        #expect(result.response.itemIdentifiers.map(Self.text) == ["t-0@2", "t-0@3"])
        #expect((result.outcomes[1].error as? RecordPayloadError)?.field == "value")
        #expect((result.outcomes[2].error as? RecordPayloadError)?.field == "key")
        #expect((result.outcomes[2].error as? RecordPayloadError)?.code == .invalidBase64)
    }

    /// `<topic>-<partition>@<offset>` for a Kafka identifier.
    static func text(_ identifier: ItemIdentifier) -> String {
        guard let fields = identifier.fields, case .string(let partition) = fields[0].value,
            case .integer(let offset) = fields[1].value
        else { return identifier.description }
        return "\(partition)@\(offset)"
    }
}
