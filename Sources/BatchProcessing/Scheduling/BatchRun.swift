import Logging
import Synchronization
import Tracing

/// One run of one batch: carries out the ``BatchScheduler``'s decisions with a fixed set of workers, watches the
/// deadline, and collects every record's outcome. The rules live in the scheduler; this type only runs them.
///
/// Each worker takes the next record the scheduler starts, runs it, reports how it ended, and takes the next:
/// there are `maxConcurrency` workers (fewer for a smaller batch), not a task per record. With one worker and no
/// deadline, the worker is the calling task itself: the records run in a plain loop.
struct BatchRun<Record: BatchRecord> {
    let records: [Record]
    let policy: FailurePolicy
    let maxConcurrency: Int
    /// After this instant no record starts, and running ones are cancelled.
    let cutoff: ContinuousClock.Instant?
    let clock: any BatchClock
    let invocation: InvocationContext
    /// The invocation's logger with its metadata; each record's logger adds the record's keys.
    let logger: Logger
    /// The batch's spans, when the processor traces.
    let tracing: BatchTracing?
    let handler: RecordNext<Record>

    private enum Event: Sendable {
        case workerDone
        case cutoffReached
        /// The deadline watch was cancelled: the batch ended first, or the processing task was cancelled.
        case cutoffWatchCancelled
    }

    func run() async -> [RecordOutcome] {
        guard !records.isEmpty else { return [] }
        let state = RunState(
            scheduler: BatchScheduler(
                orderingKeys: BatchScheduler.needsOrderingKeys(policy: policy, maxConcurrency: maxConcurrency)
                    ? records.map { $0.orderingKey } : Array(repeating: nil, count: records.count),
                policy: policy,
                maxConcurrency: maxConcurrency
            ),
            count: records.count,
            clock: clock,
            cutoff: cutoff,
            shutdown: invocation.shutdown
        )
        // A shutdown requested while records run wakes the workers waiting for one, so that they skip the rest.
        let registration = invocation.shutdown?.onRequest { [state] in state.stop(.cancelled) }
        defer { registration?.cancel() }
        let records = self.records
        let scope = BatchScope(
            eventSource: records[0].batchSource,
            deadline: cutoff,
            baseLogger: logger,
            invocation: invocation,
            clock: clock,
            recordMetadata: { records[$0].recordLogMetadata },
            traceHeader: { records[$0].traceHeader(named: $1) }
        )
        // Read once: every record's context and outcome needs its identifier.
        let identifiers = records.map { $0.itemIdentifier }
        let workers = min(max(maxConcurrency, 1), records.count)
        if workers == 1 && cutoff == nil {
            await work(state, scope: scope, identifiers: identifiers)
        } else {
            await runWorkers(workers, state: state, scope: scope, identifiers: identifiers)
        }
        return state.outcomes(identifiers)
    }

    private func runWorkers(
        _ workers: Int,
        state: RunState,
        scope: BatchScope,
        identifiers: [ItemIdentifier]
    ) async {
        let clock = self.clock
        await withTaskGroup(of: Event.self) { group in
            if let cutoff {
                group.addTask {
                    do {
                        try await clock.sleep(until: cutoff, tolerance: nil)
                        return .cutoffReached
                    } catch {
                        return .cutoffWatchCancelled
                    }
                }
            }
            for _ in 0..<workers {
                group.addTask { [self] in
                    await work(state, scope: scope, identifiers: identifiers)
                    return .workerDone
                }
            }
            var working = workers
            while working > 0, let event = await group.next() {
                switch event {
                case .workerDone:
                    working -= 1
                case .cutoffReached:
                    // Stop first, so that the workers, once cancelled, skip the rest for the deadline.
                    state.stop(.deadline)
                    group.cancelAll()
                case .cutoffWatchCancelled:
                    break
                }
            }
            // Every record has ended; stop the deadline watch if it is still waiting.
            group.cancelAll()
        }
    }

    /// Takes records from the scheduler and runs them until there are none left to start.
    private func work(_ state: RunState, scope: BatchScope, identifiers: [ItemIdentifier]) async {
        while true {
            // Without waiting first: the record is usually ready, and an async call costs a frame.
            var index = state.takeNext()
            if index == nil, state.mustWait {
                index = await state.nextStart()
            }
            guard let index else { return }
            state.finish(await runRecord(index, identifier: identifiers[index], scope: scope))
        }
    }

    /// Runs one record through the chain and notes how it ended.
    @inline(__always)
    private func runRecord(_ index: Int, identifier: ItemIdentifier, scope: BatchScope) async -> RecordEnd {
        if let tracing { return await runTracedRecord(index, identifier: identifier, scope: scope, tracing: tracing) }
        let context = RecordContext(index: index, itemIdentifier: identifier, attempt: 1, scope: scope)
        let start = clock.now
        let result = await handler(records[index], context)
        return RecordEnd(index: index, result: result, duration: start.duration(to: clock.now))
    }

    /// ``runRecord(_:identifier:scope:)`` inside the record's span, which is the current context while the chain
    /// runs.
    private func runTracedRecord(
        _ index: Int,
        identifier: ItemIdentifier,
        scope: BatchScope,
        tracing: BatchTracing
    ) async -> RecordEnd {
        let trace = tracing.startRecord(records[index], index: index, identifier: identifier)
        let context = RecordContext(index: index, itemIdentifier: identifier, attempt: 1, trace: trace, scope: scope)
        let start = clock.now
        let record = records[index]
        let handler = self.handler
        let result = await InstrumentationContext.withValue(trace.span.context) {
            await handler(record, context)
        }
        let duration = start.duration(to: clock.now)
        tracing.endRecord(trace, result: result)
        return RecordEnd(index: index, result: result, duration: duration)
    }
}

