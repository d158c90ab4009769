import BatchIdempotency
import BatchProcessing

// The chain file's middleware steps (retry, idempotency and its store, timeout, fault injection), each checked
// against what it takes, with the variables of the first step of each kind.

extension ConfigReader {
    func readStep(
        _ kind: String,
        _ options: ConfigValue,
        path: String,
        variables: Bool
    ) throws
        -> ChainConfiguration.Step
    {
        func variable(_ names: String...) -> String? { variables ? Self.variable([kind] + names) : nil }
        switch kind {
        case "retry":
            let fields = try fields(options, at: path, allowed: ["maxAttempts", "baseDelayMs", "maxDelayMs", "jitter"])
            let attempts = try integer(fields, "maxAttempts", path: path, variable: variable("maxAttempts"), minimum: 1)
            let base = try integer(fields, "baseDelayMs", path: path, variable: variable("baseDelayMs"), minimum: 0)
            let cap = try integer(fields, "maxDelayMs", path: path, variable: variable("maxDelayMs"), minimum: 0)
            let jitter = try boolean(fields, "jitter", path: path, variable: variable("jitter"))
            return .retry(
                RetryStrategy(
                    maxAttempts: attempts ?? 3,
                    baseDelay: .milliseconds(base ?? 100),
                    maxDelay: .milliseconds(cap ?? 5000),
                    jitter: jitter ?? true
                )
            )
        case "timeout":
            let fields = try fields(options, at: path, allowed: ["seconds"])
            guard let seconds = try number(fields, "seconds", path: path, variable: variable("seconds"), minimum: 0.001)
            else { throw error(path + ".seconds", "is required", code: .missingValue) }
            return .timeout(.milliseconds(Int64(seconds * 1000)))
        case "faultInjection":
            let fields = try fields(
                options,
                at: path,
                allowed: ["identifiers", "indices", "fraction", "seed", "failingAttempts"]
            )
            let identifiers = try list(fields, "identifiers", path: path) { value -> ItemIdentifier? in
                if case .string(let text) = value { return ItemIdentifier(text) }
                return nil
            }
            let indices = try list(fields, "indices", path: path) { value -> Int? in
                if case .number(let number) = value, number >= 0, number == number.rounded() { return Int(number) }
                return nil
            }
            let fraction = try number(fields, "fraction", path: path, variable: variable("fraction"), minimum: 0) ?? 0
            guard fraction <= 1 else { throw error(path + ".fraction", "must be between 0 and 1, not \(fraction)") }
            let seed = try integer(fields, "seed", path: path, variable: variable("seed"), minimum: 0) ?? 0
            let failing = try integer(
                fields,
                "failingAttempts",
                path: path,
                variable: variable("failingAttempts"),
                minimum: 1
            )
            return .faultInjection(
                FaultInjectionMiddleware(
                    identifiers: Set(identifiers),
                    indices: Set(indices),
                    fraction: fraction,
                    seed: UInt64(seed),
                    failingAttempts: failing
                )
            )
        case "idempotency":
            return try readIdempotency(options, path: path, variable: variable)
        default:
            throw error(
                path,
                "is not a middleware; expected retry, idempotency, timeout or faultInjection",
                code: .unknownSetting
            )
        }
    }

    func readIdempotency(
        _ options: ConfigValue,
        path: String,
        variable: (String...) -> String?
    ) throws
        -> ChainConfiguration.Step
    {
        let fields = try fields(
            options,
            at: path,
            allowed: [
                "store", "key", "expirySeconds", "inProgressExpirySeconds", "takeoverMarginSeconds", "validatePayload",
                "namespace", "missingKey", "cacheSize",
            ]
        )
        let store = try readStore(fields["store"], path: path + ".store", variable: variable)
        var configuration = IdempotencyMiddleware.Configuration()
        if let key = try text(fields, "key", path: path, variable: variable("key")) {
            guard let source = IdempotencyKeySource(name: key) else {
                throw error(path + ".key", "must be identity, payload or json:<path>, not \"\(key)\"")
            }
            configuration.keySource = source
        }
        func seconds(_ key: String, minimum: Double) throws -> Duration? {
            try number(fields, key, path: path, variable: variable(key), minimum: minimum).map {
                .milliseconds(Int64($0 * 1000))
            }
        }
        if let expiry = try seconds("expirySeconds", minimum: 0.001) { configuration.expiry = expiry }
        if let expiry = try seconds("inProgressExpirySeconds", minimum: 0) { configuration.inProgressExpiry = expiry }
        if let margin = try seconds("takeoverMarginSeconds", minimum: 0) { configuration.takeoverMargin = margin }
        if let flag = try boolean(fields, "validatePayload", path: path, variable: variable("validatePayload")) {
            configuration.validatesPayload = flag
        }
        configuration.namespace = try text(fields, "namespace", path: path, variable: variable("namespace"))
        if let missing = try text(fields, "missingKey", path: path, variable: variable("missingKey")) {
            guard let behavior = IdempotencyMiddleware.MissingKey(rawValue: missing) else {
                throw error(path + ".missingKey", "must be process or fail, not \"\(missing)\"")
            }
            configuration.missingKey = behavior
        }
        if let size = try integer(fields, "cacheSize", path: path, variable: variable("cacheSize"), minimum: 0) {
            configuration.cacheSize = size
        }
        return .idempotency(configuration, store: store)
    }

