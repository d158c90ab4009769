import BatchIdempotency
import BatchIdempotencyDynamoDB
import BatchProcessing
import BatchProcessingTesting
import Foundation
import Synchronization
import Testing

/// `dynamodb-fault-proxy.py` in front of the test DynamoDB API: throttles, fails or goes away on command.
final class DynamoDBFaultProxy: @unchecked Sendable {
    let process = Process()
    let input = Pipe()
    let output = Pipe()
    let endpoint: String
    private var buffered = Data()

    init(upstream: String) throws {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("dynamodb-fault-proxy.py")
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path, upstream]
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        let first = try Self.line(from: output, buffered: &buffered)
        guard first.hasPrefix("port "), let port = Int(first.dropFirst(5)) else {
            throw ShellError(message: "the fault proxy did not start: \(first)")
        }
        endpoint = "http://127.0.0.1:\(port)"
    }

    deinit {
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
    }

    /// Sends a command and returns its answer line.
    @discardableResult
    func command(_ text: String) throws -> String {
        try input.fileHandleForWriting.write(contentsOf: Data((text + "\n").utf8))
        return try Self.line(from: output, buffered: &buffered)
    }

    /// How many requests were forwarded, throttled and failed.
    func counts() throws -> [String: Int] {
        let line = try command("counts")
        return (try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Int]) ?? [:]
    }

    private static func line(from pipe: Pipe, buffered: inout Data) throws -> String {
        while true {
            if let newline = buffered.firstIndex(of: 10) {
                let line = String(decoding: buffered[buffered.startIndex..<newline], as: UTF8.self)
                buffered.removeSubrange(buffered.startIndex...newline)
                return line
            }
            let more = pipe.fileHandleForReading.availableData
            guard !more.isEmpty else { throw ShellError(message: "the fault proxy ended") }
            buffered.append(more)
        }
    }
}

@Suite("DynamoDB store: throttling, server errors and a server that goes away", .serialized)
struct DynamoDBFaultTests {
    /// A store over a new table reached through a fault proxy.
    static func withProxiedStore<Result>(
        timeout: Duration = .seconds(10),
        _ body: (DynamoDBIdempotencyStore, DynamoDBFaultProxy) async throws -> Result
    ) async throws -> Result {
        let direct = try TestDynamoDB.configuration(timeout: .seconds(20))
        let setup = try DynamoDBIdempotencyStore(configuration: direct)
        try await setup.migrate()
        let proxy = try DynamoDBFaultProxy(upstream: try TestDynamoDB.endpoint())
        var configuration = direct
        configuration.endpoint = proxy.endpoint
        configuration.timeout = timeout
        let store = try DynamoDBIdempotencyStore(configuration: configuration)
        do {
            let result = try await body(store, proxy)
            await store.shutdown()
            try? await setup.deleteTable()
            await setup.shutdown()
            return result
        } catch {
            await store.shutdown()
            try? await setup.deleteTable()
            await setup.shutdown()
            throw error
        }
    }

    @Test("Throttled and failing requests are retried with waits until they go through; the answer is DynamoDB's")
    func throttlingSurvived() async throws {
        try await Self.withProxiedStore { store, proxy in
            try proxy.command("throttle 4")
            #expect(try await store.claim(keyA, "t", until: 9000, now: 0) == .claimed)
            try proxy.command("fail 3")
            #expect(try await store.complete(key: keyA, token: "t") == .applied)
            let counts = try proxy.counts()
            #expect(counts["throttled"] == 4 && counts["failed"] == 3, "\(counts)")
            #expect(try await store.record(for: keyA)?.status == .completed)
        }
    }

    @Test(
        "Throttling that outlasts the timeout: the call fails as busy, naming the operation, the table and DynamoDB's error"
    )
    func throttlingPastTheTimeout() async throws {
        try await Self.withProxiedStore(timeout: .seconds(1)) { store, proxy in
            try proxy.command("throttle 100000")
            let started = ContinuousClock.now
            do {
                _ = try await store.claim(keyA, "t", until: 9000, now: 0)
                Issue.record("a claim succeeded while every request was throttled")
            } catch {
                let error = try #require(error as? IdempotencyStoreError)
                #expect(error.code == .busy, "\(error)")
                #expect(error.message.contains("PutItem"), "\(error.message)")
                #expect(error.message.contains(store.configuration.table), "\(error.message)")
                #expect(error.message.contains("ProvisionedThroughputExceededException"), "\(error.message)")
            }
            // It gives up at its timeout (1 s), not later: generous slack for a loaded machine.
            #expect(ContinuousClock.now - started < .seconds(8))
            try proxy.command("throttle 0")
            #expect(try await store.record(for: keyA) == nil, "nothing was claimed")
        }
    }

