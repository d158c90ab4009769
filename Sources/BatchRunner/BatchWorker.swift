public import BatchProcessing
import Logging
public import ServiceLifecycle

/// A long-running worker for hosts: takes batch events one after another from any async sequence of
/// ``BatchWorkItem``s (the runner's `serve` gives it the lines of standard input, or the files of a spool
/// directory), runs each through a processor, and answers each exactly once, in order, with its
/// ``InvocationAnswer``: the partial batch response, or Lambda's error shape for an event that is not valid or whose
/// batch failed as a whole. A bad event never stops the worker.
///
/// It is a swift-service-lifecycle `Service`: run it in a `ServiceGroup` with SIGTERM as a graceful shutdown
/// signal. On graceful shutdown it starts no new record (`ShutdownSignal`): the records running finish, the rest
/// of the batch in flight is reported in its answer (so nothing is lost), no further event is taken, and `run()`
/// returns normally. It also returns at the end of the input.
///
/// ```swift
/// // `events`: an AsyncStream<BatchWorkItem> your consumer feeds, each item with where its answer goes.
/// let worker = BatchWorker(processor: processor, input: events) { record, context in
///     try await handle(record)
/// }
/// try await ServiceGroup(services: [worker], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger).run()
/// ```
public struct BatchWorker<Input: AsyncSequence<BatchWorkItem, Never> & Sendable>: Service {
    /// The processor every batch runs through.
    public let processor: BatchProcessor
    /// The events and where their answers go.
    public let input: Input
    /// The source to read every event as, or `nil` to detect it from each event.
    public let source: BatchEventSource?
    /// Makes the invocation context of each batch (its request id, logger); the worker sets its shutdown signal.
    public let makeContext: @Sendable () -> InvocationContext
    /// The handler every record runs.
    public let handler: RecordHandler<AnyBatchRecord>

    /// Creates a worker.
    public init(
        processor: BatchProcessor,
        input: Input,
        source: BatchEventSource? = nil,
        makeContext: @escaping @Sendable () -> InvocationContext = { InvocationContext() },
        handler: @escaping RecordHandler<AnyBatchRecord>
    ) {
        self.processor = processor
        self.input = input
        self.source = source
        self.makeContext = makeContext
        self.handler = handler
    }

    /// Answers every event until the input ends or a graceful shutdown is requested.
    ///
    /// - Throws: ``BatchWorkerOutputFailed`` when an answer cannot be delivered.
    public func run() async throws {
        let shutdown = ShutdownSignal()
        try await withGracefulShutdownHandler {
            for await item in input.cancelOnGracefulShutdown() {
                var context = makeContext()
                context.shutdown = shutdown
                if let name = item.name { context.logger[metadataKey: BatchWorkItem.nameMetadataKey] = .string(name) }
                let answer = await processor.answer(
                    eventJSON: item.event,
                    source: source,
                    context: context,
                    handler: handler
                )
                guard item.answer(answer) else { throw BatchWorkerOutputFailed() }
                if shutdown.isRequested { return }
            }
        } onGracefulShutdown: {
            shutdown.request()
        }
    }
}

/// A ``BatchWorker``'s answer could not be written (its output closed or full): the worker stops, since it could not
/// answer the next line either.
public struct BatchWorkerOutputFailed: Error, CustomStringConvertible {
    public var description: String { "cannot write the answer to the output" }
}
