import BatchIdempotency
import BatchProcessing
import BatchRunner
import Foundation
import Testing

@Suite("Chain configuration from a file and the environment")
struct ChainConfigurationTests {
    static let yaml = """
        processor:
          policy: skip-key
          maxConcurrency: 8
          deadlineMarginMs: 250
          throwOnFullBatchFailure: false
        middleware:
          - retry: { maxAttempts: 4, baseDelayMs: 20, maxDelayMs: 400, jitter: false }
          - idempotency:
              store: { file: { directory: /tmp/store, durable: true } }
              key: json:order.id
              expirySeconds: 120
              inProgressExpirySeconds: 30
              validatePayload: true
              namespace: orders
              missingKey: fail
              cacheSize: 50
          - timeout: { seconds: 2.5 }
          - faultInjection: { identifiers: [m1], indices: [3], fraction: 0.25, seed: 9, failingAttempts: 1 }
        """

    static let json = """
        {"processor": {"policy": "skip-key", "maxConcurrency": 8, "deadlineMarginMs": 250,
                       "throwOnFullBatchFailure": false},
         "middleware": [
           {"retry": {"maxAttempts": 4, "baseDelayMs": 20, "maxDelayMs": 400, "jitter": false}},
           {"idempotency": {"store": {"file": {"directory": "/tmp/store", "durable": true}}, "key": "json:order.id",
                            "expirySeconds": 120, "inProgressExpirySeconds": 30, "validatePayload": true,
                            "namespace": "orders", "missingKey": "fail", "cacheSize": 50}},
           {"timeout": {"seconds": 2.5}},
           {"faultInjection": {"identifiers": ["m1"], "indices": [3], "fraction": 0.25, "seed": 9, "failingAttempts": 1}}
         ]}
        """

    @Test("YAML and JSON describe the same chain, in order, with every option", arguments: [yaml, json])
    func everyOption(text: String) throws {
        let chain = try ChainConfiguration.parse(text, source: "chain")
        #expect(chain.processor.policy == .skipKey)
        #expect(chain.processor.maxConcurrency == 8)
        #expect(chain.processor.deadlineMargin == .milliseconds(250))
        #expect(chain.processor.throwsOnFullBatchFailure == false)
        #expect(chain.middleware.count == 4)
        guard case .retry(let retry) = chain.middleware[0] else { Issue.record("step 0 is retry"); return }
        #expect(retry.maxAttempts == 4 && retry.baseDelay == .milliseconds(20) && retry.maxDelay == .milliseconds(400))
        #expect(retry.jitter == false)
        guard case .idempotency(let idempotency, let store) = chain.middleware[1] else {
            Issue.record("step 1 is idempotency")
            return
        }
        #expect(store == .fileSystem(directory: "/tmp/store", durable: true))
        #expect(idempotency.expiry == .seconds(120) && idempotency.inProgressExpiry == .seconds(30))
        #expect(idempotency.validatesPayload && idempotency.namespace == "orders" && idempotency.missingKey == .fail)
        #expect(idempotency.cacheSize == 50)
        guard case .timeout(let timeout) = chain.middleware[2] else { Issue.record("step 2 is timeout"); return }
        #expect(timeout == .milliseconds(2500))
        guard case .faultInjection(let faults) = chain.middleware[3] else { Issue.record("step 3 is faults"); return }
        #expect(faults.identifiers == ["m1"] && faults.indices == [3] && faults.fraction == 0.25 && faults.seed == 9)
        #expect(faults.failingAttempts == 1)
    }

