import BatchProcessing
import Foundation
import Testing

/// Fields that stay in the event's bytes until read (SQS body, receipt handle, MD5 and attributes; Kinesis data;
/// Kafka key and value; DynamoDB keys and images) read, compare and change exactly like fields that were decoded at
/// once.
@Suite("Fields read from the event when asked for")
struct DeferredFieldTests {
    static func message(_ json: String) throws -> SQSEvent.Message {
        try SQSEvent(jsonBytes: Array(#"{"Records":[\#(json)]}"#.utf8)).records[0]
    }

    /// Reads an event inside a function, so that only the records keep its bytes alive.
    static func outliving() throws -> [SQSEvent.Message] {
        var text = #"{"Records":["#
        for index in 0..<3 {
            if index > 0 { text += "," }
            text +=
                #"{"messageId":"m\#(index)","body":"{\"order\":\#(index),\"note\":\"caf\u00e9 \\\"quoted\\\" and long enough\"}","#
            text += #""attributes":{"ApproximateReceiveCount":"\#(index + 1)","MessageGroupId":"group-\#(index % 2)","#
            text += #""SenderId":"AIDAIENQZJOLO23YVJ4VO"}}"#
        }
        return try SQSEvent(jsonBytes: Array((text + "]}").utf8)).records
    }

    @Test("A body read after the event's bytes are gone is the text the event held, escapes decoded")
    func bodyOutlivesEvent() throws {
        let messages = try Self.outliving()
        #expect(messages.map(\.body) == (0..<3).map { #"{"order":\#($0),"note":"café \"quoted\" and long enough"}"# })
        #expect(messages[2].attributes.approximateReceiveCount == 3)
        #expect(messages.map { $0.attributes.messageGroupId } == ["group-0", "group-1", "group-0"])
        #expect(messages[0].orderingKey == "group-0")
    }

    @Test("Attributes kept in the event give the same values, one at a time or all, as decoded ones")
    func attributes() throws {
        let message = try Self.message(
            #"{"messageId":"m","attributes":{"ApproximateReceiveCount":2,"SentTimestamp":"1545082649183","Flag":true,"Gone":null,"AWSTraceHeader":"Root=1-5759e988-bd862e3fe1be46a994272793"}}"#
        )
        let expected = [
            "ApproximateReceiveCount": "2", "SentTimestamp": "1545082649183", "Flag": "true",
            "AWSTraceHeader": "Root=1-5759e988-bd862e3fe1be46a994272793",
        ]
        #expect(message.attributes.values == expected)
        #expect(message.attributes["ApproximateReceiveCount"] == "2" && message.attributes["Gone"] == nil)
        #expect(message.attributes["Missing"] == nil && message.attributes.awsTraceHeader == expected["AWSTraceHeader"])
        #expect(message.attributes == SQSEvent.Attributes(expected))
        // Changing one attribute keeps the others.
        var changed = message
        changed.attributes["MessageGroupId"] = "g"
        #expect(changed.attributes.values == expected.merging(["MessageGroupId": "g"]) { $1 })
        #expect(message.attributes.messageGroupId == nil)
    }

    @Test("Setting a deferred field replaces it; equality compares the text, however it is kept")
    func setAndCompare() throws {
        var message = try Self.message(
            #"{"messageId":"m","receiptHandle":"AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a","body":"a body longer than fifteen bytes","md5OfBody":"e4e68fb7bd0e697a0ae8f1bb342846b3"}"#
        )
        let built = SQSEvent.Message(
            messageId: "m",
            receiptHandle: "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a",
            body: "a body longer than fifteen bytes",
            md5OfBody: "e4e68fb7bd0e697a0ae8f1bb342846b3",
            eventSource: nil
        )
        #expect(message == built)
        message.body = "another"
        #expect(message.rawBody == "another" && message != built)
        message.rawBody = nil
        #expect(message.body == "" && message.rawBody == nil)
    }

    @Test("Kinesis data and Kafka key and value read from the event decode as before, tombstones included")
    func streams() throws {
        let kinesis = try KinesisEvent(
            jsonBytes: Array(
                #"{"Records":[{"kinesis":{"sequenceNumber":"1","data":"SGVsbG8sIHRoaXMgaXMgYSB0ZXN0IDEyMy4="}}]}"#.utf8
            )
        )
        #expect(try kinesis.records[0].kinesis.dataString == "Hello, this is a test 123.")
        let kafka = try KafkaEvent(
            jsonBytes: Array(
                #"{"eventSource":"aws:kafka","records":{"t-0":[{"offset":1,"key":"a2V5LW9uZS1sb25nZXItdGhhbi1zaXh0ZWVu","value":"dmFsdWU="},{"offset":2,"value":null}]}}"#
                    .utf8
            )
        )
        let records = kafka.records
        #expect(try records[0].keyString == "key-one-longer-than-sixteen" && (try records[0].valueString) == "value")
        #expect(!records[0].isTombstone && records[1].isTombstone)
    }

    /// A DynamoDB record whose keys and images stay in the event's bytes, read inside a function so that only the
    /// record keeps those bytes alive.
    static func change() throws -> DynamoDBEvent.Record {
        let json =
            #"{"Records":[{"eventID":"e","eventName":"MODIFY","eventSource":"aws:dynamodb","dynamodb":{"#
            + #""Keys":{"Id":{"N":"101"}},"NewImage":{"Id":{"N":"101"},"Name":{"S":"caf\u00e9"},"#
            + #""Tags":{"SS":["a","b"]},"Blob":{"B":"AAEC"},"Nested":{"M":{"L":{"L":[{"NULL":true},{"BOOL":false}]}}}},"#
            + #""OldImage":{"Id":{"N":"101"},"Name":{"S":"old"}},"SequenceNumber":"111","SizeBytes":26}}]}"#
        return try DynamoDBEvent(jsonBytes: Array(json.utf8)).records[0]
    }

    @Test("DynamoDB keys and images kept in the event read as if decoded at once, and can be replaced")
    func dynamoDBImages() throws {
        let record = try Self.change()
        #expect(record.dynamodb.keys == ["Id": .number("101")])
        #expect(
            record.dynamodb.newImage == [
                "Id": .number("101"), "Name": .string("café"), "Tags": .stringSet(["a", "b"]),
                "Blob": .binary([0, 1, 2]),
                "Nested": .map(["L": .list([.null, .bool(false)])]),
            ]
        )
        #expect(record.dynamodb.oldImage == ["Id": .number("101"), "Name": .string("old")])
        // Equal to the same record built from values, and encoded the same way.
        let built = DynamoDBEvent.StreamRecord(
            keys: record.dynamodb.keys,
            newImage: record.dynamodb.newImage,
            oldImage: record.dynamodb.oldImage,
            sequenceNumber: "111",
            sizeBytes: 26
        )
        #expect(record.dynamodb == built)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        #expect(try encoder.encode(record.dynamodb) == encoder.encode(built))
        var changed = record
        changed.dynamodb.newImage = ["Id": .number("102")]
        #expect(changed.dynamodb.newImage == ["Id": .number("102")] && changed.dynamodb.oldImage == built.oldImage)
        #expect(record.dynamodb.newImage?["Id"] == .number("101"))
        changed.dynamodb.oldImage = nil
        #expect(changed.dynamodb.oldImage == nil)
    }

    @Test("A bad attribute in an image is still refused when the event is read, naming where")
    func dynamoDBImageChecked() throws {
        let json =
            #"{"Records":[{"eventSource":"aws:dynamodb","dynamodb":{"SequenceNumber":"1","#
            + #""NewImage":{"Id":{"N":"1"},"Bad":{"S":"x","N":"2"}}}}]}"#
        #expect {
            _ = try DynamoDBEvent(jsonBytes: Array(json.utf8))
        } throws: { error in
            let message = (error as? BatchProcessingError)?.message ?? ""
            return message.contains("exactly one type key") && message.contains("Bad")
        }
    }

