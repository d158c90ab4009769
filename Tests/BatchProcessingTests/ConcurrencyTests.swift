import BatchProcessing
import BatchProcessingTesting
import Synchronization
import Testing

@Suite("Processor: concurrency, deadline, cancellation")
struct ConcurrencyTests {
    /// When one record's handler started and ended, in a single counter shared by all records.
    struct Span: Sendable {
        var id: String
        var key: String?
        var start: Int
        var end: Int
    }

    /// A handler that notes its span, sleeps a little (longer for some records, so that later records could
    /// overtake earlier ones if ordering were not enforced) and fails the listed records.
    final class SpanRecorder: Sendable {
        private let clock = Atomic<Int>(0)
        private let running = Atomic<Int>(0)
        private let peak = Atomic<Int>(0)
        let spans = EventLog<Span>()

        func handler(failing: Set<String>) -> RecordHandler<AnyBatchRecord> {
            { record, _ in
                let start = self.clock.add(1, ordering: .sequentiallyConsistent).newValue
                let now = self.running.add(1, ordering: .sequentiallyConsistent).newValue
                self.peak.max(now, ordering: .sequentiallyConsistent)
                let digits = specID(record).compactMap(\.wholeNumberValue)
                let index = digits.reduce(0) { $0 * 10 + $1 }
                try? await Task.sleep(for: .milliseconds(index % 3 == 0 ? 12 : 2))
                self.running.subtract(1, ordering: .sequentiallyConsistent)
                let end = self.clock.add(1, ordering: .sequentiallyConsistent).newValue
                self.spans.append(Span(id: specID(record), key: record.orderingKey, start: start, end: end))
                if failing.contains(specID(record)) { throw HandlerFailure(identifier: specID(record)) }
            }
        }

        var peakConcurrency: Int { peak.load(ordering: .sequentiallyConsistent) }
    }

    static let keys: [String?] = ["g1", "g2", "g3", "g1", "g4", "g2", "g1", nil]

    @Test(
        "With concurrency 8, records of one group or key never overlap or reorder, and the response equals the sequential one",
        arguments: [
            (SourceKind.sqs, FailurePolicy.skipGroup), (.sqs, .stopOnFirstFailure), (.sqs, .continueOnFailure),
            (.kinesis, .skipKey), (.kinesis, .continueOnFailure), (.dynamodb, .skipKey),
            (.dynamodb, .stopOnFirstFailure), (.kafka, .skipKey), (.kafka, .continueOnFailure),
            (.kafka, .stopOnFirstFailure),
        ]
    )
    func boundedConcurrency(kind: SourceKind, policy: FailurePolicy) async throws {
        let batch = kind.records(specs(40, keys: Self.keys), fifo: true)
        let failures: Set<String> = ["r6", "r13", "r21"]
        let sequential = BatchProcessor(configuration: .init(policy: policy))
        let expected = try await sequential.process(batch, handler: SpanRecorder().handler(failing: failures))

        let recorder = SpanRecorder()
        let parallel = BatchProcessor(configuration: .init(policy: policy, maxConcurrency: 8))
        let result = try await parallel.process(batch, handler: recorder.handler(failing: failures))

        #expect(result.response == expected.response)
        #expect(result.outcomes.map(\.isReported) == expected.outcomes.map(\.isReported))
        #expect(recorder.peakConcurrency > 1, "different groups should run in parallel")
        #expect(recorder.peakConcurrency <= 8)

        let byKey = Dictionary(grouping: recorder.spans.all.filter { $0.key != nil }, by: { $0.key })
        for (key, spans) in byKey {
            let ordered = spans.sorted { $0.start < $1.start }
            let indices = ordered.map { Int($0.id.dropFirst()) ?? -1 }
            #expect(indices == indices.sorted(), "records of \(key ?? "-") ran out of order: \(indices)")
            for (earlier, later) in zip(ordered, ordered.dropFirst()) {
                #expect(earlier.end < later.start, "\(earlier.id) and \(later.id) of \(key ?? "-") overlapped")
            }
        }
    }

    @Test("Concurrency never exceeds maxConcurrency for records without keys")
    func keylessBound() async throws {
        let recorder = SpanRecorder()
        let processor = BatchProcessor(configuration: .init(maxConcurrency: 3))
        let result = try await processor.process(
            SourceKind.sqs.records(specs(30)),
            handler: recorder.handler(failing: [])
        )
        #expect(result.response.batchItemFailures.isEmpty)
        #expect(recorder.peakConcurrency == 3)
    }

