import BatchProcessingTestProcessSupport
import Foundation
import Testing

/// Runs the built `batchproc` executable as a real process.
enum Batchproc {
    typealias Output = ChildProcess.Output

    /// The executable sits beside the test bundle in the build folder.
    static var executable: URL {
        let testBinary = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var directory = testBinary.deletingLastPathComponent()
        // The bundle may be a folder (…/X.xctest/…) on some platforms; walk up to the build folder.
        while !FileManager.default.fileExists(atPath: directory.appendingPathComponent("batchproc").path),
            directory.path != "/"
        {
            directory.deleteLastPathComponent()
        }
        return directory.appendingPathComponent("batchproc")
    }

    /// Runs the executable and waits for it without blocking a thread of the concurrency pool (tests of
    /// deadlines run beside these and need those threads).
    static func run(
        _ arguments: [String],
        stdin: String? = nil,
        environment: [String: String] = [:]
    ) async throws -> Output {
        try await ChildProcess.run(
            executable,
            arguments,
            stdin: stdin.map { Array($0.utf8) },
            environment: childEnvironment(environment)
        )
    }

    /// This process's environment without the settings that would change batchproc's behaviour, plus `extra`. With
    /// a test DynamoDB API (scripts/with-dynamodb.sh), the AWS variables that lead its DynamoDB stores there, with
    /// made-up credentials.
    static func childEnvironment(_ extra: [String: String]) -> [String: String] {
        var env = ProcessInfo.processInfo.environment
        for key in env.keys where key.hasPrefix("BATCH_PROCESSING_") || key.hasPrefix("POWERTOOLS_") { env[key] = nil }
        env["JOURNAL_STREAM"] = nil
        if let endpoint = env["BATCH_TEST_DYNAMODB_ENDPOINT"], !endpoint.isEmpty {
            env["AWS_ENDPOINT_URL_DYNAMODB"] = endpoint
            env["AWS_REGION"] = "us-east-1"
            env["AWS_ACCESS_KEY_ID"] = "AKIDTESTING"
            env["AWS_SECRET_ACCESS_KEY"] = "testing-secret"
            env["AWS_SESSION_TOKEN"] = nil
        }
        env.merge(extra) { $1 }
        return env
    }
}

extension ChildProcess.Output {
    /// Standard output parsed as one JSON object.
    func json() throws -> [String: Any] {
        try ChildProcess.jsonObject(stdout)
    }

    /// The identifiers of a partial batch response on standard output.
    func reported() throws -> [String] {
        let failures = try #require(try json()["batchItemFailures"] as? [[String: Any]])
        return failures.compactMap { $0["itemIdentifier"] as? String }
    }
}

@Suite("batchproc process")
struct CommandLineTests {
    static func fixture(_ name: String) -> String { Fixture.url(name).path }

    @Test(
        "Each sample event succeeds with an empty response on one line of stdout",
        arguments: [
            "sam-sqs.json", "sam-kinesis.json", "sam-dynamodb.json", "sqs-fifo.json", "kinesis-encrypted.json",
            "dynamodb-all-types.json", "aws-msk.json", "aws-self-managed-kafka.json", "kafka-partitions.json",
            "kafka-many-partitions.json",
        ]
    )
    func samples(fixture: String) async throws {
        let output = try await Batchproc.run(["process", Self.fixture(fixture)])
        #expect(output.status == 0, "\(output.stderr)")
        #expect(output.stdout == "{\"batchItemFailures\":[]}\n")
    }

    @Test("--fail reports the records with those identifiers, in record order, and logs go to stderr only")
    func failByIdentifier() async throws {
        let output = try await Batchproc.run([
            "process", Self.fixture("sam-dynamodb.json"),
            "--fail", "4421584500000000017450439093", "--fail", "4421584500000000017450439091", "--fail", "absent",
        ])
        #expect(output.status == 0)
        #expect(output.stdoutLines.count == 1)
        #expect(try output.reported() == ["4421584500000000017450439091", "4421584500000000017450439093"])
        #expect(output.stderr.contains("record failed"))
        #expect(output.stderr.contains("batch processed"))
    }

