import BatchIdempotency
import BatchIdempotencyPostgres
import BatchRunner
import Logging
import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Opens the idempotency stores of a run, file or PostgreSQL, and closes the PostgreSQL ones' connections at the
/// end.
final class StoreOpener: Sendable {
    private let opened = Mutex<[PostgresIdempotencyStore]>([])
    private let environment: [String: String]
    private let logger: Logger

    init(environment: [String: String] = ProcessInfo.processInfo.environment, logger: Logger) {
        self.environment = environment
        self.logger = logger
    }

    var open: IdempotencyStoreOpener {
        { [self] location throws(IdempotencyStoreError) in try self.store(at: location) }
    }

    func store(at location: IdempotencyStoreLocation) throws(IdempotencyStoreError) -> any IdempotencyStore {
        switch location {
        case .fileSystem:
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
    static func configuration(
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
    func closeAll() async {
        for store in opened.withLock({ $0 }) { await store.shutdown() }
    }
}