    @Test("The server away while a handler runs and back a moment later: the completion lands, no rerun")
    func completionAfterOutage() async throws {
        try await Self.withProxiedStore(timeout: .seconds(10)) { store, proxy in
            let runs = Runs()
            let observation = TestObservation()
            let processor = BatchProcessor(
                configuration: .init(throwsOnFullBatchFailure: false, instrumentation: observation.instrumentation),
                middleware: [IdempotencyMiddleware(store: store, configuration: .init(namespace: "outage"))]
            )
            let event = TestEvents.sqs(["m0"])
            let back = Mutex<Task<Void, any Error>?>(nil)
            let first = try await processor.process(event, context: .init(logger: observation.logger)) { message, _ in
                runs.note(message.messageId)
                // The effect is done; DynamoDB goes away before the completion, and comes back 1.5 s later.
                try proxy.command("down")
                back.withLock {
                    $0 = Task {
                        try await Task.sleep(for: .milliseconds(1500))
                        try proxy.command("up")
                    }
                }
            }
            try await back.withLock { $0 }?.value
            #expect(first.response.batchItemFailures.isEmpty)
            #expect(first.outcomes[0].result?.annotations[IdempotencyMiddleware.Completion.self] == .stored)
            #expect(
                observation.entries(withMessage: "the record succeeded but its completion could not be stored").isEmpty
            )
            let again = try await processor.process(event) { message, _ in runs.note(message.messageId) }
            #expect(again.replayedCount == 1)
            #expect(runs.count("m0") == 1)
        }
    }

    @Test("The server away for a whole batch: every record is reported, none runs; back, the batch runs once")
    func batchDuringOutage() async throws {
        try await Self.withProxiedStore(timeout: .seconds(1)) { store, proxy in
            let runs = Runs()
            let processor = BatchProcessor(
                configuration: .init(policy: .continueOnFailure, maxConcurrency: 4, throwsOnFullBatchFailure: false),
                middleware: [IdempotencyMiddleware(store: store, configuration: .init(namespace: "away"))]
            )
            let ids = (0..<20).map { "m\($0)" }
            let event = TestEvents.sqs(ids)
            try proxy.command("down")
            let away = try await processor.process(event) { message, _ in runs.note(message.messageId) }
            #expect(Set(away.response.itemIdentifiers.map(\.description)) == Set(ids))
            #expect(ids.allSatisfy { runs.count($0) == 0 })
            try proxy.command("up")
            let back = try await processor.process(event) { message, _ in runs.note(message.messageId) }
            #expect(back.response.batchItemFailures.isEmpty)
            #expect(ids.allSatisfy { runs.count($0) == 1 })
        }
    }
}

@Suite("DynamoDB store: configuration from the AWS variables")
struct DynamoDBConfigurationTests {
    @Test(
        "Region from AWS_REGION, then AWS_DEFAULT_REGION; endpoint from AWS_ENDPOINT_URL_DYNAMODB, then AWS_ENDPOINT_URL"
    )
    func fromEnvironment() throws {
        let lambda = try DynamoDBStoreConfiguration(
            table: "orders",
            environment: ["AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "us-east-2"]
        )
        #expect(lambda.region == "eu-west-1" && lambda.endpoint == nil)
        #expect(lambda.resolvedEndpoint == "https://dynamodb.eu-west-1.amazonaws.com")
        let china = try DynamoDBStoreConfiguration(table: "orders", environment: ["AWS_DEFAULT_REGION": "cn-north-1"])
        #expect(china.resolvedEndpoint == "https://dynamodb.cn-north-1.amazonaws.com.cn")
        let local = try DynamoDBStoreConfiguration(
            table: "orders",
            environment: [
                "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": "http://localhost:4566",
                "AWS_ENDPOINT_URL_DYNAMODB": "http://localhost:8000",
            ]
        )
        #expect(local.resolvedEndpoint == "http://localhost:8000")
        let general = try DynamoDBStoreConfiguration(
            table: "orders",
            environment: ["AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": "http://localhost:4566"]
        )
        #expect(general.resolvedEndpoint == "http://localhost:4566")
    }

    @Test("Refused before any request: no region, a bad table name, a bad endpoint, no credentials")
    func refusals() {
        func message(_ body: () throws -> Void) -> String {
            do {
                try body()
                return "accepted"
            } catch let error as IdempotencyStoreError {
                #expect(error.code == .invalidConfiguration)
                return error.message
            } catch {
                return "\(error)"
            }
        }
        #expect(
            message { _ = try DynamoDBStoreConfiguration(table: "orders", environment: [:]) }.contains("AWS_REGION")
        )
        #expect(
            message { _ = try DynamoDBStoreConfiguration(table: "a b", environment: ["AWS_REGION": "eu-west-1"]) }
                .contains("'a b'")
        )
        #expect(
            message {
                _ = try DynamoDBStoreConfiguration(
                    table: "orders",
                    environment: ["AWS_REGION": "eu-west-1", "AWS_ENDPOINT_URL_DYNAMODB": "localhost:8000"]
                )
            }.contains("http://")
        )
        let withoutCredentials = DynamoDBStoreConfiguration(
            table: "orders",
            region: "eu-west-1",
            credentials: .environment(["AWS_REGION": "eu-west-1"])
        )
        #expect(
            message { _ = try DynamoDBIdempotencyStore(configuration: withoutCredentials) }.contains(
                "AWS_ACCESS_KEY_ID"
            )
        )
        let halfCredentials = DynamoDBStoreConfiguration(
            table: "orders",
            region: "eu-west-1",
            credentials: .environment(["AWS_ACCESS_KEY_ID": "AKID"])
        )
        #expect(
            message { _ = try DynamoDBIdempotencyStore(configuration: halfCredentials) }.contains(
                "AWS_SECRET_ACCESS_KEY"
            )
        )
    }

    @Test("Credentials and the configuration never show the secret or the session token")
    func noSecrets() {
        let credentials = AWSCredentials(accessKeyID: "AKIDVISIBLE", secretAccessKey: "s3cr3t", sessionToken: "t0k3n")
        let configuration = DynamoDBStoreConfiguration(
            table: "orders",
            region: "eu-west-1",
            credentials: .fixed(credentials)
        )
        for text in ["\(credentials)", "\(configuration)"] {
            #expect(!text.contains("s3cr3t") && !text.contains("t0k3n"), "\(text)")
        }
        #expect("\(credentials)".contains("AKIDVISIBLE"))
    }
}
