import BatchIdempotency
package import BatchProcessing
package import JSONLogging
package import Logging
package import Observability

/// Where a runner setting's value came from, strongest first.
package enum SettingOrigin: Sendable, Equatable, CustomStringConvertible {
    /// A command-line flag, such as `--policy`.
    case flag(String)
    /// An environment variable, such as `BATCH_PROCESSING_POLICY`.
    case environment(String)
    /// A key of the chain file, such as `processor.policy` of `orders.yaml`.
    case chainFile(path: String, key: String)
    /// The program's own default (``BatchProgram/processor``, or the library's).
    case programDefault

    package var description: String {
        switch self {
        case .flag(let name): name
        case .environment(let name): name
        case .chainFile(let path, let key): "\(path): \(key)"
        case .programDefault: "default"
        }
    }
}

/// A processor setting that a flag, a variable, the chain file's `processor` section or the program can give.
package enum ProcessorSetting: String, CaseIterable, Sendable {
    case policy
    case maxConcurrency
    case deadlineMargin
    case throwsOnFullBatchFailure

    /// Its variable.
    package var variable: String {
        typealias Key = BatchProcessor.Configuration.EnvironmentKey
        return switch self {
        case .policy: Key.policy
        case .maxConcurrency: Key.maxConcurrency
        case .deadlineMargin: Key.deadlineMarginMilliseconds
        case .throwsOnFullBatchFailure: Key.throwsOnFullBatchFailure
        }
    }

    /// Its key on a log line.
    package var logKey: String {
        switch self {
        case .policy: "policy"
        case .maxConcurrency: "max_concurrency"
        case .deadlineMargin: "deadline_margin"
        case .throwsOnFullBatchFailure: "throw_on_full_batch_failure"
        }
    }

    /// Its key in the chain file's `processor` section.
    package var chainKey: String {
        switch self {
        case .policy: "policy"
        case .maxConcurrency: "maxConcurrency"
        case .deadlineMargin: "deadlineMarginMs"
        case .throwsOnFullBatchFailure: "throwOnFullBatchFailure"
        }
    }
}

