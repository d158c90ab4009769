import CoreMetrics
public import EMFMetrics
public import JSONLogging
public import Logging

/// Sets up logs and metrics for where the process runs, in one call.
///
/// | environment | logs | metrics (EMF) |
/// | --- | --- | --- |
/// | Lambda | JSON lines on stdout, with Lambda's keys | on stdout, where CloudWatch Logs extracts them |
/// | systemd service | native journald entries (with ``Options/journalHandler``), else JSON lines on stderr | JSON lines on stdout, which systemd sends to the journal |
/// | terminal | readable lines on stderr | JSON lines on stderr |
/// | anything else | JSON lines on stderr | JSON lines on stderr |
///
/// ```swift
/// let observability = try ObservabilitySetup.bootstrap()
/// // … after each batch (the processor does it when given `observability.flushMetrics`):
/// observability.flushMetrics()
/// ```
///
/// Everything can be chosen in code instead: ``Options`` sets the service, namespace, level, format and
/// destination; ``make(_:variables:)`` builds the handlers without touching the global logging and metrics systems.
public struct ObservabilitySetup: Sendable {
    /// The environment the outputs were chosen for.
    public let environment: RuntimeEnvironment
    /// Makes the log handler for a label.
    public let makeLogHandler: @Sendable (String) -> any LogHandler
    /// The metrics backend; flush it at the end of every batch.
    public let metrics: EMFMetricsFactory

    /// Writes every metric gathered since the last flush.
    public func flushMetrics() {
        metrics.flush()
    }

    /// A logger that uses this setup's handler, whatever the global logging system is.
    public func logger(label: String) -> Logger {
        Logger(label: label, factory: makeLogHandler)
    }

    /// What to set up.
    public struct Options: Sendable {
        /// The `service` log key and metric dimension; defaults to `POWERTOOLS_SERVICE_NAME`, else
        /// `service_undefined`.
        public var service: String?
        /// The EMF namespace; defaults to `POWERTOOLS_METRICS_NAMESPACE`, else `BatchProcessing`.
        public var namespace: String?
        /// The log level set in code; `AWS_LAMBDA_LOG_LEVEL` overrides it, `POWERTOOLS_LOG_LEVEL` stands in
        /// for it when it is `nil`.
        public var logLevel: Logger.Level?
        /// Force JSON or text logs; by default JSON, but text in a terminal (and `AWS_LAMBDA_LOG_FORMAT` wins).
        public var logFormat: JSONLogHandler.Configuration.Format?
        /// Force the environment instead of detecting it.
        public var environment: RuntimeEnvironment?
        /// Force where logs go (for example standard error for a command-line tool).
        public var logOutput: LineWriter?
        /// Force where EMF documents go.
        public var metricsOutput: LineWriter?
        /// Makes the journald handler for a systemd service, e.g. `{ JournaldLogHandler(label: $0) }` from the
        /// JournaldLogging module (kept out of this module so that Lambda functions never link libsystemd).
        public var journalHandler: (@Sendable (String, Logger.Level) -> any LogHandler)?
        /// Adds metadata of the moment to every log line, JSON or journald: give swift-otel's
        /// `OTel.makeLoggingMetadataProvider()` to have each line carry the current span's `trace_id` and `span_id`
        /// (inside a handler, the record's span).
        public var metadataProvider: Logger.MetadataProvider?

        /// Creates options; every `nil` means "from the environment".
        public init(
            service: String? = nil,
            namespace: String? = nil,
            logLevel: Logger.Level? = nil,
            logFormat: JSONLogHandler.Configuration.Format? = nil,
            environment: RuntimeEnvironment? = nil,
            logOutput: LineWriter? = nil,
            metricsOutput: LineWriter? = nil,
            journalHandler: (@Sendable (String, Logger.Level) -> any LogHandler)? = nil,
            metadataProvider: Logger.MetadataProvider? = nil
        ) {
            self.service = service
            self.namespace = namespace
            self.logLevel = logLevel
            self.logFormat = logFormat
            self.environment = environment
            self.logOutput = logOutput
            self.metricsOutput = metricsOutput
            self.journalHandler = journalHandler
            self.metadataProvider = metadataProvider
        }
    }

    /// Builds the log handler factory and the metrics backend for the environment, without bootstrapping.
    ///
    /// - Throws: `EMFConfigurationError` when the namespace or service is not valid for CloudWatch.
    public static func make(
        _ options: Options = Options(),
        variables: [String: String] = ProcessEnvironment.variables
    ) throws(EMFConfigurationError) -> ObservabilitySetup {
        let environment = options.environment ?? RuntimeEnvironment.detect(environment: variables)
        let namespace =
            options.namespace ?? variables["POWERTOOLS_METRICS_NAMESPACE"].flatMap { $0.isEmpty ? nil : $0 }
            ?? "BatchProcessing"

        let defaultOutput: LineWriter = environment == .lambda ? .standardOutput : .standardError
        let logOutput = options.logOutput ?? defaultOutput
        let metricsOutput =
            options.metricsOutput ?? (environment == .systemdService ? .standardOutput : defaultOutput)

        var logConfiguration = JSONLogHandler.Configuration.fromEnvironment(
            variables,
            logLevel: options.logLevel,
            format: options.logFormat ?? (environment == .terminal ? .text : .json),
            output: logOutput
        )
        if let service = options.service { logConfiguration.service = service }
        let service = logConfiguration.service
        if environment != .lambda { logConfiguration.lambda = nil }

        let makeLogHandler: @Sendable (String) -> any LogHandler
        let provider = options.metadataProvider
        if environment == .systemdService, let journal = options.journalHandler {
            let level = logConfiguration.logLevel
            makeLogHandler = { label in
                var handler = journal(label, level)
                if let provider { handler.metadataProvider = provider }
                return handler
            }
        } else {
            let configuration = logConfiguration
            makeLogHandler = { label in
                JSONLogHandler(label: label, configuration: configuration, metadataProvider: provider)
            }
        }

        let metrics = try EMFMetricsFactory(
            configuration: .init(
                namespace: namespace,
                defaultDimensions: [("service", service)],
                coldStartFunctionName: environment == .lambda ? variables["AWS_LAMBDA_FUNCTION_NAME"] : nil,
                output: { metricsOutput.write(line: $0) },
                warningHandler: { message in
                    var logger = Logger(label: "EMFMetrics", factory: makeLogHandler)
                    logger.logLevel = .warning
                    logger.warning("\(message)")
                }
            )
        )
        return ObservabilitySetup(environment: environment, makeLogHandler: makeLogHandler, metrics: metrics)
    }

    /// Builds the outputs for the environment and installs them as the process's logging and metrics systems
    /// (which can be done once per process).
    @discardableResult
    public static func bootstrap(
        _ options: Options = Options(),
        variables: [String: String] = ProcessEnvironment.variables
    ) throws(EMFConfigurationError) -> ObservabilitySetup {
        let observability = try make(options, variables: variables)
        LoggingSystem.bootstrap(observability.makeLogHandler)
        MetricsSystem.bootstrap(observability.metrics)
        return observability
    }
}