    // The deadline tests run on a manual clock: time moves only when a handler or the test moves it.

    @Test("When the deadline nears mid-batch, no record starts and every unstarted record is reported")
    func deadlineMidBatch() async throws {
        let clock = ManualClock()
        let started = EventLog<Int>()
        let processor = BatchProcessor(
            configuration: .init(deadlineMargin: .milliseconds(500), throwsOnFullBatchFailure: false, clock: clock)
        )
        // The cut-off is 500 ms from now; each record takes 100 ms of the clock's time.
        let invocation = InvocationContext(deadline: clock.now + .seconds(1))
        let result = try await processor.process(SourceKind.sqs.records(specs(10)), context: invocation) { _, context in
            started.append(context.index)
            clock.advance(by: .milliseconds(100))
        }
        #expect(started.all == [0, 1, 2, 3, 4])
        #expect(result.outcomes[0..<5].allSatisfy { $0.succeeded })
        #expect(result.outcomes[5...].allSatisfy { $0.skipReason == .deadline })
        #expect(result.response.itemIdentifiers == (5..<10).map { ItemIdentifier("r\($0)") })
    }

    @Test("A record still running at the deadline margin is cancelled and reported")
    func deadlineCancelsRunningRecord() async throws {
        let clock = ManualClock()
        let processor = BatchProcessor(
            configuration: .init(deadlineMargin: .milliseconds(500), throwsOnFullBatchFailure: false, clock: clock)
        )
        let invocation = InvocationContext(deadline: clock.now + .seconds(1))
        let processing = Task {
            try await processor.process(SourceKind.kinesis.records(specs(3)), context: invocation) { _, context in
                try await context.clock.sleep(until: context.clock.now + .seconds(30), tolerance: nil)
            }
        }
        await clock.waitForSleepers(2)  // the deadline watch and the first record
        #expect(clock.sleeperCount == 2)
        clock.advance(by: .milliseconds(600))
        let result = try await processing.value
        #expect(result.outcomes[0].error is CancellationError)
        #expect(result.outcomes[1].skipReason == .deadline)
        #expect(result.response.itemIdentifiers == ["r0", "r1", "r2"])
    }

    @Test("A deadline already inside the margin runs nothing and reports everything")
    func deadlineAlreadyPassed() async throws {
        let processor = BatchProcessor(configuration: .init(throwsOnFullBatchFailure: false))
        let invocation = InvocationContext(remainingTime: .milliseconds(100))
        let result = try await processor.process(SourceKind.sqs.records(specs(4)), context: invocation) { _, _ in
            Issue.record("no record should start")
        }
        #expect(result.response.itemIdentifiers == ["r0", "r1", "r2", "r3"])
        #expect(result.outcomes.allSatisfy { $0.skipReason == .deadline })
    }

    @Test("The record context's deadline is the invocation's deadline less the margin")
    func contextDeadline() async throws {
        // Far off, so that a loaded machine still starts the record well before it.
        let deadline = ContinuousClock.now + .seconds(120)
        let processor = BatchProcessor(configuration: .init(deadlineMargin: .seconds(2)))
        let seen = EventLog<ContinuousClock.Instant?>()
        _ = try await processor.process(SourceKind.sqs.records(specs(1)), context: .init(deadline: deadline)) {
            _,
            context in
            seen.append(context.deadline)
        }
        #expect(seen.all == [deadline - .seconds(2)])
    }

    @Test(
        "Cancelling the processing task fails the running record and reports every unstarted one",
        arguments: [nil, Duration.seconds(60)]
    )
    func taskCancellation(remaining: Duration?) async throws {
        let started = EventLog<Int>()
        let processor = BatchProcessor(configuration: .init(throwsOnFullBatchFailure: false))
        let invocation = InvocationContext(deadline: remaining.map { .now + $0 })
        let task = Task {
            try await processor.process(SourceKind.sqs.records(specs(10)), context: invocation) { _, context in
                started.append(context.index)
                if context.index == 2 {
                    try await Task.sleep(for: .seconds(30))
                }
            }
        }
        try await waitUntil("records 0, 1 and 2 started") { started.all.count >= 3 }
        task.cancel()
        let result = try await task.value
        #expect(started.all == [0, 1, 2])
        #expect(result.outcomes[0].succeeded && result.outcomes[1].succeeded)
        #expect(result.outcomes[2].error is CancellationError)
        #expect(result.outcomes[3...].allSatisfy { $0.skipReason == .cancelled })
        #expect(result.response.itemIdentifiers == (2..<10).map { ItemIdentifier("r\($0)") })
    }
}
