import BatchProcessingTestProcessSupport
import Foundation
import Testing

@Suite("The Lambda-style example")
struct LambdaExampleTests {
    static var executable: URL {
        Batchproc.executable.deletingLastPathComponent().appendingPathComponent("orders-lambda-example")
    }

    static let orders = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Examples/batchproc/events/sqs-orders.json")

    @Test("A program using BatchProcessing and Observability only does not link libsystemd")
    func noLibsystemd() async throws {
        let ldd = try #require(ChildProcess.which("ldd"))
        let output = try await ChildProcess.run(ldd, [Self.executable.path])
        #expect(output.status == 0, "\(output.stderr)")
        #expect(output.stdout.contains("libc.so"), "ldd printed no libraries: \(output.stdout)")
        #expect(!output.stdout.contains("libsystemd"))
        let batchproc = try await ChildProcess.run(ldd, [Batchproc.executable.path])
        #expect(batchproc.stdout.contains("libsystemd"), "the host tool, which has journald, does link it")
    }

    @Test("On Lambda it writes JSON logs, EMF with a cold start, and the response, all on stdout")
    func lambdaOutput() async throws {
        var environment = ProcessInfo.processInfo.environment
        for key in environment.keys where key.hasPrefix("POWERTOOLS_") || key.hasPrefix("AWS_") {
            environment[key] = nil
        }
        environment["AWS_LAMBDA_FUNCTION_NAME"] = "orders-fn"
        environment["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] = "256"
        let output = try await ChildProcess.run(
            Self.executable,
            [],
            stdin: Array(try Data(contentsOf: Self.orders)),
            environment: environment
        )
        #expect(output.status == 0, "\(output.stderr)")
        let lines = try output.stdoutLines.map { try ChildProcess.jsonObject($0) }
        let response = try #require(lines.last)
        let failures = try #require(response["batchItemFailures"] as? [[String: String]])
        #expect(failures.map { $0["itemIdentifier"] } == ["msg-03"])
        let logs = lines.filter { $0["level"] != nil }
        #expect(
            logs.contains {
                $0["message"] as? String == "record failed" && $0["function_name"] as? String == "orders-fn"
            }
        )
        #expect(logs.allSatisfy { $0["service"] as? String == "orders" && $0["function_memory_size"] as? Int == 256 })
        let documents = lines.filter { $0["_aws"] != nil }
        #expect(documents.contains { $0["ColdStart"] as? Int == 1 })
        let batch = try #require(documents.first { $0["RecordsReceived"] != nil })
        #expect(batch["RecordsFailed"] as? Int == 1)
        #expect(batch["RecordRetries"] as? Int == 1)
        #expect(output.stderr.isEmpty, "nothing on stderr on Lambda: \(output.stderr)")
    }
}
