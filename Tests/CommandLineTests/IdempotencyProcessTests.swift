import BatchProcessingTestProcessSupport
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Real `batchproc` processes sharing one file store.
@Suite("Idempotency across processes: real batchproc processes over one file store", .serialized)
struct IdempotencyProcessTests {
    /// A folder for one test, removed after it.
    final class Folder: Sendable {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("idem-proc-\(UUID().uuidString)").path
        init() { try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
        deinit { try? FileManager.default.removeItem(atPath: path) }
    }

    /// An SQS event of messages `m<first>` … `m<first + count - 1>`, written to `path`.
    static func writeEvent(_ path: String, ids: Range<Int>) throws {
        let records = ids.map {
            #"{"messageId":"m\#($0)","body":"{\"n\":\#($0)}","eventSource":"aws:sqs","eventSourceARN":"arn:aws:sqs:us-east-1:1:q"}"#
        }
        try Data((#"{"Records":["# + records.joined(separator: ",") + "]}").utf8).write(to: URL(fileURLWithPath: path))
    }

    /// The store a test's processes share: a file store in the test's folder, or a new table in the test
    /// PostgreSQL server (`BATCH_TEST_POSTGRES_URL`, set by scripts/with-postgres.sh), made with `batchproc
    /// idempotency migrate`.
    enum SharedStore: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case file
        case postgres
        /// A new table in the test DynamoDB API (`BATCH_TEST_DYNAMODB_ENDPOINT`, set by scripts/with-dynamodb.sh),
        /// made with `batchproc idempotency migrate`.
        case dynamodb

        var testDescription: String { rawValue }

        /// The options that select the store, in `process` and in `idempotency` subcommands.
        func options(_ folder: Folder) async throws -> (process: [String], operate: [String]) {
            switch self {
            case .file:
                return (["--idempotency-store", folder.path + "/store"], ["--store", folder.path + "/store"])
            case .postgres:
                guard let url = ProcessInfo.processInfo.environment["BATCH_TEST_POSTGRES_URL"], !url.isEmpty else {
                    throw ProcessFailure(
                        "BATCH_TEST_POSTGRES_URL is not set: run the tests with scripts/with-postgres.sh (make test does)"
                    )
                }
                let table = "p_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
                let migrated = try await Batchproc.run([
                    "idempotency", "migrate", "--idempotency-postgres", url, "--table", table,
                ])
                guard migrated.status == 0 else { throw ProcessFailure("migrate failed: \(migrated.stderr)") }
                return (
                    ["--idempotency-postgres", url, "--idempotency-postgres-table", table],
                    ["--idempotency-postgres", url, "--table", table]
                )
            case .dynamodb:
                guard ProcessInfo.processInfo.environment["BATCH_TEST_DYNAMODB_ENDPOINT"]?.isEmpty == false else {
                    throw ProcessFailure(
                        "BATCH_TEST_DYNAMODB_ENDPOINT is not set: run the tests with scripts/with-dynamodb.sh (make test does)"
                    )
                }
                let table = "p-" + UUID().uuidString.lowercased()
                let migrated = try await Batchproc.run(["idempotency", "migrate", "--idempotency-dynamodb", table])
                guard migrated.status == 0 else { throw ProcessFailure("migrate failed: \(migrated.stderr)") }
                return (["--idempotency-dynamodb", table], ["--idempotency-dynamodb", table])
            }
        }
    }

    struct ProcessFailure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    @Test(
        "A rerun of the same event answers with no failures, every record a replay, and the handler never runs again",
        arguments: SharedStore.allCases
    )
    func rerun(store: SharedStore) async throws {
        // The PostgreSQL server is shared: no test may stop it meanwhile.
        try await ServerAccess.with {
            let folder = Folder()
            let event = folder.path + "/event.json"
            try Self.writeEvent(event, ids: 0..<20)
            let options = try await store.options(folder)
            let arguments = ["process", event, "--effect-log", folder.path + "/effects"] + options.process
            let first = try await Batchproc.run(arguments)
            #expect(first.status == 0, "\(first.stderr)")
            let second = try await Batchproc.run(arguments)
            #expect(second.stdout == "{\"batchItemFailures\":[]}\n")
            let effects = try String(contentsOfFile: folder.path + "/effects", encoding: .utf8)
            #expect(effects.split(separator: "\n").count == 20)
            let emf = try #require(second.stderrLines.first { $0.contains("\"RecordsReplayed\"") })
            #expect(try ChildProcess.jsonObject(emf)["RecordsReplayed"] as? Int == 20)
            let count = try await Batchproc.run(["idempotency", "count"] + options.operate)
            #expect(count.stdout == #"{"completed":20,"in_progress":0,"expired":0}"# + "\n")
        }
    }

    @Test(
        "PostgreSQL with verify-full and the system's roots: SSL_CERT_FILE names the authority, or records come back"
    )
    func verifiedTLS() async throws {
        try await ServerAccess.with {
            let folder = Folder()
            let environment = ProcessInfo.processInfo.environment
            let authority = try #require(
                environment["BATCH_TEST_POSTGRES_CA"],
                "BATCH_TEST_POSTGRES_CA is not set: run the tests with scripts/with-postgres.sh (its server speaks TLS)"
            )
            let options = try await SharedStore.postgres.options(folder)
            let plain = options.process[1]
            #expect(plain.contains("@127.0.0.1:") && plain.hasSuffix("?sslmode=disable"), "\(plain)")
            let verified = plain.replacingOccurrences(of: "@127.0.0.1:", with: "@localhost:")
                .replacingOccurrences(of: "sslmode=disable", with: "sslmode=verify-full")
            let arguments = [
                "--effect-log", folder.path + "/effects", "--no-throw-on-full-batch-failure",
                "--idempotency-postgres", verified, "--idempotency-postgres-table", options.process[3],
            ]
            try Self.writeEvent(folder.path + "/first.json", ids: 0..<5)
            let trusted = try await Batchproc.run(
                ["process", folder.path + "/first.json"] + arguments,
                environment: ["SSL_CERT_FILE": authority]
            )
            #expect(trusted.stdout == "{\"batchItemFailures\":[]}\n", "\(trusted.stderr)")

            let other = folder.path + "/other-ca.crt"
            let made = try await ChildProcess.run(
                URL(fileURLWithPath: "/usr/bin/env"),
                [
                    "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-days", "1", "-subj", "/CN=another authority", "-keyout", folder.path + "/other-ca.key",
                    "-out", other,
                ]
            )
            try #require(made.status == 0, "openssl: \(made.stderr)")
            try Self.writeEvent(folder.path + "/second.json", ids: 5..<8)
            let untrusted = try await Batchproc.run(
                ["process", folder.path + "/second.json"] + arguments,
                environment: ["SSL_CERT_FILE": other]
            )
            #expect(try untrusted.reported() == ["m5", "m6", "m7"], "\(untrusted.stderr)")
            #expect(untrusted.stderr.lowercased().contains("certificate"), "\(untrusted.stderr)")
            let effects = try String(contentsOfFile: folder.path + "/effects", encoding: .utf8)
            #expect(effects.split(separator: "\n").count == 5, "only the first batch's records ran: \(effects)")
        }
    }

