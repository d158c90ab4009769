import BatchProcessing
import BatchProcessingTesting
import Synchronization
import Testing

@Suite("Processor: a shutdown requested mid-batch")
struct ShutdownTests {
    @Test(
        "Running records finish uncancelled; records not started are skipped as cancelled and reported",
        arguments: [1, 4]
    )
    func finishesRunningRecords(concurrency: Int) async throws {
        let shutdown = ShutdownSignal()
        let started = Mutex<Set<String>>([])
        let cancelledWhileRunning = Mutex<Set<String>>([])
        let processor = BatchProcessor(
            configuration: .init(maxConcurrency: concurrency, throwsOnFullBatchFailure: false)
        )
        let event = TestEvents.sqs((0..<8).map { "m\($0)" })
        let result = try await processor.process(event, context: InvocationContext(shutdown: shutdown)) {
            message,
            _ in
            started.withLock { _ = $0.insert(message.messageId) }
            if message.messageId == "m1" { shutdown.request() }
            // Still running after the request: the record must be let finish, not cancelled.
            try? await Task.sleep(for: .milliseconds(20))
            if Task.isCancelled { cancelledWhileRunning.withLock { _ = $0.insert(message.messageId) } }
        }
        let ran = started.withLock { $0 }
        #expect(ran.contains("m0") && ran.contains("m1"))
        #expect(ran.count <= concurrency + 1)
        #expect(cancelledWhileRunning.withLock { $0 }.isEmpty)
        for outcome in result.outcomes {
            let id = outcome.itemIdentifier.description
            if ran.contains(id) {
                #expect(outcome.succeeded && !outcome.isReported, "\(id) ran and must succeed")
            } else {
                #expect(
                    outcome.skipReason == .cancelled && outcome.isReported,
                    "\(id) did not run and must be reported"
                )
            }
        }
        #expect(result.response.itemIdentifiers.count == 8 - ran.count)
        #expect(result.response.itemIdentifiers.contains(ItemIdentifier("m7")))
    }

    @Test("A shutdown requested before the batch starts runs no record, and the batch is reported whole")
    func requestedBefore() async throws {
        let shutdown = ShutdownSignal()
        shutdown.request()
        shutdown.request()
        #expect(shutdown.isRequested)
        let runs = Mutex(0)
        let processor = BatchProcessor(configuration: .init(throwsOnFullBatchFailure: false))
        let result = try await processor.process(TestEvents.sqs(["a", "b"]), context: .init(shutdown: shutdown)) {
            _,
            _ in runs.withLock { $0 += 1 }
        }
        #expect(runs.withLock { $0 } == 0)
        #expect(result.response.itemIdentifiers == [ItemIdentifier("a"), ItemIdentifier("b")])
    }
}
