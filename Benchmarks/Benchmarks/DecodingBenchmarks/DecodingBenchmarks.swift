import BatchProcessing
import Benchmark
import Foundation

/// Events as Lambda writes them (AWS's sample fields), each record's payload a JSON order, built once per run.
enum SampleEvents {
    static func order(_ index: Int) -> String {
        #"{"orderId":"order-\#(index)","customer":{"id":\#(index * 7),"name":"Zoë Ünal","email":"c\#(index)@example.com"},"#
            + #""items":[{"sku":"SKU-0001","quantity":2,"price":19.99},{"sku":"SKU-0002","quantity":1,"price":5.5}],"#
            + #""note":"Leave at the door — ring twice"}"#
    }

    static func quoted(_ text: String) -> String {
        String(decoding: (try? JSONEncoder().encode(text)) ?? Data("\"\"".utf8), as: UTF8.self)
    }

    static func base64(_ text: String) -> String { Data(text.utf8).base64EncodedString() }

    static func sqs(_ count: Int) -> [UInt8] {
        let records = (0..<count).map { index in
            #"{"messageId":"059f36b4-87a3-44ab-83d2-\#(String(format: "%012d", index))","#
                + #""receiptHandle":"AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a/AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a","#
                + #""body":\#(quoted(order(index))),"attributes":{"ApproximateReceiveCount":"1","#
                + #""SentTimestamp":"1545082649183","SenderId":"AIDAIENQZJOLO23YVJ4VO","#
                + #""ApproximateFirstReceiveTimestamp":"1545082649185"},"messageAttributes":{},"#
                + #""md5OfBody":"e4e68fb7bd0e697a0ae8f1bb342846b3","eventSource":"aws:sqs","#
                + #""eventSourceARN":"arn:aws:sqs:us-east-2:123456789012:orders","awsRegion":"us-east-2"}"#
        }
        return Array(#"{"Records":[\#(records.joined(separator: ","))]}"#.utf8)
    }

    static func kinesis(_ count: Int) -> [UInt8] {
        let records = (0..<count).map { index in
            let sequence = "49590338271490256608559692538361571095921575989136\(100_000 + index)"
            return #"{"kinesis":{"kinesisSchemaVersion":"1.0","partitionKey":"customer-\#(index % 100)","#
                + #""sequenceNumber":"\#(sequence)","data":"\#(base64(order(index)))","#
                + #""approximateArrivalTimestamp":1545084650.987},"eventSource":"aws:kinesis","eventVersion":"1.0","#
                + #""eventID":"shardId-000000000006:\#(sequence)","eventName":"aws:kinesis:record","#
                + #""invokeIdentityArn":"arn:aws:iam::123456789012:role/lambda-role","awsRegion":"us-east-2","#
                + #""eventSourceARN":"arn:aws:kinesis:us-east-2:123456789012:stream/clicks"}"#
        }
        return Array(#"{"Records":[\#(records.joined(separator: ","))]}"#.utf8)
    }

    static func dynamoDB(_ count: Int) -> [UInt8] {
        let records = (0..<count).map { index in
            let image =
                #"{"Id":{"N":"\#(index)"},"Customer":{"S":"c\#(index)@example.com"},"Total":{"N":"42.50"},"#
                + #""Paid":{"BOOL":true},"Items":{"L":[{"M":{"Sku":{"S":"SKU-0001"},"Qty":{"N":"2"}}}]}}"#
            return #"{"eventID":"\#(index)","eventName":"MODIFY","eventVersion":"1.1","eventSource":"aws:dynamodb","#
                + #""awsRegion":"us-east-2","dynamodb":{"ApproximateCreationDateTime":1428537600,"#
                + #""Keys":{"Id":{"N":"\#(index)"}},"NewImage":\#(image),"OldImage":\#(image),"#
                + #""SequenceNumber":"\#(4_421_584_500_000_000_000 + index)","SizeBytes":59,"#
                + #""StreamViewType":"NEW_AND_OLD_IMAGES"},"#
                + #""eventSourceARN":"arn:aws:dynamodb:us-east-2:123456789012:table/Orders/stream/2015-06-27T00:48:05.899"}"#
        }
        return Array(#"{"Records":[\#(records.joined(separator: ","))]}"#.utf8)
    }

    static func kafka(_ count: Int) -> [UInt8] {
        var partitions: [String] = []
        for partition in 0..<4 {
            let records = stride(from: partition, to: count, by: 4).map { index in
                #"{"topic":"orders","partition":\#(partition),"offset":\#(index / 4),"timestamp":1545084650987,"#
                    + #""timestampType":"CREATE_TIME","key":"\#(base64("customer-\(index % 100)"))","#
                    + #""value":"\#(base64(order(index)))","headers":[{"traceparent":[48,48,45,97,98,99]}]}"#
            }
            partitions.append(#""orders-\#(partition)":[\#(records.joined(separator: ","))]"#)
        }
        return Array(
            (#"{"eventSource":"aws:kafka","bootstrapServers":"b-1.orders.kafka.us-east-2.amazonaws.com:9092","#
                + #""records":{\#(partitions.joined(separator: ","))}}"#).utf8
        )
    }
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput, .peakMemoryResident],
        scalingFactor: .one,
        maxDuration: .seconds(5),
        maxIterations: 100
    )
    let makers: [(String, (Int) -> [UInt8])] = [
        ("SQS", SampleEvents.sqs), ("Kinesis", SampleEvents.kinesis), ("DynamoDB", SampleEvents.dynamoDB),
        ("Kafka", SampleEvents.kafka),
    ]
    for (name, make) in makers {
        for count in [1000, 10_000] {
            let event = make(count)
            Benchmark("Decode \(count) \(name) records (\(event.count / 1000) KB)") { benchmark in
                for _ in benchmark.scaledIterations {
                    blackHole(try RawBatch(eventJSON: event))
                }
            }
        }
    }
}
