import BatchIdempotency
import BatchIdempotencyDynamoDB
import BatchIdempotencyPostgres
import BatchIdempotencyTesting
import BatchProcessingTestProcessSupport
import Foundation
import Logging
import Testing

/// The stores every semantic test runs against.
enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case memory
    case file
    case postgres
    /// PostgreSQL with plain statements (`prepared_statements=off`), as behind a pooler that cannot carry
    /// prepared ones.
    case postgresUnprepared = "postgres-unprepared"
    /// DynamoDB's API (moto's server from scripts/with-dynamodb.sh, or `BATCH_TEST_DYNAMODB_ENDPOINT`).
    case dynamodb

    var testDescription: String { rawValue }

    /// Runs `body` with a new, empty store of this kind: a new folder, or a new table in the test server.
    func withStore<Result>(
        _ body: (any IdempotencyStore) async throws -> Result
    ) async throws -> Result {
        switch self {
        case .memory:
            return try await body(InMemoryIdempotencyStore())
        case .file:
            let folder = TemporaryFolder()
            return try await body(try folder.store())
        case .postgres:
            return try await TestPostgres.withFreshStore(body)
        case .postgresUnprepared:
            return try await TestPostgres.withFreshStore(usesPreparedStatements: false, body)
        case .dynamodb:
            return try await TestDynamoDB.withFreshStore(body)
        }
    }
}

/// The PostgreSQL server of the tests: `scripts/with-postgres.sh` starts one and sets `BATCH_TEST_POSTGRES_URL`
/// (`make test` does), or point the variable at your own server.
enum TestPostgres {
    static let environment = ProcessInfo.processInfo.environment

    struct NotConfigured: Error, CustomStringConvertible {
        var description: String {
            "BATCH_TEST_POSTGRES_URL is not set: run the tests with scripts/with-postgres.sh (make test does), or set it "
                + "to a PostgreSQL server the tests may create tables in"
        }
    }

    /// The server's URL; a test that needs it fails without it (it is never skipped).
    static func url() throws -> String {
        guard let url = environment["BATCH_TEST_POSTGRES_URL"], !url.isEmpty else { throw NotConfigured() }
        return url
    }

    /// A configuration for a table of its own. The default timeout is generous: the whole suite runs at once on
    /// two cores, server included; the tests of timeouts set their own.
    static func configuration(
        table: String = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: ""),
        timeout: Duration = .seconds(20)
    ) throws -> PostgresStoreConfiguration {
        var configuration = try PostgresStoreConfiguration(url: try url())
        configuration.table = table
        configuration.timeout = timeout
        // Generous too: a new session costs a fork and SCRAM on a server that shares two cores with the whole suite.
        configuration.connectTimeout = .seconds(15)
        return configuration
    }

    /// A store over a new table (migrated), shut down and its table dropped after `body`. Its connections carry
    /// an `application_name` of their own, so that a test can end exactly them. With `exclusive`, no other test
    /// uses the server meanwhile (for tests that stop it).
    static func withFreshStore<Result>(
        timeout: Duration = .seconds(20),
        maximumConnections: Int = 8,
        usesPreparedStatements: Bool = true,
        exclusive: Bool = false,
        _ body: (PostgresIdempotencyStore) async throws -> Result
    ) async throws -> Result {
        await ServerAccess.shared.acquire(exclusive: exclusive)
        defer { Task { await ServerAccess.shared.release(exclusive: exclusive) } }
        var configuration = try configuration(timeout: timeout)
        configuration.maximumConnections = maximumConnections
        configuration.usesPreparedStatements = usesPreparedStatements
        configuration.applicationName = "batch-test-" + UUID().uuidString.prefix(8).lowercased()
        var debugLogger = Logger(label: "pgdebug")
        debugLogger.logLevel = ProcessInfo.processInfo.environment["PGDEBUG"] != nil ? .trace : .info
        let store = try PostgresIdempotencyStore(configuration: configuration, logger: debugLogger)
        do {
            try await store.migrate()
            let result = try await body(store)
            _ = try? await sql("DROP TABLE IF EXISTS \(store.configuration.table)")
            await store.shutdown()
            return result
        } catch {
            await store.shutdown()
            throw error
        }
    }

    /// Runs SQL on a connection of its own (as another session would), with psql.
    @discardableResult
    static func sql(_ statement: String) async throws -> String {
        let output = try await Shell.run([
            "psql", try url(), "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-c", statement,
        ])
        guard output.status == 0 else { throw ShellError(message: "psql failed: \(output.stderr)") }
        return output.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Stops, starts or restarts the test server (`BATCH_TEST_POSTGRES_CONTROL`, set by scripts/with-postgres.sh).
    static func control(_ action: String) async throws {
        guard let control = environment["BATCH_TEST_POSTGRES_CONTROL"], !control.isEmpty else {
            throw ShellError(
                message: "BATCH_TEST_POSTGRES_CONTROL is not set: this test stops and starts the server, which only "
                    + "works with the one scripts/with-postgres.sh starts"
            )
        }
        let output = try await Shell.run([control, action])
        guard output.status == 0 else { throw ShellError(message: "\(control) \(action) failed: \(output.stderr)") }
    }
}

struct ShellError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

/// Runs a program found on `PATH` to its end (output to files, not pipes: a server the program starts in the
/// background would hold a pipe open), without blocking the tasks' threads.
enum Shell {
    static func run(_ arguments: [String]) async throws -> ChildProcess.Output {
        try await ChildProcess.run(URL(fileURLWithPath: "/usr/bin/env"), arguments)
    }
}

/// The DynamoDB API of the tests: `scripts/with-dynamodb.sh` starts moto's server and sets
/// `BATCH_TEST_DYNAMODB_ENDPOINT` (`make test` does), or point the variable at DynamoDB Local.
enum TestDynamoDB {
    struct NotConfigured: Error, CustomStringConvertible {
        var description: String {
            "BATCH_TEST_DYNAMODB_ENDPOINT is not set: run the tests with scripts/with-dynamodb.sh (make test does), or "
                + "set it to a DynamoDB API the tests may create tables in (DynamoDB Local)"
        }
    }

    /// The endpoint; a test that needs it fails without it (it is never skipped).
    static func endpoint() throws -> String {
        guard let endpoint = ProcessInfo.processInfo.environment["BATCH_TEST_DYNAMODB_ENDPOINT"], !endpoint.isEmpty
        else { throw NotConfigured() }
        return endpoint
    }

    /// A configuration for a table of its own, with the test server's made-up credentials.
    static func configuration(
        table: String = "t-" + UUID().uuidString.lowercased(),
        timeout: Duration = .seconds(20)
    ) throws -> DynamoDBStoreConfiguration {
        DynamoDBStoreConfiguration(
            table: table,
            region: "us-east-1",
            endpoint: try endpoint(),
            credentials: .fixed(AWSCredentials(accessKeyID: "AKIDTESTING", secretAccessKey: "testing-secret")),
            timeout: timeout,
            connectTimeout: .seconds(10)
        )
    }

    /// A store over a new table (migrated), shut down and its table deleted after `body`.
    static func withFreshStore<Result>(
        timeout: Duration = .seconds(20),
        _ body: (DynamoDBIdempotencyStore) async throws -> Result
    ) async throws -> Result {
        let store = try DynamoDBIdempotencyStore(configuration: try configuration(timeout: timeout))
        do {
            try await store.migrate()
            let result = try await body(store)
            try? await store.deleteTable()
            await store.shutdown()
            return result
        } catch {
            try? await store.deleteTable()
            await store.shutdown()
            throw error
        }
    }
}
