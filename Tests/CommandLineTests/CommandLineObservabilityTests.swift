import BatchProcessingTestProcessSupport
import Foundation
import Testing

@Suite("batchproc process: logs and metrics")
struct CommandLineObservabilityTests {
    static let orders = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Examples/batchproc/events/sqs-orders.json").path

    /// Standard error's lines, each parsed as JSON; a line that is not a JSON object fails the test.
    static func parsedStderr(_ output: Batchproc.Output) throws -> [[String: Any]] {
        try output.stderrLines.map { line in
            do {
                return try ChildProcess.jsonObject(line)
            } catch {
                Issue.record("stderr line is not a JSON object: \(line)")
                throw error
            }
        }
    }

    @Test("Every stderr line is JSON: a line per failed record, a summary, and EMF counts equal to the response")
    func logsAndMetricsMatchTheResponse() async throws {
        let output = try await Batchproc.run(
            ["process", Self.orders, "--fail", "msg-02", "--fail", "msg-05", "--fail", "msg-09"],
            environment: ["POWERTOOLS_SERVICE_NAME": "orders", "POWERTOOLS_METRICS_NAMESPACE": "Shop"]
        )
        #expect(output.status == 0)
        #expect(try output.reported() == ["msg-02", "msg-05", "msg-09"])
        let lines = try Self.parsedStderr(output)
        let logs = lines.filter { $0["_aws"] == nil }
        let documents = lines.filter { $0["_aws"] != nil }

        for log in logs {
            for key in ["timestamp", "level", "message", "service", "location", "logger"] {
                #expect(log[key] != nil, "log line without \(key): \(log)")
            }
            #expect(log["service"] as? String == "orders")
            let timestamp = try #require(log["timestamp"] as? String)
            #expect(timestamp.hasSuffix("Z") && timestamp.count == 24, "not RFC 3339 with milliseconds: \(timestamp)")
        }
        let failures = logs.filter { $0["message"] as? String == "record failed" }
        #expect(failures.compactMap { $0["item_identifier"] as? String } == ["msg-02", "msg-05", "msg-09"])
        for failure in failures {
            #expect(failure["level"] as? String == "ERROR")
            #expect(failure["event_source"] as? String == "aws:sqs")
            #expect(failure["attempt"] as? Int == 1)
            #expect(failure["policy"] as? String == "continue")
            #expect((failure["error_type"] as? String)?.contains("InjectedFault") == true)
            #expect((failure["exception"] as? String)?.contains("injected fault") == true)
            #expect(failure["body"] == nil && failure["payload"] == nil, "payloads are not logged by default")
        }
        let summaries = logs.filter { ($0["message"] as? String)?.hasPrefix("batch processed") == true }
        #expect(summaries.count == 1)
        #expect(summaries.first?["records"] as? Int == 10)

        let document = try #require(documents.first)
        #expect(documents.count == 1)
        #expect(document["RecordsReceived"] as? Int == 10)
        #expect(document["RecordsFailed"] as? Int == 3)
        #expect(document["RecordsSucceeded"] as? Int == 7)
        #expect(document["RecordsReported"] as? Int == 3)
        #expect(document["RecordsSkipped"] as? Int == 0)
        #expect(document["service"] as? String == "orders")
        #expect(document["event_source"] as? String == "aws:sqs")
        let aws = try #require(document["_aws"] as? [String: Any])
        let directive = try #require((aws["CloudWatchMetrics"] as? [[String: Any]])?.first)
        #expect(directive["Namespace"] as? String == "Shop")
    }

    @Test("A whole-batch failure still logs, and flushes metrics that count it")
    func failureStillFlushes() async throws {
        let output = try await Batchproc.run(["process", Fixture.url("sam-sqs.json").path, "--fail-index", "0"])
        #expect(output.status == 1)
        let lines = try Self.parsedStderr(output)
        #expect(lines.contains { $0["message"] as? String == "batch failed as a whole" })
        let document = try #require(lines.first { $0["_aws"] != nil })
        #expect(document["BatchFailures"] as? Int == 1)
        #expect(document["RecordsFailed"] as? Int == 1)
    }

    @Test("--log-payloads adds the failed record's payload; --log-format text writes readable lines")
    func payloadsAndText() async throws {
        let withPayload = try await Batchproc.run(["process", Self.orders, "--fail", "msg-01", "--log-payloads"])
        let failure = try #require(
            try Self.parsedStderr(withPayload).first { $0["message"] as? String == "record failed" }
        )
        #expect((failure["payload"] as? String)?.contains("\"orderId\": 1001") == true)

        let text = try await Batchproc.run(["process", Self.orders, "--fail", "msg-01", "--log-format", "text"])
        #expect(
            text.stderrLines.contains {
                $0.contains("ERROR") && $0.contains("record failed") && $0.contains("item_identifier=msg-01")
            }
        )
    }
}
