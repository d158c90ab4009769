public import BatchIdempotency

/// Where an idempotency step of a chain keeps its records: a file store's folder, a PostgreSQL database, or a
/// DynamoDB table.
///
/// The runner opens file stores itself. The PostgreSQL and DynamoDB stores live in modules of their own
/// (`BatchIdempotencyPostgres`, `BatchIdempotencyDynamoDB`), which this one does not link (so that programs without
/// them carry neither postgres-nio nor an HTTP client): a program that wants one gives its `BatchProgram` the
/// matching provider (`PostgresStoreProvider`, `DynamoDBStoreProvider`), as `batchproc` does.
public enum IdempotencyStoreLocation: Sendable, Hashable, CustomStringConvertible {
    /// A `FileIdempotencyStore` in `directory`, flushing every change to disk when `durable`.
    case fileSystem(directory: String, durable: Bool)
    /// A PostgreSQL table.
    case postgres(Postgres)
    /// A DynamoDB table.
    case dynamodb(DynamoDB)

    /// The settings of a DynamoDB store that a chain file may give; the region, the endpoint and the credentials
    /// otherwise come from the AWS variables (`AWS_REGION`, `AWS_ENDPOINT_URL_DYNAMODB`, `AWS_ACCESS_KEY_ID`…).
    public struct DynamoDB: Sendable, Hashable {
        /// The table.
        public var table: String
        /// The region, when not `AWS_REGION`'s.
        public var region: String?
        /// The endpoint URL, when not the region's (DynamoDB Local, a test server).
        public var endpoint: String?
        /// The longest a state change may take, its retries included, when not the store's default (5 s).
        public var timeout: Duration?
        /// The most connections at once, when not the store's default (16).
        public var maximumConnections: Int?

        /// Creates the settings.
        public init(
            table: String,
            region: String? = nil,
            endpoint: String? = nil,
            timeout: Duration? = nil,
            maximumConnections: Int? = nil
        ) {
            self.table = table
            self.region = region
            self.endpoint = endpoint
            self.timeout = timeout
            self.maximumConnections = maximumConnections
        }
    }

    /// The settings of a PostgreSQL store that a chain file may give; the rest comes from the `PG*` environment
    /// variables.
    public struct Postgres: Sendable, Hashable {
        /// A libpq-style URL (`postgres://user[:password]@host:port/database?sslmode=…`); `nil` to take everything
        /// from `PGHOST`, `PGUSER`, `PGPASSWORD`, `PGDATABASE`, `PGPORT` and `PGSSLMODE`.
        public var url: String?
        /// The table, when not `batch_idempotency`.
        public var table: String?
        /// The longest a state change may take, when not the store's default (5 s).
        public var timeout: Duration?
        /// The most connections at once, when not the store's default (8).
        public var maximumConnections: Int?

        /// Creates the settings.
        public init(url: String? = nil, table: String? = nil, timeout: Duration? = nil, maximumConnections: Int? = nil)
        {
            self.url = url
            self.table = table
            self.timeout = timeout
            self.maximumConnections = maximumConnections
        }
    }

    /// The location for messages: the folder, or the database URL without its password.
    public var description: String {
        switch self {
        case .fileSystem(let directory, let durable): "file store \(directory)\(durable ? " (durable)" : "")"
        case .postgres(let settings):
            "PostgreSQL store \(settings.url.map(ConnectionURL.redacted) ?? "from PG* variables")"
        case .dynamodb(let settings):
            "DynamoDB store \(settings.table)\(settings.region.map { " (\($0))" } ?? "")"
        }
    }

    /// Opens a file store; refuses a PostgreSQL store, saying what to link. The default opener of
    /// ``ChainConfiguration/makeMiddleware(openStore:)``.
    @Sendable
    public static func openFileStore(
        _ location: IdempotencyStoreLocation
    ) throws(IdempotencyStoreError)
        -> any IdempotencyStore
    {
        switch location {
        case .fileSystem(let directory, let durable):
            return try FileIdempotencyStore(directory: directory, durability: durable ? .durable : .processCrashSafe)
        case .postgres:
            throw IdempotencyStoreError(
                "this program does not open PostgreSQL stores: link the BatchRunnerPostgres product and give the "
                    + "program a PostgresStoreProvider (or makeMiddleware an openStore that makes a "
                    + "PostgresIdempotencyStore)",
                code: .invalidConfiguration
            )
        case .dynamodb:
            throw IdempotencyStoreError(
                "this program does not open DynamoDB stores: link the BatchRunnerDynamoDB product and give the "
                    + "program a DynamoDBStoreProvider (or makeMiddleware an openStore that makes a "
                    + "DynamoDBIdempotencyStore)",
                code: .invalidConfiguration
            )
        }
    }
}

/// Opens the store of an idempotency step.
public typealias IdempotencyStoreOpener =
    @Sendable (IdempotencyStoreLocation) throws(IdempotencyStoreError) -> any IdempotencyStore

/// Opens the idempotency stores a program's chain names, and lets go of them when the program ends: what a
/// ``BatchProgram`` is given to reach stores beyond the file store (``FileStoreProvider``, the default) without
/// linking their clients. `PostgresStoreProvider` (product `BatchRunnerPostgres`) opens PostgreSQL stores too.
public protocol IdempotencyStoreProvider: Sendable {
    /// Opens the store at `location`.
    func open(_ location: IdempotencyStoreLocation) throws(IdempotencyStoreError) -> any IdempotencyStore
    /// Closes what the stores opened hold (connections); called once, when the program's batches are done.
    func shutdown() async
}

extension IdempotencyStoreProvider {
    /// ``open(_:)`` as an ``IdempotencyStoreOpener``, for ``ChainConfiguration/makeMiddleware(openStore:)``.
    public var opener: IdempotencyStoreOpener {
        { location throws(IdempotencyStoreError) in try self.open(location) }
    }
}

/// Opens file stores only, and refuses a PostgreSQL store with a message that says what to link.
public struct FileStoreProvider: IdempotencyStoreProvider {
    /// Creates the provider.
    public init() {}

    public func open(_ location: IdempotencyStoreLocation) throws(IdempotencyStoreError) -> any IdempotencyStore {
        try IdempotencyStoreLocation.openFileStore(location)
    }

    public func shutdown() async {}
}
