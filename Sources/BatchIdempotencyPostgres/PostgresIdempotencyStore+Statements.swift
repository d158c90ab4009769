import BatchIdempotency
import Logging
import PostgresNIO
import Synchronization

// How the store runs a statement: on a pooled connection within the call's time, its commit confirmed, a lost
// connection tried again, an unreachable server failed fast; and the errors it turns PostgreSQL's failures into.

extension PostgresIdempotencyStore {
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
    func run<Result: Sendable>(
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
    static func execute<Kind: StoreStatementKind>(
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
    static func confirmCommit(on connection: PostgresConnection, logger: Logger) async throws {
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

    static func collect(_ sequence: PostgresRowSequence) async throws -> [PostgresRow] {
        var rows: [PostgresRow] = []
        for try await row in sequence { rows.append(row) }
        return rows
    }

    func markUnreachable(_ reason: String) {
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
