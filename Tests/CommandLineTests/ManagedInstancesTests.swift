import BatchProcessingTestProcessSupport
import Foundation
import Testing

/// `batchproc lambda` as Lambda Managed Instances run a function: several invocations at once in one process
/// (`AWS_LAMBDA_MAX_CONCURRENCY`), under the stand-in Runtime API handing them out together.
@Suite("Lambda Managed Instances: several invocations at once in one process")
struct ManagedInstancesTests {
    /// An SQS event of the messages `ids`, each named `m<id>`.
    static func event(_ ids: Range<Int>) -> String {
        let records = ids.map { #"{"messageId":"m\#($0)","body":"order \#($0)","eventSource":"aws:sqs"}"# }
        return #"{"Records":[\#(records.joined(separator: ","))]}"#
    }

    @Test(
        "Each invocation answered; its logs and EMF documents carry its own request id; overlapping batches run once"
    )
    func concurrentInvocations() async throws {
        let python = try #require(ChildProcess.which("python3"), "python3 runs the stand-in Runtime API")
        let folder = IdempotencyProcessTests.Folder()
        // Six batches of eight messages, each overlapping the next by four.
        var events: [String] = []
        for index in 0..<6 {
            let path = folder.path + "/event-\(index).json"
            try Self.event((index * 4)..<(index * 4 + 8)).write(toFile: path, atomically: true, encoding: .utf8)
            events.append(path)
        }
        let output = try await ChildProcess.run(
            python,
            [ExampleProgram.file("scripts/fake-lambda-runtime.py"), "--concurrency", "3"] + events + [
                "--", Batchproc.executable.path, "lambda", "--idempotency-store", folder.path + "/store",
                "--effect-log", folder.path + "/effects", "--record-delay-ms", "40", "--concurrency", "2",
                "--no-throw-on-full-batch-failure",
            ],
            environment: Batchproc.childEnvironment([:])
        )
        let result = try output.json()
        let invocations = try #require(result["invocations"] as? [[String: Any]], "\(output.stdout)")
        try #require(invocations.count == 6, "\(output.stdout)\n\(output.stderr.suffix(3000))")
        #expect(result["maxInFlight"] as? Int ?? 0 >= 2, "the invocations did not overlap: \(result)")

        // Every message ran once, or was reported (another invocation held its key): none twice, none lost.
        let effects = try String(contentsOfFile: folder.path + "/effects", encoding: .utf8)
            .split(separator: "\n").map(String.init)
        #expect(effects.count == Set(effects).count, "run twice: \(effects.sorted())")
        var reported: Set<String> = []
        var requests: [String: Int] = [:]
        for invocation in invocations {
            let response = try #require(invocation["response"] as? [String: Any], "\(invocation)")
            for failure in response["batchItemFailures"] as? [[String: Any]] ?? [] {
                reported.insert(failure["itemIdentifier"] as? String ?? "")
            }
            requests[try #require(invocation["requestId"] as? String)] = 8
        }
        #expect(Set(effects).union(reported) == Set((0..<28).map { "m\($0)" }))

        // Each invocation's summary line and its metrics are its own: eight records each, under its request id.
        let lines = output.stderrLines.compactMap { try? ChildProcess.jsonObject($0) }
        let summaries = lines.filter { ($0["message"] as? String ?? "").hasPrefix("batch processed") }
        #expect(summaries.count == 6)
        for summary in summaries {
            #expect(summary["records"] as? Int == 8, "\(summary)")
            #expect(requests[summary["function_request_id"] as? String ?? ""] != nil, "\(summary)")
        }
        var received: [String: Double] = [:]
        for document in lines where document["_aws"] != nil && document["RecordsReceived"] != nil {
            let request = try #require(document["function_request_id"] as? String, "an EMF document without it")
            #expect(document["xray_trace_id"] as? String == "1-5759e988-bd862e3fe1be46a994272793")
            received[request, default: 0] += document["RecordsReceived"] as? Double ?? 0
        }
        #expect(received == requests.mapValues(Double.init), "\(received)")
        let coldStarts = lines.filter { $0["ColdStart"] != nil }
        #expect(coldStarts.count == 1, "cold start counted once per process")
    }
}
