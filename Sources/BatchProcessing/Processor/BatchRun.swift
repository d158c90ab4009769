import Logging

/// One run of one batch: schedules the records, applies the policy, and collects every record's outcome.
///
/// Records with the same ordering key form a *lane* that runs one record at a time in record order; records
/// without a key are lanes of their own. Of the lanes that are free, the one whose next record comes first in
/// the batch starts first, so that with `maxConcurrency` 1 records run exactly in batch order.
///
/// The result is the one a sequential run would give, whatever the concurrency: under stop-on-first-failure a
/// failure at index *f* still lets records before *f* start (a sequential run would have run them), but none
/// after it, and every record from *f* on is reported.
struct BatchRun<Record: BatchRecord> {
    let records: [Record]
    let policy: FailurePolicy
    let maxConcurrency: Int
    /// After this instant no record starts, and running ones are cancelled.
    let cutoff: ContinuousClock.Instant?
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

    private struct Lanes {
        /// The lane of each record.
        var laneOf: [Int] = []
        /// The records of each lane, in batch order.
        var members: [[Int]] = []
        /// The position of each lane's next record in `members`.
        var cursor: [Int] = []
        /// True for lanes formed by an ordering key (not single keyless records).
        var keyed: [Bool] = []
        /// The index of the first failed record of each lane.
        var firstFailure: [Int?] = []

        init(keys: [String?]) {
            var laneOfKey: [String: Int] = [:]
            laneOf.reserveCapacity(keys.count)
            for (index, key) in keys.enumerated() {
                let lane: Int
                if let key, let existing = laneOfKey[key] {
                    lane = existing
                } else {
                    lane = members.count
                    members.append([])
                    keyed.append(key != nil)
                    if let key { laneOfKey[key] = lane }
                }
                members[lane].append(index)
                laneOf.append(lane)
            }
            cursor = Array(repeating: 0, count: members.count)
            firstFailure = Array(repeating: nil, count: members.count)
        }

        /// Moves the lane past its current record and gives the lane's next record, if any.
        mutating func advance(_ lane: Int) -> Int? {
            cursor[lane] += 1
            return cursor[lane] < members[lane].count ? members[lane][cursor[lane]] : nil
        }
    }

    func run() async -> [RecordOutcome] {
        var statuses = [RecordOutcome.Status?](repeating: nil, count: records.count)
        var attempts = [Int](repeating: 0, count: records.count)
        var durations = [Duration?](repeating: nil, count: records.count)
        guard !records.isEmpty else { return [] }
        var lanes = Lanes(keys: records.map(\.orderingKey))
        // The next record of every lane that is not running, smallest index first.
        var ready = MinHeap(lanes.members.map { $0[0] })
        var firstFailure: Int?
        var stopReason: RecordOutcome.SkipReason?

        func reasonToSkip(_ index: Int) -> RecordOutcome.SkipReason? {
            if let stopReason { return stopReason }
            if Task.isCancelled {
                stopReason = .cancelled
                return .cancelled
            }
            if let cutoff, ContinuousClock.now >= cutoff {
                stopReason = .deadline
                return .deadline
            }
            if policy == .stopOnFirstFailure, let firstFailure, index > firstFailure {
                return .earlierFailure(index: firstFailure)
            }
            if policy == .skipGroup || policy == .skipKey, lanes.keyed[lanes.laneOf[index]],
                let failed = lanes.firstFailure[lanes.laneOf[index]]
            {
                return .sameKeyFailed(index: failed)
            }
            return nil
        }

        await withTaskGroup(of: Event.self) { group in
            var running = 0

            func startReadyRecords() {
                while running < maxConcurrency, let index = ready.popMin() {
                    if let reason = reasonToSkip(index) {
                        statuses[index] = .skipped(reason)
                        if let next = lanes.advance(lanes.laneOf[index]) { ready.insert(next) }
                        continue
                    }
                    let record = records[index]
                    let tracker = AttemptTracker()
                    let context = RecordContext(
                        index: index,
                        itemIdentifier: record.itemIdentifier,
                        eventSource: record.batchSource,
                        attempt: 1,
                        deadline: cutoff,
                        logger: RecordContext.recordLogger(
                            base: logger,
                            index: index,
                            itemIdentifier: record.itemIdentifier,
                            eventSource: record.batchSource
                        ),
                        invocation: invocation,
                        attemptTracker: tracker
                    )
                    let handler = self.handler
                    group.addTask {
                        let start = ContinuousClock.now
                        var error: (any Error)?
                        do {
                            try await handler(record, context)
                        } catch let thrown {
                            error = thrown
                        }
                        return .finished(
                            Finished(
                                index: index,
                                error: error,
                                attempts: tracker.attempts,
                                duration: ContinuousClock.now - start
                            )
                        )
                    }
                    running += 1
                }
            }

            if let cutoff {
                group.addTask {
                    do {
                        try await Task.sleep(until: cutoff, clock: .continuous)
                        return .cutoffReached
                    } catch {
                        return .cutoffWatchCancelled
                    }
                }
            }

            startReadyRecords()
            while running > 0, let event = await group.next() {
                switch event {
                case .cutoffReached:
                    if stopReason == nil { stopReason = .deadline }
                    // Only records are left in the group: cancel them so the batch can answer in time.
                    group.cancelAll()
                case .cutoffWatchCancelled:
                    break
                case .finished(let finished):
                    running -= 1
                    let index = finished.index
                    let error = finished.error
                    attempts[index] = finished.attempts
                    durations[index] = finished.duration
                    let lane = lanes.laneOf[index]
                    if let error {
                        statuses[index] = .failed(error)
                        firstFailure = min(firstFailure ?? index, index)
                        if lanes.firstFailure[lane] == nil { lanes.firstFailure[lane] = index }
                    } else {
                        statuses[index] = .succeeded
                    }
                    if let next = lanes.advance(lane) { ready.insert(next) }
                }
                startReadyRecords()
            }
            // Every record has ended; stop the deadline watch if it is still waiting.
            group.cancelAll()
        }

        return statuses.enumerated().map { index, status in
            // Every record is given a status above; a missing one would be a scheduling bug, and is still
            // reported rather than lost.
            let status = status ?? .skipped(stopReason ?? .cancelled)
            let isReported: Bool
            switch status {
            case .succeeded:
                isReported = policy == .stopOnFirstFailure && firstFailure.map { index > $0 } ?? false
            case .failed, .skipped:
                isReported = true
            }
            return RecordOutcome(
                index: index,
                itemIdentifier: records[index].itemIdentifier,
                status: status,
                isReported: isReported,
                attempts: attempts[index],
                duration: durations[index]
            )
        }
    }
}

/// A binary min-heap of record indices.
struct MinHeap {
    private var storage: [Int]

    init(_ elements: [Int]) {
        storage = elements
        for position in stride(from: storage.count / 2 - 1, through: 0, by: -1) {
            siftDown(position)
        }
    }

    var isEmpty: Bool { storage.isEmpty }

    mutating func insert(_ element: Int) {
        storage.append(element)
        var child = storage.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard storage[child] < storage[parent] else { break }
            storage.swapAt(child, parent)
            child = parent
        }
    }

    mutating func popMin() -> Int? {
        guard !storage.isEmpty else { return nil }
        storage.swapAt(0, storage.count - 1)
        let minimum = storage.removeLast()
        siftDown(0)
        return minimum
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < storage.count, storage[left] < storage[smallest] { smallest = left }
            if right < storage.count, storage[right] < storage[smallest] { smallest = right }
            guard smallest != parent else { return }
            storage.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
