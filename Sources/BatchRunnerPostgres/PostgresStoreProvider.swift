public import BatchIdempotency
public import BatchIdempotencyPostgres
public import BatchRunner
public import Logging
import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Opens the idempotency stores a program's chain names, file or PostgreSQL, and closes the PostgreSQL ones'
/// connections at ``shutdown()``. Give it to a `BatchProgram` whose chain file (or options) may name a PostgreSQL
/// store:
///
/// ```swift
/// BatchProgram(name: "payments", …, stores: { logger in PostgresStoreProvider(logger: logger) })
/// ```
///
/// A store's URL may leave out what the `PG*` variables give (`PGHOST`, `PGUSER`, `PGPASSWORD`, `PGDATABASE`,
/// `PGPORT`, `PGSSLMODE`).
public final class PostgresStoreProvider: IdempotencyStoreProvider {
    private let opened = Mutex<[PostgresIdempotencyStore]>([])
    private let environment: [String: String]
    private let logger: Logger

    /// Creates a provider that reads the `PG*` variables from `environment` (by default the process's) and logs the stores' connection
    /// problems on `logger`.
    public init(environment: [String: String]? = nil, logger: Logger) {
        self.environment = environment ?? ProcessInfo.processInfo.environment
        self.logger = logger
    }

    /// Opens a file store, or a PostgreSQL store (its connections are made when first needed).
    public func open(_ location: IdempotencyStoreLocation) throws(IdempotencyStoreError) -> any IdempotencyStore {
        switch location {
        case .fileSystem, .dynamodb:
            return try IdempotencyStoreLocation.openFileStore(location)
        case .postgres(let settings):
            let store = try PostgresIdempotencyStore(
                configuration: try Self.configuration(settings, environment: environment),
                logger: logger
            )
            opened.withLock { $0.append(store) }
            return store
        }
    }

    /// The PostgreSQL store's configuration: the URL (or the `PG*` variables alone), then the chain's settings.
    public static func configuration(
        _ settings: IdempotencyStoreLocation.Postgres,
        environment: [String: String]
    ) throws(IdempotencyStoreError) -> PostgresStoreConfiguration {
        var configuration =
            if let url = settings.url {
                try PostgresStoreConfiguration(url: url, environment: environment)
            } else {
                try PostgresStoreConfiguration(environment: environment)
            }
        if let table = settings.table { configuration.table = table }
        if let timeout = settings.timeout { configuration.timeout = timeout }
        if let maximum = settings.maximumConnections { configuration.maximumConnections = maximum }
        try configuration.validate()
        return configuration
    }

    /// Closes the connections of every PostgreSQL store opened.
    public func shutdown() async {
        for store in opened.withLock({ $0 }) { await store.shutdown() }
    }
}
