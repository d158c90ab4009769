/// The decisions of one batch run, apart from their effects: which record starts next, which is skipped and why,
/// and which are reported. A value type with no tasks and no clock, so every rule can be tested by calling it.
///
/// Records with the same ordering key form a *lane* that runs one record at a time, in record order; records
/// without a key are lanes of their own. Of the lanes that are free, the one whose next record comes first in the
/// batch starts first (a min-heap of their next records), so that with `maxConcurrency` 1 records run exactly in
/// batch order.
///
/// The answer is the one a sequential run would give, whatever the concurrency: under stop-on-first-failure a
/// failure at index *f* still lets records before *f* start (a sequential run would have run them), but none
/// after it, and every record from *f* on is reported.
struct BatchScheduler {
    /// What to do with the next record.
    enum Decision: Equatable {
        /// Run the record at this index.
        case start(Int)
        /// Do not run the record at this index, for this reason; it is reported.
        case skip(Int, RecordOutcome.SkipReason)
    }

    let policy: FailurePolicy
    let maxConcurrency: Int
    private(set) var running = 0
    /// The lowest index that failed so far.
    private(set) var firstFailure: Int?
    /// Set once the run must start nothing more (deadline, cancellation).
    private(set) var stopReason: RecordOutcome.SkipReason?
    private var lanes: Lanes
    /// The next record of every lane that is neither running nor finished, smallest index first; `nil` when one
    /// record runs at a time, since then the next record is always the one after the last (every earlier record,
    /// its lane's included, has ended).
    private var ready: MinHeap?
    /// With one record at a time: the next record to decide on.
    private var cursor = 0

    /// - Parameter orderingKeys: each record's ordering key, in batch order (`nil`: ordered against none).
    init(orderingKeys: [String?], policy: FailurePolicy, maxConcurrency: Int) {
        self.policy = policy
        self.maxConcurrency = max(maxConcurrency, 1)
        lanes = Lanes(keys: orderingKeys)
        ready = self.maxConcurrency == 1 ? nil : MinHeap(lanes.firstMembers)
    }

    /// Whether the ordering keys change any decision: with one record at a time, they do only when a failure
    /// skips the rest of its key. (Otherwise the keys need not be read at all.)
    static func needsOrderingKeys(policy: FailurePolicy, maxConcurrency: Int) -> Bool {
        maxConcurrency > 1 || policy == .skipGroup || policy == .skipKey
    }

    /// The next decision, or `nil` when nothing may start now: every slot is taken, or no lane has a record
    /// ready (its current record is running, or the lane is done).
    mutating func next() -> Decision? {
        guard running < maxConcurrency, let index = popReady() else { return nil }
        if let reason = reasonToSkip(index) {
            advance(lanes.laneOf[index])
            return .skip(index, reason)
        }
        running += 1
        return .start(index)
    }

    /// Notes that the record at `index` ended, and whether it failed; its lane's next record becomes ready.
    mutating func finished(_ index: Int, failed: Bool) {
        running -= 1
        let lane = lanes.laneOf[index]
        if failed {
            firstFailure = min(firstFailure ?? index, index)
            if lanes.firstFailure[lane] == nil { lanes.firstFailure[lane] = index }
        }
        advance(lane)
    }

    private mutating func popReady() -> Int? {
        guard ready != nil else {
            guard cursor < lanes.laneOf.count else { return nil }
            defer { cursor += 1 }
            return cursor
        }
        return ready?.popMin()
    }

    private mutating func advance(_ lane: Int) {
        guard ready != nil else { return }
        if let next = lanes.advance(lane) { ready?.insert(next) }
    }

    /// Starts nothing more: every record not yet started is skipped for `reason`. The first reason given stays.
    mutating func stop(_ reason: RecordOutcome.SkipReason) {
        if stopReason == nil { stopReason = reason }
    }

    /// True when a record that ended this way at `index` goes in the partial batch response.
    ///
    /// Failed and skipped records always do. A record that succeeded does only under stop-on-first-failure, when
    /// it ran alongside an earlier record that failed: a sequential run would not have run it.
    func isReported(_ index: Int, succeeded: Bool) -> Bool {
        guard succeeded else { return true }
        return policy == .stopOnFirstFailure && firstFailure.map { index > $0 } ?? false
    }

    private func reasonToSkip(_ index: Int) -> RecordOutcome.SkipReason? {
        if let stopReason { return stopReason }
        if policy == .stopOnFirstFailure, let firstFailure, index > firstFailure {
            return .earlierFailure(index: firstFailure)
        }
        let lane = lanes.laneOf[index]
        if policy == .skipGroup || policy == .skipKey, lanes.keyed[lane], let failed = lanes.firstFailure[lane] {
            return .sameKeyFailed(index: failed)
        }
        return nil
    }

    private struct Lanes {
        /// The lane of each record.
        var laneOf: [Int] = []
        /// The records of every lane, lane after lane, each in batch order: lane `l` is
        /// `members[start[l]..<start[l + 1]]`. (One flat array rather than an array per lane, which would cost an
        /// allocation per keyless record.)
        var members: [Int] = []
        var start: [Int] = []
        /// The position of each lane's next record within the lane.
        var cursor: [Int] = []
        /// True for lanes formed by an ordering key (not single keyless records).
        var keyed: [Bool] = []
        /// The index of the first failed record of each lane.
        var firstFailure: [Int?] = []

        init(keys: [String?]) {
            var laneOfKey: [String: Int] = [:]
            var sizes: [Int] = []
            laneOf.reserveCapacity(keys.count)
            for key in keys {
                let lane: Int
                if let key, let existing = laneOfKey[key] {
                    lane = existing
                } else {
                    lane = sizes.count
                    sizes.append(0)
                    keyed.append(key != nil)
                    if let key { laneOfKey[key] = lane }
                }
                sizes[lane] += 1
                laneOf.append(lane)
            }
            start = Array(repeating: 0, count: sizes.count + 1)
            for lane in sizes.indices { start[lane + 1] = start[lane] + sizes[lane] }
            var filled = Array(repeating: 0, count: sizes.count)
            members = Array(repeating: 0, count: keys.count)
            for (index, lane) in laneOf.enumerated() {
                members[start[lane] + filled[lane]] = index
                filled[lane] += 1
            }
            cursor = Array(repeating: 0, count: sizes.count)
            firstFailure = Array(repeating: nil, count: sizes.count)
        }

        /// The first record of every lane.
        var firstMembers: [Int] { start.dropLast().map { members[$0] } }

        /// Moves the lane past its current record and gives the lane's next record, if any.
        mutating func advance(_ lane: Int) -> Int? {
            cursor[lane] += 1
            let position = start[lane] + cursor[lane]
            return position < start[lane + 1] ? members[position] : nil
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