    @Test(
        "Eight processes over overlapping batches of 1,000 records: each record's effect happens exactly once",
        arguments: SharedStore.allCases
    )
    func contention(store: SharedStore) async throws {
        // The PostgreSQL server is shared: no test may stop it meanwhile.
        try await ServerAccess.with {
            let folder = Folder()
            let options = try await store.options(folder)
            let effects = folder.path + "/effects"
            for index in 0..<8 {
                try Self.writeEvent(folder.path + "/event-\(index).json", ids: (index * 250)..<(index * 250 + 1000))
            }
            let outputs = try await withThrowingTaskGroup(of: ChildProcess.Output.self) { group in
                for index in 0..<8 {
                    group.addTask {
                        try await Batchproc.run(
                            [
                                "process", folder.path + "/event-\(index).json", "--effect-log", effects,
                                "--concurrency",
                                "4", "--no-throw-on-full-batch-failure", "--log-level", "error",
                            ] + options.process
                        )
                    }
                }
                var all: [ChildProcess.Output] = []
                for try await output in group { all.append(output) }
                return all
            }
            for output in outputs { #expect(output.status == 0, "\(output.stderr.prefix(2000))") }
            let lines = try String(contentsOfFile: effects, encoding: .utf8).split(separator: "\n").map(String.init)
            let counted = Dictionary(lines.map { ($0, 1) }, uniquingKeysWith: +)
            #expect(
                counted.values.allSatisfy { $0 == 1 },
                "run twice: \(counted.filter { $0.value > 1 }.keys.sorted().prefix(10))"
            )
            // Every record either ran once or was reported by a process that found another holding it; none was lost.
            let reported = Set(
                try outputs.flatMap { output -> [String] in
                    let failures =
                        try ChildProcess.jsonObject(output.stdout)["batchItemFailures"] as? [[String: Any]] ?? []
                    return failures.compactMap { $0["itemIdentifier"] as? String }
                }
            )
            let all = Set((0..<2750).map { "m\($0)" })
            #expect(Set(counted.keys).union(reported) == all)
            #expect(Set(counted.keys).isSubset(of: all))
        }
    }

