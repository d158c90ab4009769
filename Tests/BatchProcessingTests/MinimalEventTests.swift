import BatchProcessing
import Foundation
import Testing

@Suite("Minimal events: only the identifier (and eventSource) is required")
struct MinimalEventTests {
    let processor = BatchProcessor(configuration: .init(throwsOnFullBatchFailure: false))

    static let minimalSQS = #"{"messageId":"m1","body":"x","eventSource":"aws:sqs"}"#
    static let minimalKinesis = #"{"eventSource":"aws:kinesis","kinesis":{"sequenceNumber":"49"}}"#
    static let minimalDynamoDB = #"{"eventSource":"aws:dynamodb","dynamodb":{"SequenceNumber":"7"}}"#

    static func event(_ records: String...) -> [UInt8] {
        Array(#"{"Records":["#.utf8) + Array(records.joined(separator: ",").utf8) + Array("]}".utf8)
    }

    @Test(
        "A hand-written record with only its identifier and eventSource is processed and can be reported",
        arguments: [
            (minimalSQS, "m1"), (minimalKinesis, "49"), (minimalDynamoDB, "7"),
            (#"{"messageId":"m2","eventSource":"aws:sqs"}"#, "m2"),
        ]
    )
    func minimalRecords(record: String, identifier: String) async throws {
        let succeeded = try await processor.process(eventJSON: Self.event(record)) { _, _ in }
        #expect(succeeded.response.batchItemFailures.isEmpty)
        #expect(succeeded.outcomes.count == 1)
        let failed = try await processor.process(eventJSON: Self.event(record)) { _, _ in
            throw HandlerFailure(identifier: identifier)
        }
        #expect(failed.response.itemIdentifiers == [ItemIdentifier(identifier)])
    }

    @Test("Every field but the identifier may be null")
    func nullFields() async throws {
        let sqs =
            #"{"messageId":"m1","receiptHandle":null,"body":null,"md5OfBody":null,"attributes":null,"#
            + #""messageAttributes":null,"eventSource":"aws:sqs","eventSourceARN":null,"awsRegion":null}"#
        let kinesis =
            #"{"eventSource":"aws:kinesis","eventID":null,"eventName":null,"eventVersion":null,"#
            + #""invokeIdentityArn":null,"eventSourceARN":null,"awsRegion":null,"kinesis":{"sequenceNumber":"1","#
            + #""partitionKey":null,"data":null,"kinesisSchemaVersion":null,"approximateArrivalTimestamp":null}}"#
        let dynamoDB =
            #"{"eventSource":"aws:dynamodb","eventID":null,"eventName":null,"eventVersion":null,"awsRegion":null,"#
            + #""eventSourceARN":null,"dynamodb":{"SequenceNumber":"3","Keys":null,"SizeBytes":null,"#
            + #""StreamViewType":null,"NewImage":null}}"#
        for record in [sqs, kinesis, dynamoDB] {
            let result = try await processor.process(eventJSON: Self.event(record)) { _, _ in }
            #expect(result.outcomes.count == 1, "\(record)")
            #expect(result.response.batchItemFailures.isEmpty)
        }
        let message = try JSONDecoder().decode(SQSEvent.Message.self, from: Data(sqs.utf8))
        #expect(message.body == "")
        #expect(message.attributes.values.isEmpty)
        #expect(message.isFromFIFOQueue == false)
        #expect(message.orderingKey == nil)
    }

    @Test(
        "A decode and encode round trip invents no field that was absent",
        arguments: [minimalSQS, minimalKinesis, minimalDynamoDB]
    )
    func roundTripInventsNothing(record: String) throws {
        let input = Self.event(record)
        let encoded: Data
        switch record {
        case Self.minimalSQS: encoded = try JSONEncoder().encode(JSONDecoder().decode(SQSEvent.self, from: Data(input)))
        case Self.minimalKinesis:
            encoded = try JSONEncoder().encode(JSONDecoder().decode(KinesisEvent.self, from: Data(input)))
        default: encoded = try JSONEncoder().encode(JSONDecoder().decode(DynamoDBEvent.self, from: Data(input)))
        }
        let original = try JSONSerialization.jsonObject(with: Data(input)) as? NSDictionary
        let again = try JSONSerialization.jsonObject(with: encoded) as? NSDictionary
        #expect(original == again, "\(String(decoding: encoded, as: UTF8.self))")
    }

    @Test("SQSEvent.Message's initialiser and the decoder agree: only messageId is required")
    func initialiserAgreesWithDecoder() throws {
        let built = SQSEvent.Message(messageId: "m1")
        let json = String(decoding: try JSONEncoder().encode(built), as: UTF8.self)
        let decoded = try JSONDecoder().decode(SQSEvent.Message.self, from: Data(json.utf8))
        #expect(decoded == built)
        #expect(
            try JSONDecoder().decode(SQSEvent.Message.self, from: Data(#"{"messageId":"m1"}"#.utf8)).messageId == "m1"
        )
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(SQSEvent.Message.self, from: Data(#"{"body":"b"}"#.utf8))
        }
    }

    @Test("Kinesis data that is not base64 fails only the record whose handler reads it, naming the field")
    func lazyKinesisData() async throws {
        let good = #"{"eventSource":"aws:kinesis","kinesis":{"sequenceNumber":"1","data":"aGk="}}"#
        let badCharacter = #"{"eventSource":"aws:kinesis","kinesis":{"sequenceNumber":"2","data":"SGVsbG8s*HRo"}}"#
        let badLength = #"{"eventSource":"aws:kinesis","kinesis":{"sequenceNumber":"3","data":"SGVsbG8"}}"#
        let result = try await processor.process(eventJSON: Self.event(good, badCharacter, badLength)) { record, _ in
            guard case .kinesis(let kinesis) = record else { return }
            _ = try kinesis.kinesis.data
        }
        #expect(result.response.itemIdentifiers == ["2", "3"])
        let characterError = try #require(result.outcomes[1].error as? RecordPayloadError)
        #expect(characterError.field == "kinesis.data")
        #expect(characterError.description.contains("'*'"))
        let lengthError = try #require(result.outcomes[2].error as? RecordPayloadError)
        #expect(lengthError.description.contains("multiple of 4"))
        // A handler that never reads the data is not troubled by it.
        let untouched = try await processor.process(eventJSON: Self.event(badCharacter)) { _, _ in }
        #expect(untouched.response.batchItemFailures.isEmpty)
    }

    @Test("A binary message attribute that is not base64 fails only when it is read")
    func lazyBinaryAttribute() async throws {
        let record =
            #"{"messageId":"m1","eventSource":"aws:sqs","messageAttributes":{"Blob":{"dataType":"Binary","#
            + #""binaryValue":"not base64!"}}}"#
        let result = try await processor.process(eventJSON: Self.event(record)) { record, _ in
            guard case .sqs(let message) = record else { return }
            _ = try message.messageAttributes["Blob"]?.value
        }
        #expect(result.response.itemIdentifiers == ["m1"])
        #expect((result.outcomes[0].error as? RecordPayloadError)?.field == "binaryValue")
        let untouched = try await processor.process(eventJSON: Self.event(record)) { _, _ in }
        #expect(untouched.response.batchItemFailures.isEmpty)
    }

    @Test("Under skip-group, an SQS record without attributes has no group and is never skipped")
    func noAttributesNoGroup() async throws {
        let fifo = "arn:aws:sqs:us-east-1:1:q.fifo"
        let grouped =
            #"{"messageId":"a","eventSource":"aws:sqs","eventSourceARN":"\#(fifo)","#
            + #""attributes":{"MessageGroupId":"g"}}"#
        let ungrouped1 = #"{"messageId":"b","eventSource":"aws:sqs","eventSourceARN":"\#(fifo)"}"#
        let sameGroup =
            #"{"messageId":"c","eventSource":"aws:sqs","eventSourceARN":"\#(fifo)","#
            + #""attributes":{"MessageGroupId":"g"}}"#
        let ungrouped2 = #"{"messageId":"d","eventSource":"aws:sqs","eventSourceARN":"\#(fifo)","attributes":{}}"#
        let skipping = BatchProcessor(configuration: .init(policy: .skipGroup))
        let ran = EventLog<String>()
        let result = try await skipping.process(eventJSON: Self.event(grouped, ungrouped1, sameGroup, ungrouped2)) {
            record,
            _ in
            ran.append(record.itemIdentifier.description)
            if record.itemIdentifier == "a" { throw HandlerFailure(identifier: "a") }
        }
        #expect(result.response.itemIdentifiers == ["a", "c"])
        #expect(ran.all == ["a", "b", "d"])
    }
}