/// Every setting of a runner command, resolved once from its four layers, strongest first: a flag, its
/// `BATCH_PROCESSING_*` variable (not read when the flag is given, so a bad value there is no error), the chain file,
/// the program's default. Each processor setting keeps where its value came from (``origins``).
package struct RunnerSettings: Sendable {
    /// The source events are read as, or `nil` to detect it from each event.
    package var source: BatchEventSource?
    /// The processor's settings, resolved (its instrumentation is set when the processor is made).
    package var processor: BatchProcessor.Configuration
    /// Where each processor setting came from.
    package var origins: [ProcessorSetting: SettingOrigin]
    /// The chain file and where its path came from (`--config` or ``RunnerOptions/configVariable``), if any.
    package var chainFile: (path: String, origin: SettingOrigin)?
    /// The chain the file describes (its middleware, outermost first), if there is a file.
    package var chain: ChainConfiguration?
    /// The log level and format (flags or their defaults), and whether failed records' payloads are logged.
    package var logLevel: Logger.Level
    package var logFormat: JSONLogHandler.Configuration.Format
    package var logsPayloads: Bool

    /// Resolves the settings.
    ///
    /// - Parameters:
    ///   - options: the parsed flags.
    ///   - source: the program's source, when `--source` is `auto`.
    ///   - defaults: the program's processor settings.
    ///   - environment: the process's variables.
    /// - Throws: ``UsageError`` for a bad chain file or a bad variable, naming it.
    package static func resolve(
        _ options: RunnerOptions,
        source: BatchEventSource? = nil,
        defaults: BatchProcessor.Configuration = BatchProcessor.Configuration(),
        environment: [String: String]
    ) throws(UsageError) -> RunnerSettings {
        var settings = RunnerSettings(
            source: options.source.source ?? source,
            processor: defaults,
            origins: Dictionary(uniqueKeysWithValues: ProcessorSetting.allCases.map { ($0, .programDefault) }),
            chainFile: nil,
            chain: nil,
            logLevel: options.logLevel.level,
            logFormat: options.logFormat.format,
            logsPayloads: options.logPayloads
        )
        let flags = Self.flags(options)

        // The chain file, over the program's defaults.
        if let config = options.config {
            settings.chainFile = (config, .flag("--config"))
        } else if let path = environment[RunnerOptions.configVariable], !path.isEmpty {
            settings.chainFile = (path, .environment(RunnerOptions.configVariable))
        }
        if let (path, _) = settings.chainFile {
            do {
                let chain = try ChainConfiguration.load(
                    path: path,
                    environment: environment,
                    processorDefaults: defaults,
                    readsProcessorVariables: false
                )
                settings.chain = chain
                settings.processor = chain.processor
                for setting in ProcessorSetting.allCases where chain.processorKeysGiven.contains(setting.chainKey) {
                    settings.origins[setting] = .chainFile(path: path, key: "processor." + setting.chainKey)
                }
            } catch {
                throw UsageError(.invalidConfiguration, message: "\(error)")
            }
        }

        // The variables, over the file: each read only when no flag gives its setting.
        for setting in ProcessorSetting.allCases where flags[setting] == nil {
            guard let value = environment[setting.variable] else { continue }
            do {
                settings.processor = try settings.processor.applyingEnvironment([setting.variable: value])
            } catch {
                throw UsageError(.invalidConfiguration, message: error.message)
            }
            settings.origins[setting] = .environment(setting.variable)
        }

        // The flags, over everything.
        if let policy = options.policy { settings.processor.policy = policy.policy }
        if let concurrency = options.concurrency { settings.processor.maxConcurrency = concurrency }
        if options.noThrowOnFullBatchFailure { settings.processor.throwsOnFullBatchFailure = false }
        for (setting, flag) in flags { settings.origins[setting] = .flag(flag) }
        return settings
    }

    /// The processor settings the flags give, with the flag's name.
    private static func flags(_ options: RunnerOptions) -> [ProcessorSetting: String] {
        var flags: [ProcessorSetting: String] = [:]
        if options.policy != nil { flags[.policy] = "--policy" }
        if options.concurrency != nil { flags[.maxConcurrency] = "--concurrency" }
        if options.noThrowOnFullBatchFailure { flags[.throwsOnFullBatchFailure] = "--no-throw-on-full-batch-failure" }
        return flags
    }

    /// Each processor setting's value and where it came from, for a log line:
    /// `["policy": "skip-group (BATCH_PROCESSING_POLICY)", "max_concurrency": "4 (--concurrency)", …]`.
    package var described: Logger.Metadata {
        var metadata: Logger.Metadata = [:]
        for setting in ProcessorSetting.allCases {
            let value =
                switch setting {
                case .policy: processor.policy.name
                case .maxConcurrency: String(processor.maxConcurrency)
                case .deadlineMargin: ReplaySummary.milliseconds(processor.deadlineMargin)
                case .throwsOnFullBatchFailure: String(processor.throwsOnFullBatchFailure)
                }
            metadata[setting.logKey] = "\(value) (\(origins[setting] ?? .programDefault))"
        }
        if let (path, origin) = chainFile { metadata["chain_file"] = "\(path) (\(origin))" }
        return metadata
    }

    /// Logs and metrics on standard error (the journal under systemd, when `base` says how to reach it), at the
    /// settings' level and format.
    ///
    /// - Parameters:
    ///   - base: the program's observability options (service, namespace, journal handler); the level, format and
    ///     outputs are the settings'.
    ///   - environment: the process's variables.
    package func makeObservability(
        base: ObservabilitySetup.Options = .init(),
        environment: [String: String]
    ) throws(UsageError) -> ObservabilitySetup {
        var options = base
        options.logLevel = logLevel
        options.logFormat = logFormat
        // Standard output carries the answers.
        options.logOutput = .standardError
        options.metricsOutput = .standardError
        do {
            return try ObservabilitySetup.make(options, variables: environment)
        } catch {
            throw UsageError(.setupFailed, message: "cannot set up metrics: \(error)")
        }
    }

    /// The processor these settings describe: the chain file's middleware first (outermost), then
    /// `innerMiddleware`, reporting to `observability`.
    ///
    /// - Throws: ``UsageError`` when a store the chain names cannot be opened.
    package func makeProcessor(
        observability: ObservabilitySetup,
        stores: any IdempotencyStoreProvider,
        innerMiddleware: [any RecordMiddleware] = []
    ) throws(UsageError) -> BatchProcessor {
        var configuration = processor
        var middleware: [any RecordMiddleware] = []
        if let chain {
            do {
                middleware = try chain.makeMiddleware(openStore: stores.opener)
            } catch {
                throw UsageError(.invalidConfiguration, message: "\(error)")
            }
        }
        configuration.instrumentation.metricsFactory = observability.metrics
        configuration.instrumentation.flushMetrics = observability.flushMetrics
        configuration.instrumentation.logsRecordPayloads = logsPayloads
        return BatchProcessor(configuration: configuration, middleware: middleware + innerMiddleware)
    }
}
