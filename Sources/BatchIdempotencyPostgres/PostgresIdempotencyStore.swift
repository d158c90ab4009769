public import BatchIdempotency
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
    private let schema: PostgresSchema
    private let logger: Logger
    /// The statements' deadlines, checked on a tick of a tenth of the timeout (at most 50 ms).
    private let watchdog: Watchdog
    /// While set and ahead of the monotonic clock, calls fail at once: the database was just unreachable.
    private let unreachable = Mutex<(until: ContinuousClock.Instant, reason: String)?>(nil)
    private static let failFastWindow = Duration.seconds(1)

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
        if let path = configuration.rootCertificatePath {
            tls.trustRoots = .file(path)
        }
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
        let context: NIOSSLContext
        do {
            context = try NIOSSLContext(configuration: tls)
        } catch {
            throw IdempotencyStoreError(
                "cannot set up TLS for PostgreSQL (sslmode \(configuration.tlsMode.rawValue)"
                    + (configuration.rootCertificatePath.map { ", root certificates \($0)" } ?? "") + "): \(error)",
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

    // MARK: - Running statements

    /// A statement to run: one of the store's (prepared when ``PostgresStoreConfiguration/usesPreparedStatements``)
    /// or SQL text run as it is (the migration).
    enum Statement {
        case kind(any StoreStatementKind.Type)
        case text(String)

        /// Whether the statement changes rows (the migration's text does).
        var writes: Bool {
            switch self {
            case .kind(let kind): kind.writes
            case .text: true
            }
        }
    }

    /// Runs one statement and reads its rows with `read`, within the store's timeout; once more on a fresh
    /// connection when the first was lost or stayed silent for half the timeout (every statement of the store is
    /// safe to repeat).
    private func run<Result: Sendable>(
        _ what: String,
        _ statement: Statement,
        _ binds: PostgresBindings,
        read: @escaping @Sendable ([PostgresRow]) throws -> Result
    ) async throws(IdempotencyStoreError) -> Result {
        if let reason = unreachable.withLock({ state -> String? in
            guard let state, ContinuousClock.now < state.until else { return nil }
            return state.reason
        }) {
            throw IdempotencyStoreError(
                "the \(what) was not tried: PostgreSQL (\(configuration.description)) failed less than a second "
                    + "ago (\(reason))",
                code: .unavailable
            )
        }
        let deadline = ContinuousClock.now + configuration.timeout + .milliseconds(250)
        var attempt = 0
        while true {
            attempt += 1
            let connections = self.connections
            let (schema, logger) = (self.schema, self.logger)
            let prepared: (any StoreStatementKind.Type)?
            let query: PostgresQuery
            switch statement {
            case .kind(let kind) where configuration.usesPreparedStatements:
                prepared = kind
                query = PostgresQuery(unsafeSQL: "", binds: binds)
            case .kind(let kind):
                prepared = nil
                query = PostgresQuery(unsafeSQL: kind.sql(in: schema), binds: binds)
            case .text(let sql):
                prepared = nil
                query = PostgresQuery(unsafeSQL: sql, binds: binds)
            }
            // The first try gets half the time: a statement stuck on a connection that died silently is then
            // repeated on a new one within the timeout.
            let attemptDeadline =
                attempt == 1 ? min(deadline, ContinuousClock.now + configuration.timeout / 2) : deadline
            let progress = ConnectionSet.LeaseProgress()
            let outcome = await Deadline.race(until: attemptDeadline, watchdog: watchdog) {
                let connection: PostgresConnection
                do {
                    connection = try await connections.lease(progress: progress)
                } catch {
                    throw ConnectFailure(underlying: error)
                }
                if Task.isCancelled {
                    // The caller stopped waiting while this one waited for a connection: the statement must not run
                    // now, after its failure was reported.
                    await connections.giveBack(connection, healthy: true)
                    throw CancellationError()
                }
                do {
                    let rows: [PostgresRow]
                    if let prepared {
                        rows = try await Self.execute(prepared, binds, schema: schema, on: connection, logger: logger)
                    } else {
                        rows = try await Self.collect(try await connection.query(query, logger: logger))
                    }
                    let result = try read(rows)
                    if statement.writes { try await Self.confirmCommit(on: connection, logger: logger) }
                    await connections.giveBack(connection, healthy: true)
                    return result
                } catch {
                    let failure = PostgresFailure(error)
                    // A connection on which preparing failed keeps answering that statement with the same error:
                    // after a server error on a prepared statement, the next call gets a new connection.
                    let healthy = !failure.isConnectionLost && !(prepared != nil && failure.isServerError)
                    await connections.giveBack(connection, healthy: healthy)
                    throw error
                }
            }
            switch outcome {
            case .success(let value):
                return value
            case .timedOut:
                if attempt == 1, ContinuousClock.now < deadline {
                    logger.debug(
                        "no answer from PostgreSQL yet; trying the statement once more on another connection",
                        metadata: ["operation": .string(what)]
                    )
                    continue
                }
                switch progress.stage {
                case .waiting:
                    // Every connection was busy the whole time: the store is overloaded, not the server unreachable,
                    // so the calls after this one still try.
                    throw IdempotencyStoreError(
                        "the \(what) waited \(configuration.timeout) for one of the store's "
                            + "\(configuration.maximumConnections) connections to PostgreSQL "
                            + "(\(configuration.description)), all busy: raise maxConnections or run fewer records at "
                            + "once",
                        code: .busy
                    )
                case .leased(let since) where ContinuousClock.now - since < configuration.timeout / 2:
                    // The statement got a connection late, and the server has not had its own statement timeout's
                    // time to answer: that says nothing of the server either.
                    throw IdempotencyStoreError(
                        "the \(what) got no answer from PostgreSQL (\(configuration.description)) within "
                            + "\(configuration.timeout): it waited for a free connection and started too late",
                        code: .busy
                    )
                case .leased, .connecting:
                    break
                }
                let reason = "no answer within \(configuration.timeout)"
                markUnreachable(reason)
                throw IdempotencyStoreError(
                    "the \(what) got no answer from PostgreSQL (\(configuration.description)) within "
                        + "\(configuration.timeout): the database is down, unreachable or overloaded",
                    code: .unavailable
                )
            case .cancelled:
                throw IdempotencyStoreError("the \(what) was cancelled", code: .cancelled)
            case .failure(let error as ConnectFailure):
                let failure = PostgresFailure(error.underlying)
                markUnreachable(failure.explanation)
                throw IdempotencyStoreError(
                    "the \(what) could not connect to PostgreSQL (\(configuration.description)): \(failure.explanation)",
                    code: failure.isRefusedLogin ? .invalidConfiguration : .unavailable
                )
            case .failure(let error):
                let failure = PostgresFailure(error)
                if failure.isConnectionLost, attempt == 1, ContinuousClock.now < deadline {
                    logger.debug(
                        "PostgreSQL connection lost; trying the statement once more",
                        metadata: ["operation": .string(what), "error": .string(failure.summary)]
                    )
                    continue
                }
                throw IdempotencyStoreError(
                    "the \(what) failed in PostgreSQL (\(configuration.description)): \(failure.explanation)",
                    code: failure.storeErrorCode
                )
            }
        }
    }

    /// Runs one of the store's statements prepared (postgres-nio prepares it on the connection's first use).
    private static func execute<Kind: StoreStatementKind>(
        _ kind: Kind.Type,
        _ binds: PostgresBindings,
        schema: PostgresSchema,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> [PostgresRow] {
        try await PreparationSchema.$current.withValue(schema) {
            var rows: [PostgresRow] = []
            for try await row in try await connection.execute(
                PreparedStoreStatement<Kind>(bindings: binds),
                logger: logger
            ) {
                rows.append(row)
            }
            return rows
        }
    }

    /// Waits until the server has committed the statement just run on `connection`.
    ///
    /// postgres-nio ends a statement's rows at the server's CommandComplete, but the server commits the statement's
    /// implicit transaction only at the Sync after it, and says so with ReadyForQuery. A connection cut in between
    /// (the server terminated, restarted or failed over) delivers rows, a written claim for instance, of a
    /// transaction rolled back. postgres-nio starts the next statement on a connection only after ReadyForQuery,
    /// so one more round trip that succeeds proves the commit; one that fails leaves it unknown, which the caller
    /// treats as a lost connection (every statement of the store is safe to repeat).
    ///
    /// postgres-nio never answers a statement written to a channel that has closed, so the check that the
    /// connection is open and the probe's write happen together on the connection's event loop: closed, the
    /// commit is unknown at once; closing, postgres-nio fails the probe.
    private static func confirmCommit(on connection: PostgresConnection, logger: Logger) async throws {
        let probe = connection.eventLoop.flatSubmit { () -> EventLoopFuture<Void> in
            guard !connection.isClosed else {
                return connection.eventLoop.makeFailedFuture(ConnectionClosed())
            }
            return connection.query("SELECT 1", logger: logger).map { _ in }
        }
        do {
            try await probe.get()
        } catch {
            throw CommitUnconfirmed(underlying: error)
        }
    }

    private static func collect(_ sequence: PostgresRowSequence) async throws -> [PostgresRow] {
        var rows: [PostgresRow] = []
        for try await row in sequence { rows.append(row) }
        return rows
    }

    private func markUnreachable(_ reason: String) {
        unreachable.withLock { $0 = (ContinuousClock.now + Self.failFastWindow, reason) }
    }

    /// Opening a connection failed: the database is down, unreachable, or refuses the credentials.
    private struct ConnectFailure: Error {
        let underlying: any Error
    }

    /// A write's answer arrived, but the connection failed before the server confirmed its commit.
    struct CommitUnconfirmed: Error {
        let underlying: any Error
    }

    /// The connection was already closed when the store was about to use it.
    struct ConnectionClosed: Error, CustomStringConvertible {
        var description: String { "the server closed the connection" }
    }

    static func milliseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}

/// What a PostgresNIO error means to the store, in words that name no secret.
struct PostgresFailure {
    let error: any Error

    /// Whether the error came after a write's answer, before its commit was confirmed.
    let isCommitUnconfirmed: Bool

    init(_ error: any Error) {
        if let unconfirmed = error as? PostgresIdempotencyStore.CommitUnconfirmed {
            self.error = unconfirmed.underlying
            self.isCommitUnconfirmed = true
        } else {
            self.error = error
            self.isCommitUnconfirmed = false
        }
    }

    private var psql: PSQLError? { error as? PSQLError }
    var sqlState: String? { psql?.serverInfo?[.sqlState] }

    /// The server answered with an error (the statement, not the connection, failed).
    var isServerError: Bool { psql?.code == .server }

    /// The connection went away (or never came): the statement may be tried again on another.
    var isConnectionLost: Bool {
        // Whatever ended the confirmation, the connection's state is unknown: the statement is tried again.
        if isCommitUnconfirmed { return true }
        guard let psql else { return false }
        switch psql.code {
        case .serverClosedConnection, .clientClosedConnection, .connectionError, .uncleanShutdown:
            return true
        case .server:
            // 57P01 admin_shutdown (terminated), 57P02 crash_shutdown, 57P03 cannot_connect_now, 08… connection.
            guard let state = sqlState else { return false }
            return state == "57P01" || state == "57P02" || state == "57P03" || state.hasPrefix("08")
        default:
            return false
        }
    }

    /// The server refused the login (SQLSTATE class 28: a wrong password, a user it does not know).
    var isRefusedLogin: Bool { sqlState?.hasPrefix("28") == true }

    /// The store error code for a statement that failed this way.
    var storeErrorCode: IdempotencyStoreError.Code {
        if isConnectionLost { return .unavailable }
        if isRefusedLogin { return .invalidConfiguration }
        return isServerError ? .rejected : .unavailable
    }

    /// A short form for logs.
    var summary: String {
        guard let psql else { return "\(type(of: error))" }
        if let state = sqlState { return "\(psql.code) \(state)" }
        return "\(psql.code)"
    }

    /// The server's message and code, or the client's kind of error, with a hint where one helps.
    var explanation: String {
        let prefix = isCommitUnconfirmed ? "the connection failed before the server confirmed the commit: " : ""
        return prefix + serverExplanation
    }

    private var serverExplanation: String {
        guard let psql else { return "\(error)" }
        if psql.code == .server, let info = psql.serverInfo {
            let message = info[.message] ?? "error"
            let state = info[.sqlState] ?? "?"
            switch state {
            case "42P01":
                return "\(message) (SQLSTATE \(state)): create the table with `batchproc idempotency migrate` "
                    + "(or PostgresIdempotencyStore.migrate())"
            case "57014":
                return "\(message) (SQLSTATE \(state)): the statement ran past the store's timeout"
            case "28P01", "28000":
                return "\(message) (SQLSTATE \(state)): check the user name and password"
            default:
                return "\(message) (SQLSTATE \(state))"
            }
        }
        var text = "\(psql.code)"
        if let underlying = psql.underlying { text += ": \(underlying)" }
        return text
    }
}
