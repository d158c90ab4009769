public import BatchIdempotency
import BatchProcessingSystemSupport
public import Logging
import PostgresNIO
import Synchronization

/// An idempotency store in a PostgreSQL table, for functions and workers on many hosts: RDS, Aurora, or your own
/// server.
///
/// Every state change is one statement, made atomic by the database (`INSERT … ON CONFLICT … DO UPDATE … WHERE`
/// with the fencing condition): there is no read-then-write race between processes. A claim, completion or
/// release repeated by the same holder after its answer was lost finds its own earlier change, so the store
/// retries once on a dropped connection without risk.
///
/// ```swift
/// // Once per Lambda execution environment (outside the handler), reused by every invocation:
/// let store = try PostgresIdempotencyStore(
///     configuration: PostgresStoreConfiguration(url: "postgres://batch@orders-db:5432/orders?sslmode=verify-full",
///                                               environment: ProcessInfo.processInfo.environment))
/// let processor = BatchProcessor(middleware: [RetryMiddleware(), IdempotencyMiddleware(store: store)])
/// ```
///
/// The table comes from a migration you apply once (``migrate()``, or `batchproc idempotency migrate`), never
/// silently at start-up.
///
/// Connections: the store keeps a few (``PostgresStoreConfiguration/maximumConnections``), opened on demand and
/// reused; a connection that fails is dropped and the statement repeated once on a new one. Create the store once
/// per process (in Lambda, outside the handler, so that warm invocations reuse its connections) and call
/// ``shutdown()`` when done.
///
/// Faults: a state change that cannot be established within ``PostgresStoreConfiguration/timeout`` (database
/// down, slow, or the connection lost twice) throws, and the idempotency middleware fails that record, so that
/// Lambda delivers it again; it never runs a record whose claim was not confirmed. After the database could not be
/// reached (no connection, or no answer within the timeout), calls in the next second fail at once instead of each
/// waiting again, so that a batch meeting a dead database ends quickly.
public final class PostgresIdempotencyStore: IdempotencyStore {
    /// Where and how the store connects.
    public let configuration: PostgresStoreConfiguration
    /// The connections (internal, so that a test can hold one as a busy statement would).
    let connections: ConnectionSet
    let schema: PostgresSchema
    let logger: Logger
    /// The statements' deadlines, checked on a tick of a tenth of the timeout (at most 50 ms).
    let watchdog: Watchdog
    /// While set and ahead of the monotonic clock, calls fail at once: the database was just unreachable.
    let unreachable = Mutex<(until: ContinuousClock.Instant, reason: String)?>(nil)
    static let failFastWindow = Duration.seconds(1)

    /// A store on the database `configuration` names.
    ///
    /// Nothing connects yet: the first state change does.
    ///
    /// - Parameters:
    ///   - configuration: the server, the table, the timeout and the number of connections.
    ///   - logger: where connection events go (at debug and trace levels); the password never appears.
    /// - Throws: `IdempotencyStoreError` when the configuration is invalid or its TLS settings cannot be used
    ///   (a root certificate file that cannot be read).
    public init(
        configuration: PostgresStoreConfiguration,
        logger: Logger = Logger(label: "batch-idempotency-postgres")
    ) throws(IdempotencyStoreError) {
        try configuration.validate()
        self.configuration = configuration
        self.schema = PostgresSchema(table: configuration.table)
        self.logger = logger
        self.watchdog = Watchdog(tick: min(max(configuration.timeout / 10, .milliseconds(1)), .milliseconds(50)))
        self.connections = ConnectionSet(
            configuration: try Self.connectionConfiguration(configuration),
            maximum: configuration.maximumConnections,
            connectTimeout: configuration.connectTimeout,
            logger: logger
        )
    }

    /// Closes the store's connections. Calls made afterwards fail.
    public func shutdown() async {
        await connections.shutdown()
    }

    /// The connection settings for `configuration`: server, credentials, TLS, connect timeout, and the
    /// server-side `statement_timeout` and `application_name`.
    static func connectionConfiguration(
        _ configuration: PostgresStoreConfiguration
    ) throws(IdempotencyStoreError) -> PostgresConnection.Configuration {
        var result: PostgresConnection.Configuration
        if let path = configuration.unixSocketPath {
            result = .init(
                unixSocketPath: path,
                username: configuration.username,
                password: configuration.password,
                database: configuration.database
            )
        } else {
            result = .init(
                host: configuration.host ?? "localhost",
                port: configuration.port,
                username: configuration.username,
                password: configuration.password,
                database: configuration.database,
                tls: try tls(configuration)
            )
        }
        result.options.connectTimeout = .milliseconds(milliseconds(configuration.connectTimeout))
        result.options.additionalStartupParameters = [
            // Within the first try's half of the timeout, so that the server's own error (which names the timeout)
            // arrives before the store stops waiting.
            ("statement_timeout", String(max(1, milliseconds(configuration.timeout) / 2 - 20))),
            ("application_name", configuration.applicationName),
        ]
        return result
    }

