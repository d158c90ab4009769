import BatchProcessingTestProcessSupport
import Foundation
import Testing

@Suite("batchproc bench")
struct CommandLineBenchTests {
    @Test(
        "Times each sample in one process and prints one line of JSON with the records, bytes and timings",
        arguments: ["sam-sqs.json", "sam-kinesis.json", "dynamodb-all-types.json", "aws-msk.json"]
    )
    func samples(fixture: String) async throws {
        let path = CommandLineTests.fixture(fixture)
        let output = try await Batchproc.run(["bench", path, "--iterations", "3", "--concurrency", "2"])
        #expect(output.status == 0, "\(output.stderr)")
        #expect(output.stdoutLines.count == 1)
        let line = try output.json()
        let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int
        #expect(line["bytes"] as? Int == size)
        #expect((line["records"] as? Int ?? 0) > 0)
        #expect(line["iterations"] as? Int == 3)
        let best = try #require(line["best_s"] as? Double)
        let median = try #require(line["median_s"] as? Double)
        #expect(best > 0 && best <= median)
        // Logs and metrics go to a sink that discards them: nothing on stderr.
        #expect(output.stderr.isEmpty, "\(output.stderr)")
    }

    @Test(
        "Bad options and events are usage errors that say what is wrong",
        arguments: [
            (["--iterations", "0"], "--iterations must be at least 1"),
            (["--concurrency", "0"], "--concurrency must be at least 1"),
            (["--max-attempts", "0"], "--max-attempts must be at least 1"),
        ]
    )
    func badOptions(options: [String], message: String) async throws {
        let output = try await Batchproc.run(["bench", CommandLineTests.fixture("sam-sqs.json")] + options)
        #expect(output.status == 2)
        #expect(output.stderr.contains(message), "\(output.stderr)")
    }

    @Test("A malformed event is a usage error naming where it went wrong, with or without --decode-only")
    func malformed() async throws {
        for extra in [[], ["--decode-only"]] {
            let output = try await Batchproc.run(["bench", "-"] + extra, stdin: #"{"Records":[{"messageId":"a",}]}"#)
            #expect(output.status == 2)
            #expect(output.stderr.contains("not valid JSON at byte"), "\(output.stderr)")
        }
    }

    @Test("--decode-only times reading the event alone and still counts its records")
    func decodeOnly() async throws {
        let event =
            #"{"Records":[{"messageId":"a","eventSource":"aws:sqs"},"#
            + #"{"messageId":"b","eventSource":"aws:sqs"}]}"#
        let output = try await Batchproc.run(["bench", "-", "--decode-only", "--iterations", "2"], stdin: event)
        #expect(output.status == 0, "\(output.stderr)")
        let line = try output.json()
        #expect(line["records"] as? Int == 2)
        #expect(line["bytes"] as? Int == event.utf8.count)
        #expect((line["best_s"] as? Double ?? -1) >= 0)
        // Nothing is processed, so no log line or metric is written either.
        #expect(output.stderr.isEmpty, "\(output.stderr)")
    }
}
