import CoreMetrics
import Logging

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Runs every record of a batch through a middleware chain to your handler and answers with Lambda's partial
/// batch response, so that only the records that failed (or were not run) come back.
///
/// ```swift
/// let processor = BatchProcessor(middleware: [RetryMiddleware(strategy: .exponentialJitter(maxAttempts: 3))])
/// let result = try await processor.process(event) { message, context in
///     try await handle(message.body)
/// }
/// return result.response
/// ```
///
/// A processor holds no state between calls: one value can serve every invocation of a warm Lambda.
public struct BatchProcessor: Sendable {
    /// How the processor runs a batch.
    public let configuration: Configuration
    /// The steps every record passes through, outermost first.
    public let middleware: [any RecordMiddleware]
    /// The metric objects, made once here rather than per batch or record.
    let instruments: Instruments

    /// Creates a processor.
    ///
    /// Its metric objects are made now, from ``Instrumentation/metricsFactory`` or else the global
    /// `MetricsSystem.factory`: bootstrap metrics first.
    public init(configuration: Configuration = Configuration(), middleware: [any RecordMiddleware] = []) {
        self.configuration = configuration
        self.middleware = middleware
        self.instruments = Instruments(factory: configuration.instrumentation.metricsFactory ?? MetricsSystem.factory)
    }

    /// How the processor runs a batch.
    public struct Configuration: Sendable {
        /// What happens to the rest of the batch after a failure; by default it follows the event.
        public var policy: FailurePolicy
        /// How many records may run at once (at least 1). Records of one FIFO group, partition key or item key
        /// still run one at a time, in order.
        public var maxConcurrency: Int
        /// How long before the invocation's deadline the processor stops starting records and cancels those
        /// running, so that it can answer in time.
        public var deadlineMargin: Duration
        /// When every record of a batch fails, throw ``BatchProcessingError`` (code
        /// ``BatchProcessingError/Code/allRecordsFailed``) rather than return a response that lists them all.
        /// Either way Lambda delivers every record again; throwing makes the failure visible as a function error.
        public var throwsOnFullBatchFailure: Bool
        /// Where metrics go, when they are flushed, and whether payloads are logged.
        public var instrumentation: Instrumentation
        /// The clock that deadlines, durations and retry waits are measured on; tests give a manual one.
        public var clock: any BatchClock

        /// Creates a configuration.
        public init(
            policy: FailurePolicy = .automatic,
            maxConcurrency: Int = 1,
            deadlineMargin: Duration = .milliseconds(500),
            throwsOnFullBatchFailure: Bool = true,
            instrumentation: Instrumentation = Instrumentation(),
            clock: any BatchClock = ContinuousClock()
        ) {
            self.policy = policy
            self.maxConcurrency = maxConcurrency
            self.deadlineMargin = deadlineMargin
            self.throwsOnFullBatchFailure = throwsOnFullBatchFailure
            self.instrumentation = instrumentation
            self.clock = clock
        }

        /// The environment variables the configuration reads, with the values each takes.
        public enum EnvironmentKey {
            /// `auto`, `continue`, `stop-on-first-failure`, `skip-group` or `skip-key`.
            public static let policy = "BATCH_PROCESSING_POLICY"
            /// A whole number, at least 1.
            public static let maxConcurrency = "BATCH_PROCESSING_MAX_CONCURRENCY"
            /// Milliseconds, 0 or more.
            public static let deadlineMarginMilliseconds = "BATCH_PROCESSING_DEADLINE_MARGIN_MS"
            /// `true` or `false`.
            public static let throwsOnFullBatchFailure = "BATCH_PROCESSING_THROW_ON_FULL_BATCH_FAILURE"
        }

