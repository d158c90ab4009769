import ArgumentParser
public import BatchProcessing
import BatchProcessingJSONSupport
import BatchProcessingSystemSupport
public import Logging
public import Observability

/// A complete command-line program around your record handler: `invoke`, `replay` and `serve`, with the runner's
/// options (event source, policy, concurrency, chain file, logs), logs and CloudWatch EMF metrics on standard
/// error, and the exit statuses of `batchproc`.
///
/// ```swift
/// @main
/// enum Orders {
///     static func main() {
///         BatchProgram(name: "orders", abstract: "Charge the orders of an SQS queue.") {
///             (message: SQSEvent.Message, context: RecordContext) in
///             let order = try message.decodeBody(as: Order.self)
///             try await charge(order)
///         }.main()
///     }
/// }
/// ```
///
/// - `orders invoke [EVENT]`: one event (a file, or standard input) in, the partial batch response out, as one
///   Lambda invocation; Lambda's error shape and status 1 when the invocation fails as a whole. The default
///   command: `orders event.json` is `orders invoke event.json`.
/// - `orders replay DIR|FILE... [--report FILE.html]`: many events, a progress bar on a terminal, a summary table,
///   and an HTML report with the outcomes, durations, failures and slowest records.
/// - `orders serve [--spool DIR]`: the host worker: JSON lines on standard input (or files in a spool), one answer
///   line each; SIGTERM finishes the running records, reports the rest of the batch, and exits 0.
///
/// The chain (retry, idempotency and its store, timeout) comes from `--config FILE` or the file
/// `BATCH_PROCESSING_CONFIG` names, and the program's ``middleware`` runs inside it. Exit statuses: 0 answered, 1
/// failed as a whole (or a replayed event did), 2 usage error, 74 the answer could not be written.
public struct BatchProgram: Sendable {
    /// The command's name, in help and in error messages, and the label of its logger.
    public var name: String
    /// One line that says what the program does, for `--help`.
    public var abstract: String
    /// The source events are read as, unless `--source` says otherwise; `nil` to detect it from each event.
    public var source: BatchEventSource?
    /// The processor's settings before the chain file, the `BATCH_PROCESSING_*` variables and the flags.
    public var processor: BatchProcessor.Configuration
    /// Middleware that always runs, inside (after) the chain file's.
    public var middleware: [any RecordMiddleware]
    /// The service, namespace and journal handler of the logs and metrics (the level and format are the options').
    /// `POWERTOOLS_SERVICE_NAME` and `POWERTOOLS_METRICS_NAMESPACE`, when set, win over the service and namespace
    /// given here; without either, the service is the program's ``name``.
    public var observability: ObservabilitySetup.Options
    /// Makes what opens the stores a chain file names; by default file stores only (``FileStoreProvider``).
    public var stores: @Sendable (Logger) -> any IdempotencyStoreProvider
    /// The handler every record runs.
    public var handler: RecordHandler<AnyBatchRecord>

    /// Creates a program whose handler takes records of one type (`SQSEvent.Message`, `KinesisEvent.Record`,
    /// `DynamoDBEvent.Record`, `KafkaEvent.Record`), or `AnyBatchRecord` for any source.
    ///
    /// - Parameters:
    ///   - name: the command's name, in help and error messages, and its logger's label.
    ///   - abstract: one line that says what the program does, for `--help`.
    ///   - source: the source events are read as; by default the record type's (none for Kafka, whose events
    ///     say whether they come from MSK or a self-managed cluster, nor for `AnyBatchRecord`).
    ///   - processor: the processor's settings before the chain file, the variables and the flags.
    ///   - middleware: steps that always run, inside the chain file's.
    ///   - observability: the metrics' service and namespace, a journald handler for hosts, a metadata provider.
    ///   - stores: makes what opens the chain's idempotency stores (given the program's logger).
    ///   - handler: runs each record; a thrown error fails the record, which goes back to the event source.
    public init<Record: RunnableRecord>(
        name: String,
        abstract: String,
        source: BatchEventSource? = Record.eventSource,
        processor: BatchProcessor.Configuration = BatchProcessor.Configuration(),
        middleware: [any RecordMiddleware] = [],
        observability: ObservabilitySetup.Options = ObservabilitySetup.Options(),
        stores: @escaping @Sendable (Logger) -> any IdempotencyStoreProvider = { _ in FileStoreProvider() },
        handler: @escaping RecordHandler<Record>
    ) {
        self.name = name
        self.abstract = abstract
        self.source = source
        self.processor = processor
        self.middleware = middleware
        self.observability = observability
        self.stores = stores
        self.handler = { record, context in
            guard let typed = Record.unwrap(record) else {
                throw UnexpectedRecordSource(expected: Record.eventSource, found: record.batchSource)
            }
            try await handler(typed, context)
        }
    }

