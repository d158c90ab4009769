import ArgumentParser
import BatchIdempotency
import BatchProcessing
import BatchRunner

/// The options that put idempotency in `batchproc process`'s chain.
struct IdempotencyOptions: ParsableArguments {
    @Option(
        name: .customLong("idempotency-store"),
        help: "Make records idempotent with the file store in this folder (created 0700 when missing)."
    )
    var store: String?

    @Option(
        name: .customLong("idempotency-postgres"),
        help: ArgumentHelp(
            "Make records idempotent with the PostgreSQL store at this URL (postgres://user[:password]@host:port/database); what it leaves out comes from PGHOST, PGUSER, PGPASSWORD… The table comes from `batchproc idempotency migrate`.",
            valueName: "url"
        )
    )
    var postgres: String?

    @Option(
        name: .customLong("idempotency-postgres-table"),
        help: "The PostgreSQL store's table (default batch_idempotency)."
    )
    var postgresTable: String?

    @Option(
        name: .customLong("idempotency-dynamodb"),
        help: ArgumentHelp(
            "Make records idempotent with the DynamoDB store in this table; the region, the endpoint and the credentials come from AWS_REGION, AWS_ENDPOINT_URL_DYNAMODB, AWS_ACCESS_KEY_ID… The table comes from `batchproc idempotency migrate --idempotency-dynamodb TABLE`.",
            valueName: "table"
        )
    )
    var dynamodb: String?

    @Option(
        name: .customLong("idempotency-key"),
        help:
            "What keys a record: identity (messageId, sequence number, topic-partition and offset), payload, or json:PATH."
    )
    var key: String = "identity"

    @Option(
        name: .customLong("idempotency-expiry"),
        help: "Seconds a completed key makes redeliveries replays (default 3600)."
    )
    var expiry: Double = 3600

    @Option(
        name: .customLong("idempotency-in-progress-expiry"),
        help: "Seconds an in-progress key is held before another process may take it over (default 60)."
    )
    var inProgressExpiry: Double = 60

    @Option(name: .customLong("idempotency-namespace"), help: "Put before every key (default: the function's name).")
    var namespace: String?

    @Flag(name: .customLong("idempotency-durable"), help: "Flush the store to disk before a state change counts.")
    var durable = false

    @Flag(
        name: .customLong("idempotency-validate-payload"),
        help: "A completed key with a different payload is an error, not a replay."
    )
    var validatePayload = false

    func validate() throws {
        if [store != nil, postgres != nil, dynamodb != nil].filter({ $0 }).count > 1 {
            throw ValidationError(
                "--idempotency-store, --idempotency-postgres and --idempotency-dynamodb name different stores: give one"
            )
        }
        if postgresTable != nil, postgres == nil {
            throw ValidationError("--idempotency-postgres-table needs --idempotency-postgres")
        }
        if durable, postgres != nil || dynamodb != nil {
            throw ValidationError(
                "--idempotency-durable is for the file store; PostgreSQL and DynamoDB commit every change"
            )
        }
        _ = try keySource()
        guard expiry > 0, expiry.isFinite else {
            throw ValidationError("--idempotency-expiry must be a number of seconds above 0, not \(expiry)")
        }
        guard inProgressExpiry >= 0, inProgressExpiry.isFinite else {
            throw ValidationError(
                "--idempotency-in-progress-expiry must be a number of seconds, 0 or more, not \(inProgressExpiry)"
            )
        }
    }

    func keySource() throws -> IdempotencyKeySource {
        guard let source = IdempotencyKeySource(name: key) else {
            throw ValidationError("--idempotency-key must be identity, payload or json:PATH, not '\(key)'")
        }
        return source
    }

    /// Where the options put the store, if anywhere.
    var location: IdempotencyStoreLocation? {
        if let store { return .fileSystem(directory: store, durable: durable) }
        if let postgres { return .postgres(.init(url: postgres, table: postgresTable)) }
        if let dynamodb { return .dynamodb(.init(table: dynamodb)) }
        return nil
    }

    /// The middleware, or `nil` without a store option: the same step a chain file's `idempotency` makes.
    func middleware(openStore: @escaping IdempotencyStoreOpener) throws -> (any RecordMiddleware)? {
        guard let location else { return nil }
        let step = ChainConfiguration.Step.idempotency(
            .init(
                keySource: try keySource(),
                namespace: namespace,
                expiry: .milliseconds(Int64(expiry * 1000)),
                inProgressExpiry: .milliseconds(Int64(inProgressExpiry * 1000)),
                validatesPayload: validatePayload
            ),
            store: location
        )
        do {
            return try step.makeMiddleware(openStore: openStore)
        } catch {
            throw UsageError(.storeFailed, message: error.message)
        }
    }
}
