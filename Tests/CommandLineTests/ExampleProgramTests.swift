import BatchProcessingTestProcessSupport
import Foundation
import Testing

/// One of the example programs of `Examples/`, run as a real process on its bundled events.
struct ExampleProgram: Sendable {
    /// The product's name, as `swift run` knows it.
    let name: String

    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// A file of the repository, by its path from the top.
    static func file(_ path: String) -> String { repository.appendingPathComponent(path).path }

    /// The executable, beside batchproc in the build folder.
    var executable: URL { Batchproc.executable.deletingLastPathComponent().appendingPathComponent(name) }

    /// What one run printed: the answer, the log lines and the EMF documents (all JSON, on standard error).
    struct Run {
        let output: ChildProcess.Output
        var status: Int32 { output.status }
        var answer: [String: Any] { (try? output.json()) ?? [:] }
        var logs: [[String: Any]] {
            output.stderrLines.compactMap { try? ChildProcess.jsonObject($0) }.filter { $0["level"] != nil }
        }
        /// The log lines with this message.
        func logs(_ message: String) -> [[String: Any]] { logs.filter { $0["message"] as? String == message } }
        /// The one EMF document with the batch's counts.
        var batchMetrics: [String: Any] {
            output.stderrLines.compactMap { try? ChildProcess.jsonObject($0) }
                .first { $0["_aws"] != nil && $0["RecordsReceived"] != nil } ?? [:]
        }
        /// A count of the batch's EMF document (0 when absent).
        func count(_ metric: String) -> Int { batchMetrics[metric] as? Int ?? 0 }
        /// The reported item identifiers, as text (a Kafka identifier as `partition@offset`).
        var reported: [String] {
            (answer["batchItemFailures"] as? [[String: Any]] ?? []).compactMap { failure in
                if let text = failure["itemIdentifier"] as? String { return text }
                if let object = failure["itemIdentifier"] as? [String: Any], let partition = object["partition"],
                    let offset = object["offset"]
                {
                    return "\(partition)@\(offset)"
                }
                return nil
            }
        }
    }

    func run(_ arguments: [String], environment: [String: String] = [:]) async throws -> Run {
        Run(
            output: try await ChildProcess.run(
                executable,
                arguments,
                environment: Batchproc.childEnvironment(environment)
            )
        )
    }

    /// The records of an event file, as JSON objects.
    static func records(_ path: String) throws -> [[String: Any]] {
        let event = try ChildProcess.jsonObject(String(contentsOfFile: file(path), encoding: .utf8))
        return event["Records"] as? [[String: Any]] ?? []
    }

    /// The SQS messages of an event file whose order has no positive amount: the ones sqs-orders refuses.
    static func refusedOrders(_ path: String) throws -> (refused: [String], charged: [String]) {
        var refused: [String] = []
        var charged: [String] = []
        for record in try records(path) {
            let body = try ChildProcess.jsonObject(record["body"] as? String ?? "")
            let id = record["messageId"] as? String ?? ""
            if (body["amountCents"] as? Int ?? 0) > 0 { charged.append(id) } else { refused.append(id) }
        }
        return (refused, charged)
    }
}

/// A folder for one test, removed after it.
final class ExampleFolder: Sendable {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("example-\(UUID().uuidString)").path
    init() { try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}

@Suite("The example programs, run as real processes on their bundled events")
struct ExampleProgramTests {
    static let orders = ExampleProgram(name: "sqs-orders")

