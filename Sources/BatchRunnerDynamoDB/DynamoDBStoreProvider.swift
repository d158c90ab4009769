public import BatchIdempotency
public import BatchIdempotencyDynamoDB
import BatchProcessingSystemSupport
public import BatchRunner
public import Logging
import Synchronization

/// Opens the DynamoDB stores a program's chain names, and hands every other location to the next provider (file
/// stores by default, or a `PostgresStoreProvider`); closes the DynamoDB stores' connections at ``shutdown()``.
/// Give it to a `BatchProgram` whose chain file (or options) may name a DynamoDB store:
///
/// ```swift
/// BatchProgram(name: "payments", …, stores: { logger in DynamoDBStoreProvider(logger: logger) })
/// ```
///
/// The chain file names the table (`store: { dynamodb: { table: orders-idempotency } }`); the region, the endpoint
/// and the credentials come from the AWS variables Lambda sets (`AWS_REGION`, `AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), or from `region` and `endpoint` in the chain file.
public final class DynamoDBStoreProvider: IdempotencyStoreProvider {
    private let opened = Mutex<[DynamoDBIdempotencyStore]>([])
    private let environment: [String: String]
    private let logger: Logger
    private let next: any IdempotencyStoreProvider

    /// Creates a provider that reads the AWS variables from `environment` (by default the process's), logs the
    /// stores' retries on `logger`, and opens other stores with `next`.
    public init(
        environment: [String: String]? = nil,
        logger: Logger,
        next: any IdempotencyStoreProvider = FileStoreProvider()
    ) {
        self.environment = environment ?? ProcessEnvironment.variables
        self.logger = logger
        self.next = next
    }

    /// Opens a DynamoDB store (nothing is sent until its first state change), or asks the next provider.
    public func open(_ location: IdempotencyStoreLocation) throws(IdempotencyStoreError) -> any IdempotencyStore {
        guard case .dynamodb(let settings) = location else {
            return try next.open(location)
        }
        let store = try DynamoDBIdempotencyStore(
            configuration: try Self.configuration(settings, environment: environment),
            logger: logger
        )
        opened.withLock { $0.append(store) }
        return store
    }

    /// The DynamoDB store's configuration: the AWS variables, then the chain's settings.
    public static func configuration(
        _ settings: IdempotencyStoreLocation.DynamoDB,
        environment: [String: String]
    ) throws(IdempotencyStoreError) -> DynamoDBStoreConfiguration {
        var environment = environment
        // The chain's region and endpoint count as the variables would, so that the configuration reads them once.
        if let region = settings.region { environment["AWS_REGION"] = region }
        if let endpoint = settings.endpoint { environment["AWS_ENDPOINT_URL_DYNAMODB"] = endpoint }
        var configuration = try DynamoDBStoreConfiguration(table: settings.table, environment: environment)
        if let timeout = settings.timeout { configuration.timeout = timeout }
        if let maximum = settings.maximumConnections { configuration.maximumConnections = maximum }
        try configuration.validate()
        return configuration
    }

    /// Closes the connections of every DynamoDB store opened, then what the next provider opened.
    public func shutdown() async {
        for store in opened.withLock({ $0 }) { await store.shutdown() }
        await next.shutdown()
    }
}
