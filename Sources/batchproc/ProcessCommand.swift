import ArgumentParser
import BatchProcessing
import Foundation
import Logging

struct ProcessCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "process",
        abstract: "Run one event through fault injection and the processor; print the partial batch response.",
        discussion: """
            Prints the partial batch response as one line of JSON on standard output and exits 0. When the \
            invocation fails as a whole (every record failed while throwing is on, a failed record without an \
            identifier, a malformed event), prints Lambda's error shape {"errorType":…,"errorMessage":…} and \
            exits 1. Usage errors exit 2. Logs go to standard error.

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

    @Option(help: "Log level on standard error: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

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
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "batchproc")
        let event = try readEvent()

        do {
            let processor = try makeProcessor()
            let result = try await processor.process(
                eventJSON: event,
                source: BatchEventSource(name: source),
                context: InvocationContext(requestID: "local-\(UInt32.random(in: 0...UInt32.max))", logger: logger)
            ) { _, context in
                context.logger.debug("record processed")
            }
            report(result, logger: logger)
            FileHandle.standardOutput.write(Data(result.response.jsonBytes + [UInt8(ascii: "\n")]))
        } catch {
            if let result = error.result {
                report(result, logger: logger)
            }
            logger.error(
                "invocation failed",
                metadata: ["error_type": "\(error.errorType)", "error": "\(error.message)"]
            )
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

    private func makeProcessor() throws(BatchProcessingError) -> BatchProcessor {
        var configuration = try BatchProcessor.Configuration().applyingEnvironment()
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

    private func report(_ result: BatchResult, logger: Logger) {
        for outcome in result.outcomes where outcome.isReported {
            var metadata: Logger.Metadata = [
                "record_index": "\(outcome.index)",
                "item_identifier": "\(outcome.itemIdentifier)",
                "policy": "\(result.policy)",
            ]
            if let error = outcome.error {
                metadata["error"] = "\(error)"
                logger.warning("record failed", metadata: metadata)
            } else if let reason = outcome.skipReason {
                metadata["reason"] = "\(reason)"
                logger.info("record skipped", metadata: metadata)
            }
        }
        logger.info(
            "batch processed",
            metadata: [
                "event_source": "\(result.eventSource?.rawValue ?? "none")",
                "policy": "\(result.policy)",
                "records": "\(result.outcomes.count)",
                "succeeded": "\(result.succeededCount)",
                "failed": "\(result.failedCount)",
                "skipped": "\(result.skippedCount)",
                "reported": "\(result.response.batchItemFailures.count)",
            ]
        )
    }
}
