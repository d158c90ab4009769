import Testing

@testable import BatchProcessing

/// The scheduler's rules, checked by calling it: no tasks, no clock.
@Suite("Scheduler: what starts, what is skipped, what is reported")
struct SchedulerTests {
    /// Runs the scheduler to the end as a sequential executor would: start what it says, end it at once.
    static func drive(
        _ scheduler: inout BatchScheduler,
        failing: Set<Int>
    ) -> [BatchScheduler.Decision] {
        var decisions: [BatchScheduler.Decision] = []
        while let decision = scheduler.next() {
            decisions.append(decision)
            if case .start(let index) = decision { scheduler.finished(index, failed: failing.contains(index)) }
        }
        return decisions
    }

    @Test("With concurrency 1 records start one at a time in batch order")
    func sequentialOrder() {
        var scheduler = BatchScheduler(
            orderingKeys: ["a", nil, "a", "b"],
            policy: .continueOnFailure,
            maxConcurrency: 1
        )
        #expect(scheduler.next() == .start(0))
        #expect(scheduler.next() == nil, "one slot, taken")
        scheduler.finished(0, failed: false)
        #expect(Self.drive(&scheduler, failing: []) == [.start(1), .start(2), .start(3)])
    }

    @Test("A lane's next record waits for its running one; other lanes go ahead, smallest index first")
    func lanes() {
        var scheduler = BatchScheduler(
            orderingKeys: ["g", "g", "h", nil],
            policy: .continueOnFailure,
            maxConcurrency: 4
        )
        #expect(scheduler.next() == .start(0))
        #expect(scheduler.next() == .start(2), "record 1 is in record 0's lane")
        #expect(scheduler.next() == .start(3))
        #expect(scheduler.next() == nil)
        #expect(scheduler.running == 3)
        scheduler.finished(0, failed: false)
        #expect(scheduler.next() == .start(1))
    }

    @Test("Stop-on-first-failure skips every later record, naming the failure")
    func stopOnFirstFailure() {
        var scheduler = BatchScheduler(
            orderingKeys: [nil, nil, nil, nil],
            policy: .stopOnFirstFailure,
            maxConcurrency: 1
        )
        let decisions = Self.drive(&scheduler, failing: [1])
        #expect(
            decisions == [
                .start(0), .start(1), .skip(2, .earlierFailure(index: 1)), .skip(3, .earlierFailure(index: 1)),
            ]
        )
        #expect(scheduler.isReported(0, succeeded: true) == false)
        #expect(scheduler.isReported(1, succeeded: false))
    }

    @Test("Under stop-on-first-failure, a later record that ran alongside the failure is still reported")
    func concurrentSuccessAfterFailureIsReported() {
        var scheduler = BatchScheduler(orderingKeys: [nil, nil, nil], policy: .stopOnFirstFailure, maxConcurrency: 3)
        #expect(scheduler.next() == .start(0))
        #expect(scheduler.next() == .start(1))
        #expect(scheduler.next() == .start(2))
        scheduler.finished(2, failed: false)
        scheduler.finished(0, failed: true)
        scheduler.finished(1, failed: false)
        #expect(scheduler.isReported(2, succeeded: true), "a sequential run would not have run it")
        #expect(scheduler.isReported(1, succeeded: true))
        #expect(
            !BatchScheduler(orderingKeys: [nil], policy: .continueOnFailure, maxConcurrency: 1)
                .isReported(0, succeeded: true)
        )
    }

    @Test("Skip-key skips only the failed key's later records; records without a key are never skipped")
    func skipKey() {
        var scheduler = BatchScheduler(
            orderingKeys: ["a", "b", "a", nil, "a", "b"],
            policy: .skipKey,
            maxConcurrency: 1
        )
        let decisions = Self.drive(&scheduler, failing: [0])
        #expect(
            decisions == [
                .start(0), .start(1), .skip(2, .sameKeyFailed(index: 0)), .start(3),
                .skip(4, .sameKeyFailed(index: 0)), .start(5),
            ]
        )
    }

    @Test("Once stopped (deadline, cancellation), nothing more starts, and the first reason stays")
    func stop() {
        var scheduler = BatchScheduler(orderingKeys: [nil, nil, nil], policy: .continueOnFailure, maxConcurrency: 1)
        #expect(scheduler.next() == .start(0))
        scheduler.stop(.deadline)
        scheduler.stop(.cancelled)
        scheduler.finished(0, failed: false)
        #expect(Self.drive(&scheduler, failing: []) == [.skip(1, .deadline), .skip(2, .deadline)])
        #expect(scheduler.stopReason == .deadline)
    }

    @Test("An empty batch has nothing to decide")
    func empty() {
        var scheduler = BatchScheduler(orderingKeys: [], policy: .stopOnFirstFailure, maxConcurrency: 4)
        #expect(scheduler.next() == nil)
    }
}