    @Test(
        "Writers killed at random instants, hundreds of times, leave a store that reads clean and lets every key finish"
    )
    func crashes() async throws {
        let folder = Folder()
        let store = folder.path + "/store"
        let event = folder.path + "/event.json"
        try Self.writeEvent(event, ids: 0..<300)
        let arguments = [
            "process", event, "--idempotency-store", store, "--idempotency-in-progress-expiry", "0.001",
            "--concurrency", "4", "--log-level", "critical", "--no-throw-on-full-batch-failure",
        ]
        // One run to its end first, so that the store exists even when a loaded machine starts every later
        // process too slowly to reach the store before it is killed.
        let seed = folder.path + "/seed.json"
        try Self.writeEvent(seed, ids: 0..<1)
        let seeded = try await Batchproc.run(["process", seed, "--idempotency-store", store, "--log-level", "error"])
        #expect(seeded.status == 0, "\(seeded.stderr.prefix(1000))")
        var killed = 0
        for round in 0..<200 {
            let delay = Duration.milliseconds(Int.random(in: 2...80))
            if try await Self.runAndKill(Batchproc.executable, arguments, after: delay) { killed += 1 }
            // Every few rounds, forget the store's state between runs so that new claims keep being made.
            if round % 50 == 49 { _ = try await Batchproc.run(["idempotency", "purge", "--store", store]) }
        }
        #expect(killed > 100, "only \(killed) of 200 runs were killed before they finished")
        let listed = try await Batchproc.run(["idempotency", "list", "--store", store])
        #expect(listed.status == 0, "\(listed.stderr.prefix(1000))")
        #expect(
            !listed.stderr.contains("warning"),
            "every file is a valid record or a temporary one: \(listed.stderr.prefix(1000))"
        )
        let quarantine = (try? FileManager.default.contentsOfDirectory(atPath: store + "/quarantine")) ?? []
        #expect(quarantine.isEmpty)
        // With in-progress markers past their time, one clean run finishes every key.
        let final = try await Batchproc.run(Array(arguments.dropLast(3)) + ["--log-level", "error"])
        #expect(final.stdout == "{\"batchItemFailures\":[]}\n", "\(final.stderr.prefix(2000))")
        let count = try await Batchproc.run(["idempotency", "count", "--store", store])
        #expect(count.stdout == #"{"completed":300,"in_progress":0,"expired":0}"# + "\n")
    }

    /// Starts the program, kills it with SIGKILL after `delay` (if it is still running), and waits for it; true
    /// when it was killed.
    static func runAndKill(_ executable: URL, _ arguments: [String], after delay: Duration) async throws -> Bool {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = Batchproc.childEnvironment([:])
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        let ended = AsyncStream<Void>.makeStream()
        process.terminationHandler = { _ in ended.continuation.yield(()) }
        try process.run()
        try await Task.sleep(for: delay)
        let wasRunning = process.isRunning
        if wasRunning { kill(process.processIdentifier, SIGKILL) }
        for await _ in ended.stream { break }
        return wasRunning && process.terminationReason == .uncaughtSignal
    }
}

@Suite("batchproc process --config")
struct CommandLineConfigTests {
    static let repositoryRoot = Fixture.directory.deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    @Test("The example chain file runs: failures reported, then replays on the rerun")
    func exampleChain() async throws {
        let folder = IdempotencyProcessTests.Folder()
        let config = folder.path + "/chain.yaml"
        let example = try String(
            contentsOf: Self.repositoryRoot.appendingPathComponent("Examples/batchproc/orders.yaml"),
            encoding: .utf8
        )
        try Data(example.replacingOccurrences(of: ".build/idempotency-store", with: folder.path + "/store").utf8)
            .write(to: URL(fileURLWithPath: config))
        let event = Self.repositoryRoot.appendingPathComponent("Examples/batchproc/events/sqs-orders.json").path
        let first = try await Batchproc.run(["process", event, "--config", config, "--fail", "msg-03"])
        #expect(first.stdout == #"{"batchItemFailures":[{"itemIdentifier":"msg-03"}]}"# + "\n", "\(first.stderr)")
        let second = try await Batchproc.run(["process", event, "--config", config])
        #expect(second.stdout == "{\"batchItemFailures\":[]}\n")
        let emf = try #require(second.stderrLines.first { $0.contains("\"RecordsReplayed\"") })
        #expect(try ChildProcess.jsonObject(emf)["RecordsReplayed"] as? Int == 9)
    }

    @Test("A bad file, a bad variable, or a chain given twice is a usage error naming where")
    func usageErrors() async throws {
        let folder = IdempotencyProcessTests.Folder()
        let bad = folder.path + "/bad.json"
        try Data(#"{"middleware":[{"retry":{"maxAttempt":3}}]}"#.utf8).write(to: URL(fileURLWithPath: bad))
        let event = Self.repositoryRoot.appendingPathComponent("Examples/batchproc/events/sqs-orders.json").path
        let unknown = try await Batchproc.run(["process", event, "--config", bad])
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("\(bad): middleware[0].retry.maxAttempt is not a setting here"))
        let good = folder.path + "/good.json"
        try Data(#"{"middleware":[{"retry":{"maxAttempts":3}}]}"#.utf8).write(to: URL(fileURLWithPath: good))
        let variable = try await Batchproc.run(
            ["process", event, "--config", good],
            environment: ["BATCH_PROCESSING_RETRY_MAX_ATTEMPTS": "many"]
        )
        #expect(variable.status == 2)
        #expect(variable.stderr.contains("the variable BATCH_PROCESSING_RETRY_MAX_ATTEMPTS must be a whole number"))
        let twice = try await Batchproc.run(["process", event, "--config", good, "--max-attempts", "2"])
        #expect(twice.status == 2)
    }
}