/// How one record ended.
private struct RecordEnd: Sendable {
    var index: Int
    var result: RecordResult
    var duration: Duration
}

/// What the workers of one run share: the scheduler, every record's status so far, and the workers waiting for a
/// record to become ready (its lane's previous record still running).
private final class RunState: Sendable {
    private enum Wake {
        case start(Int)
        case done
        case retry
    }

    private struct Inner: ~Copyable {
        var scheduler: BatchScheduler
        var statuses: [RecordOutcome.Status?]
        var results: [RecordResult?]
        var durations: [Duration?]
        var waiters: [CheckedContinuation<Wake, Never>] = []
        /// Set once no record is left to start and none is running.
        var done = false

        /// The next record to start, skipping those the scheduler skips; `.retry` when none is ready yet.
        mutating func decide() -> Wake {
            while let decision = scheduler.next() {
                switch decision {
                case .skip(let index, let reason): statuses[index] = .skipped(reason)
                case .start(let index): return .start(index)
                }
            }
            return scheduler.running == 0 ? .done : .retry
        }

        mutating func wakeAll() {
            for waiter in waiters { waiter.resume(returning: .retry) }
            waiters.removeAll()
        }
    }

    private let inner: Mutex<Inner>
    private let clock: any BatchClock
    private let cutoff: ContinuousClock.Instant?
    private let shutdown: ShutdownSignal?

    init(
        scheduler: BatchScheduler,
        count: Int,
        clock: any BatchClock,
        cutoff: ContinuousClock.Instant?,
        shutdown: ShutdownSignal?
    ) {
        inner = Mutex(
            Inner(
                scheduler: scheduler,
                statuses: Array(repeating: nil, count: count),
                results: Array(repeating: nil, count: count),
                durations: Array(repeating: nil, count: count)
            )
        )
        self.clock = clock
        self.cutoff = cutoff
        self.shutdown = shutdown
    }

    /// The next record to start when one is ready now; `nil` otherwise (then ``mustWait`` says whether the run
    /// is over or a record must end first).
    func takeNext() -> Int? {
        let stopReason = currentStopReason()
        return inner.withLock { inner in
            if let stopReason { inner.scheduler.stop(stopReason) }
            switch inner.decide() {
            case .start(let index): return index
            case .done:
                inner.done = true
                return nil
            case .retry: return nil
            }
        }
    }

    /// After ``takeNext()`` gave nothing: whether records are running and one may yet become ready.
    var mustWait: Bool { inner.withLock { !$0.done } }

    private func currentStopReason() -> RecordOutcome.SkipReason? {
        if Task.isCancelled || shutdown?.isRequested == true { return .cancelled }
        if let cutoff, clock.now >= cutoff { return .deadline }
        return nil
    }

    /// The index of the next record this worker runs, or `nil` when no record is left to start. Waits while
    /// records are running and none other is ready.
    func nextStart() async -> Int? {
        while true {
            let stopReason = currentStopReason()
            let wake = inner.withLock { inner in
                if let stopReason { inner.scheduler.stop(stopReason) }
                return inner.decide()
            }
            switch wake {
            case .start(let index): return index
            case .done: return nil
            case .retry: break
            }
            // Nothing ready: wait for a running record to end (or the run to stop), unless that happened meanwhile.
            let woken = await withCheckedContinuation { (continuation: CheckedContinuation<Wake, Never>) in
                inner.withLock { inner in
                    let wake = inner.decide()
                    if case .retry = wake {
                        inner.waiters.append(continuation)
                    } else {
                        continuation.resume(returning: wake)
                    }
                }
            }
            switch woken {
            case .start(let index): return index
            case .done: return nil
            case .retry: continue
            }
        }
    }

    /// Notes how a record ended; its lane's next record may now start, so waiting workers look again.
    func finish(_ finished: RecordEnd) {
        inner.withLock { inner in
            let index = finished.index
            let error = finished.result.error
            inner.results[index] = finished.result
            inner.durations[index] = finished.duration
            inner.statuses[index] = error.map { .failed($0) } ?? .succeeded
            inner.scheduler.finished(index, failed: error != nil)
            inner.wakeAll()
        }
    }

    /// Starts nothing more; waiting workers wake to skip the rest.
    func stop(_ reason: RecordOutcome.SkipReason) {
        inner.withLock { inner in
            inner.scheduler.stop(reason)
            inner.wakeAll()
        }
    }

    func outcomes(_ identifiers: [ItemIdentifier]) -> [RecordOutcome] {
        inner.withLock { inner in
            inner.statuses.enumerated().map { index, status in
                // Every record is given a status; a missing one would be a scheduling bug, and is still reported
                // rather than lost.
                let status = status ?? .skipped(inner.scheduler.stopReason ?? .cancelled)
                let succeeded: Bool
                if case .succeeded = status { succeeded = true } else { succeeded = false }
                return RecordOutcome(
                    index: index,
                    itemIdentifier: identifiers[index],
                    status: status,
                    isReported: inner.scheduler.isReported(index, succeeded: succeeded),
                    result: inner.results[index],
                    duration: inner.durations[index]
                )
            }
        }
    }
}
