import BatchProcessing
import Foundation
import Testing

@Suite("Event models")
struct EventModelTests {
    /// decode → encode → decode gives the same value.
    private func roundTrip<T: Codable & Equatable>(_ type: T.Type, _ fixture: String) throws -> T {
        let first = try Fixture.decode(type, fixture)
        let encoded = try JSONEncoder().encode(first)
        let second = try JSONDecoder().decode(type, from: encoded)
        #expect(first == second, "round trip of \(fixture) changed the value")
        return first
    }

    @Test("AWS's SQS sample decodes with every field and survives a round trip")
    func sqsSample() throws {
        let event = try roundTrip(SQSEvent.self, "sam-sqs.json")
        let message = try #require(event.records.first)
        #expect(event.records.count == 1)
        #expect(message.messageId == "19dd0b57-b21e-4ac1-bd88-01bbb068cb78")
        #expect(message.body == "Hello from SQS!")
        #expect(message.receiptHandle == "MessageReceiptHandle")
        #expect(message.md5OfBody == "7b270e59b47ff90a553787216d55d91d")
        #expect(message.eventSourceArn == "arn:aws:sqs:us-east-1:123456789012:MyQueue")
        #expect(message.attributes.approximateReceiveCount == 1)
        #expect(message.attributes.sentTimestamp == "1523232000000")
        #expect(message.attributes.senderId == "123456789012")
        #expect(message.isFromFIFOQueue == false)
        #expect(message.itemIdentifier == ItemIdentifier(message.messageId))
        #expect(message.orderingKey == nil)
    }

    @Test("A FIFO batch keeps its group, deduplication id, sequence number and typed message attributes")
    func sqsFIFO() throws {
        let event = try roundTrip(SQSEvent.self, "sqs-fifo.json")
        #expect(event.records.map { $0.attributes.messageGroupId } == ["A", "B", "A", "B", "A"])
        let message = event.records[1]
        #expect(message.isFromFIFOQueue)
        #expect(message.orderingKey == "B")
        #expect(message.attributes.messageDeduplicationId == "dedup-1")
        #expect(message.attributes.sequenceNumber == "18657000000000000001")
        #expect(message.attributes.awsTraceHeader?.hasPrefix("Root=1-5759e988") == true)
        #expect(try message.messageAttributes["Kind"]?.value == .string("order"))
        #expect(try message.messageAttributes["Amount"]?.value == .number("199.99"))
        #expect(try message.messageAttributes["Blob"]?.value == .binary([0x00, 0x01] + Array("binary".utf8) + [0xFF]))
        #expect(message.md5OfMessageAttributes == "7d2ec7e17e6e1a5ce9c2f7d1e3b3e2a1")
    }

    @Test("Unknown SQS system attributes are kept through a round trip")
    func sqsUnknownAttributes() throws {
        let json =
            #"{"Records":[{"messageId":"m","receiptHandle":"h","body":"b","md5OfBody":"x","#
            + #""attributes":{"DeadLetterQueueSourceArn":"arn:dlq","FutureAttribute":"v"},"messageAttributes":{},"#
            + #""md5OfMessageAttributes":null,"eventSource":"aws:sqs","eventSourceARN":"arn","awsRegion":"r"}]}"#
        let event = try JSONDecoder().decode(SQSEvent.self, from: Data(json.utf8))
        let again = try JSONDecoder().decode(SQSEvent.self, from: JSONEncoder().encode(event))
        #expect(again.records[0].attributes["FutureAttribute"] == "v")
        #expect(again.records[0].attributes["DeadLetterQueueSourceArn"] == "arn:dlq")
        #expect(again.records[0].md5OfMessageAttributes == nil)
    }

    @Test("AWS's Kinesis sample decodes its base64 data into bytes")
    func kinesisSample() throws {
        let event = try roundTrip(KinesisEvent.self, "sam-kinesis.json")
        let record = try #require(event.records.first)
        #expect(try record.kinesis.dataString == "Hello, this is a test 123.")
        #expect(record.kinesis.partitionKey == "partitionKey-03")
        #expect(record.kinesis.sequenceNumber == "49545115243490985018280067714973144582180062593244200961")
        #expect(record.kinesis.approximateArrivalTimestamp == 1428537600.0)
        #expect(record.kinesis.encryptionType == nil)
        #expect(record.eventSourceArn == "arn:aws:kinesis:EXAMPLE")
        #expect(record.itemIdentifier == ItemIdentifier(record.kinesis.sequenceNumber))
        #expect(record.orderingKey == "partitionKey-03")
    }