    /// Runs the program with the process's arguments and exits with its status: call it from a synchronous
    /// `static func main()`.
    ///
    /// The work runs on Swift's concurrency pool while the main thread waits, which starts faster than an
    /// `async` `main`: Swift parks an async main's thread with `pthread_exit`, whose unwinding of the main thread
    /// costs tens of milliseconds of CPU in a statically linked program (the unwinder sorts every frame
    /// description of the binary first), time a Lambda cold start pays.
    public func main() -> Never {
        let context = RunnerContext.startingProcess()
        let arguments = Array(CommandLine.arguments.dropFirst())
        Task.detached { [self] in
            StandardStreams.exit(await run(arguments: arguments, context: context))
        }
        StandardStreams.waitForExit()
    }

    /// Runs the program with the process's arguments and exits with its status, from an `async` `main` (the
    /// synchronous ``main()`` starts faster).
    public func main() async -> Never {
        let context = RunnerContext.startingProcess()
        StandardStreams.exit(await run(arguments: Array(CommandLine.arguments.dropFirst()), context: context))
    }

    /// Runs the program with `arguments` (without the program's own name) and answers its exit status.
    ///
    /// Without arguments, on AWS Lambda (`AWS_LAMBDA_RUNTIME_API` set, as for a `bootstrap`), it runs `lambda`.
    public func run(arguments: [String]) async -> Int32 {
        await run(arguments: arguments, context: RunnerContext(environment: ProcessEnvironment.variables))
    }

    /// Runs the program with `arguments` in `context` (its streams and variables) and answers its exit status.
    func run(arguments: [String], context: RunnerContext) async -> Int32 {
        var arguments = arguments
        if arguments.isEmpty, !context.environment[LambdaRuntime.endpointVariable, default: ""].isEmpty {
            arguments = [LambdaCommand.configuration.commandName ?? "lambda"]
        }
        // ArgumentParser asks the root command's type for its name and abstract: they are this program's for the
        // time of this call (a task-local value, not a global one).
        return await ProgramCommand.$identity.withValue(.init(name: name, abstract: abstract)) {
            await RunnerMain.run(
                programName: name,
                root: ProgramCommand.self,
                context: context,
                parse: { try ProgramCommand.parseAsRoot(arguments) },
                execute: { command in
                    if let command = command as? any ProgramSubcommand {
                        try await command.run(self, context: context)
                    } else {
                        try await RunnerMain.run(command, context: context)
                    }
                }
            )
        }
    }

    /// The session the options describe: the processor (with the chain file, the variables and the flags), the
    /// logger, the stores.
    func session(_ options: RunnerOptions, context: RunnerContext) throws(UsageError) -> RunnerSession {
        let settings = try RunnerSettings.resolve(
            options,
            source: source,
            defaults: processor,
            environment: context.environment
        )
        // POWERTOOLS_SERVICE_NAME and POWERTOOLS_METRICS_NAMESPACE win over the program's own names, so that a
        // deployment can rename without a rebuild; without either, the service is the program's name.
        var base = observability
        if context.environment["POWERTOOLS_SERVICE_NAME", default: ""].isEmpty {
            base.service = base.service ?? name
        } else {
            base.service = nil
        }
        if !context.environment["POWERTOOLS_METRICS_NAMESPACE", default: ""].isEmpty { base.namespace = nil }
        let observability = try settings.makeObservability(base: base, environment: context.environment)
        let logger = observability.logger(label: name)
        logger.debug("settings", metadata: settings.described)
        let stores = self.stores(logger)
        let processor = try settings.makeProcessor(
            observability: observability,
            stores: stores,
            innerMiddleware: middleware
        )
        return RunnerSession(
            programName: name,
            processor: processor,
            source: settings.source,
            logger: logger,
            stores: stores,
            streams: context.streams,
            observability: observability,
            handler: handler
        )
    }
}

/// A record of a batch the program's handler is not written for (a Kinesis record given to an SQS program).
public struct UnexpectedRecordSource: Error, CustomStringConvertible {
    /// The source the handler takes, when it takes one.
    public var expected: BatchEventSource?
    /// The record's source.
    public var found: BatchEventSource

    public var description: String {
        "this program handles \(expected.map { "\($0.name) records" } ?? "other records"), not a \(found.name) record"
    }
}

/// A record type a ``BatchProgram``'s handler can take.
public protocol RunnableRecord: BatchRecord {
    /// The source events of this record type are read as, or `nil` when each event says it.
    static var eventSource: BatchEventSource? { get }
    /// The record, when `record` is one of this type.
    static func unwrap(_ record: AnyBatchRecord) -> Self?
}

