import BatchProcessing
import BatchProcessingTesting
import Foundation
import InMemoryLogging
import Logging
import MetricsTestKit
import Testing

@Suite("BatchProcessingTesting: the kit for users' own tests")
struct TestKitTests {
    @Test("The README's example holds: a FIFO batch, a failing handler, captured logs and metrics")
    func readmeExample() async throws {
        let observation = TestObservation()
        let processor = BatchProcessor(configuration: .init(instrumentation: observation.instrumentation))
        let event = TestEvents.sqs(["m1", "m2", "m3"], group: "g")
        let result = try await processor.process(
            event,
            context: .init(logger: observation.logger),
            handler: TestHandlers.failing(["m2"])
        )
        #expect(result.response.itemIdentifiers == ["m2", "m3"])
        #expect(try observation.metrics.expectCounter("RecordsFailed", [("event_source", "aws:sqs")]).values == [1])
        #expect(try observation.metrics.expectCounter("RecordsSkipped", [("event_source", "aws:sqs")]).values == [1])
        #expect(observation.flushCount == 1)
        #expect(observation.entries(withMessage: "record failed").count == 1)
    }

    @Test("Built events look like Lambda's: they pass through the raw API with their source detected")
    func builtEventsAreRealistic() async throws {
        let processor = BatchProcessor()
        let encoder = JSONEncoder()
        let cases: [(Data, BatchEventSource, Int)] = [
            (try encoder.encode(TestEvents.sqs(["a", "b"])), .sqs, 2),
            (try encoder.encode(TestEvents.sqs(["a"], group: "g")), .sqs, 1),
            (try encoder.encode(TestEvents.kinesis(["1", "2", "3"])), .kinesis, 3),
            (try encoder.encode(TestEvents.dynamoDB(["9"])), .dynamoDB, 1),
            (try encoder.encode(TestEvents.kafka(partitions: [(0, [1, 2]), (3, [7])])), .kafka, 3),
            (try encoder.encode(TestEvents.kafka(partitions: [(1, [5])], selfManaged: true)), .selfManagedKafka, 1),
        ]
        for (json, source, count) in cases {
            let result = try await processor.process(eventJSON: Array(json)) { _, _ in }
            #expect(result.eventSource == source)
            #expect(result.outcomes.count == count)
        }
        #expect(TestEvents.sqs(["a"], group: "g").records[0].isFromFIFOQueue)
        #expect(TestEvents.sqs(["a"]).records[0].isFromFIFOQueue == false)
        #expect(TestEvents.kinesis(["1"], partitionKey: "p").records[0].orderingKey == "p")
        let kafka = TestEvents.kafka(partitions: [(2, [10, 11]), (0, [3])])
        #expect(kafka.records.map(\.topicPartition) == ["orders-2", "orders-2", "orders-0"])
        #expect(TestEvents.kafkaRecord(offset: 1, value: nil).isTombstone)
    }

    @Test("Failing handlers fail the chosen records by identifier or by position")
    func failingHandlers() async throws {
        let processor = BatchProcessor(configuration: .init(throwsOnFullBatchFailure: false))
        let byIndex = try await processor.process(
            TestEvents.kinesis(["1", "2", "3"]),
            handler: TestHandlers.failing(indices: [0, 2])
        )
        #expect(byIndex.response.itemIdentifiers == ["1", "3"])
        #expect(byIndex.outcomes[0].error as? TestHandlerFailure == TestHandlerFailure(itemIdentifier: "1"))
        let none = try await processor.process(TestEvents.dynamoDB(["5"]), handler: TestHandlers.succeeding())
        #expect(none.response.batchItemFailures.isEmpty)
    }

    @Test("ManualClock: a sleeper wakes when the clock reaches its instant, and cancellation ends its sleep")
    func manualClock() async throws {
        let clock = ManualClock()
        let start = clock.now
        let sleeper = Task { try await clock.sleep(until: start + .seconds(10), tolerance: nil) }
        await clock.waitForSleepers(1)
        clock.advance(by: .seconds(9))
        #expect(clock.sleeperCount == 1, "not yet due")
        clock.advance(by: .seconds(1))
        try await sleeper.value
        #expect(clock.now == start + .seconds(10))

        let cancelled = Task { try await clock.sleep(until: clock.now + .seconds(1), tolerance: nil) }
        await clock.waitForSleepers(1)
        cancelled.cancel()
        await #expect(throws: CancellationError.self) { try await cancelled.value }
        #expect(clock.sleeperCount == 0)
        // A sleep to an instant already past returns at once.
        try await clock.sleep(until: start, tolerance: nil)
    }
}
