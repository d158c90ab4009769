import ArgumentParser
import BatchProcessing
import Foundation
import JSONLogging
import JournaldLogging
import Logging
import Observability

struct ProcessCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "process",
        abstract: "Run one event through fault injection and the processor; print the partial batch response.",
        discussion: """
            Prints the partial batch response as one line of JSON on standard output and exits 0. When the \
            invocation fails as a whole (every record failed while throwing is on, a failed record without an \
            identifier, a malformed event), prints Lambda's error shape {"errorType":…,"errorMessage":…} and \
            exits 1. Usage errors exit 2.

            Logs (one line per failed record and a summary) and the batch's CloudWatch EMF metrics go to \
            standard error, as JSON lines unless --log-format text; under systemd, logs go to the journal. The \
            service and namespace come from POWERTOOLS_SERVICE_NAME and POWERTOOLS_METRICS_NAMESPACE.

            Without --fail, --fail-index or --fail-fraction every record succeeds. Settings not given on the \
            command line are read from BATCH_PROCESSING_POLICY, BATCH_PROCESSING_MAX_CONCURRENCY and \
            BATCH_PROCESSING_THROW_ON_FULL_BATCH_FAILURE.
            """
    )

    @Argument(help: "The event JSON file, or - for standard input.")
    var eventFile: String = "-"

    @Option(help: "The event source: auto (from the records' eventSource), sqs, kinesis or dynamodb.")
    var source: String = "auto"

    @Option(help: "auto, continue, stop-on-first-failure, skip-group or skip-key.")
    var policy: String?

    @Option(help: "How many records may run at once.")
    var concurrency: Int?

    @Flag(help: "Answer with a response listing every record instead of failing when all records fail.")
    var noThrowOnFullBatchFailure = false

    @Option(name: .customLong("fail"), help: "Fail every record with this item identifier (repeatable).")
    var failIdentifiers: [String] = []

    @Option(name: .customLong("fail-index"), help: "Fail the record at this 0-based position (repeatable).")
    var failIndices: [Int] = []

    @Option(help: "Fail this fraction (0…1) of the records, drawn with --seed.")
    var failFraction: Double = 0

    @Option(help: "The seed of the draw for --fail-fraction.")
    var seed: UInt64 = 0

    @Option(help: "Attempts per record, the first included; above 1 adds retry with exponential backoff.")
    var maxAttempts: Int = 1

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    @Option(help: "Log format on standard error: json or text.")
    var logFormat: String = "json"

    @Flag(help: "Add each failed record's payload to its log line.")
    var logPayloads = false

    func validate() throws {
        guard source == "auto" || BatchEventSource(name: source) != nil else {
            throw ValidationError("--source must be auto, sqs, kinesis or dynamodb, not '\(source)'")
        }
        if let policy, FailurePolicy(name: policy) == nil {
            throw ValidationError(
                "--policy must be one of \(FailurePolicy.all.map(\.name).joined(separator: ", ")), not '\(policy)'"
            )
        }
        if let concurrency, concurrency < 1 {
            throw ValidationError("--concurrency must be at least 1, not \(concurrency)")
        }
        guard (0...1).contains(failFraction) else {
            throw ValidationError("--fail-fraction must be between 0 and 1, not \(failFraction)")
        }
        guard maxAttempts >= 1 else {
            throw ValidationError("--max-attempts must be at least 1, not \(maxAttempts)")
        }
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level must be trace, debug, info, notice, warning, error or critical")
        }
        guard JSONLogHandler.Configuration.Format(rawValue: logFormat) != nil else {
            throw ValidationError("--log-format must be json or text, not '\(logFormat)'")
        }
    }

    func run() async throws {
        let observability: Observability
        do {
            observability = try Observability.make(
                .init(
                    logLevel: Logger.Level(rawValue: logLevel) ?? .info,
                    logFormat: JSONLogHandler.Configuration.Format(rawValue: logFormat) ?? .json,
                    logOutput: .standardError,
                    metricsOutput: .standardError,
                    journalHandler: { label, level in JournaldLogHandler(label: label, logLevel: level) }
                )
            )
        } catch {
            throw UsageError(message: "cannot set up metrics: \(error)")
        }
        let logger = observability.logger(label: "batchproc")
        let event = try readEvent()

        do {
            let processor = try makeProcessor(observability: observability)
            let result = try await processor.process(
                eventJSON: event,
                source: BatchEventSource(name: source),
                context: InvocationContext(requestID: "local-\(UInt32.random(in: 0...UInt32.max))", logger: logger)
            ) { _, context in
                context.logger.trace("record processed")
            }
            FileHandle.standardOutput.write(Data(result.response.jsonBytes + [UInt8(ascii: "\n")]))
        } catch {
            print(error.lambdaErrorJSON)
            throw ExitCode(1)
        }
    }

    private func readEvent() throws -> [UInt8] {
        if eventFile == "-" {
            return Array(FileHandle.standardInput.readDataToEndOfFile())
        }
        do {
            return Array(try Data(contentsOf: URL(fileURLWithPath: eventFile)))
        } catch {
            throw UsageError(message: "cannot read event file '\(eventFile)': \(error.localizedDescription)")
        }
    }

    private func makeProcessor(observability: Observability) throws(BatchProcessingError) -> BatchProcessor {
        var configuration = try BatchProcessor.Configuration().applyingEnvironment()
        configuration.instrumentation = Instrumentation(
            metricsFactory: observability.metrics,
            flushMetrics: observability.flushMetrics,
            logsRecordPayloads: logPayloads
        )
        if let policy, let parsed = FailurePolicy(name: policy) { configuration.policy = parsed }
        if let concurrency { configuration.maxConcurrency = concurrency }
        if noThrowOnFullBatchFailure { configuration.throwsOnFullBatchFailure = false }

        var middleware: [any RecordMiddleware] = []
        if maxAttempts > 1 {
            middleware.append(
                RetryMiddleware(strategy: .exponentialJitter(maxAttempts: maxAttempts, baseDelay: .milliseconds(10)))
            )
        }
        if !failIdentifiers.isEmpty || !failIndices.isEmpty || failFraction > 0 {
            middleware.append(
                FaultInjectionMiddleware(
                    identifiers: Set(failIdentifiers),
                    indices: Set(failIndices),
                    fraction: failFraction,
                    seed: seed
                )
            )
        }
        return BatchProcessor(configuration: configuration, middleware: middleware)
    }
}