    private static func tls(
        _ configuration: PostgresStoreConfiguration
    ) throws(IdempotencyStoreError) -> PostgresConnection.Configuration.TLS {
        var tls = TLSConfiguration.makeClientConfiguration()
        switch configuration.tlsMode {
        case .disable:
            return .disable
        case .prefer:
            tls.certificateVerification = .none
        case .require:
            tls.certificateVerification = .none
        case .verifyCA:
            tls.certificateVerification = .noHostnameVerification
        case .verifyFull:
            tls.certificateVerification = .fullVerification
        }
        // The roots are always named: NIOSSL's own search of the system knows Debian's file first and not
        // SSL_CERT_FILE, and a static program on Lambda must find Amazon Linux's.
        var roots = configuration.rootCertificatePath
        var origin = "sslrootcert"
        if roots == nil, tls.certificateVerification != .none {
            let environment = ProcessEnvironment.variables
            roots = PostgresStoreConfiguration.systemRootCertificates(environment: environment)
            origin = environment["SSL_CERT_FILE", default: ""].isEmpty ? "the system's" : "SSL_CERT_FILE"
            if roots == nil {
                throw IdempotencyStoreError(
                    "sslmode \(configuration.tlsMode.rawValue) needs root certificates to check the server's against, "
                        + "and none were found: give sslrootcert=FILE in the PostgreSQL URL (or PGSSLROOTCERT), set "
                        + "SSL_CERT_FILE, or install the system's certificates ("
                        + PostgresStoreConfiguration.systemRootCertificateFiles.joined(separator: " or ") + ")",
                    code: .invalidConfiguration
                )
            }
        }
        if let roots {
            guard SystemIO.kind(of: roots) == .regularFile else {
                throw IdempotencyStoreError(
                    "cannot set up TLS for PostgreSQL (sslmode \(configuration.tlsMode.rawValue)): the root "
                        + "certificates file \(roots) (\(origin)) does not exist or is not a file",
                    code: .invalidConfiguration
                )
            }
            tls.trustRoots = .file(roots)
        }
        let context: NIOSSLContext
        do {
            context = try NIOSSLContext(configuration: tls)
        } catch {
            throw IdempotencyStoreError(
                "cannot set up TLS for PostgreSQL (sslmode \(configuration.tlsMode.rawValue)"
                    + (roots.map { ", root certificates \($0) (\(origin))" } ?? "") + "): \(error)",
                code: .invalidConfiguration
            )
        }
        return configuration.tlsMode == .prefer ? .prefer(context) : .require(context)
    }

    // MARK: - Migration

    /// Creates the table and its index when they are missing (the SQL of `sql/postgres/001_batch_idempotency.sql`,
    /// with the configured table name); applying it again changes nothing.
    public func migrate() async throws(IdempotencyStoreError) {
        for statement in schema.migration {
            _ = try await run("migrate", .text(statement), PostgresBindings()) { _ in }
        }
    }

    /// The migration's SQL for `table`, as ``migrate()`` applies it: for a database administrator to review or
    /// apply by hand.
    public static func migrationSQL(table: String = PostgresStoreConfiguration.defaultTable) -> String {
        PostgresSchema(table: table).migration.joined(separator: "\n")
    }

    // MARK: - IdempotencyStore