extension AnyBatchRecord: RunnableRecord {
    public static var eventSource: BatchEventSource? { nil }
    public static func unwrap(_ record: AnyBatchRecord) -> AnyBatchRecord? { record }
}

extension SQSEvent.Message: RunnableRecord {
    public static var eventSource: BatchEventSource? { .sqs }
    public static func unwrap(_ record: AnyBatchRecord) -> SQSEvent.Message? {
        if case .sqs(let message) = record { message } else { nil }
    }
}

extension KinesisEvent.Record: RunnableRecord {
    public static var eventSource: BatchEventSource? { .kinesis }
    public static func unwrap(_ record: AnyBatchRecord) -> KinesisEvent.Record? {
        if case .kinesis(let record) = record { record } else { nil }
    }
}

extension DynamoDBEvent.Record: RunnableRecord {
    public static var eventSource: BatchEventSource? { .dynamoDB }
    public static func unwrap(_ record: AnyBatchRecord) -> DynamoDBEvent.Record? {
        if case .dynamoDB(let record) = record { record } else { nil }
    }
}

extension KafkaEvent.Record: RunnableRecord {
    /// None: an MSK event and a self-managed Kafka event carry the same records; each event says which it is.
    public static var eventSource: BatchEventSource? { nil }
    public static func unwrap(_ record: AnyBatchRecord) -> KafkaEvent.Record? {
        if case .kafka(let record) = record { record } else { nil }
    }
}

// MARK: - The commands

/// The root command of a ``BatchProgram``: its name and abstract are the program's being run.
struct ProgramCommand: ParsableCommand {
    struct Identity: Sendable {
        var name: String?
        var abstract: String
    }

    /// The name and abstract of the program that ``BatchProgram/run(arguments:context:)`` is running.
    @TaskLocal static var identity = Identity(name: nil, abstract: "")

    static var configuration: CommandConfiguration {
        CommandConfiguration(
            commandName: identity.name,
            abstract: identity.abstract,
            subcommands: [ProgramInvoke.self, ProgramReplay.self, ProgramServe.self, LambdaCommand.self],
            defaultSubcommand: ProgramInvoke.self
        )
    }
}

/// A subcommand of a ``BatchProgram``, run with the program and the runner's context.
protocol ProgramSubcommand: ParsableCommand {
    func run(_ program: BatchProgram, context: RunnerContext) async throws
}

struct ProgramInvoke: ProgramSubcommand {
    static let configuration = CommandConfiguration(
        commandName: "invoke",
        abstract: "Run one event, as one Lambda invocation; print the partial batch response.",
        discussion: """
            Prints the partial batch response as one line of JSON on standard output and exits 0. When the \
            invocation fails as a whole (every record failed while throwing is on, a malformed or empty event), \
            prints Lambda's error shape {"errorType":…,"errorMessage":…} and exits 1. Logs and CloudWatch EMF \
            metrics go to standard error. Usage errors exit 2; an answer that cannot be written, 74.
            """
    )

    @Argument(help: "The event JSON file, or - for standard input.")
    var eventFile: String = "-"

    @OptionGroup
    var options: RunnerOptions

    func run(_ program: BatchProgram, context: RunnerContext) async throws {
        try await program.session(options, context: context).invoke(eventFile: eventFile)
    }
}

struct ProgramReplay: ProgramSubcommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Run many event files; print a summary table, optionally an HTML report.",
        discussion: ReplayOptions.discussion
    )

    @OptionGroup
    var replay: ReplayOptions

    @OptionGroup
    var options: RunnerOptions

    func run(_ program: BatchProgram, context: RunnerContext) async throws {
        try await program.session(options, context: context).replay(paths: replay.paths, report: replay.report)
    }
}

struct ProgramServe: ProgramSubcommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run as a host worker: batch events as JSON lines on standard input, one answer line for each.",
        discussion: ServeOptions.discussion
    )

    @OptionGroup
    var serve: ServeOptions

    @OptionGroup
    var options: RunnerOptions

    func run(_ program: BatchProgram, context: RunnerContext) async throws {
        try await program.session(options, context: context).serve(
            spool: serve.spool,
            pollInterval: serve.pollInterval
        )
    }
}

/// `lambda`: the function's runtime on AWS Lambda. What a packaged `bootstrap` runs (without arguments, it is the
/// default there).
struct LambdaCommand: ProgramSubcommand {
    static let configuration = CommandConfiguration(
        commandName: "lambda",
        abstract: "Run as the function's runtime on AWS Lambda (provided.al2023), the default there.",
        discussion: LambdaRuntime.discussion
    )

    @OptionGroup
    var options: RunnerOptions

    func run(_ program: BatchProgram, context: RunnerContext) async throws {
        try await LambdaRuntime.run(context: context) { () throws(UsageError) in
            try program.session(options, context: context)
        }
    }
}