    @Test(
        "sqs-orders twice over one file store: the refused orders come back both times, the second run is all replays"
    )
    func sqsOrdersTwice() async throws {
        let folder = ExampleFolder()
        let event = "Examples/Events/sqs-orders/orders-1.json"
        let (refused, charged) = try ExampleProgram.refusedOrders(event)
        #expect(refused.count == 2 && charged.count == 6, "the bundled event changed")
        // The store's folder from the variable a Lambda deployment sets to its EFS mount.
        let environment = ["BATCH_PROCESSING_IDEMPOTENCY_STORE_FILE_DIRECTORY": folder.path + "/store"]
        let arguments = [
            "invoke", ExampleProgram.file(event), "--config", ExampleProgram.file("Examples/SQSOrders/orders.yaml"),
        ]

        let first = try await Self.orders.run(arguments, environment: environment)
        #expect(first.status == 0, "\(first.output.stderr)")
        #expect(Set(first.reported) == Set(refused))
        #expect(Set(first.logs("order charged").compactMap { $0["item_identifier"] as? String }) == Set(charged))
        let failures = first.logs("record failed")
        #expect(failures.count == 2)
        #expect(
            failures.allSatisfy { ($0["exception"] as? String ?? "").contains("refused: the amount must be above 0") }
        )
        #expect(failures.allSatisfy { $0["attempt"] as? Int == 3 }, "retry runs three attempts")
        #expect(first.count("RecordsReceived") == 8 && first.count("RecordsSucceeded") == 6)
        #expect(first.count("RecordsFailed") == 2 && first.count("RecordRetries") == 4)
        #expect(first.count("RecordsReplayed") == 0)
        #expect(FileManager.default.fileExists(atPath: folder.path + "/store"), "the variable moved the store")

        let second = try await Self.orders.run(arguments, environment: environment)
        #expect(second.status == 0, "\(second.output.stderr)")
        #expect(Set(second.reported) == Set(refused), "refused orders are not completed, so they fail again")
        #expect(second.logs("order charged").isEmpty, "no order is charged twice")
        #expect(second.count("RecordsReplayed") == 6 && second.count("RecordsSucceeded") == 6)
    }

    @Test("sqs-orders on a FIFO queue: skip-group holds back the failed customer's later orders only")
    func sqsOrdersFIFO() async throws {
        let folder = ExampleFolder()
        let event = "Examples/Events/sqs-fifo-orders/orders-fifo-1.json"
        let records = try ExampleProgram.records(event)
        let run = try await Self.orders.run(
            [
                "invoke", ExampleProgram.file(event), "--config",
                ExampleProgram.file("Examples/SQSOrders/orders-fifo.yaml"),
            ],
            environment: ["BATCH_PROCESSING_IDEMPOTENCY_STORE_FILE_DIRECTORY": folder.path]
        )
        #expect(run.status == 0, "\(run.output.stderr)")
        // cus-17's group: ord-2001 charged, ord-2003 refused, ord-2005 and ord-2007 held back.
        let group = records.filter { ($0["attributes"] as? [String: Any])?["MessageGroupId"] as? String == "cus-17" }
        let expected = group.dropFirst().compactMap { $0["messageId"] as? String }
        #expect(run.reported == expected)
        #expect(run.logs("order charged").count == 5)
        #expect(run.count("RecordsFailed") == 1 && run.count("RecordsSkipped") == 2)
        #expect(run.logs("batch processed with failures").first?["policy"] as? String == "skip-group")
    }

    @Test("kinesis-clickstream: an unreadable click holds back its session's later clicks; the other sessions go on")
    func kinesisClickstream() async throws {
        let program = ExampleProgram(name: "kinesis-clickstream")
        let event = "Examples/Events/kinesis-clickstream/clicks-1.json"
        let run = try await program.run([
            ExampleProgram.file(event),  // invoke is the default command
            "--config", ExampleProgram.file("Examples/KinesisClickstream/clickstream.yaml"),
        ])
        #expect(run.status == 0, "\(run.output.stderr)")
        let records = try ExampleProgram.records(event)
        let session3 = records.filter { ($0["kinesis"] as? [String: Any])?["partitionKey"] as? String == "s-3" }
        let expected = session3.dropFirst().compactMap {
            ($0["kinesis"] as? [String: Any])?["sequenceNumber"] as? String
        }
        #expect(run.reported == expected)
        #expect(run.logs("page view").count == 13)
        let failure = try #require(run.logs("record failed").first)
        #expect((failure["exception"] as? String ?? "").contains("page"), "the decoder names the missing key")
        #expect(run.count("RecordsFailed") == 1 && run.count("RecordsSkipped") == 2)
        #expect(run.logs("batch processed with failures").first?["policy"] as? String == "skip-key")
    }

