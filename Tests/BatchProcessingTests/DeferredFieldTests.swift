import BatchProcessing
import Foundation
import Testing

/// Fields that stay in the event's bytes until read (SQS body, receipt handle, MD5 and attributes; Kinesis data;
/// Kafka key and value) read, compare and change exactly like fields that were decoded at once.
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
}