    @Test("A PostgreSQL store: its settings from the file or the environment; the runner alone cannot open it")
    func postgresStore() throws {
        let text = """
            middleware:
              - idempotency:
                  store: { postgres: { url: "postgres://batch:secret@db:5432/orders", timeoutSeconds: 2.5 } }
            """
        let chain = try ChainConfiguration.parse(
            text,
            source: "chain.yaml",
            environment: ["BATCH_PROCESSING_IDEMPOTENCY_STORE_POSTGRES_TABLE": "ops.records"]
        )
        guard case .idempotency(_, let store) = chain.middleware[0] else {
            Issue.record("step 0 is idempotency")
            return
        }
        let expected = IdempotencyStoreLocation.Postgres(
            url: "postgres://batch:secret@db:5432/orders",
            table: "ops.records",
            timeout: .milliseconds(2500)
        )
        #expect(store == .postgres(expected))
        #expect(!store.description.contains("secret") && store.description.contains("batch:***@db:5432/orders"))
        #expect {
            _ = try chain.makeMiddleware()
        } throws: { error in
            let message = "\(error)"
            return message.contains("chain.yaml") && message.contains("link the BatchRunnerPostgres product")
        }
    }

    @Test("A DynamoDB store: its settings from the file or the environment; the runner alone cannot open it")
    func dynamoDBStore() throws {
        let text = """
            middleware:
              - idempotency:
                  store: { dynamodb: { table: orders-idempotency, region: eu-west-1, timeoutSeconds: 2 } }
            """
        let chain = try ChainConfiguration.parse(
            text,
            source: "chain.yaml",
            environment: [
                "BATCH_PROCESSING_IDEMPOTENCY_STORE_DYNAMODB_ENDPOINT": "http://localhost:8000",
                "BATCH_PROCESSING_IDEMPOTENCY_STORE_DYNAMODB_MAX_CONNECTIONS": "4",
            ]
        )
        guard case .idempotency(_, let store) = chain.middleware[0] else {
            Issue.record("step 0 is idempotency")
            return
        }
        let expected = IdempotencyStoreLocation.DynamoDB(
            table: "orders-idempotency",
            region: "eu-west-1",
            endpoint: "http://localhost:8000",
            timeout: .seconds(2),
            maximumConnections: 4
        )
        #expect(store == .dynamodb(expected))
        #expect {
            _ = try chain.makeMiddleware()
        } throws: { error in
            let message = "\(error)"
            return message.contains("chain.yaml") && message.contains("link the BatchRunnerDynamoDB product")
        }
        #expect {
            _ = try ChainConfiguration.parse(
                "middleware: [ { idempotency: { store: { dynamodb: { region: eu-west-1 } } } } ]",
                source: "chain.yaml",
                environment: [:]
            )
        } throws: { error in
            "\(error)".contains("middleware[0].idempotency.store.dynamodb.table is required")
        }
        #expect {
            _ = try ChainConfiguration.parse(
                "middleware: [ { idempotency: { store: { file: { directory: /x }, dynamodb: { table: t } } } } ]",
                source: "chain.yaml",
                environment: [:]
            )
        } throws: { error in
            "\(error)".contains("names two stores (file and dynamodb)")
        }
    }

    @Test(
        "Unknown keys and bad values are errors that name the file and the key",
        arguments: [
            (
                "processor: { maxConcurency: 2 }", "orders.yaml: processor.maxConcurency is not a setting here",
                ConfigurationError.Code.unknownSetting
            ),
            (
                "processor: { maxConcurrency: 0 }",
                "orders.yaml: processor.maxConcurrency must be a whole number of at least 1, not 0",
                ConfigurationError.Code.invalidValue
            ),
            (
                "processor: { policy: sometimes }", "orders.yaml: processor.policy must be one of",
                ConfigurationError.Code.invalidValue
            ),
            (
                "middleware: [ { retry: { maxAttempts: two } } ]",
                "middleware[0].retry.maxAttempts must be a whole number", ConfigurationError.Code.invalidValue
            ),
            (
                "middleware: [ { retry: {}, timeout: {} } ]", "middleware[0] must be an object with one key",
                ConfigurationError.Code.invalidValue
            ),
            (
                "middleware: [ { cache: {} } ]", "middleware[0].cache is not a middleware",
                ConfigurationError.Code.unknownSetting
            ),
            (
                "middleware: [ { timeout: {} } ]", "middleware[0].timeout.seconds is required",
                ConfigurationError.Code.missingValue
            ),
            (
                "middleware: [ { idempotency: { key: identity } } ]",
                "middleware[0].idempotency.store is required: store: { file: { directory: … } } or store: { postgres",
                ConfigurationError.Code.missingValue
            ),
            (
                "middleware: [ { idempotency: { store: { file: {} } } } ]",
                "middleware[0].idempotency.store.file.directory is required", ConfigurationError.Code.missingValue
            ),
            (
                "middleware: [ { idempotency: { store: { file: { directory: /x }, postgres: { url: x } } } } ]",
                "middleware[0].idempotency.store names two stores", ConfigurationError.Code.invalidValue
            ),
            (
                "middleware: [ { idempotency: { store: { postgres: { host: db } } } } ]",
                "middleware[0].idempotency.store.postgres.host is not a setting here",
                ConfigurationError.Code.unknownSetting
            ),
            (
                "middleware: [ { idempotency: { store: { postgres: { maxConnections: 0 } } } } ]",
                "middleware[0].idempotency.store.postgres.maxConnections must be a whole number of at least 1",
                ConfigurationError.Code.invalidValue
            ),
            (
                "middleware: [ { idempotency: { store: { file: { directory: /x } }, key: body } } ]",
                "must be identity, payload or json:<path>", ConfigurationError.Code.invalidValue
            ),
            (
                "middleware: [ { faultInjection: { fraction: 2 } } ]", "fraction must be between 0 and 1",
                ConfigurationError.Code.invalidValue
            ),
            ("middleware: { retry: {} }", "middleware must be a list of steps", ConfigurationError.Code.invalidValue),
            ("[1, 2]", "must be an object", ConfigurationError.Code.invalidValue),
            ("retries: 3", "orders.yaml: retries is not a setting here", ConfigurationError.Code.unknownSetting),
            ("processor: [unclosed", "orders.yaml: is not valid JSON or YAML", ConfigurationError.Code.syntax),
        ]
    )
    func errors(text: String, message: String, code: ConfigurationError.Code) {
        do {
            _ = try ChainConfiguration.parse(text, source: "orders.yaml")
            Issue.record("expected an error for \(text)")
        } catch {
            #expect("\(error)".contains(message), "\(error)")
            #expect((error as? ConfigurationError)?.code == code, "\(error)")
        }
    }

    @Test("Variables replace scalar settings: the processor's, and the first middleware of a kind's")
    func environment() throws {
        let text = """
            processor: { maxConcurrency: 2 }
            middleware:
              - retry: { maxAttempts: 2 }
              - idempotency: { store: { file: { directory: /tmp/a } } }
              - retry: { maxAttempts: 7 }
            """
        let chain = try ChainConfiguration.parse(
            text,
            source: "chain.yaml",
            environment: [
                "BATCH_PROCESSING_MAX_CONCURRENCY": "6", "BATCH_PROCESSING_POLICY": "continue",
                "BATCH_PROCESSING_RETRY_MAX_ATTEMPTS": "5", "BATCH_PROCESSING_IDEMPOTENCY_EXPIRY_SECONDS": "30",
                "BATCH_PROCESSING_IDEMPOTENCY_STORE_FILE_DIRECTORY": "/tmp/b",
            ]
        )
        #expect(chain.processor.maxConcurrency == 6 && chain.processor.policy == .continueOnFailure)
        guard case .retry(let first) = chain.middleware[0], case .retry(let third) = chain.middleware[2],
            case .idempotency(let idempotency, .fileSystem(let directory, _)) = chain.middleware[1]
        else {
            Issue.record("unexpected steps")
            return
        }
        #expect(first.maxAttempts == 5)
        #expect(third.maxAttempts == 7, "only the first retry takes the variable")
        #expect(idempotency.expiry == .seconds(30) && directory == "/tmp/b")
        #expect(throws: ConfigurationError.self) {
            try ChainConfiguration.parse(
                text,
                source: "chain.yaml",
                environment: ["BATCH_PROCESSING_RETRY_JITTER": "maybe"]
            )
        }
    }

    @Test("The chain runs: retry outside idempotency on a real store, timeout and faults innermost")
    func runs() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("chain-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let text = """
            processor: { throwOnFullBatchFailure: false }
            middleware:
              - retry: { maxAttempts: 2, baseDelayMs: 0 }
              - idempotency: { store: { file: { directory: \(folder) } } }
              - faultInjection: { identifiers: [m1] }
            """
        let chain = try ChainConfiguration.parse(text, source: "chain.yaml")
        let processor = BatchProcessor(configuration: chain.processor, middleware: try chain.makeMiddleware())
        let event = SQSEvent(records: ["m0", "m1", "m2"].map { SQSEvent.Message(messageId: $0, body: "{}") })
        let first = try await processor.process(event) { _, _ in }
        #expect(first.response.itemIdentifiers == ["m1"])
        #expect(first.outcomes[1].attempts == 2)
        let store = try FileIdempotencyStore(directory: folder)
        #expect(try store.allKeys().count == 2, "the failed record left no marker")
    }

    @Test("A missing file or a folder is named in the error")
    func files() {
        let missing = #expect(throws: ConfigurationError.self) {
            try ChainConfiguration.load(path: "/no/such/file.yaml")
        }
        #expect(missing?.code == .unreadableFile)
        do {
            _ = try ChainConfiguration.load(path: "/tmp")
        } catch {
            #expect("\(error)".contains("/tmp: is a folder"))
        }
    }
}