    @Test("--fail-index fails records by position")
    func failByIndex() async throws {
        let output = try await Batchproc.run(["process", Self.fixture("kinesis-encrypted.json"), "--fail-index", "1"])
        #expect(output.status == 0)
        #expect(try output.reported() == ["495903061764676721886986320782670001"])
    }

    @Test("A FIFO queue stops at the first failure by default; skip-group only skips the failed group")
    func fifoPolicies() async throws {
        let stop = try await Batchproc.run(["process", Self.fixture("sqs-fifo.json"), "--fail-index", "1"])
        #expect(try stop.reported() == ["fifo-1", "fifo-2", "fifo-3", "fifo-4"])
        let skip = try await Batchproc.run([
            "process", Self.fixture("sqs-fifo.json"), "--fail-index", "1", "--policy", "skip-group",
        ])
        #expect(try skip.reported() == ["fifo-1", "fifo-3"])
        let parallel = try await Batchproc.run([
            "process", Self.fixture("sqs-fifo.json"), "--fail-index", "1", "--policy", "skip-group", "--concurrency",
            "4",
        ])
        #expect(try parallel.reported() == ["fifo-1", "fifo-3"])
    }

    @Test("Skip-key on a stream skips the failed partition key's later records")
    func skipKey() async throws {
        let output = try await Batchproc.run([
            "process", Self.fixture("kinesis-encrypted.json"), "--fail-index", "0", "--policy", "skip-key",
        ])
        #expect(
            try output.reported() == ["495903061764676721886986320782670000", "495903061764676721886986320782670002"]
        )
    }

    @Test("The policy comes from BATCH_PROCESSING_POLICY unless --policy says otherwise")
    func policyFromEnvironment() async throws {
        let env = ["BATCH_PROCESSING_POLICY": "skip-group"]
        let fromEnv = try await Batchproc.run(
            ["process", Self.fixture("sqs-fifo.json"), "--fail-index", "1"],
            environment: env
        )
        #expect(try fromEnv.reported() == ["fifo-1", "fifo-3"])
        let flagWins = try await Batchproc.run(
            ["process", Self.fixture("sqs-fifo.json"), "--fail-index", "1", "--policy", "continue"],
            environment: env
        )
        #expect(try flagWins.reported() == ["fifo-1"])
    }

    @Test("When every record fails, Lambda's error shape is printed and the exit status is 1")
    func wholeBatchFailure() async throws {
        let output = try await Batchproc.run([
            "process", Self.fixture("sam-dynamodb.json"), "--fail-index", "0", "--fail-index", "1", "--fail-index", "2",
        ])
        #expect(output.status == 1)
        #expect(output.stdoutLines.count == 1)
        let json = try output.json()
        #expect(json["errorType"] as? String == "BatchProcessingError.allRecordsFailed")
        #expect((json["errorMessage"] as? String)?.contains("all 3 records") == true)
    }

    @Test("--no-throw-on-full-batch-failure answers with every record instead")
    func wholeBatchFailureAnswered() async throws {
        let output = try await Batchproc.run([
            "process", Self.fixture("sam-sqs.json"), "--fail-index", "0", "--no-throw-on-full-batch-failure",
        ])
        #expect(output.status == 0)
        #expect(try output.reported() == ["19dd0b57-b21e-4ac1-bd88-01bbb068cb78"])
    }

    @Test("A failed record without an identifier fails the invocation, naming the record")
    func missingIdentifier() async throws {
        let event =
            #"{"Records":[{"messageId":"","receiptHandle":"h","body":"b","md5OfBody":"m","attributes":{},"#
            + #""messageAttributes":{},"eventSource":"aws:sqs","eventSourceARN":"arn:aws:sqs:r:1:q","awsRegion":"r"},"#
            + #"{"messageId":"ok","receiptHandle":"h","body":"b","md5OfBody":"m","attributes":{},"#
            + #""messageAttributes":{},"eventSource":"aws:sqs","eventSourceARN":"arn:aws:sqs:r:1:q","awsRegion":"r"}]}"#
        let output = try await Batchproc.run(["process", "-", "--fail-index", "0"], stdin: event)
        #expect(output.status == 1)
        let json = try output.json()
        #expect(json["errorType"] as? String == "BatchProcessingError.missingItemIdentifier")
        #expect((json["errorMessage"] as? String)?.contains("record 0") == true)
    }

    @Test(
        "A malformed event prints the error shape naming the record and field, exit status 1",
        arguments: [
            (#"{"Records":[{"eventSource":"aws:kinesis","kinesis":{"partitionKey":1}}]}"#, "record 0"),
            (#"{"Records": 3}"#, "Records"),
            (#"{"Rec"#, "not valid JSON"),
            (#"{"Records":[{"eventSource":"aws:sns"}]}"#, "aws:sns"),
        ]
    )
    func malformed(event: String, mentions: String) async throws {
        let output = try await Batchproc.run(["process", "-"], stdin: event)
        #expect(output.status == 1)
        #expect(output.stdoutLines.count == 1)
        let json = try output.json()
        #expect(json["errorType"] as? String == "BatchProcessingError.malformedEvent")
        #expect((json["errorMessage"] as? String)?.contains(mentions) == true)
    }

    @Test("A forced source the records do not match is a malformed event")
    func forcedSource() async throws {
        let output = try await Batchproc.run(["process", Self.fixture("sam-sqs.json"), "--source", "kinesis"])
        #expect(output.status == 1)
        #expect(try output.json()["errorType"] as? String == "BatchProcessingError.malformedEvent")
        let matching = try await Batchproc.run(["process", Self.fixture("sam-sqs.json"), "--source", "sqs"])
        #expect(matching.status == 0)
    }

    @Test("The event can come from standard input")
    func standardInput() async throws {
        let event = try String(contentsOf: Fixture.url("sam-kinesis.json"), encoding: .utf8)
        let output = try await Batchproc.run(["process", "-"], stdin: event)
        #expect(output.status == 0)
        #expect(output.stdout == "{\"batchItemFailures\":[]}\n")
    }

    @Test(
        "Usage errors say why on stderr and exit 2, printing nothing on stdout",
        arguments: [
            (["process", "--bogus"], "--bogus"),
            (["process", "/nonexistent/event.json"], "/nonexistent/event.json"),
            (["process", "-", "--policy", "sometimes"], "sometimes"),
            (["process", "-", "--source", "s3"], "s3"),
            (["process", "-", "--concurrency", "0"], "concurrency"),
            (["frobnicate"], "frobnicate"),
        ]
    )
    func usageErrors(arguments: [String], mentions: String) async throws {
        let output = try await Batchproc.run(arguments, stdin: "{}")
        #expect(output.status == 2)
        #expect(output.stdout.isEmpty)
        #expect(output.stderr.contains(mentions))
    }

    @Test("Help is printed on stdout with exit status 0, under the program's name")
    func help() async throws {
        let output = try await Batchproc.run(["process", "--help"])
        #expect(output.status == 0)
        #expect(output.stdout.contains("--fail-index"))
        #expect(output.stdout.contains("USAGE: batchproc process"), "\(output.stdout)")
    }

    @Test("A mistake in `process` options is explained as the whole program's: usage under its name")
    func processMistake() async throws {
        let output = try await Batchproc.run(["process", "-", "--bogus"], stdin: "{}")
        #expect(output.status == 2)
        #expect(output.stderr.contains("Unknown option '--bogus'"), "\(output.stderr)")
        #expect(output.stderr.contains("Usage: batchproc process"), "\(output.stderr)")
    }
}
