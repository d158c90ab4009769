import ArgumentParser
import BatchProcessing
import BatchRunner
import Logging
import ServiceLifecycle

/// `batchproc serve`: the host worker. One batch event per line of standard input, one answer per line of standard
/// output, in order; SIGTERM (or SIGINT) finishes the batch in flight and exits 0.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run as a host worker: batch events as JSON lines on standard input, one answer line for each.",
        discussion: """
            For each line of standard input, writes exactly one line on standard output, in order: the partial \
            batch response, or Lambda's error shape {"errorType":…,"errorMessage":…} for a line that is not a valid \
            event (or whose batch failed as a whole); the worker goes on either way. It exits 0 at the end of the \
            input, and on SIGTERM or SIGINT: the records running finish, the records of the batch in flight that had \
            not started are reported in its answer (so Lambda, or whoever feeds the worker, delivers them again), \
            and no further line is read. When an answer cannot be written it exits 74.

            With --spool DIR the events are files instead: dropped into DIR/incoming (written elsewhere and \
            renamed in), taken one at a time by an atomic rename into DIR/processing, and moved with their answer \
            (NAME.response.json) to DIR/done, or to DIR/failed when the event was not valid or its batch failed as \
            a whole. Standard input is not read then, and the worker runs until SIGTERM.

            The options are those of `batchproc process`, applied to every batch. Logs and EMF metrics go to \
            standard error, or to the journal when run as a systemd service.
            """
    )

    @OptionGroup
    var options: ProcessingOptions

    @Option(help: "Take the events from this spool directory instead of standard input.")
    var spool: String?

    @Option(parsing: .unconditional, help: "How often to look into an empty spool, in milliseconds.")
    var spoolPollMs: String = "200"

    func validate() throws {
        guard let interval = Int(spoolPollMs), interval >= 1 else {
            throw ValidationError(
                "--spool-poll-ms must be a whole number of milliseconds, at least 1, not '\(spoolPollMs)'"
            )
        }
    }

    func run() async throws {
        let (settings, logger, stores, processor, handler) = try options.prepare()
        let makeContext: @Sendable () -> InvocationContext = {
            InvocationContext(requestID: "local-\(UInt32.random(in: 0...UInt32.max))", logger: logger)
        }
        let service: any Service
        var lines: LineInput?
        if let spool {
            let input: SpoolInput
            do {
                input = try SpoolInput(directory: spool, pollInterval: .milliseconds(Int(spoolPollMs) ?? 200))
            } catch {
                throw UsageError(message: error.message)
            }
            service = BatchWorker(
                processor: processor,
                input: input,
                source: settings.source,
                makeContext: makeContext,
                handler: handler
            )
        } else {
            let input = LineInput.standardInput()
            lines = input
            service = BatchWorker(
                processor: processor,
                input: input.answering(with: { StandardStreams.output($0) }),
                source: settings.source,
                makeContext: makeContext,
                handler: handler
            )
        }
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: service, successTerminationBehavior: .gracefullyShutdownGroup)],
                logger: logger
            )
        )
        // SIGTERM and SIGINT are caught before the worker takes its first event, each asking for a graceful
        // shutdown (the group's own signal trapping registers beside its services, so a SIGTERM early in the first
        // batch could be missed).
        guard TerminationSignals.install({ Task { await group.triggerGracefulShutdown() } }) else {
            throw UsageError(message: "cannot set up the handling of SIGTERM: no pipe could be made")
        }
        do {
            try await group.run()
        } catch {
            await stores.closeAll()
            if error is BatchWorkerOutputFailed {
                StandardStreams.error(
                    "batchproc: error: cannot write the answer "
                        + (spool == nil ? "to standard output" : "into the spool")
                )
                throw ExitCode(ExitStatus.outputFailed)
            }
            throw error
        }
        await stores.closeAll()
        if let problem = lines?.readError { logger.warning("standard input ended early: \(problem)") }
    }
}