    @Test("dynamodb-customers: typed images; stop-on-first-failure reports the bad change and every change after it")
    func dynamoDBCustomers() async throws {
        let program = ExampleProgram(name: "dynamodb-customers")
        let event = "Examples/Events/dynamodb-customers/customers-1.json"
        let run = try await program.run([
            "invoke", ExampleProgram.file(event),
            "--config", ExampleProgram.file("Examples/DynamoDBCustomers/customers.yaml"),
        ])
        #expect(run.status == 0, "\(run.output.stderr)")
        let sequenceNumbers = try ExampleProgram.records(event).compactMap {
            ($0["dynamodb"] as? [String: Any])?["SequenceNumber"] as? String
        }
        #expect(run.reported == Array(sequenceNumbers[3...]))
        #expect(run.logs("customer created").compactMap { $0["customer_id"] as? String } == ["cus-40", "cus-41"])
        let tier = try #require(run.logs("customer tier changed").first)
        #expect(tier["customer_id"] as? String == "cus-17" && tier["from"] as? String == "basic")
        #expect(tier["to"] as? String == "gold")
        #expect(run.logs("customer removed").isEmpty, "the removal comes after the failure")
        let failure = try #require(run.logs("record failed").first)
        #expect((failure["exception"] as? String ?? "").contains("customer cus-04 is not valid"))
        #expect(run.count("RecordsFailed") == 1 && run.count("RecordsSkipped") == 2)
    }

