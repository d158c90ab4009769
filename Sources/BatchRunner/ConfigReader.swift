import BatchIdempotency
import BatchProcessing

/// Checks a parsed configuration against what the chain takes, applying environment variables, and says exactly
/// what is wrong and where.
struct ConfigReader {
    let source: String
    let environment: [String: String]
    /// The processor settings that the file and the variables change.
    let processorDefaults: BatchProcessor.Configuration
    /// Whether `BATCH_PROCESSING_POLICY` and the other processor variables replace the file's `processor` section.
    let readsProcessorVariables: Bool

    init(
        source: String,
        environment: [String: String],
        processorDefaults: BatchProcessor.Configuration = BatchProcessor.Configuration(),
        readsProcessorVariables: Bool = true
    ) {
        self.source = source
        self.environment = environment
        self.processorDefaults = processorDefaults
        self.readsProcessorVariables = readsProcessorVariables
    }

    func error(_ path: String, _ message: String, code: ConfigurationError.Code = .invalidValue) -> ConfigurationError {
        ConfigurationError(code, message: "\(source): \(path.isEmpty ? "" : path + " ")\(message)")
    }

    // MARK: - Objects

    /// The fields of an object, refusing keys not in `allowed`.
    func fields(_ value: ConfigValue?, at path: String, allowed: [String]) throws -> [String: ConfigValue] {
        guard let value else { return [:] }
        if case .null = value { return [:] }
        guard case .object(let pairs) = value else {
            throw error(path, "must be an object, not \(value.typeName)")
        }
        var result: [String: ConfigValue] = [:]
        for (key, field) in pairs {
            guard allowed.contains(key) else {
                throw error(
                    path.isEmpty ? key : path + "." + key,
                    "is not a setting here; expected one of " + allowed.joined(separator: ", "),
                    code: .unknownSetting
                )
            }
            guard result[key] == nil else { throw error(path.isEmpty ? key : path + "." + key, "is given twice") }
            result[key] = field
        }
        return result
    }

    /// `BATCH_PROCESSING_` and the words of `names` in upper case joined by `_`.
    static func variable(_ names: [String]) -> String {
        var words: [String] = ["BATCH_PROCESSING"]
        for name in names {
            var word = ""
            for character in name {
                if character.isUppercase, !word.isEmpty {
                    words.append(word)
                    word = ""
                }
                word.append(Character(character.uppercased()))
            }
            if !word.isEmpty { words.append(word) }
        }
        return words.joined(separator: "_")
    }

    /// The scalar at `key`, or the variable that replaces it: `(text or value, where it came from)`.
    private func scalar(
        _ fields: [String: ConfigValue],
        _ key: String,
        path: String,
        variable: String?
    )
        -> (ConfigValue, String)?
    {
        if let variable, let text = environment[variable] { return (.string(text), variable) }
        guard let value = fields[key] else { return nil }
        if case .null = value { return nil }
        return (value, path.isEmpty ? key : path + "." + key)
    }

    private func place(_ origin: String) -> String {
        origin.hasPrefix("BATCH_PROCESSING_") ? "the variable \(origin)" : origin
    }

    func integer(
        _ fields: [String: ConfigValue],
        _ key: String,
        path: String,
        variable: String?,
        minimum: Int = Int.min
    ) throws -> Int? {
        guard let (value, origin) = scalar(fields, key, path: path, variable: variable) else { return nil }
        let number: Int?
        switch value {
        case .number(let double) where double == double.rounded() && abs(double) < 1e15: number = Int(double)
        case .string(let text): number = Int(text)
        default: number = nil
        }
        guard let number, number >= minimum else {
            throw ConfigurationError(
                .invalidValue,
                message: "\(source): \(place(origin)) must be a whole number"
                    + (minimum > Int.min ? " of at least \(minimum)" : "") + ", not \(describe(value))"
            )
        }
        return number
    }

    func number(
        _ fields: [String: ConfigValue],
        _ key: String,
        path: String,
        variable: String?,
        minimum: Double
    )
        throws -> Double?
    {
        guard let (value, origin) = scalar(fields, key, path: path, variable: variable) else { return nil }
        let number: Double?
        switch value {
        case .number(let double): number = double
        case .string(let text): number = Double(text)
        default: number = nil
        }
        guard let number, number.isFinite, number >= minimum else {
            throw ConfigurationError(
                .invalidValue,
                message: "\(source): \(place(origin)) must be a number of at least \(minimum), not \(describe(value))"
            )
        }
        return number
    }

    func boolean(_ fields: [String: ConfigValue], _ key: String, path: String, variable: String?) throws -> Bool? {
        guard let (value, origin) = scalar(fields, key, path: path, variable: variable) else { return nil }
        switch value {
        case .bool(let flag): return flag
        case .string(let text):
            switch text.lowercased() {
            case "true", "1", "yes": return true
            case "false", "0", "no": return false
            default: break
            }
        default: break
        }
        throw ConfigurationError(
            .invalidValue,
            message: "\(source): \(place(origin)) must be true or false, not \(describe(value))"
        )
    }

    func text(_ fields: [String: ConfigValue], _ key: String, path: String, variable: String?) throws -> String? {
        try textAndOrigin(fields, key, path: path, variable: variable)?.text
    }

