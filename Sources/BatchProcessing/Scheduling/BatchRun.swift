import Logging

/// One run of one batch: carries out the ``BatchScheduler``'s decisions in a task group, watches the deadline,
/// and collects every record's outcome. The rules live in the scheduler; this type only runs them.
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
    let handler: RecordHandler<Record>

    private struct Finished: Sendable {
        var index: Int
        var error: (any Error)?
        var attempts: Int
        var duration: Duration
    }

    private enum Event: Sendable {
        case finished(Finished)
        case cutoffReached
        /// The deadline watch was cancelled: the batch ended first, or the processing task was cancelled.
        case cutoffWatchCancelled
    }

    func run() async -> [RecordOutcome] {
        guard !records.isEmpty else { return [] }
        var statuses = [RecordOutcome.Status?](repeating: nil, count: records.count)
        var attempts = [Int](repeating: 0, count: records.count)
        var durations = [Duration?](repeating: nil, count: records.count)
        var scheduler = BatchScheduler(
            orderingKeys: records.map(\.orderingKey),
            policy: policy,
            maxConcurrency: maxConcurrency
        )
        let clock = self.clock
        let cutoff = self.cutoff

        await withTaskGroup(of: Event.self) { group in
            func startReadyRecords() {
                if Task.isCancelled { scheduler.stop(.cancelled) }
                if let cutoff, clock.now >= cutoff { scheduler.stop(.deadline) }
                while let decision = scheduler.next() {
                    switch decision {
                    case .skip(let index, let reason):
                        statuses[index] = .skipped(reason)
                    case .start(let index):
                        group.addTask { [self] in .finished(await runRecord(index)) }
                    }
                }
            }

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

            startReadyRecords()
            while scheduler.running > 0, let event = await group.next() {
                switch event {
                case .cutoffReached:
                    scheduler.stop(.deadline)
                    // Only records are left in the group: cancel them so the batch can answer in time.
                    group.cancelAll()
                case .cutoffWatchCancelled:
                    break
                case .finished(let finished):
                    let index = finished.index
                    attempts[index] = finished.attempts
                    durations[index] = finished.duration
                    statuses[index] = finished.error.map { .failed($0) } ?? .succeeded
                    scheduler.finished(index, failed: finished.error != nil)
                }
                startReadyRecords()
            }
            // Every record has ended; stop the deadline watch if it is still waiting.
            group.cancelAll()
        }

        return statuses.enumerated().map { index, status in
            // Every record is given a status above; a missing one would be a scheduling bug, and is still
            // reported rather than lost.
            let status = status ?? .skipped(scheduler.stopReason ?? .cancelled)
            let succeeded: Bool
            if case .succeeded = status { succeeded = true } else { succeeded = false }
            return RecordOutcome(
                index: index,
                itemIdentifier: records[index].itemIdentifier,
                status: status,
                isReported: scheduler.isReported(index, succeeded: succeeded),
                attempts: attempts[index],
                duration: durations[index]
            )
        }
    }

    /// Runs one record through the chain and notes how it ended.
    private func runRecord(_ index: Int) async -> Finished {
        let record = records[index]
        let tracker = AttemptTracker()
        let identifier = record.itemIdentifier
        let context = RecordContext(
            index: index,
            itemIdentifier: identifier,
            eventSource: record.batchSource,
            attempt: 1,
            deadline: cutoff,
            logger: RecordContext.recordLogger(
                base: logger,
                index: index,
                itemIdentifier: identifier,
                eventSource: record.batchSource,
                extra: record.logMetadata
            ),
            invocation: invocation,
            clock: clock,
            attemptTracker: tracker
        )
        let start = clock.now
        var error: (any Error)?
        do {
            try await handler(record, context)
        } catch let thrown {
            error = thrown
        }
        return Finished(index: index, error: error, attempts: tracker.attempts, duration: start.duration(to: clock.now))
    }
}
