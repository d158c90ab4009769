import ArgumentParser
import BatchProcessing
import BatchRunner
import BatchRunnerDynamoDB
import BatchRunnerPostgres
import JSONLogging
import JournaldLogging
import Logging
import Observability

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

struct ProcessCommand: RunnerCommand {
    static let configuration = CommandConfiguration(
        commandName: "process",
        abstract: "Run one event through fault injection and the processor; print the partial batch response.",
        discussion: """
            Prints the partial batch response as one line of JSON on standard output and exits 0. When the \
            invocation fails as a whole (every record failed while throwing is on, a failed record without an \
            identifier, a malformed or empty event), prints Lambda's error shape {"errorType":…,"errorMessage":…} \
            and exits 1. Usage errors (bad options or environment values, an unreadable file) exit 2. When the \
            answer cannot be written (standard output closed or full), exits 74.

            The event is read from any readable file: a regular file, a pipe, a FIFO, /dev/stdin, or - for \
            standard input.

            Logs (one line per failed record and a summary) and the batch's CloudWatch EMF metrics go to \
            standard error, as JSON lines unless --log-format text; under systemd, logs go to the journal. The \
            service and namespace come from POWERTOOLS_SERVICE_NAME and POWERTOOLS_METRICS_NAMESPACE.

            Without --fail, --fail-index or --fail-fraction every record succeeds. --fail names a record by its item \
            identifier: the SQS messageId, the Kinesis or DynamoDB sequence number, or for Kafka \
            <topic>-<partition>@<offset> (for example orders-0@15). Settings not given on the \
            command line are read from BATCH_PROCESSING_POLICY, BATCH_PROCESSING_MAX_CONCURRENCY, \
            BATCH_PROCESSING_DEADLINE_MARGIN_MS and BATCH_PROCESSING_THROW_ON_FULL_BATCH_FAILURE; an option given \
            on the command line wins over its variable, which is then not read.
            """
    )

    @Argument(help: "The event JSON file, or - for standard input.")
    var eventFile: String = "-"

    @OptionGroup
    var options: ProcessingOptions

    func run(_ context: RunnerContext) async throws {
        let session = try options.prepare(context)
        try await session.invoke(eventFile: eventFile) { result in
            options.warnAboutUnmatchedFaults(outcomes: result.outcomes, logger: session.logger)
        }
    }
}

/// The options of the commands that run batches (`process`, `serve`): the event source, the policy and concurrency,
/// fault injection, retries, logs, the chain and idempotency; and what they build from them.
struct ProcessingOptions: ParsableArguments {
    @OptionGroup
    var runner: RunnerOptions

    @Option(
        name: .customLong("fail"),
        help:
            "Fail every record with this item identifier (repeatable); a Kafka record as <topic>-<partition>@<offset>."
    )
    var failIdentifiers: [String] = []

    @Option(
        name: .customLong("fail-index"),
        parsing: .unconditionalSingleValue,
        help: "Fail the record at this 0-based position (repeatable)."
    )
    var failIndices: [Int] = []

    @Option(parsing: .unconditional, help: "Fail this fraction (0…1) of the records, drawn with --seed.")
    var failFraction: Double = 0

    @Option(parsing: .unconditional, help: "The seed of the draw for --fail-fraction (a whole number, 0 or more).")
    var seed: Int = 0

    @Option(
        parsing: .unconditional,
        help: "Attempts per record, the first included; above 1 adds retry with exponential backoff."
    )
    var maxAttempts: Int = 1

    @Option(
        help: "Append each record's identifier to this file when its handler runs (to watch what ran, and how often)."
    )
    var effectLog: String?

    @OptionGroup(title: "Idempotency")
    var idempotency: IdempotencyOptions

    @Option(
        name: .customLong("record-delay-ms"),
        parsing: .unconditional,
        help: "Each record's handler waits this many milliseconds (to watch concurrency, deadlines and shutdown)."
    )
    var recordDelayMilliseconds: Int = 0

    func validate() throws {
        if let index = failIndices.first(where: { $0 < 0 }) {
            throw ValidationError("--fail-index must be a 0-based record position (0 or more), not '\(index)'")
        }
        guard (0...1).contains(failFraction) else {
            throw ValidationError("--fail-fraction must be a number between 0 and 1, not '\(failFraction)'")
        }
        guard seed >= 0 else {
            throw ValidationError("--seed must be a whole number from 0 to \(Int.max), not '\(seed)'")
        }
        guard maxAttempts >= 1 else {
            throw ValidationError("--max-attempts must be a whole number of at least 1, not '\(maxAttempts)'")
        }
        guard recordDelayMilliseconds >= 0 else {
            throw ValidationError(
                "--record-delay-ms must be a whole number of milliseconds, 0 or more, not '\(recordDelayMilliseconds)'"
            )
        }
    }

