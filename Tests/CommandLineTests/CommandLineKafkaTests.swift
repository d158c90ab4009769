import BatchProcessingTestProcessSupport
import Foundation
import Testing

@Suite("batchproc process: Kafka events")
struct CommandLineKafkaTests {
    static func path(_ name: String) -> String { Fixture.url(name).path }

    @Test("--fail names a Kafka record as <topic>-<partition>@<offset>; the rest of its partition is skipped")
    func failByTopicPartitionOffset() async throws {
        let output = try await Batchproc.run([
            "process", Self.path("kafka-many-partitions.json"), "--fail", "events-3@1002",
        ])
        #expect(output.status == 0, "\(output.stderr)")
        #expect(
            output.stdout
                == #"{"batchItemFailures":[{"itemIdentifier":{"partition":"events-3","offset":1002}},"#
                + #"{"itemIdentifier":{"partition":"events-3","offset":1003}}]}"# + "\n"
        )
        let failure = try #require(
            try output.stderrLines.map { try ChildProcess.jsonObject($0) }.first {
                $0["message"] as? String == "record failed"
            }
        )
        #expect(failure["kafka_topic"] as? String == "events")
        #expect(failure["kafka_partition"] as? String == "3")
        #expect(failure["kafka_offset"] as? String == "1002")
        #expect(failure["event_source"] as? String == "SelfManagedKafka")
    }

    @Test("--fail-index counts records in delivered order; --policy continue reports only the failure")
    func failByIndex() async throws {
        let output = try await Batchproc.run([
            "process", Self.path("kafka-many-partitions.json"), "--fail-index", "4", "--policy", "continue",
        ])
        #expect(
            output.stdout == #"{"batchItemFailures":[{"itemIdentifier":{"partition":"events-0","offset":1000}}]}"#
                + "\n"
        )
    }

    @Test("A Kafka identifier that names no record is warned about")
    func unmatchedKafkaIdentifier() async throws {
        let output = try await Batchproc.run(["process", Self.path("aws-msk.json"), "--fail", "mytopic-0@99"])
        #expect(output.status == 0)
        #expect(output.stderr.contains("--fail mytopic-0@99 names no record of the batch"))
    }

    @Test("Every record failing prints Lambda's error shape; --source kafka and self-managed-kafka are accepted")
    func wholeBatchAndForcedSource() async throws {
        let failed = try await Batchproc.run(["process", Self.path("aws-msk.json"), "--fail", "mytopic-0@15"])
        #expect(failed.status == 1)
        #expect(try failed.json()["errorType"] as? String == "BatchProcessingError.allRecordsFailed")
        for source in ["kafka", "self-managed-kafka", "KAFKA"] {
            let forced = try await Batchproc.run([
                "process", Self.path("aws-self-managed-kafka.json"), "--source", source,
            ])
            #expect(forced.status == 0, "\(source): \(forced.stderr)")
        }
        let wrong = try await Batchproc.run(["process", Self.path("aws-msk.json"), "--source", "sqs"])
        #expect(wrong.status == 1)
        #expect((try wrong.json()["errorMessage"] as? String)?.contains("it is a kafka event") == true)
    }
}
