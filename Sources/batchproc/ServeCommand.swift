import ArgumentParser
import BatchProcessing
import BatchRunner
import Logging
import Observability
import ServiceLifecycle
import UnixSignals

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

            The options are those of `batchproc process`, applied to every batch. Logs and EMF metrics go to \
            standard error, or to the journal when run as a systemd service.
            """
    )

    @OptionGroup
    var options: ProcessingOptions

    func run() async throws {
        let settings = try options.settings()
        let observability = try options.makeObservability(settings)
        let logger = observability.logger(label: "batchproc")
        let stores = StoreOpener(logger: logger)
        let processor = try options.makeProcessor(settings, observability: observability, openStore: stores.open)
        let handler = try options.makeHandler(settings, logger: logger)
        let input = LineInput.standardInput()
        let worker = BatchWorker(
            processor: processor,
            input: input,
            source: settings.source,
            output: { StandardStreams.output($0) },
            makeContext: {
                InvocationContext(requestID: "local-\(UInt32.random(in: 0...UInt32.max))", logger: logger)
            },
            handler: handler
        )
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: worker, successTerminationBehavior: .gracefullyShutdownGroup)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        do {
            try await group.run()
        } catch {
            await stores.closeAll()
            if error is BatchWorkerOutputFailed {
                StandardStreams.error("batchproc: error: cannot write the answer to standard output")
                throw ExitCode(ExitStatus.outputFailed)
            }
            throw error
        }
        await stores.closeAll()
        if let problem = input.readError { logger.warning("standard input ended early: \(problem)") }
    }
}