        /// This configuration with every setting that `environment` (by default the process's) names replacing
        /// the one in code.
        ///
        /// - Throws: ``BatchProcessingError`` (``BatchProcessingError/Code/invalidConfiguration``) naming the
        ///   variable and the values it takes, when a value is not understood.
        public func applyingEnvironment(
            _ environment: [String: String]? = nil
        ) throws(BatchProcessingError) -> Configuration {
            let environment = environment ?? ProcessInfo.processInfo.environment
            var configuration = self
            if let value = environment[EnvironmentKey.policy] {
                guard let policy = FailurePolicy(name: value) else {
                    throw .invalidConfiguration(
                        "\(EnvironmentKey.policy)=\(value) is not a policy; use one of "
                            + FailurePolicy.all.map(\.name).joined(separator: ", ")
                    )
                }
                configuration.policy = policy
            }
            if let value = environment[EnvironmentKey.maxConcurrency] {
                guard let number = Int(value), number >= 1 else {
                    throw .invalidConfiguration(
                        "\(EnvironmentKey.maxConcurrency)=\(value) must be a whole number of at least 1"
                    )
                }
                configuration.maxConcurrency = number
            }
            if let value = environment[EnvironmentKey.deadlineMarginMilliseconds] {
                guard let number = Int(value), number >= 0 else {
                    throw .invalidConfiguration(
                        "\(EnvironmentKey.deadlineMarginMilliseconds)=\(value) must be a whole number of "
                            + "milliseconds, 0 or more"
                    )
                }
                configuration.deadlineMargin = .milliseconds(number)
            }
            if let value = environment[EnvironmentKey.throwsOnFullBatchFailure] {
                switch value.lowercased() {
                case "true", "1", "yes": configuration.throwsOnFullBatchFailure = true
                case "false", "0", "no": configuration.throwsOnFullBatchFailure = false
                default:
                    throw .invalidConfiguration(
                        "\(EnvironmentKey.throwsOnFullBatchFailure)=\(value) must be true or false"
                    )
                }
            }
            return configuration
        }

        func validate() throws(BatchProcessingError) {
            guard maxConcurrency >= 1 else {
                throw .invalidConfiguration("maxConcurrency is \(maxConcurrency); it must be at least 1")
            }
            guard deadlineMargin >= .zero else {
                throw .invalidConfiguration("deadlineMargin is \(deadlineMargin); it must not be negative")
            }
        }
    }

    // MARK: - Typed batches

    /// Processes `records` through the middleware chain and `handler`.
    ///
    /// - Returns: the response for Lambda and every record's outcome.
    /// - Throws: ``BatchProcessingError`` when the invocation must fail as a whole: every record failed (unless
    ///   ``Configuration/throwsOnFullBatchFailure`` is off), a record to report has no identifier, or the
    ///   configuration does not fit the batch.
    public func process<Record: BatchRecord>(
        _ records: [Record],
        context: InvocationContext = InvocationContext(),
        handler: @escaping RecordHandler<Record>
    ) async throws(BatchProcessingError) -> BatchResult {
        try await instrumented(context: context, source: records.first?.batchSource) {
            logger,
            start,
            tracing throws(BatchProcessingError) in
            try await run(records, context: context, logger: logger, start: start, tracing: tracing, handler: handler)
        }
    }

    /// Runs `body` with the invocation's logger and the batch's span (when tracing), and reports a whole-batch
    /// failure it throws (one error line, the `BatchFailures` metric, the error on the span); the metrics are
    /// flushed and the span ended either way.
    private func instrumented(
        context: InvocationContext,
        source: BatchEventSource?,
        _ body: (Logger, ContinuousClock.Instant, BatchTracing?) async throws(BatchProcessingError) -> BatchResult
    ) async throws(BatchProcessingError) -> BatchResult {
        let start = configuration.clock.now
        let logger = context.loggerWithMetadata(coldStart: ColdStart.take())
        let tracing = BatchTracing.start(configured: configuration.instrumentation.tracer, invocation: context)
        defer {
            tracing?.end()
            configuration.instrumentation.flushMetrics?()
        }
        do {
            return try await body(logger, start, tracing)
        } catch {
            reportFailure(error, source: error.eventSource ?? source, logger: logger)
            tracing?.fail(error)
            throw error
        }
    }

    /// Runs the records and checks the result, without the flush and failure report of ``instrumented``.
    private func run<Record: BatchRecord>(
        _ records: [Record],
        context: InvocationContext,
        logger: Logger,
        start: ContinuousClock.Instant,
        tracing: BatchTracing?,
        detectedSource: BatchEventSource? = nil,
        handler: @escaping RecordHandler<Record>
    ) async throws(BatchProcessingError) -> BatchResult {
        let source = records.first?.batchSource ?? detectedSource
        do {
            try configuration.validate()
            let policy = try configuration.policy.resolved(for: records)
            tracing?.describe(
                source: source,
                recordCount: records.count,
                policy: policy,
                maxConcurrency: configuration.maxConcurrency
            )
            let run = BatchRun(
                records: records,
                policy: policy,
                maxConcurrency: configuration.maxConcurrency,
                cutoff: context.deadline.map { $0 - configuration.deadlineMargin },
                clock: configuration.clock,
                invocation: context,
                logger: logger,
                tracing: tracing,
                handler: middleware.chained(to: handler)
            )
            let outcomes = await run.run()
            let response = PartialBatchResponse(
                batchItemFailures: outcomes.filter { $0.isReported }.map {
                    PartialBatchResponse.BatchItemFailure(itemIdentifier: $0.itemIdentifier)
                }
            )
            let result = BatchResult(response: response, outcomes: outcomes, eventSource: source, policy: policy)
            tracing?.finish(result, records: records)
            report(result, records: records, duration: start.duration(to: configuration.clock.now), logger: logger)
            try check(result)
            return result
        } catch {
            throw error.withEventSource(source)
        }
    }