    /// What a command that runs batches needs, made from the options: the runner session (the logger, the stores
    /// to close at the end, the processor and the built-in handler).
    func prepare(_ context: RunnerContext) throws -> RunnerSession {
        let settings = try RunnerSettings.resolve(runner, environment: context.environment)
        let observability = try settings.makeObservability(
            base: .init(journalHandler: { label, level in JournaldLogHandler(label: label, logLevel: level) }),
            environment: context.environment
        )
        let logger = observability.logger(label: "batchproc")
        logger.debug("settings", metadata: settings.described)
        let stores = DynamoDBStoreProvider(
            environment: context.environment,
            logger: logger,
            next: PostgresStoreProvider(environment: context.environment, logger: logger)
        )
        let processor = try makeProcessor(settings, observability: observability, stores: stores)
        return RunnerSession(
            programName: "batchproc",
            processor: processor,
            source: settings.source,
            logger: logger,
            stores: stores,
            streams: context.streams,
            observability: observability,
            handler: try makeHandler(logger: logger)
        )
    }

    /// The built-in handler: notes the record in the effect log, waits `--record-delay-ms`, and succeeds (fault
    /// injection, a middleware, makes the chosen records fail before it).
    func makeHandler(logger: Logger) throws -> RecordHandler<AnyBatchRecord> {
        let tracing = logger.logLevel <= .trace
        let effects = try effectLog.map { path throws(UsageError) in try EffectLog(path: path) }
        let delay = Duration.milliseconds(recordDelayMilliseconds)
        return { record, context in
            try effects?.append(FailTarget.text(of: record.itemIdentifier))
            if delay > .zero { try await Task.sleep(for: delay) }
            // The record's logger is made when asked for: ask only when the line would be written.
            if tracing { context.logger.trace("record processed") }
        }
    }

    /// Warns about fault-injection targets that match no record, which usually means a typo.
    func warnAboutUnmatchedFaults(outcomes: [RecordOutcome], logger: Logger) {
        for index in Set(failIndices).sorted() where index >= outcomes.count {
            let size = outcomes.count == 1 ? "1 record" : "\(outcomes.count) records"
            logger.warning(
                "--fail-index \(index) is beyond the batch (\(size), positions 0 to \(max(outcomes.count - 1, 0))); no record fails for it"
            )
        }
        guard !failIdentifiers.isEmpty else { return }
        let identifiers = Set(outcomes.map { FailTarget.text(of: $0.itemIdentifier) })
        for identifier in Set(failIdentifiers).sorted() where !identifiers.contains(identifier) {
            logger.warning("--fail \(identifier) names no record of the batch; no record fails for it")
        }
    }

    /// The processor the options, the chain file and the environment describe, with batchproc's own steps inside
    /// the chain's: retry (`--max-attempts`), idempotency (`--idempotency-*`), fault injection.
    func makeProcessor(
        _ settings: RunnerSettings,
        observability: ObservabilitySetup,
        stores: any IdempotencyStoreProvider
    ) throws -> BatchProcessor {
        if settings.chainFile != nil, maxAttempts > 1 || idempotency.location != nil {
            throw UsageError(
                .invalidArguments,
                message:
                    "--max-attempts, --idempotency-store, --idempotency-postgres and --idempotency-dynamodb describe the chain, which --config (or BATCH_PROCESSING_CONFIG) gives: use one or the other"
            )
        }
        var middleware: [any RecordMiddleware] = []
        if maxAttempts > 1 {
            middleware.append(
                RetryMiddleware(
                    strategy: .exponentialJitter(maxAttempts: maxAttempts, baseDelay: .milliseconds(10))
                )
            )
        }
        if let idempotent = try idempotency.middleware(openStore: stores.opener) {
            middleware.append(idempotent)
        }
        if !failIdentifiers.isEmpty || !failIndices.isEmpty || failFraction > 0 {
            middleware.append(
                FaultInjectionMiddleware(
                    identifiers: Set(failIdentifiers.flatMap(FailTarget.identifiers(for:))),
                    indices: Set(failIndices),
                    fraction: failFraction,
                    seed: UInt64(seed)
                )
            )
        }
        return try settings.makeProcessor(observability: observability, stores: stores, innerMiddleware: middleware)
    }
}

/// How `--fail` names a record: its item identifier's text, or for Kafka `<topic>-<partition>@<offset>`.
enum FailTarget {
    /// The identifiers `text` may mean: the string itself, and, when it reads `<topic>-<partition>@<offset>`, the
    /// Kafka identifier too (an SQS message id may contain `@`, so both are tried).
    static func identifiers(for text: String) -> [ItemIdentifier] {
        var result = [ItemIdentifier(text)]
        if let at = text.lastIndex(of: "@"), let offset = Int64(text[text.index(after: at)...]), at != text.startIndex {
            result.append(.object([("partition", .string(String(text[..<at]))), ("offset", .integer(offset))]))
        }
        return result
    }

    /// The text `--fail` uses for an identifier.
    static func text(of identifier: ItemIdentifier) -> String {
        if let fields = identifier.fields, fields.count == 2, fields[0].name == "partition", fields[1].name == "offset",
            case .string(let partition) = fields[0].value, case .integer(let offset) = fields[1].value
        {
            return "\(partition)@\(offset)"
        }
        return identifier.description
    }
}
