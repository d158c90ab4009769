import ArgumentParser
package import BatchProcessing
import BatchProcessingJSONSupport
import BatchProcessingSystemSupport
import EMFMetrics
package import Logging
package import Observability
import ServiceLifecycle
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What the runner's commands run: a processor, the handler behind it, where logs go, which stores to close at the
/// end and the process's streams; and the four ways to run them (``invoke(eventFile:onResult:)``,
/// ``replay(paths:report:)``, ``serve(spool:pollInterval:)``, ``serveLambda(endpoint:)``), each of which answers
/// every event with an ``InvocationAnswer``. ``BatchProgram`` makes one from its options; `batchproc` makes one
/// around its built-in handler.
///
/// Every method writes answers on standard output with calls that report a closed or full stream (exit status 74,
/// never a trap), and says usage errors as ``UsageError``.
package struct RunnerSession: Sendable {
    /// The program's name, at the start of its messages on standard error.
    package var programName: String
    /// The processor every event runs through.
    package var processor: BatchProcessor
    /// The source events are read as, or `nil` to detect it from each event.
    package var source: BatchEventSource?
    /// The logger of every invocation.
    package var logger: Logger
    /// The stores the processor's chain opened, shut down when the command's batches are done.
    package var stores: any IdempotencyStoreProvider
    /// The handler every record runs.
    package var handler: RecordHandler<AnyBatchRecord>
    /// The process's standard streams.
    package var streams: StandardStreams
    /// The logs and metrics the processor reports to, when the session made them: each Lambda invocation's metrics
    /// are kept apart in them (``serveLambda(endpoint:concurrency:)``).
    package var observability: ObservabilitySetup?

    package init(
        programName: String,
        processor: BatchProcessor,
        source: BatchEventSource?,
        logger: Logger,
        stores: any IdempotencyStoreProvider = FileStoreProvider(),
        streams: StandardStreams,
        observability: ObservabilitySetup? = nil,
        handler: @escaping RecordHandler<AnyBatchRecord>
    ) {
        self.observability = observability
        self.programName = programName
        self.processor = processor
        self.source = source
        self.logger = logger
        self.stores = stores
        self.streams = streams
        self.handler = handler
    }

    private static func localRequestID() -> String { "local-\(UInt32.random(in: 0...UInt32.max))" }

    /// The answer to `event`, run as one invocation with `context`.
    private func run(_ event: [UInt8], context: InvocationContext) async -> InvocationAnswer {
        await processor.answer(eventJSON: event, source: source, context: context, handler: handler)
    }

    /// Runs `body`, then shuts the stores down, whether it returned or threw.
    private func closingStores<Result>(_ body: () async throws -> Result) async throws -> Result {
        do {
            let result = try await body()
            await stores.shutdown()
            return result
        } catch {
            await stores.shutdown()
            throw error
        }
    }

    private func writeOrFail(_ bytes: [UInt8], what: String) throws(ExitCode) {
        guard streams.output(bytes) else {
            streams.error("\(programName): error: cannot write \(what) to standard output")
            throw ExitCode(ExitStatus.outputFailed)
        }
    }

    // MARK: - invoke

    /// One event in, its answer out, as one Lambda invocation: the partial batch response on standard output, or
    /// Lambda's error shape when the invocation fails as a whole (then `ExitCode` with status 1).
    ///
    /// - Parameters:
    ///   - eventFile: the event's path, or `-` for standard input (any readable file: a pipe, a FIFO…).
    ///   - onResult: sees the batch's result (also of a whole failure that has one) before the answer is written.
    package func invoke(eventFile: String, onResult: ((BatchResult) -> Void)? = nil) async throws {
        let answer = try await closingStores { () async throws -> InvocationAnswer in
            let event = try EventInput.read(eventFile, streams: streams)
            return await run(event, context: InvocationContext(requestID: Self.localRequestID(), logger: logger))
        }
        if let result = answer.result { onResult?(result) }
        try writeOrFail(answer.json, what: "the answer")
        if answer.failedAsWhole { throw ExitCode(ExitStatus.invocationFailed) }
    }

    // MARK: - replay

    /// Many events through the processor, one after another: each path is an event file or a directory of
    /// `*.json` event files (in name order). Shows a progress line on standard error when it is a terminal,
    /// prints the summary table on standard output, and writes the HTML report to `report` when given.
    ///
    /// - Returns: the summary.
    /// - Throws: ``UsageError`` for a missing or unreadable path or report; `ExitCode` with status 1 when
    ///   an event failed as a whole (after the table and the report are written), 74 when the table cannot be.
    @discardableResult
    package func replay(paths: [String], report: String? = nil) async throws -> ReplaySummary {
        let (summary, count) = try await closingStores { () async throws -> (ReplaySummary, Int) in
            let files = try Self.eventFiles(paths)
            return (try await replay(files), files.count)
        }
        if let report {
            let page = ReplayReport.html(summary, title: "Replay of \(count) events")
            do {
                try SystemIO.replaceFile(report, Array(page.utf8), mode: 0o644)
            } catch {
                throw UsageError(.unwritableOutput, message: "cannot write the report to \(report): \(error)")
            }
        }
        try writeOrFail(Array(summary.table().utf8.dropLast()), what: "the summary")
        if summary.events.contains(where: { $0.wholeFailure != nil }) {
            throw ExitCode(ExitStatus.invocationFailed)
        }
        return summary
    }

    /// Runs `files` one after another, noting each event's answer and duration in the summary.
    private func replay(_ files: [String]) async throws -> ReplaySummary {
        let progress = isatty(2) == 1
        var summary = ReplaySummary()
        let clock = ContinuousClock()
        for (number, file) in files.enumerated() {
            if progress { showProgress(number, of: files.count, file: file) }
            let event = try EventInput.read(file, streams: streams)
            let start = clock.now
            let answer = await run(event, context: InvocationContext(requestID: "replay-\(number)", logger: logger))
            summary.add(name: file, answer: answer, duration: start.duration(to: clock.now))
        }
        if progress { showProgress(files.count, of: files.count, file: nil) }
        return summary
    }

    /// The event files the arguments name, directories expanded to their `*.json` files in name order.
    ///
    /// - Throws: ``UsageError`` for a path that does not exist, a directory that cannot be read, or no file at all.
    package static func eventFiles(_ paths: [String]) throws(UsageError) -> [String] {
        var files: [String] = []
        for path in paths {
            guard let kind = SystemIO.kind(of: path) else {
                throw UsageError(.unreadableInput, message: "\(path) does not exist")
            }
            if kind == .directory {
                let names: [String]
                do {
                    names = try SystemIO.entries(of: path)
                } catch {
                    throw UsageError(.unreadableInput, message: "cannot read the directory \(path): \(error)")
                }
                files += names.filter { $0.hasSuffix(".json") && !$0.hasPrefix(".") }.sorted().map { path + "/" + $0 }
            } else {
                files.append(path)
            }
        }
        guard !files.isEmpty else {
            throw UsageError(.unreadableInput, message: "no event file in \(paths.joined(separator: ", "))")
        }
        return files
    }

    /// `[####....] 3/40 events name` over the previous line of a terminal; a line break after the last.
    private func showProgress(_ done: Int, of total: Int, file: String?) {
        let width = 30
        let filled = total == 0 ? width : width * done / total
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        var line = "\r\u{1B}[K[\(bar)] \(done)/\(total) events"
        if let file { line += " " + (file.split(separator: "/").last.map(String.init) ?? file) }
        if done == total { line += "\n" }
        // Not a line of its own: written as is, and dropped when standard error cannot take it.
        try? SystemIO.write(Array(line.utf8), to: 2)
    }

    // MARK: - serve

    /// The host worker (``BatchWorker``) until the input ends or SIGTERM/SIGINT: batch events as lines of standard
    /// input with one answer line each on standard output, or, with `spool`, files of that spool directory
    /// (``SpoolInput``). On SIGTERM the records running finish, the rest of the batch in flight is reported, and it
    /// returns.
    ///
    /// - Throws: ``UsageError`` when the spool cannot be set up, `ExitCode` with status 74 when an answer
    ///   cannot be written.
    package func serve(spool: String? = nil, pollInterval: Duration = .milliseconds(200)) async throws {
        let logger = self.logger
        let makeContext: @Sendable () -> InvocationContext = {
            InvocationContext(requestID: Self.localRequestID(), logger: logger)
        }
        func worker<Input: AsyncSequence<BatchWorkItem, Never> & Sendable>(_ input: Input) -> any Service {
            BatchWorker(processor: processor, input: input, source: source, makeContext: makeContext, handler: handler)
        }
        var lines: LineInput?
        // SIGTERM and SIGINT are caught before anything else is set up (a spool's lock file, a line read), so that
        // one sent as soon as the worker shows signs of life is a graceful shutdown, never a kill; the request waits
        // for the group when it comes first. (The group's own signal trapping registers beside its services, so a
        // SIGTERM early in the first batch could be missed.)
        let shutdown = GroupShutdown()
        guard TerminationSignals.install({ shutdown.request() }) else {
            throw UsageError(.setupFailed, message: "cannot set up the handling of SIGTERM: no pipe could be made")
        }
        try await closingStores {
            let service: any Service
            if let spool {
                do throws(SpoolError) {
                    service = worker(try SpoolInput(directory: spool, pollInterval: pollInterval))
                } catch {
                    throw UsageError(.setupFailed, message: error.message)
                }
            } else {
                let input = LineInput.standardInput()
                lines = input
                service = worker(input.answering(with: { [streams] in streams.output($0) }))
            }
            let group = ServiceGroup(
                configuration: .init(
                    services: [.init(service: service, successTerminationBehavior: .gracefullyShutdownGroup)],
                    logger: logger
                )
            )
            shutdown.attach(group)
            do {
                try await group.run()
            } catch is BatchWorkerOutputFailed {
                streams.error(
                    "\(programName): error: cannot write the answer "
                        + (spool == nil ? "to standard output" : "into the spool")
                )
                throw ExitCode(ExitStatus.outputFailed)
            }
        }
        if let problem = lines?.readError { logger.warning("standard input ended early: \(problem)") }
    }

    /// A graceful shutdown asked for by a signal, delivered to the service group once there is one.
    private final class GroupShutdown: Sendable {
        private let state = Mutex<(requested: Bool, group: ServiceGroup?)>((false, nil))

        /// Asks for the shutdown: now when the group runs, else as soon as it is attached.
        func request() {
            let group = state.withLock { state -> ServiceGroup? in
                state.requested = true
                return state.group
            }
            if let group { Task { await group.triggerGracefulShutdown() } }
        }

        /// The group to shut down; shut down at once when a request came first.
        func attach(_ group: ServiceGroup) {
            let requested = state.withLock { state -> Bool in
                state.group = group
                return state.requested
            }
            if requested { Task { await group.triggerGracefulShutdown() } }
        }
    }

    // MARK: - lambda

    /// The function's runtime on AWS Lambda (a `provided.al2023` custom runtime): takes each invocation from the
    /// Lambda Runtime API at `endpoint` (`AWS_LAMBDA_RUNTIME_API`), runs its event with the invocation's request id,
    /// deadline and trace header, and answers with the partial batch response, or fails the invocation with
    /// Lambda's error shape when it fails as a whole (so Lambda retries the batch). Runs until the Runtime API
    /// cannot be reached, which on Lambda means the environment is going away.
    ///
    /// With `concurrency` above 1 (Lambda Managed Instances, which say how many invocations an environment serves
    /// at once in `AWS_LAMBDA_MAX_CONCURRENCY`), that many loops run at once, each with its own connection, sharing
    /// the processor and its stores. Each invocation's logs carry its request id and trace id, and its metrics are
    /// kept apart and written in documents of its own that say its request id and trace id.
    ///
    /// - Throws: ``UsageError`` saying which call of the Runtime API failed.
    package func serveLambda(endpoint: String, concurrency: Int = 1) async throws {
        guard concurrency > 1 else { return try await lambdaLoop(endpoint: endpoint) }
        // Every loop runs until the Runtime API goes away; the first to stop ends the runtime (the others wait in a
        // `/next` that will not answer).
        let (ended, continuation) = AsyncStream<any Error>.makeStream()
        for _ in 0..<concurrency {
            Task {
                do {
                    try await lambdaLoop(endpoint: endpoint)
                } catch {
                    continuation.yield(error)
                }
            }
        }
        for await error in ended { throw error }
    }

    /// One invocation loop, with a connection of its own.
    private func lambdaLoop(endpoint: String) async throws {
        let client = LambdaRuntimeClient(endpoint: endpoint)
        let clock = ContinuousClock()
        while true {
            let invocation: LambdaRuntimeClient.Invocation
            do {
                invocation = try await client.next()
            } catch {
                throw UsageError(.setupFailed, message: "the Lambda Runtime API at \(endpoint): \(error)")
            }
            var deadline: ContinuousClock.Instant?
            if let milliseconds = invocation.deadlineMilliseconds {
                deadline = clock.now.advanced(by: .milliseconds(milliseconds - WallClock.nowMilliseconds()))
            }
            let context = InvocationContext(
                requestID: invocation.requestID,
                functionARN: invocation.functionARN,
                traceID: invocation.traceID,
                deadline: deadline,
                logger: logger
            )
            let answer: InvocationAnswer
            if let metrics = observability?.metrics {
                answer = await metrics.withInvocation(requestID: invocation.requestID, traceID: invocation.traceID) {
                    await run(invocation.event, context: context)
                }
            } else {
                answer = await run(invocation.event, context: context)
            }
            let delivery: LambdaRuntimeClient.Delivery
            do {
                if let failure = answer.failure {
                    delivery = try await client.fail(
                        invocation.requestID,
                        errorJSON: answer.json,
                        errorType: failure.errorType
                    )
                } else {
                    delivery = try await client.respond(to: invocation.requestID, with: answer.json)
                }
            } catch {
                throw UsageError(.setupFailed, message: "the Lambda Runtime API at \(endpoint): \(error)")
            }
            if case .refused(let status, let body) = delivery {
                // This invocation's answer only: Lambda reports it as failed; the next one is taken as usual.
                logger.error(
                    "the Lambda Runtime API refused the answer to an invocation",
                    metadata: [
                        "function_request_id": "\(invocation.requestID)",
                        "http_status": "\(status)",
                        "answer": "\(answer.failedAsWhole ? "error" : "response")",
                        "answer_bytes": "\(answer.json.count)",
                        "reason": "\(body)",
                    ]
                )
            }
        }
    }
}