    @Test("Kinesis records keep the encryption type, and data decodes as JSON")
    func kinesisData() throws {
        struct Payload: Decodable, Equatable { var n: Int }
        let event = try roundTrip(KinesisEvent.self, "kinesis-encrypted.json")
        #expect(event.records.map { $0.kinesis.encryptionType } == ["KMS", "KMS", "KMS"])
        #expect(
            try event.records.map { try $0.kinesis.decodeData(as: Payload.self) } == [
                .init(n: 1), .init(n: 2), .init(n: 3),
            ]
        )
        #expect(event.records[0].kinesis.approximateArrivalTimestamp == 1545084650.987)
    }

    @Test("AWS's DynamoDB sample decodes its three operations")
    func dynamoDBSample() throws {
        let event = try roundTrip(DynamoDBEvent.self, "sam-dynamodb.json")
        #expect(event.records.map(\.eventName) == [.insert, .modify, .remove])
        #expect(
            event.records.map(\.itemIdentifier) == [
                "4421584500000000017450439091", "4421584500000000017450439092", "4421584500000000017450439093",
            ]
        )
        let modify = event.records[1].dynamodb
        #expect(modify.keys == ["Id": .number("101")])
        #expect(modify.newImage?["Message"] == .string("This item has changed"))
        #expect(modify.oldImage?["Message"] == .string("New item!"))
        #expect(modify.sizeBytes == 59)
        #expect(modify.streamViewType == "NEW_AND_OLD_IMAGES")
        #expect(modify.approximateCreationDateTime == 1428537600)
        #expect(event.records[2].dynamodb.newImage == nil)
    }

    @Test("Every DynamoDB attribute type decodes, and a TTL removal keeps its user identity")
    func dynamoDBAllTypes() throws {
        let event = try roundTrip(DynamoDBEvent.self, "dynamodb-all-types.json")
        let record = event.records[0]
        #expect(record.userIdentity == .init(type: "Service", principalId: "dynamodb.amazonaws.com"))
        let image = try #require(record.dynamodb.oldImage)
        #expect(image["Id"] == .number("101"))
        #expect(image["Name"] == .string("Widget \"deluxe\"\n"))
        #expect(image["Price"] == .number("12345678901234567890.123456789"))
        #expect(image["Photo"] == .binary([0x89] + Array("PNG".utf8)))
        #expect(image["Tags"] == .stringSet(["blue", "red"]))
        #expect(image["Sizes"] == .numberSet(["1", "2.5", "-3"]))
        #expect(image["Blobs"] == .binarySet([Array("a".utf8), Array("bc".utf8)]))
        #expect(
            image["Meta"]
                == .map(["Owner": .string("ana"), "Count": .number("3"), "Nested": .map(["Deep": .bool(true)])])
        )
        #expect(image["History"] == .list([.string("created"), .number("7"), .null, .list([.bool(false)])]))
        #expect(image["Deleted"] == .null)
        #expect(image["Active"] == .bool(true))
    }

    @Test("Records of one item share an ordering key whatever the order of their key attributes")
    func dynamoDBOrderingKey() throws {
        let event = try Fixture.decode(DynamoDBEvent.self, "dynamodb-all-types.json")
        #expect(event.records[0].orderingKey != nil)
        #expect(event.records[0].orderingKey == event.records[1].orderingKey)
        var other = event.records[1]
        other.dynamodb.keys["Sort"] = .string("b")
        #expect(other.orderingKey != event.records[0].orderingKey)
    }

    @Test("A DynamoDB image decodes into a user's Decodable type, numbers and all")
    func dynamoDBImageDecoding() throws {
        struct Meta: Decodable, Equatable {
            var Owner: String
            var Count: Int
        }
        struct Item: Decodable, Equatable {
            var Id: Int
            var Name: String
            var Price: String
            var Photo: [UInt8]
            var Tags: [String]
            var Sizes: [Double]
            var Meta: Meta
            var Deleted: String?
            var Active: Bool
            var Missing: Int?
        }
        let event = try Fixture.decode(DynamoDBEvent.self, "dynamodb-all-types.json")
        let item = try #require(try event.records[1].dynamodb.decodeNewImage(as: Item.self))
        #expect(item.Id == 101)
        #expect(item.Name == "Widget \"deluxe\"\n")
        #expect(item.Price == "12345678901234567890.123456789")
        #expect(item.Photo == [0x89] + Array("PNG".utf8))
        #expect(item.Tags == ["blue", "red"])
        #expect(item.Sizes == [1, 2.5, -3])
        #expect(item.Meta == .init(Owner: "ana", Count: 3))
        #expect(item.Deleted == nil)
        #expect(item.Active)
        #expect(item.Missing == nil)
        #expect(try event.records[1].dynamodb.decodeOldImage(as: Item.self) == nil)
    }

    @Test("A DynamoDB value of the wrong type fails with the attribute's path")
    func dynamoDBImageMismatch() throws {
        struct Item: Decodable { var Meta: [String: Int] }
        let image: [String: DynamoDBEvent.AttributeValue] = ["Meta": .map(["Owner": .string("ana")])]
        #expect {
            try DynamoDBImageDecoder().decode(Item.self, from: image)
        } throws: { error in
            guard case .typeMismatch(_, let context) = error as? DecodingError else { return false }
            return context.codingPath.map(\.stringValue) == ["Meta", "Owner"]
        }
        struct Small: Decodable { var n: UInt8 }
        #expect(throws: DecodingError.self) {
            try DynamoDBImageDecoder().decode(Small.self, from: ["n": .number("300")])
        }
    }

    @Test("An SQS body decodes as JSON")
    func sqsBody() throws {
        struct Order: Decodable, Equatable {
            var order: Int
            var group: String
        }
        let event = try Fixture.decode(SQSEvent.self, "sqs-fifo.json")
        #expect(try event.records[2].decodeBody(as: Order.self) == Order(order: 2, group: "A"))
        let plain = try Fixture.decode(SQSEvent.self, "sam-sqs.json")
        #expect(throws: DecodingError.self) { try plain.records[0].decodeBody(as: Order.self) }
    }

    @Test("Events built in code encode with AWS's field names")
    func wireNames() throws {
        let event = SQSEvent(
            records: [SQSEvent.Message(messageId: "m1", body: "hi", eventSourceArn: "arn:aws:sqs:us-east-1:1:q")]
        )
        let json = try #require(String(data: JSONEncoder().encode(event), encoding: .utf8))
        #expect(json.contains(#""Records""#))
        #expect(json.contains(#""eventSourceARN":"arn:aws:sqs:us-east-1:1:q""#))
        let stream = DynamoDBEvent.StreamRecord(keys: ["Id": .number("1")], sequenceNumber: "9")
        let streamJSON = try #require(String(data: JSONEncoder().encode(stream), encoding: .utf8))
        #expect(streamJSON.contains(#""SequenceNumber":"9""#))
        #expect(streamJSON.contains(#""Keys""#))
    }
}