    @Test("msk-inventory on PostgreSQL: per-partition order, a tombstone withdraws its SKU, the rerun is all replays")
    func mskInventory() async throws {
        // The PostgreSQL server is shared: no test may stop it meanwhile.
        try await ServerAccess.with {
            guard let url = ProcessInfo.processInfo.environment["BATCH_TEST_POSTGRES_URL"], !url.isEmpty else {
                Issue.record(
                    "BATCH_TEST_POSTGRES_URL is not set: run the tests with scripts/with-postgres.sh (make test does)"
                )
                return
            }
            let table = "inventory_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
            let migrated = try await Batchproc.run([
                "idempotency", "migrate", "--idempotency-postgres", url, "--table", table,
            ])
            #expect(migrated.status == 0, "\(migrated.stderr)")
            let program = ExampleProgram(name: "msk-inventory")
            let environment = [
                "BATCH_PROCESSING_IDEMPOTENCY_STORE_POSTGRES_URL": url,
                "BATCH_PROCESSING_IDEMPOTENCY_STORE_POSTGRES_TABLE": table,
            ]
            let arguments = [
                "invoke", ExampleProgram.file("Examples/Events/msk-inventory/inventory-1.json"),
                "--config", ExampleProgram.file("Examples/MSKInventory/inventory.yaml"),
            ]
            let first = try await program.run(arguments, environment: environment)
            #expect(first.status == 0, "\(first.output.stderr)")
            #expect(first.reported == ["inventory-1@881", "inventory-1@882", "inventory-1@883"])
            #expect(
                first.logs("stock set").compactMap { $0["offset"] as? String }.sorted() == [
                    "4100", "4101", "4102", "880",
                ]
            )
            #expect(first.logs("sku withdrawn").compactMap { $0["sku"] as? String } == ["SKU-SOCK-3"])
            let failure = try #require(first.logs("record failed").first)
            #expect((failure["exception"] as? String ?? "").contains("stock of SKU-HIKE-9 cannot be -5"))
            #expect(first.count("RecordsFailed") == 1 && first.count("RecordsSkipped") == 2)

            let second = try await program.run(arguments, environment: environment)
            #expect(second.status == 0, "\(second.output.stderr)")
            #expect(second.reported == first.reported)
            #expect(second.logs("stock set").isEmpty && second.logs("sku withdrawn").isEmpty)
            #expect(second.count("RecordsReplayed") == 5)
        }
    }

    @Test("A program's replay and serve: the summary table over the bundled events, one answer line per event line")
    func replayAndServe() async throws {
        let folder = ExampleFolder()
        let environment = ["BATCH_PROCESSING_IDEMPOTENCY_STORE_FILE_DIRECTORY": folder.path]
        let config = ExampleProgram.file("Examples/SQSOrders/orders.yaml")
        let replay = try await Self.orders.run(
            [
                "replay", ExampleProgram.file("Examples/Events/sqs-orders"), "--config", config, "--report",
                folder.path + "/r.html",
            ],
            environment: environment
        )
        #expect(replay.status == 0, "\(replay.output.stderr)")
        let total = try #require(replay.output.stdoutLines.first { $0.hasPrefix("total") })
        #expect(total.split(separator: " ").prefix(6) == ["total", "2", "12", "10", "2", "0"])
        #expect(FileManager.default.fileExists(atPath: folder.path + "/r.html"))

        let line = try String(
            contentsOfFile: ExampleProgram.file("Examples/Events/sqs-orders/orders-2.json"),
            encoding: .utf8
        )
        .replacingOccurrences(of: "\n", with: "")
        let served = try await ChildProcess.run(
            Self.orders.executable,
            ["serve", "--config", config],
            stdin: Array((line + "\nnot json\n").utf8),
            environment: Batchproc.childEnvironment(environment)
        )
        #expect(served.status == 0, "\(served.stderr)")
        #expect(served.stdoutLines.count == 2)
        #expect(served.stdoutLines.first == #"{"batchItemFailures":[]}"#, "orders-2 were replayed above")
        #expect(served.stdoutLines.last?.contains("malformedEvent") == true)
    }

    @Test("A program says what is wrong: another source's event, a bad option, and its help")
    func programErrors() async throws {
        let wrong = try await Self.orders.run([
            "invoke", ExampleProgram.file("Examples/Events/kinesis-clickstream/clicks-1.json"),
        ])
        #expect(wrong.status == 1)
        #expect(
            (wrong.answer["errorMessage"] as? String ?? "").contains("but the source was given as sqs"),
            "\(wrong.output.stdout)"
        )
        let bad = try await Self.orders.run(["invoke", "--policy", "sometimes"])
        #expect(bad.status == 2)
        #expect(
            bad.output.stderr.contains(
                "The value 'sometimes' is invalid for '--policy <policy>'. Please provide one of 'auto'"
            )
        )
        let missing = try await Self.orders.run(["invoke", "/nonexistent/event.json"])
        #expect(missing.status == 2)
        #expect(missing.output.stderr.contains("sqs-orders: error: cannot read event file '/nonexistent/event.json'"))
        let help = try await Self.orders.run(["--help"])
        #expect(help.status == 0)
        for word in ["sqs-orders", "invoke", "replay", "serve", "Charge the orders"] {
            #expect(help.output.stdout.contains(word), "help lacks \(word): \(help.output.stdout)")
        }
    }

    @Test("On Lambda: each invocation from the Runtime API answered, a whole failure as the invocation's error")
    func lambdaRuntime() async throws {
        let python = try #require(ChildProcess.which("python3"), "python3 runs the stand-in Runtime API")
        let folder = ExampleFolder()
        // The stand-in Runtime API hands the program each event as one invocation and prints what came back.
        func underLambda(_ variables: [String], _ events: [String]) async throws -> ChildProcess.Output {
            try await ChildProcess.run(
                python,
                [ExampleProgram.file("scripts/fake-lambda-runtime.py")]
                    + variables.flatMap { $0.hasPrefix("--") ? [$0] : ["--env", $0] } + events.map(ExampleProgram.file)
                    + ["--", Self.orders.executable.path],
                environment: Batchproc.childEnvironment([:])
            )
        }
        let output = try await underLambda(
            [
                "BATCH_PROCESSING_CONFIG=" + ExampleProgram.file("Examples/SQSOrders/orders.yaml"),
                "BATCH_PROCESSING_IDEMPOTENCY_STORE_FILE_DIRECTORY=" + folder.path,
            ],
            [
                "Examples/Events/sqs-orders/orders-1.json", "Examples/Events/sqs-orders/orders-1.json",
                "Examples/Events/kinesis-clickstream/clicks-1.json",
            ]
        )
        #expect(output.status == 0, "\(output.stderr)")
        let result = try output.json()
        let invocations = try #require(result["invocations"] as? [[String: Any]])
        try #require(invocations.count == 3, "\(output.stdout)")
        let (refused, _) = try ExampleProgram.refusedOrders("Examples/Events/sqs-orders/orders-1.json")
        for invocation in invocations.prefix(2) {
            let response = try #require(invocation["response"] as? [String: Any], "\(invocation)")
            let failures = response["batchItemFailures"] as? [[String: Any]] ?? []
            #expect(Set(failures.compactMap { $0["itemIdentifier"] as? String }) == Set(refused))
        }
        let error = try #require(invocations[2]["error"] as? [String: Any], "the Kinesis event fails as a whole")
        #expect(error["errorType"] as? String == "BatchProcessingError.malformedEvent")
        #expect(invocations[2]["errorTypeHeader"] as? String == "BatchProcessingError.malformedEvent")
        // The program's logs: the invocation's request id, function and X-Ray trace on every record's line.
        let logs = output.stderrLines.compactMap { try? ChildProcess.jsonObject($0) }
        let charged = logs.filter { $0["message"] as? String == "order charged" }
        #expect(charged.count == 6, "the second invocation is all replays")
        let firstRequest = try #require(invocations[0]["requestId"] as? String)
        #expect(charged.allSatisfy { $0["function_request_id"] as? String == firstRequest })
        #expect(charged.allSatisfy { $0["xray_trace_id"] as? String == "1-5759e988-bd862e3fe1be46a994272793" })
        #expect(charged.allSatisfy { $0["function_name"] as? String == "example" })
        #expect(output.stderr.contains("the Lambda Runtime API at 127.0.0.1:"), "it says why it stopped")

        // A program that cannot start says so to Lambda.
        let broken = try await underLambda(
            ["BATCH_PROCESSING_CONFIG=/nonexistent/orders.yaml"],
            ["Examples/Events/sqs-orders/orders-1.json"]
        )
        let start = try #require(try broken.json()["initError"] as? [String: Any], "\(broken.stdout)")
        #expect(start["errorType"] as? String == "Runtime.InitError")
        let body = try #require(start["body"] as? [String: Any])
        #expect(
            (body["errorMessage"] as? String ?? "").contains("/nonexistent/orders.yaml: no such configuration file")
        )
        #expect(try broken.json()["exitStatus"] as? Int == 2)

        // A Runtime API that keeps connections open: each answer is taken once its body is whole.
        let kept = try await underLambda(
            [
                "--keep-alive", "BATCH_PROCESSING_CONFIG=" + ExampleProgram.file("Examples/SQSOrders/orders.yaml"),
                "BATCH_PROCESSING_IDEMPOTENCY_STORE_FILE_DIRECTORY=" + folder.path + "/kept",
            ],
            ["Examples/Events/sqs-orders/orders-2.json", "Examples/Events/sqs-orders/orders-1.json"]
        )
        let keptInvocations = try #require(try kept.json()["invocations"] as? [[String: Any]], "\(kept.stdout)")
        #expect(keptInvocations.count == 2 && keptInvocations.allSatisfy { $0["response"] != nil })
    }

    @Test("The example programs do not link libsystemd (batchproc, the host tool, does)")
    func linkedLibraries() async throws {
        let ldd = try #require(ChildProcess.which("ldd"))
        for name in ["sqs-orders", "kinesis-clickstream", "dynamodb-customers", "msk-inventory"] {
            let output = try await ChildProcess.run(ldd, [ExampleProgram(name: name).executable.path])
            #expect(output.status == 0, "\(output.stderr)")
            #expect(output.stdout.contains("libc.so"), "ldd printed no libraries: \(output.stdout)")
            #expect(!output.stdout.contains("libsystemd"), "\(name) links libsystemd")
        }
        let batchproc = try await ChildProcess.run(ldd, [Batchproc.executable.path])
        #expect(batchproc.stdout.contains("libsystemd"), "the host tool, which has journald, does link it")
    }
}