    @Test("Kafka headers kept in the event read, compare and change as if decoded at once; bad ones are refused")
    func kafkaHeaders() throws {
        func record(_ headers: String) throws -> KafkaEvent.Record {
            let json =
                #"{"eventSource":"aws:kafka","records":{"t-0":[{"offset":1,"headers":"# + headers + "}]}}"
            return try KafkaEvent(jsonBytes: Array(json.utf8)).records[0]
        }
        let read = try record(#"[{"trace":[104,105]},{"signed":[-1,0,255]},{"empty":[]}]"#)
        let expected: [KafkaEvent.Header] = [
            .init(name: "trace", bytes: [104, 105]), .init(name: "signed", bytes: [255, 0, 255]),
            .init(name: "empty", bytes: []),
        ]
        #expect(read.headers?.map(\.name) == ["trace", "signed", "empty"])
        #expect(try read.headers?.map { try $0.bytes } == expected.map { try $0.bytes })
        #expect(try read.headerStrings["trace"] == "hi")
        var built = read
        built.headers = read.headers
        #expect(built == read)
        built.headers = [.init(name: "other", bytes: [1])]
        #expect(built != read && read.headers?.count == 3)
        #expect(try record("null").headers == nil)
        for bad in [#"[{"a":[1],"b":[2]}]"#, #"[{"a":null}]"#, #"[{"a":[1.5]}]"#, #"[{"a":[1,null]}]"#, #"[{}]"#] {
            #expect(throws: BatchProcessingError.self, "\(bad)") { try record(bad) }
        }
    }
}
