import ArgumentParser
import BatchProcessing
import BatchRunner
import JSONLogging
import Logging
import Observability

/// `batchproc bench`: the framework's cost on one event, measured in one process, so that start-up and reading the
/// file are left out.
struct BenchCommand: RunnerCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time decode → process → encode of one event, in one process, over many iterations.",
        discussion: """
            Each iteration decodes the event's bytes, runs every record through the processor (a no-op handler, \
            the processor's full instrumentation: logs at info level and CloudWatch EMF metrics, written to a sink \
            that discards them) and encodes the partial batch response. Prints one line of JSON: \
            {"records":…,"bytes":…,"iterations":…,"best_s":…,"median_s":…}.
            """
    )

    @Argument(help: "The event file ('-' for standard input).")
    var eventFile: String

    @Option(help: "How many timed iterations (after one untimed warm-up).")
    var iterations = 20

    @Option(help: "How many records may run at once.")
    var concurrency = 1

    @Option(help: "Wrap the handler in retry middleware with this many attempts (1: no retry middleware).")
    var maxAttempts = 3

    @Flag(help: "Time only reading the event (its records and source), not processing them.")
    var decodeOnly = false

    func validate() throws {
        guard iterations >= 1 else { throw ValidationError("--iterations must be at least 1, not \(iterations)") }
        guard concurrency >= 1 else { throw ValidationError("--concurrency must be at least 1, not \(concurrency)") }
        guard maxAttempts >= 1 else { throw ValidationError("--max-attempts must be at least 1, not \(maxAttempts)") }
    }

    func run(_ runner: RunnerContext) async throws {
        let event = try EventInput.read(eventFile, streams: runner.streams)
        let discard = LineWriter { _ in }
        let observability: ObservabilitySetup
        do {
            observability = try ObservabilitySetup.make(
                .init(logLevel: .info, logFormat: .json, logOutput: discard, metricsOutput: discard)
            )
        } catch {
            throw UsageError(.setupFailed, message: "cannot set up metrics: \(error)")
        }
        let logger = observability.logger(label: "batchproc")
        let processor = BatchProcessor(
            configuration: .init(
                maxConcurrency: concurrency,
                throwsOnFullBatchFailure: false,
                instrumentation: Instrumentation(
                    metricsFactory: observability.metrics,
                    flushMetrics: observability.flushMetrics
                )
            ),
            middleware: maxAttempts > 1 ? [RetryMiddleware(strategy: .exponentialJitter(maxAttempts: maxAttempts))] : []
        )
        let context = InvocationContext(requestID: "bench", logger: logger)
        let clock = ContinuousClock()
        var times: [Duration] = []
        var records = 0
        for iteration in 0...iterations {
            let start = clock.now
            if decodeOnly {
                let batch: RawBatch
                do {
                    batch = try RawBatch(eventJSON: event)
                } catch {
                    throw UsageError(.unreadableInput, message: "the event cannot be read: \(error.message)")
                }
                if iteration > 0 { times.append(start.duration(to: clock.now)) }
                records = batch.records.count
                continue
            }
            let result: BatchResult
            do {
                result = try await processor.process(eventJSON: event, context: context) { _, _ in }
            } catch {
                throw UsageError(.unreadableInput, message: "the event cannot be processed: \(error.message)")
            }
            let response = result.response.jsonBytes
            let elapsed = start.duration(to: clock.now)
            if iteration > 0 { times.append(elapsed) }
            records = result.outcomes.count
            guard !response.isEmpty else { throw UsageError(.unwritableOutput, message: "the response came out empty") }
        }
        let seconds = times.map { Double($0.components.seconds) + Double($0.components.attoseconds) / 1e18 }.sorted()
        let median =
            seconds.count % 2 == 1
            ? seconds[seconds.count / 2] : (seconds[seconds.count / 2 - 1] + seconds[seconds.count / 2]) / 2
        let line =
            "{\"records\":\(records),\"bytes\":\(event.count),\"iterations\":\(iterations),"
            + "\"best_s\":\(seconds[0]),\"median_s\":\(median)}"
        guard runner.streams.output(line) else { throw ExitCode(ExitStatus.outputFailed) }
    }
}
