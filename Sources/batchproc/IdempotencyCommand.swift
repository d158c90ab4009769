import ArgumentParser
import BatchIdempotency
import BatchIdempotencyDynamoDB
import BatchIdempotencyPostgres
import BatchProcessingJSONSupport
import BatchRunner
import BatchRunnerDynamoDB
import BatchRunnerPostgres

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `batchproc idempotency`: look into and tidy a store, file, PostgreSQL or DynamoDB; create the PostgreSQL or DynamoDB
/// table.
struct IdempotencyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "idempotency",
        abstract:
            "Operate an idempotency store (a file store's folder, a PostgreSQL database or a DynamoDB table): count, list, show a key, purge expired records, create the PostgreSQL or DynamoDB table.",
        subcommands: [Count.self, List.self, Show.self, Purge.self, Migrate.self]
    )

    /// An opened store, of either kind.
    enum OpenedStore {
        case file(FileIdempotencyStore)
        case postgres(PostgresIdempotencyStore)
        case dynamodb(DynamoDBIdempotencyStore)

        var store: any IdempotencyStore {
            switch self {
            case .file(let store): store
            case .postgres(let store): store
            case .dynamodb(let store): store
            }
        }

        func close() async {
            switch self {
            case .file: break
            case .postgres(let store): await store.shutdown()
            case .dynamodb(let store): await store.shutdown()
            }
        }
    }

    /// Where a DynamoDB store is: its table; the region, endpoint and credentials from the AWS variables.
    struct DynamoDBOptions: ParsableArguments {
        @Option(
            name: .customLong("idempotency-dynamodb"),
            help: ArgumentHelp(
                "The DynamoDB store's table; the region, the endpoint and the credentials come from AWS_REGION, AWS_ENDPOINT_URL_DYNAMODB, AWS_ACCESS_KEY_ID…",
                valueName: "table"
            )
        )
        var table: String?

        func configuration(environment: [String: String]) throws -> DynamoDBStoreConfiguration? {
            guard let table else { return nil }
            do {
                return try DynamoDBStoreProvider.configuration(.init(table: table), environment: environment)
            } catch {
                throw UsageError(.invalidConfiguration, message: error.message)
            }
        }
    }

    /// Where a PostgreSQL store is: its URL (or the `PG*` variables) and table.
    struct PostgresOptions: ParsableArguments {
        @Option(
            name: .customLong("idempotency-postgres"),
            help: ArgumentHelp(
                "The PostgreSQL store's URL (postgres://user[:password]@host:port/database); what it leaves out comes from PGHOST, PGUSER, PGPASSWORD…",
                valueName: "url"
            )
        )
        var url: String?

        @Option(name: .customLong("table"), help: "The PostgreSQL store's table (default batch_idempotency).")
        var table: String?

        func configuration(environment: [String: String]) throws -> PostgresStoreConfiguration {
            do {
                return try PostgresStoreProvider.configuration(.init(url: url, table: table), environment: environment)
            } catch {
                throw UsageError(.invalidConfiguration, message: error.message)
            }
        }
    }

    struct StoreOptions: ParsableArguments {
        @Option(name: .customLong("store"), help: "The file store's folder.")
        var store: String?

        @OptionGroup var postgres: PostgresOptions
        @OptionGroup var dynamodb: DynamoDBOptions

        func validate() throws {
            let named = [store != nil, postgres.url != nil, dynamodb.table != nil].filter { $0 }.count
            if named > 1 {
                throw ValidationError(
                    "--store, --idempotency-postgres and --idempotency-dynamodb name different stores: give one"
                )
            }
            if named == 0 {
                throw ValidationError(
                    "name the store: --store DIR (file store), --idempotency-postgres URL or --idempotency-dynamodb TABLE"
                )
            }
            if postgres.table != nil, postgres.url == nil {
                throw ValidationError("--table is for the PostgreSQL store (--idempotency-postgres)")
            }
        }

        func open(_ context: RunnerContext) throws -> OpenedStore {
            if let configuration = try dynamodb.configuration(environment: context.environment) {
                do {
                    return .dynamodb(try DynamoDBIdempotencyStore(configuration: configuration))
                } catch {
                    throw UsageError(.storeFailed, message: error.message)
                }
            }
            if postgres.url != nil {
                do {
                    return .postgres(
                        try PostgresIdempotencyStore(
                            configuration: try postgres.configuration(environment: context.environment)
                        )
                    )
                } catch let error as IdempotencyStoreError {
                    throw UsageError(.storeFailed, message: error.message)
                }
            }
            guard let store else {
                throw UsageError(
                    .invalidArguments,
                    message: "name the store: --store DIR or --idempotency-postgres URL"
                )
            }
            var isFolder = false
            do {
                isFolder = try FileIdempotencyStore.isStore(directory: store)
            } catch {
                throw UsageError(.storeFailed, message: error.message)
            }
            guard isFolder else {
                throw UsageError(.invalidArguments, message: "\(store) is not an idempotency file store")
            }
            do {
                return .file(try FileIdempotencyStore(directory: store))
            } catch {
                throw UsageError(.storeFailed, message: error.message)
            }
        }
    }

    /// Runs `body` on the store the options name, closing it after.
    static func withStore<Result>(
        _ options: StoreOptions,
        _ context: RunnerContext,
        _ body: (OpenedStore) async throws -> Result
    ) async throws -> Result {
        let opened = try options.open(context)
        do {
            let result = try await body(opened)
            await opened.close()
            return result
        } catch {
            await opened.close()
            throw error
        }
    }

    /// Every record of the store. In a file store unreadable ones are reported on stderr and skipped.
    static func records(_ opened: OpenedStore, streams: StandardStreams) async throws -> [IdempotencyRecord] {
        switch opened {
        case .postgres(let store):
            do {
                return try await store.allRecords()
            } catch {
                throw UsageError(.storeFailed, message: error.message)
            }
        case .dynamodb(let store):
            do {
                return try await store.allRecords()
            } catch {
                throw UsageError(.storeFailed, message: error.message)
            }
        case .file(let store):
            var records: [IdempotencyRecord] = []
            for key in try store.allKeys() {
                do {
                    if let record = try await store.record(for: key) { records.append(record) }
                } catch {
                    streams.error("batchproc: warning: \(error.message)")
                }
            }
            return records
        }
    }

    static func state(of record: IdempotencyRecord, now: Int64) -> String {
        record.isExpired(at: now) ? "expired" : record.status.rawValue
    }

    struct Count: RunnerCommand {
        static let configuration = CommandConfiguration(
            commandName: "count",
            abstract: "Count records by state (JSON on stdout)."
        )
        @OptionGroup var options: StoreOptions

        func run(_ context: RunnerContext) async throws {
            let now = WallClock.nowMilliseconds()
            var counts = ["in_progress": 0, "completed": 0, "expired": 0]
            let records = try await IdempotencyCommand.withStore(options, context) {
                try await IdempotencyCommand.records($0, streams: context.streams)
            }
            for record in records {
                counts[IdempotencyCommand.state(of: record, now: now), default: 0] += 1
            }
            var json = JSONText()
            json.beginObject()
            for name in ["completed", "in_progress", "expired"] {
                json.key(name)
                json.integer(counts[name] ?? 0)
            }
            json.endObject()
            guard context.streams.output(json.string) else { throw ExitCode(ExitStatus.outputFailed) }
        }
    }

    struct List: RunnerCommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "List records, one JSON object per line."
        )
        @OptionGroup var options: StoreOptions
        @Option(help: "Only records in this state: in_progress, completed or expired.")
        var state: String?

        func validate() throws {
            if let state, !["in_progress", "completed", "expired"].contains(state) {
                throw ValidationError("--state must be in_progress, completed or expired, not '\(state)'")
            }
        }

        func run(_ context: RunnerContext) async throws {
            let now = WallClock.nowMilliseconds()
            let records = try await IdempotencyCommand.withStore(options, context) {
                try await IdempotencyCommand.records($0, streams: context.streams)
            }
            for record in records {
                let recordState = IdempotencyCommand.state(of: record, now: now)
                if let state, state != recordState { continue }
                guard context.streams.output(IdempotencyCommand.json(record, state: recordState)) else {
                    throw ExitCode(ExitStatus.outputFailed)
                }
            }
        }
    }

    struct Show: RunnerCommand {
        static let configuration = CommandConfiguration(
            commandName: "show",
            abstract: "Show one key's record (exit 1 when it has none)."
        )
        @OptionGroup var options: StoreOptions
        @Argument(help: "The key: 64 hex digits, as `list` prints them.")
        var key: String

        func validate() throws {
            guard IdempotencyKey(hex: key) != nil else {
                throw ValidationError("the key must be 64 lower-case hex digits, not '\(key)'")
            }
        }

        func run(_ context: RunnerContext) async throws {
            guard let key = IdempotencyKey(hex: key) else { return }
            let record = try await IdempotencyCommand.withStore(options, context) { opened in
                do {
                    return try await opened.store.record(for: key)
                } catch let error as IdempotencyStoreError {
                    throw UsageError(.storeFailed, message: error.message)
                }
            }
            guard let record else {
                context.streams.error("batchproc: no record for key \(key)")
                throw ExitCode(1)
            }
            let state = IdempotencyCommand.state(of: record, now: WallClock.nowMilliseconds())
            guard context.streams.output(IdempotencyCommand.json(record, state: state)) else {
                throw ExitCode(ExitStatus.outputFailed)
            }
        }
    }

    struct Purge: RunnerCommand {
        static let configuration = CommandConfiguration(
            commandName: "purge",
            abstract: "Remove expired records; prints how many."
        )
        @OptionGroup var options: StoreOptions

        func run(_ context: RunnerContext) async throws {
            let removed = try await IdempotencyCommand.withStore(options, context) { opened in
                do {
                    return try await opened.store.purgeExpired(now: WallClock.nowMilliseconds())
                } catch let error as IdempotencyStoreError {
                    throw UsageError(.storeFailed, message: error.message)
                }
            }
            guard context.streams.output("{\"purged\":\(removed)}") else { throw ExitCode(ExitStatus.outputFailed) }
        }
    }

    struct Migrate: RunnerCommand {
        static let configuration = CommandConfiguration(
            commandName: "migrate",
            abstract:
                "Create the PostgreSQL store's table and index, or the DynamoDB store's table with its time to live, when missing (running it again changes nothing); --print shows the SQL or the AWS CLI commands instead."
        )

        @OptionGroup var postgres: PostgresOptions
        @OptionGroup var dynamodb: DynamoDBOptions

        @Flag(help: "Print the SQL (or the AWS CLI commands) on standard output and connect to nothing.")
        var print = false

        func validate() throws {
            if dynamodb.table != nil, postgres.url != nil || postgres.table != nil {
                throw ValidationError("--idempotency-dynamodb and the PostgreSQL options name two stores: give one")
            }
        }

        func run(_ context: RunnerContext) async throws {
            if let table = dynamodb.table {
                try await migrateDynamoDB(table: table, context)
                return
            }
            let configuration: PostgresStoreConfiguration
            if print, postgres.url == nil {
                var offline = PostgresStoreConfiguration(username: "unused")
                offline.table = postgres.table ?? PostgresStoreConfiguration.defaultTable
                do {
                    try offline.validate()
                } catch {
                    throw UsageError(.invalidConfiguration, message: error.message)
                }
                configuration = offline
            } else {
                configuration = try postgres.configuration(environment: context.environment)
            }
            if print {
                guard context.streams.output(PostgresIdempotencyStore.migrationSQL(table: configuration.table)) else {
                    throw ExitCode(ExitStatus.outputFailed)
                }
                return
            }
            let store: PostgresIdempotencyStore
            do {
                store = try PostgresIdempotencyStore(configuration: configuration)
            } catch {
                throw UsageError(.storeFailed, message: error.message)
            }
            try await IdempotencyCommand.runMigration(
                store,
                table: configuration.table,
                database: configuration.description,
                context
            )
        }

        /// The DynamoDB table made (or checked) and its time to live turned on; or, with --print, the AWS CLI
        /// commands that do it.
        func migrateDynamoDB(table: String, _ context: RunnerContext) async throws {
            if print {
                guard context.streams.output(DynamoDBIdempotencyStore.migrationCommands(table: table)) else {
                    throw ExitCode(ExitStatus.outputFailed)
                }
                return
            }
            guard let configuration = try dynamodb.configuration(environment: context.environment) else { return }
            let store: DynamoDBIdempotencyStore
            do {
                store = try DynamoDBIdempotencyStore(configuration: configuration)
            } catch {
                throw UsageError(.storeFailed, message: error.message)
            }
            try await IdempotencyCommand.runMigration(
                store,
                table: configuration.table,
                database: configuration.description,
                context
            )
        }
    }

    /// Applies a store's migration, closes the store, and prints `{"migrated": TABLE, "database": …}`; a failed
    /// migration is printed as an error and exits 1.
    static func runMigration(
        _ store: some MigratableStore,
        table: String,
        database: String,
        _ context: RunnerContext
    ) async throws {
        do {
            try await store.migrate()
        } catch {
            await store.shutdown()
            context.streams.error("batchproc: error: \(error.message)")
            throw ExitCode(1)
        }
        await store.shutdown()
        var json = JSONText()
        json.beginObject()
        json.key("migrated")
        json.string(table)
        json.key("database")
        json.string(database)
        json.endObject()
        guard context.streams.output(json.string) else { throw ExitCode(ExitStatus.outputFailed) }
    }

    static func json(_ record: IdempotencyRecord, state: String) -> String {
        var json = JSONText()
        json.beginObject()
        json.key("key")
        json.string(record.key)
        json.key("state")
        json.string(state)
        json.key("token")
        json.string(record.token)
        if let expiresAt = record.expiresAt {
            json.key("expires_at")
            json.string(WallClock.rfc3339(milliseconds: expiresAt))
        }
        if let until = record.inProgressUntil {
            json.key("in_progress_until")
            json.string(WallClock.rfc3339(milliseconds: until))
        }
        if let hash = record.payloadHash {
            json.key("payload_hash")
            json.string(hash)
        }
        json.endObject()
        return json.string
    }
}

/// A store whose table `batchproc idempotency migrate` makes.
protocol MigratableStore {
    func migrate() async throws(IdempotencyStoreError)
    func shutdown() async
}

extension PostgresIdempotencyStore: MigratableStore {}
extension DynamoDBIdempotencyStore: MigratableStore {}
