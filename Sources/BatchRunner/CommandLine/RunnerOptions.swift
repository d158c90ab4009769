public import ArgumentParser
public import BatchProcessing
public import JSONLogging
public import Logging
public import Observability

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The options every runner command that processes batches takes (`invoke`, `replay`, `serve` of a
/// ``BatchProgram``, and `batchproc`'s commands): the event source, the policy and concurrency, the chain file, and
/// the logs. A flag wins over its environment variable, which a chain file's settings yield to in turn.
public struct RunnerOptions: ParsableArguments, Sendable {
    /// The variable that names the chain file when `--config` is not given (for a Lambda function, whose
    /// arguments cannot be set).
    public static let configVariable = "BATCH_PROCESSING_CONFIG"

    @Option(
        help:
            "The event source: auto (from the event's eventSource), sqs, kinesis, dynamodb, kafka or self-managed-kafka."
    )
    public var source: String = "auto"

    @Option(help: "auto, continue, stop-on-first-failure, skip-group or skip-key.")
    public var policy: String?

    @Option(parsing: .unconditional, help: "How many records may run at once (at least 1).")
    public var concurrency: String?

    @Flag(help: "Answer with a response listing every record instead of failing when all records fail.")
    public var noThrowOnFullBatchFailure = false

    @Option(help: "Log level, in any case: trace, debug, info, notice, warning, error, critical.")
    public var logLevel: String = "info"

    @Option(help: "Log format on standard error: json or text.")
    public var logFormat: String = "json"

    @Flag(help: "Add each failed record's payload to its log line.")
    public var logPayloads = false

    @Option(
        help: ArgumentHelp(
            "The processor and its middleware chain, from a JSON or YAML file (see the README); flags for the policy, concurrency and throwing still win. Default: the file BATCH_PROCESSING_CONFIG names, if set.",
            valueName: "file"
        )
    )
    public var config: String?

    /// Creates the options with their defaults (ArgumentParser fills them from the arguments).
    public init() {}

    /// The options once checked.
    public struct Settings: Sendable {
        /// The source events are read as, or `nil` to detect it from each event.
        public var source: BatchEventSource?
        /// `--policy`, when given.
        public var policy: FailurePolicy?
        /// `--concurrency`, when given.
        public var concurrency: Int?
        /// `--log-level`.
        public var logLevel: Logger.Level
        /// `--log-format`.
        public var logFormat: JSONLogHandler.Configuration.Format
    }

    /// Checks the options.
    ///
    /// - Throws: a `ValidationError` that names the option and its bad value.
    public func settings() throws -> Settings {
        var settings = Settings(source: nil, policy: nil, concurrency: nil, logLevel: .info, logFormat: .json)
        if source.lowercased() != "auto" {
            guard let parsed = BatchEventSource(name: source) else {
                throw ValidationError(
                    "--source must be auto, \(BatchEventSource.all.map(\.name).joined(separator: ", ")), not '\(source)'"
                )
            }
            settings.source = parsed
        }
        if let policy {
            guard let parsed = FailurePolicy(name: policy) else {
                throw ValidationError(
                    "--policy must be one of \(FailurePolicy.all.map(\.name).joined(separator: ", ")), not '\(policy)'"
                )
            }
            settings.policy = parsed
        }
        if let concurrency {
            guard let parsed = Int(concurrency), parsed >= 1 else {
                throw ValidationError("--concurrency must be a whole number of at least 1, not '\(concurrency)'")
            }
            settings.concurrency = parsed
        }
        guard let level = JSONLogHandler.Configuration.parseLevel(logLevel) else {
            throw ValidationError(
                "--log-level must be trace, debug, info, notice, warning, error or critical (any case), not "
                    + "'\(logLevel)'"
            )
        }
        settings.logLevel = level
        guard let format = JSONLogHandler.Configuration.Format(rawValue: logFormat.lowercased()) else {
            throw ValidationError("--log-format must be json or text, not '\(logFormat)'")
        }
        settings.logFormat = format
        return settings
    }

    public func validate() throws {
        _ = try settings()
    }

    /// The chain file to read: `--config`, else the one ``configVariable`` names, else none.
    ///
    /// - Parameter environment: the variables to look in; by default the process's.
    public func configPath(environment: [String: String]? = nil) -> String? {
        if let config { return config }
        let environment = environment ?? ProcessInfo.processInfo.environment
        if let path = environment[Self.configVariable], !path.isEmpty { return path }
        return nil
    }

    /// Logs and metrics on standard error (the journal under systemd, when `base` says how to reach it), at the
    /// options' level and format.
    ///
    /// - Parameters:
    ///   - settings: the checked options.
    ///   - base: the program's observability options (service, namespace, journal handler); the level, format and
    ///     outputs are the options'.
    public func makeObservability(
        _ settings: Settings,
        base: ObservabilitySetup.Options = .init()
    ) throws(UsageError) -> ObservabilitySetup {
        var options = base
        options.logLevel = settings.logLevel
        options.logFormat = settings.logFormat
        // Standard output carries the answers.
        options.logOutput = .standardError
        options.metricsOutput = .standardError
        do {
            return try ObservabilitySetup.make(options)
        } catch {
            throw UsageError(.setupFailed, message: "cannot set up metrics: \(error)")
        }
    }

    /// The processor the options, the chain file and the environment describe.
    ///
    /// Order of strength: a flag, then its `BATCH_PROCESSING_*` variable (which is not read when the flag is
    /// given, so a bad value there is no error), then the chain file, then `defaults`. The chain file's middleware
    /// comes first (outermost), then `innerMiddleware`.
    ///
    /// - Parameters:
    ///   - settings: the checked options.
    ///   - defaults: the program's processor settings before the file, the variables and the flags.
    ///   - observability: the metrics the processor and the chain's middleware report to.
    ///   - stores: opens the idempotency stores the chain file names.
    ///   - innerMiddleware: steps inside (after) the chain file's.
    ///   - environment: the variables; by default the process's.
    /// - Throws: ``UsageError`` for a bad chain file, a bad variable or a store that cannot be opened.
    public func makeProcessor(
        _ settings: Settings,
        defaults: BatchProcessor.Configuration = BatchProcessor.Configuration(),
        observability: ObservabilitySetup,
        stores: any IdempotencyStoreProvider,
        innerMiddleware: [any RecordMiddleware] = [],
        environment: [String: String]? = nil
    ) throws(UsageError) -> BatchProcessor {
        typealias Key = BatchProcessor.Configuration.EnvironmentKey
        var environment = environment ?? ProcessInfo.processInfo.environment
        if settings.policy != nil { environment[Key.policy] = nil }
        if settings.concurrency != nil { environment[Key.maxConcurrency] = nil }
        if noThrowOnFullBatchFailure { environment[Key.throwsOnFullBatchFailure] = nil }

        var configuration: BatchProcessor.Configuration
        var middleware: [any RecordMiddleware] = []
        if let path = configPath(environment: environment) {
            do {
                let chain = try ChainConfiguration.load(
                    path: path,
                    environment: environment,
                    processorDefaults: defaults
                )
                configuration = chain.processor
                middleware = try chain.makeMiddleware(openStore: stores.opener)
            } catch {
                throw UsageError(.invalidConfiguration, message: "\(error)")
            }
        } else {
            do {
                configuration = try defaults.applyingEnvironment(environment)
            } catch {
                throw UsageError(.invalidConfiguration, message: error.message)
            }
        }
        configuration.instrumentation.metricsFactory = observability.metrics
        configuration.instrumentation.flushMetrics = observability.flushMetrics
        configuration.instrumentation.logsRecordPayloads = logPayloads
        if let policy = settings.policy { configuration.policy = policy }
        if let concurrency = settings.concurrency { configuration.maxConcurrency = concurrency }
        if noThrowOnFullBatchFailure { configuration.throwsOnFullBatchFailure = false }
        return BatchProcessor(configuration: configuration, middleware: middleware + innerMiddleware)
    }
}