    /// The text at `key` (or in its variable), and where it came from, for a message about its value.
    func textAndOrigin(
        _ fields: [String: ConfigValue],
        _ key: String,
        path: String,
        variable: String?
    ) throws -> (text: String, origin: String)? {
        guard let (value, origin) = scalar(fields, key, path: path, variable: variable) else { return nil }
        guard case .string(let text) = value, !text.isEmpty else {
            throw ConfigurationError(
                .invalidValue,
                message: "\(source): \(place(origin)) must be text, not \(describe(value))"
            )
        }
        return (text, origin)
    }

    func list<T>(
        _ fields: [String: ConfigValue],
        _ key: String,
        path: String,
        _ element: (ConfigValue) -> T?
    ) throws
        -> [T]
    {
        guard let value = fields[key] else { return [] }
        let here = path.isEmpty ? key : path + "." + key
        guard case .array(let items) = value else { throw error(here, "must be a list, not \(value.typeName)") }
        return try items.enumerated().map { index, item in
            guard let converted = element(item) else {
                throw error("\(here)[\(index)]", "has the wrong type: \(describe(item))")
            }
            return converted
        }
    }

    private func describe(_ value: ConfigValue) -> String {
        switch value {
        case .string(let text): "\"\(text)\""
        case .number(let number):
            number == number.rounded() && abs(number) < 1e15 ? String(Int(number)) : String(number)
        case .bool(let flag): String(flag)
        default: value.typeName
        }
    }

    // MARK: - The chain

    mutating func read(_ value: ConfigValue) throws -> ChainConfiguration {
        let top = try fields(value, at: "", allowed: ["processor", "middleware"])
        let (processor, processorKeysGiven) = try readProcessor(top["processor"])
        var steps: [ChainConfiguration.Step] = []
        var seen: Set<String> = []
        if let middleware = top["middleware"] {
            guard case .array(let items) = middleware else {
                throw error("middleware", "must be a list of steps, outermost first, not \(middleware.typeName)")
            }
            for (index, item) in items.enumerated() {
                let path = "middleware[\(index)]"
                guard case .object(let pairs) = item, pairs.count == 1, let (kind, options) = pairs.first else {
                    throw error(
                        path,
                        "must be an object with one key naming the middleware (retry, idempotency, timeout, "
                            + "faultInjection)"
                    )
                }
                // Variables change the first step of each kind.
                let firstOfKind = seen.insert(kind).inserted
                steps.append(try readStep(kind, options, path: path + "." + kind, variables: firstOfKind))
            }
        }
        var chain = ChainConfiguration(processor: processor, middleware: steps, source: source)
        chain.processorKeysGiven = processorKeysGiven
        return chain
    }

    private func readProcessor(_ value: ConfigValue?) throws -> (BatchProcessor.Configuration, Set<String>) {
        let path = "processor"
        let fields = try fields(
            value,
            at: path,
            allowed: ["policy", "maxConcurrency", "deadlineMarginMs", "throwOnFullBatchFailure"]
        )
        func variable(_ name: String) -> String? { readsProcessorVariables ? name : nil }
        var configuration = processorDefaults
        if let (name, origin) = try textAndOrigin(
            fields,
            "policy",
            path: path,
            variable: variable("BATCH_PROCESSING_POLICY")
        ) {
            guard let policy = FailurePolicy(name: name) else {
                throw ConfigurationError(
                    .invalidValue,
                    message: "\(source): \(place(origin)) must be one of "
                        + "\(FailurePolicy.all.map(\.name).joined(separator: ", ")), not \"\(name)\""
                )
            }
            configuration.policy = policy
        }
        if let value = try integer(
            fields,
            "maxConcurrency",
            path: path,
            variable: variable("BATCH_PROCESSING_MAX_CONCURRENCY"),
            minimum: 1
        ) {
            configuration.maxConcurrency = value
        }
        if let value = try integer(
            fields,
            "deadlineMarginMs",
            path: path,
            variable: variable("BATCH_PROCESSING_DEADLINE_MARGIN_MS"),
            minimum: 0
        ) {
            configuration.deadlineMargin = .milliseconds(value)
        }
        if let value = try boolean(
            fields,
            "throwOnFullBatchFailure",
            path: path,
            variable: variable("BATCH_PROCESSING_THROW_ON_FULL_BATCH_FAILURE")
        ) {
            configuration.throwsOnFullBatchFailure = value
        }
        let given = Set(fields.filter { if case .null = $0.value { false } else { true } }.keys)
        return (configuration, given)
    }

    private func readStep(
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

    private func readIdempotency(
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

    /// `store: { file: { directory, durable } }` or `store: { postgres: { url, table, timeoutSeconds,
    /// maxConnections } }`: exactly one.
    private func readStore(
        _ value: ConfigValue?,
        path: String,
        variable: (String...) -> String?
    ) throws -> IdempotencyStoreLocation {
        let storeFields = try self.fields(value, at: path, allowed: ["file", "postgres"])
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
                "is required: store: { file: { directory: … } } or store: { postgres: { url: … } }",
                code: .missingValue
            )
        }
    }
}
