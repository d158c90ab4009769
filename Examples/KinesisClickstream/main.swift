// A Kinesis clickstream consumer: each record's data is a page view in JSON (base64 in the event), partitioned by
// the visitor's session. With skip-key, a click that cannot be read holds back the later clicks of its session (they
// are reported, so the session's order is kept when Kinesis delivers them again) while the other sessions go on,
// eight records at once. The chain is in clickstream.yaml.
//
//     swift run kinesis-clickstream invoke Examples/Events/kinesis-clickstream/clicks-1.json \
//         --config Examples/KinesisClickstream/clickstream.yaml
import BatchProcessing
import BatchRunner
import Logging
import Observability

/// A page view, as the web front end writes it to the stream.
struct PageView: Decodable, Sendable {
    var sessionId: String
    var page: String
    /// Seconds since 1970.
    var at: Int
    var userAgent: String?
}

@main
enum KinesisClickstream {
    static func main() {
        BatchProgram(
            name: "kinesis-clickstream",
            abstract: "Count the page views of a Kinesis clickstream, in order within each session.",
            observability: .init(namespace: "ExampleShop")
        ) { (record: KinesisEvent.Record, context: RecordContext) in
            // A click without a page fails here, with the decoder's message naming the missing key.
            let view = try record.kinesis.decodeData(as: PageView.self)
            context.logger.info(
                "page view",
                metadata: ["session_id": "\(view.sessionId)", "page": "\(view.page)", "at": "\(view.at)"]
            )
        }.main()
    }
}