    public func claim(
        key: IdempotencyKey,
        token: String,
        payloadHash: String?,
        inProgressUntil: Int64,
        expiresAt: Int64,
        now: Int64
    ) async throws(IdempotencyStoreError) -> ClaimResult {
        guard !token.isEmpty else {
            throw IdempotencyStoreError("the claim of \(key) has an empty token", code: .invalidRequest)
        }
        var binds = PostgresBindings(capacity: 6)
        binds.append(key.hex)
        binds.append(token)
        binds.append(payloadHash)
        binds.append(inProgressUntil)
        binds.append(expiresAt)
        binds.append(now)
        // The row the statement read is its snapshot; a concurrent change committed after it can make the answer
        // disagree with what the write found (nothing written, yet nothing live read). Then ask again: the next
        // statement's snapshot sees that change.
        for _ in 0..<3 {
            let answer = try await run("claim of \(key)", .kind(ClaimStatement.self), binds) { rows in
                var result: (written: Int32, found: IdempotencyRecord?)?
                for row in rows {
                    let (written, status, foundToken, hash, until, expires) = try row.decode(
                        (Int32, String?, String?, String?, Int64?, Int64?).self
                    )
                    var found: IdempotencyRecord?
                    if let status, let foundToken {
                        found = IdempotencyRecord(
                            key: key.hex,
                            status: status == "completed" ? .completed : .inProgress,
                            token: foundToken,
                            expiresAt: expires,
                            inProgressUntil: until,
                            payloadHash: hash
                        )
                    }
                    result = (written, found)
                }
                return result
            }
            guard let answer else {
                throw IdempotencyStoreError("the claim of \(key) got no answer row from PostgreSQL", code: .rejected)
            }
            // The statement's WHERE is the rules' `writes`: when what it wrote agrees with what the rules make of
            // the row it read, the rules' answer is the store's.
            let decision = IdempotencyRules.claim(existing: answer.found, token: token, now: now)
            if decision.writes == (answer.written == 1) { return decision.answer }
        }
        throw IdempotencyStoreError("the claim of \(key) kept meeting concurrent changes; try again", code: .busy)
    }

    public func complete(key: IdempotencyKey, token: String) async throws(IdempotencyStoreError) -> FenceResult {
        try await fenced("completion of \(key)", CompleteStatement.self, key: key, token: token)
    }

    public func release(key: IdempotencyKey, token: String) async throws(IdempotencyStoreError) -> FenceResult {
        try await fenced("release of \(key)", ReleaseStatement.self, key: key, token: token)
    }

    public func record(for key: IdempotencyKey) async throws(IdempotencyStoreError) -> IdempotencyRecord? {
        var binds = PostgresBindings(capacity: 1)
        binds.append(key.hex)
        return try await run("lookup of \(key)", .kind(SelectStatement.self), binds) { rows in
            var found: IdempotencyRecord?
            for row in rows { found = Self.record(try row.decode(RowColumns.self)) }
            return found
        }
    }

    /// Deletes the rows that stopped counting by `now`, 10,000 at a time (each its own statement, so that live
    /// traffic is never held up for long), through the `live_until` index.
    public func purgeExpired(now: Int64) async throws(IdempotencyStoreError) -> Int {
        let pageSize: Int64 = 10_000
        var total = 0
        while true {
            var binds = PostgresBindings(capacity: 2)
            binds.append(now)
            binds.append(pageSize)
            let removed = try await run("purge", .kind(PurgeStatement.self), binds) { rows in rows.count }
            total += removed
            if removed < pageSize { return total }
        }
    }

    /// Every record, in key order, `pageSize` rows per statement: for operators (`batchproc idempotency list`),
    /// not the hot path.
    public func allRecords(pageSize: Int = 1000) async throws(IdempotencyStoreError) -> [IdempotencyRecord] {
        var records: [IdempotencyRecord] = []
        var after = ""
        while true {
            var binds = PostgresBindings(capacity: 2)
            binds.append(after)
            binds.append(Int64(pageSize))
            let page = try await run("listing", .kind(PageStatement.self), binds) { rows in
                try rows.map { Self.record(try $0.decode(RowColumns.self)) }
            }
            records += page
            guard page.count == pageSize, let last = page.last else { return records }
            after = last.key
        }
    }

    private typealias RowColumns = (String, String, String, String?, Int64, Int64)

    private static func record(_ row: RowColumns) -> IdempotencyRecord {
        IdempotencyRecord(
            key: row.0,
            status: row.1 == "completed" ? .completed : .inProgress,
            token: row.2,
            expiresAt: row.5,
            inProgressUntil: row.4,
            payloadHash: row.3
        )
    }

    private func fenced(
        _ what: String,
        _ kind: any StoreStatementKind.Type,
        key: IdempotencyKey,
        token: String
    ) async throws(IdempotencyStoreError) -> FenceResult {
        var binds = PostgresBindings(capacity: 2)
        binds.append(key.hex)
        binds.append(token)
        return try await run(what, .kind(kind), binds) { rows in rows.isEmpty ? .fenced : .applied }
    }
}