    /// Processes the records of an event (``SQSEvent``, ``KinesisEvent``, ``DynamoDBEvent``).
    public func process<Event: BatchEvent>(
        _ event: Event,
        context: InvocationContext = InvocationContext(),
        handler: @escaping RecordHandler<Event.Record>
    ) async throws(BatchProcessingError) -> BatchResult {
        try await process(event.records, context: context, handler: handler)
    }

    // MARK: - Raw JSON

    /// Processes an event given as JSON bytes, as Lambda delivers it.
    ///
    /// - Parameters:
    ///   - eventJSON: the event, as JSON bytes.
    ///   - source: the event's source, or `nil` (the default) to detect it from the records' `eventSource`.
    ///     Records that do not have the forced source's shape make a malformed event.
    ///   - context: the invocation: its request id, deadline, logger, trace header, shutdown signal.
    ///   - handler: runs each record, after the middleware; a thrown error fails the record.
    /// - Throws: ``BatchProcessingError`` as the typed `process`, and ``BatchProcessingError/Code/malformedEvent``
    ///   naming the record index and field when the event cannot be read.
    public func process(
        eventJSON: [UInt8],
        source: BatchEventSource? = nil,
        context: InvocationContext = InvocationContext(),
        handler: @escaping RecordHandler<AnyBatchRecord>
    ) async throws(BatchProcessingError) -> BatchResult {
        // Decoding happens inside the instrumented path, so that a malformed event is logged and counted too.
        try await instrumented(context: context, source: source) {
            logger,
            start,
            tracing throws(BatchProcessingError) in
            let (records, detected) = try EventDecoding.decodeRecords(from: eventJSON, source: source)
            return try await run(
                records,
                context: context,
                logger: logger,
                start: start,
                tracing: tracing,
                detectedSource: detected ?? source,
                handler: handler
            )
        }
    }

    /// Processes an event given as JSON bytes and answers with the partial batch response as JSON bytes.
    public func processJSON(
        _ eventJSON: [UInt8],
        source: BatchEventSource? = nil,
        context: InvocationContext = InvocationContext(),
        handler: @escaping RecordHandler<AnyBatchRecord>
    ) async throws(BatchProcessingError) -> [UInt8] {
        try await process(eventJSON: eventJSON, source: source, context: context, handler: handler).response.jsonBytes
    }

    // MARK: - Checks on the result

    private func check(_ result: BatchResult) throws(BatchProcessingError) {
        let unidentified = result.outcomes.filter {
            $0.isReported && $0.itemIdentifier.isBlank
        }
        if let first = unidentified.first {
            throw BatchProcessingError(
                code: .missingItemIdentifier,
                message: "record \(first.index) must be reported to Lambda but has an empty item identifier"
                    + (unidentified.count > 1 ? " (and \(unidentified.count - 1) more records)" : "")
                    + "; Lambda would silently retry the whole batch, so the invocation fails instead",
                recordIndex: first.index,
                result: result
            )
        }
        guard configuration.throwsOnFullBatchFailure, result.allRecordsReported else { return }
        var message = "all \(result.outcomes.count) records of the batch failed"
        if result.skippedCount > 0 {
            message += " or were not run (\(result.failedCount) failed, \(result.skippedCount) skipped)"
        }
        if let firstFailure = result.outcomes.first(where: { $0.error != nil }), let error = firstFailure.error {
            message += "; first error, record \(firstFailure.index) (\(firstFailure.itemIdentifier)): \(error)"
        } else if let reason = result.outcomes.first?.skipReason {
            message += "; \(reason)"
        }
        throw BatchProcessingError(code: .allRecordsFailed, message: message, result: result)
    }
}
