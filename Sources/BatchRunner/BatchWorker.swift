public import BatchProcessing
public import ServiceLifecycle

/// A long-running worker for hosts: takes batch events one per line, runs each through a processor, and answers
/// each line with exactly one line, in order: the partial batch response, or Lambda's error shape
/// (`{"errorType":…,"errorMessage":…}`) for a line that is not a valid event. A bad line never stops the worker.
///
/// It is a swift-service-lifecycle `Service`: run it in a `ServiceGroup` with SIGTERM as a graceful shutdown
/// signal. On graceful shutdown it starts no new record (``ShutdownSignal``): the records running finish, the rest
/// of the batch in flight is reported in its response (so nothing is lost), no further line is read, and `run()`
/// returns normally. It also returns at the end of the input.
///
/// ```swift
/// let worker = BatchWorker(processor: processor, input: LineInput.standardInput(), output: { line in
///     StandardStreams.output(line)   // false when the answer cannot be written
/// }) { record, context in
///     try await handle(record)
/// }
/// try await ServiceGroup(services: [worker], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger).run()
/// ```
public struct BatchWorker<Input: AsyncSequence<[UInt8], Never> & Sendable>: Service {
    /// The processor every batch runs through.
    public let processor: BatchProcessor
    /// The events, one per element (a line without its line break): ``LineInput`` for standard input.
    public let input: Input
    /// Writes one answer line (without its line break); returns false when it could not be written, which ends
    /// the worker with ``BatchWorkerOutputFailed``.
    public let output: @Sendable (String) -> Bool
    /// The source to read every event as, or `nil` to detect it from each event.
    public let source: BatchEventSource?
    /// Makes the invocation context of each batch (its request id, logger); the worker sets its shutdown signal.
    public let makeContext: @Sendable () -> InvocationContext
    /// The handler every record runs.
    public let handler: RecordHandler<AnyBatchRecord>

    /// The answer could not be written (standard output closed or full): the worker stops, since it could not
    /// answer the next line either.

    /// Creates a worker.
    public init(
        processor: BatchProcessor,
        input: Input,
        source: BatchEventSource? = nil,
        output: @escaping @Sendable (String) -> Bool,
        makeContext: @escaping @Sendable () -> InvocationContext = { InvocationContext() },
        handler: @escaping RecordHandler<AnyBatchRecord>
    ) {
        self.processor = processor
        self.input = input
        self.source = source
        self.output = output
        self.makeContext = makeContext
        self.handler = handler
    }

    /// Answers every line until the input ends or a graceful shutdown is requested.
    ///
    /// - Throws: ``BatchWorkerOutputFailed`` when an answer cannot be written.
    public func run() async throws {
        let shutdown = ShutdownSignal()
        try await withGracefulShutdownHandler {
            for await line in input.cancelOnGracefulShutdown() {
                var context = makeContext()
                context.shutdown = shutdown
                let answer: String
                do throws(BatchProcessingError) {
                    answer = try await processor.process(
                        eventJSON: Self.withoutCarriageReturn(line),
                        source: source,
                        context: context,
                        handler: handler
                    ).response.jsonString
                } catch {
                    answer = error.lambdaErrorJSON
                }
                guard output(answer) else { throw BatchWorkerOutputFailed() }
                if shutdown.isRequested { return }
            }
        } onGracefulShutdown: {
            shutdown.request()
        }
    }

    /// A line as it came, less a trailing carriage return (a file written on Windows).
    private static func withoutCarriageReturn(_ line: [UInt8]) -> [UInt8] {
        line.last == 0x0D ? Array(line.dropLast()) : line
    }
}

/// A ``BatchWorker``'s answer could not be written (its output closed or full): the worker stops, since it could not
/// answer the next line either.
public struct BatchWorkerOutputFailed: Error, CustomStringConvertible {
    public var description: String { "cannot write the answer to the output" }
}
