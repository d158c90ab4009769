import BatchProcessing
import Foundation
import Testing

@Suite("Raw events: detection and malformed input")
struct MalformedEventTests {
    let processor = BatchProcessor()

    /// Processes `json` as a raw event and returns the error, checking it is a malformed-event error.
    private func malformed(
        _ json: String,
        source: BatchEventSource? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async -> BatchProcessingError? {
        let error = await expectBatchError(sourceLocation: sourceLocation) {
            try await processor.process(eventJSON: Array(json.utf8), source: source) { _, _ in
                Issue.record("no record should reach the handler", sourceLocation: sourceLocation)
            }
        }
        #expect(error?.code == .malformedEvent, sourceLocation: sourceLocation)
        return error
    }

    static let kinesisRecord = try! String(contentsOf: Fixture.url("sam-kinesis.json"), encoding: .utf8)

    @Test(
        "The source is detected from eventSource for each sample",
        arguments: [
            ("sam-sqs.json", BatchEventSource.sqs), ("sam-kinesis.json", .kinesis), ("sam-dynamodb.json", .dynamoDB),
            ("sqs-fifo.json", .sqs), ("kinesis-encrypted.json", .kinesis), ("dynamodb-all-types.json", .dynamoDB),
        ]
    )
    func detection(fixture: String, source: BatchEventSource) async throws {
        let seen = EventLog<BatchEventSource>()
        let result = try await processor.process(eventJSON: try Fixture.bytes(fixture)) { record, _ in
            seen.append(record.batchSource)
        }
        #expect(result.eventSource == source)
        #expect(!seen.all.isEmpty && seen.all.allSatisfy { $0 == source })
    }

    @Test("Truncated JSON is not valid JSON")
    func truncated() async throws {
        let text = String(Self.kinesisRecord.prefix(120))
        let error = await malformed(text)
        #expect(error?.message.contains("not valid JSON") == true)
    }

    @Test("JSON that is not an object is refused", arguments: ["[1, 2]", "\"Records\"", "42", "null"])
    func notAnObject(json: String) async throws {
        let error = await malformed(json)
        // Valid JSON of another type: a shape error that says what an event is, never a syntax error.
        let message = try #require(error?.message)
        #expect(message.contains("is not a JSON object; it must be one, with a \"Records\" array"), "\(message)")
        #expect(!message.contains("not valid JSON"), "\(message)")
    }

    @Test(
        "Records missing, null or not an array is refused, naming Records",
        arguments: [
            #"{}"#, #"{"Records": null}"#, #"{"Records": {"a": 1}}"#, #"{"Records": "x"}"#,
        ]
    )
    func badRecords(json: String) async throws {
        let error = await malformed(json)
        #expect(error?.message.contains("Records") == true)
        #expect(error?.recordIndex == nil)
    }

    @Test("A record that is not an object is refused, naming its index")
    func recordNotObject() async throws {
        let error = await malformed(#"{"Records": [{"messageId": "a", "eventSource": "aws:sqs"}, 7]}"#)
        #expect(error?.recordIndex == 1)
        #expect(error?.message.contains("record 1") == true)
    }

    @Test("A record without its identifier is refused, naming the index and the field")
    func missingIdentifier() async throws {
        let json =
            #"{"Records": [{"messageId": "a", "eventSource": "aws:sqs"}, {"body": "b", "eventSource": "aws:sqs"}]}"#
        let error = await malformed(json)
        #expect(error?.recordIndex == 1)
        #expect(error?.field == "messageId")
        #expect(error?.message.contains("record 1: field messageId is missing") == true)
    }

    @Test("A wrong type in a field is refused, naming the index and the field")
    func wrongType() async throws {
        let json = Self.kinesisRecord.replacingOccurrences(
            of: #""partitionKey": "partitionKey-03""#,
            with: #""partitionKey": 3"#
        )
        let error = await malformed(json)
        #expect(error?.recordIndex == 0)
        #expect(error?.field == "kinesis.partitionKey")
        #expect(error?.message.contains("wrong type") == true)
    }

    @Test("An unknown eventSource is refused, naming the value and the record")
    func unknownSource() async throws {
        let error = await malformed(#"{"Records": [{"eventSource": "aws:s3"}]}"#)
        #expect(error?.recordIndex == 0)
        #expect(error?.field == "eventSource")
        #expect(error?.message.contains("aws:s3") == true)
    }

    @Test("A record without eventSource cannot be detected, and the error says to name the source")
    func missingSource() async throws {
        let error = await malformed(#"{"Records": [{"messageId": "a"}]}"#)
        #expect(error?.message.contains("eventSource") == true)
    }

    @Test("Records from two sources in one batch are refused")
    func mixedSources() async throws {
        let error = await malformed(
            #"{"Records": [{"messageId": "a", "eventSource": "aws:sqs"}, {"eventSource": "aws:kinesis"}]}"#
        )
        #expect(error?.recordIndex == 1)
    }

    @Test("A forced source whose records do not have that shape is a malformed event")
    func forcedSourceMismatch() async throws {
        let error = await malformed(Self.kinesisRecord, source: .sqs)
        #expect(error?.recordIndex == 0)
    }

    @Test("A bad DynamoDB attribute value is refused, naming the attribute")
    func badAttributeValue() async throws {
        let json =
            #"{"Records":[{"eventID":"1","eventName":"INSERT","eventVersion":"1.1","eventSource":"aws:dynamodb","#
            + #""awsRegion":"r","eventSourceARN":"arn","dynamodb":{"Keys":{"Id":{"X":"1"}},"SequenceNumber":"1","SizeBytes":1}}]}"#
        let error = await malformed(json)
        #expect(error?.recordIndex == 0)
        #expect(error?.field?.hasPrefix("dynamodb.Keys.Id") == true)
        #expect(error?.message.contains("unknown attribute type 'X'") == true)
    }

    @Test("Random bytes never crash the decoder")
    func fuzz() async throws {
        var generator = SystemRandomNumberGenerator()
        let seed = try Fixture.bytes("sqs-fifo.json")
        for _ in 0..<300 {
            var bytes = seed
            for _ in 0..<Int.random(in: 1...8, using: &generator) {
                bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
            }
            if Bool.random(using: &generator) {
                bytes = Array(bytes.prefix(Int.random(in: 0..<bytes.count, using: &generator)))
            }
            do {
                _ = try await processor.process(eventJSON: bytes) { _, _ in }
            } catch {
                #expect(!error.message.isEmpty)
            }
        }
    }
}

@Suite("Configuration from the environment")
struct ConfigurationTests {
    @Test("Environment variables set the policy, concurrency, margin and throwing")
    func fromEnvironment() throws {
        let configuration = try BatchProcessor.Configuration().applyingEnvironment([
            "BATCH_PROCESSING_POLICY": "skip-group",
            "BATCH_PROCESSING_MAX_CONCURRENCY": "4",
            "BATCH_PROCESSING_DEADLINE_MARGIN_MS": "250",
            "BATCH_PROCESSING_THROW_ON_FULL_BATCH_FAILURE": "false",
        ])
        #expect(configuration.policy == .skipGroup)
        #expect(configuration.maxConcurrency == 4)
        #expect(configuration.deadlineMargin == .milliseconds(250))
        #expect(configuration.throwsOnFullBatchFailure == false)
    }

    @Test("Without variables the code's settings stay")
    func codeWins() throws {
        let configuration = try BatchProcessor.Configuration(policy: .skipKey, maxConcurrency: 2).applyingEnvironment(
            [:])
        #expect(configuration.policy == .skipKey)
        #expect(configuration.maxConcurrency == 2)
    }

    @Test(
        "A bad value names the variable and what it takes",
        arguments: [
            ("BATCH_PROCESSING_POLICY", "sometimes"), ("BATCH_PROCESSING_MAX_CONCURRENCY", "0"),
            ("BATCH_PROCESSING_DEADLINE_MARGIN_MS", "-1"), ("BATCH_PROCESSING_THROW_ON_FULL_BATCH_FAILURE", "maybe"),
        ]
    )
    func badValue(name: String, value: String) throws {
        #expect {
            try BatchProcessor.Configuration().applyingEnvironment([name: value])
        } throws: { error in
            guard let error = error as? BatchProcessingError else { return false }
            return error.code == .invalidConfiguration && error.message.contains(name) && error.message.contains(value)
        }
    }
}
