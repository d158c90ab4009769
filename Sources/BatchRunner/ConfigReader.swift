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
}