    /// `store: { file: { directory, durable } }`, `store: { postgres: { url, table, timeoutSeconds,
    /// maxConnections } }` or `store: { dynamodb: { table, region, endpoint, timeoutSeconds, maxConnections } }`:
    /// exactly one.
    func readStore(
        _ value: ConfigValue?,
        path: String,
        variable: (String...) -> String?
    ) throws -> IdempotencyStoreLocation {
        let storeFields = try self.fields(value, at: path, allowed: ["file", "postgres", "dynamodb"])
        let named = ["file", "postgres", "dynamodb"].filter { storeFields[$0] != nil }
        if named.count > 1 {
            let count = named.count == 2 ? "two" : "three"
            throw error(path, "names \(count) stores (\(named.joined(separator: " and "))); keep one")
        }
        if let dynamoValue = storeFields["dynamodb"] {
            return try readDynamoDBStore(dynamoValue, path: path + ".dynamodb", variable: variable)
        }
        switch (storeFields["file"], storeFields["postgres"]) {
        case (.some, .some):
            throw error(path, "names two stores (file and postgres); keep one")
        case (.some(let fileValue), nil):
            let filePath = path + ".file"
            let file = try self.fields(fileValue, at: filePath, allowed: ["directory", "durable"])
            guard
                let directory = try text(
                    file,
                    "directory",
                    path: filePath,
                    variable: variable("store", "file", "directory")
                )
            else {
                throw error(filePath + ".directory", "is required: the folder of the file store", code: .missingValue)
            }
            let durable =
                try boolean(file, "durable", path: filePath, variable: variable("store", "file", "durable")) ?? false
            return .fileSystem(directory: directory, durable: durable)
        case (nil, .some(let postgresValue)):
            let postgresPath = path + ".postgres"
            let postgres = try self.fields(
                postgresValue,
                at: postgresPath,
                allowed: ["url", "table", "timeoutSeconds", "maxConnections"]
            )
            var settings = IdempotencyStoreLocation.Postgres()
            settings.url = try text(postgres, "url", path: postgresPath, variable: variable("store", "postgres", "url"))
            settings.table = try text(
                postgres,
                "table",
                path: postgresPath,
                variable: variable("store", "postgres", "table")
            )
            settings.timeout = try number(
                postgres,
                "timeoutSeconds",
                path: postgresPath,
                variable: variable("store", "postgres", "timeoutSeconds"),
                minimum: 0.001
            ).map { .milliseconds(Int64($0 * 1000)) }
            settings.maximumConnections = try integer(
                postgres,
                "maxConnections",
                path: postgresPath,
                variable: variable("store", "postgres", "maxConnections"),
                minimum: 1
            )
            return .postgres(settings)
        case (nil, nil):
            throw error(
                path,
                "is required: store: { file: { directory: … } } or store: { postgres: { url: … } } or "
                    + "store: { dynamodb: { table: … } }",
                code: .missingValue
            )
        }
    }

    /// `dynamodb: { table, region, endpoint, timeoutSeconds, maxConnections }`.
    func readDynamoDBStore(
        _ value: ConfigValue,
        path: String,
        variable: (String...) -> String?
    ) throws -> IdempotencyStoreLocation {
        let fields = try self.fields(
            value,
            at: path,
            allowed: ["table", "region", "endpoint", "timeoutSeconds", "maxConnections"]
        )
        guard let table = try text(fields, "table", path: path, variable: variable("store", "dynamodb", "table")) else {
            throw error(path + ".table", "is required: the DynamoDB table of the records", code: .missingValue)
        }
        var settings = IdempotencyStoreLocation.DynamoDB(table: table)
        settings.region = try text(fields, "region", path: path, variable: variable("store", "dynamodb", "region"))
        settings.endpoint = try text(
            fields,
            "endpoint",
            path: path,
            variable: variable("store", "dynamodb", "endpoint")
        )
        settings.timeout = try number(
            fields,
            "timeoutSeconds",
            path: path,
            variable: variable("store", "dynamodb", "timeoutSeconds"),
            minimum: 0.001
        ).map { .milliseconds(Int64($0 * 1000)) }
        settings.maximumConnections = try integer(
            fields,
            "maxConnections",
            path: path,
            variable: variable("store", "dynamodb", "maxConnections"),
            minimum: 1
        )
        return .dynamodb(settings)
    }
}
