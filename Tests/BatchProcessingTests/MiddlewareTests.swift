import BatchProcessing
import BatchProcessingTesting
import Synchronization
import Testing

@Suite("Middleware: chain, retry, fault injection")
struct MiddlewareTests {
    /// A handler that throws on its first `failures` attempts for every record, noting each attempt number.
    final class Flaky: Sendable {
        let failures: Int
        let attempts = EventLog<Int>()
        init(failures: Int) { self.failures = failures }

        func handler<Record: BatchRecord>() -> RecordHandler<Record> {
            { record, context in
                self.attempts.append(context.attempt)
                if context.attempt <= self.failures {
                    throw HandlerFailure(identifier: record.itemIdentifier.description)
                }
            }
        }
    }

    static let quickRetry = RetryStrategy.exponentialJitter(
        maxAttempts: 3,
        baseDelay: .milliseconds(1),
        maxDelay: .milliseconds(5)
    )

    @Test("Retry with three attempts turns a handler that fails twice into a success")
    func retryRecovers() async throws {
        let flaky = Flaky(failures: 2)
        let processor = BatchProcessor(middleware: [RetryMiddleware(strategy: Self.quickRetry)])
        let result = try await processor.process(SourceKind.sqs.records(specs(1)), handler: flaky.handler())
        #expect(result.response.batchItemFailures.isEmpty)
        #expect(flaky.attempts.all == [1, 2, 3])
    }

    @Test("Retry with two attempts leaves a handler that fails twice failed, with its last error")
    func retryGivesUp() async throws {
        let flaky = Flaky(failures: 2)
        var strategy = Self.quickRetry
        strategy.maxAttempts = 2
        let processor = BatchProcessor(
            configuration: .init(throwsOnFullBatchFailure: false),
            middleware: [RetryMiddleware(strategy: strategy)]
        )
        let result = try await processor.process(SourceKind.kinesis.records(specs(1)), handler: flaky.handler())
        #expect(result.response.itemIdentifiers == ["r0"])
        #expect(flaky.attempts.all == [1, 2])
    }

    @Test("Errors the predicate rejects are not retried")
    func retryPredicate() async throws {
        let flaky = Flaky(failures: 2)
        let processor = BatchProcessor(
            configuration: .init(throwsOnFullBatchFailure: false),
            middleware: [RetryMiddleware(strategy: Self.quickRetry) { !($0 is HandlerFailure) }]
        )
        _ = try await processor.process(SourceKind.sqs.records(specs(1)), handler: flaky.handler())
        #expect(flaky.attempts.all == [1])
    }

    @Test("Cancellation is never retried")
    func retryCancellation() async throws {
        let attempts = EventLog<Int>()
        let processor = BatchProcessor(
            configuration: .init(throwsOnFullBatchFailure: false),
            middleware: [RetryMiddleware(strategy: Self.quickRetry)]
        )
        let result = try await processor.process(SourceKind.sqs.records(specs(1))) { _, context in
            attempts.append(context.attempt)
            throw CancellationError()
        }
        #expect(attempts.all == [1])
        #expect(result.outcomes[0].error is CancellationError)
    }

    /// Runs `body` while moving `clock` to each wake-up as soon as something sleeps on it: retry waits pass in
    /// no real time. (Not for deadline tests, whose watch would be woken at once.)
    static func fastForward<T: Sendable>(
        _ clock: ManualClock,
        _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        let task = Task { try await body() }
        let driver = Task {
            while !Task.isCancelled {
                if let next = clock.nextWakeUp { clock.advance(to: next) }
                await Task.yield()
            }
        }
        defer { driver.cancel() }
        return try await task.value
    }

    @Test("Retry never sleeps past the deadline: it gives up at once when the wait would cross it")
    func retryRespectsDeadline() async throws {
        let clock = ManualClock()
        let flaky = Flaky(failures: 5)
        let slow = RetryStrategy(maxAttempts: 5, baseDelay: .seconds(20), maxDelay: .seconds(20), jitter: false)
        let processor = BatchProcessor(
            configuration: .init(deadlineMargin: .zero, throwsOnFullBatchFailure: false, clock: clock),
            middleware: [RetryMiddleware(strategy: slow)]
        )
        let result = try await processor.process(
            SourceKind.sqs.records(specs(1)),
            context: .init(deadline: clock.now + .seconds(5)),
            handler: flaky.handler()
        )
        #expect(clock.sleepsStarted == 1, "only the deadline watch slept; the retry did not wait")
        #expect(flaky.attempts.all == [1])
        #expect(result.outcomes[0].error as? HandlerFailure == HandlerFailure(identifier: "r0"))
    }

    @Test("Backoff without jitter doubles from the base delay up to the cap")
    func backoffShape() async throws {
        let clock = ManualClock()
        let times = EventLog<ContinuousClock.Instant>()
        let strategy = RetryStrategy(
            maxAttempts: 5,
            baseDelay: .milliseconds(20),
            maxDelay: .milliseconds(50),
            jitter: false
        )
        let processor = BatchProcessor(
            configuration: .init(throwsOnFullBatchFailure: false, clock: clock),
            middleware: [RetryMiddleware(strategy: strategy)]
        )
        _ = try await Self.fastForward(clock) {
            try await processor.process(SourceKind.sqs.records(specs(1))) { record, context in
                times.append(context.clock.now)
                throw HandlerFailure(identifier: record.itemIdentifier.description)
            }
        }
        let instants = times.all
        let gaps = zip(instants, instants.dropFirst()).map { $1 - $0 }
        #expect(gaps == [.milliseconds(20), .milliseconds(40), .milliseconds(50), .milliseconds(50)])
    }

    @Test("With jitter, each wait is drawn between zero and its cap, and the draws differ")
    func jitterShape() async throws {
        let clock = ManualClock()
        let times = EventLog<(Int, ContinuousClock.Instant)>()
        let strategy = RetryStrategy.exponentialJitter(
            maxAttempts: 5,
            baseDelay: .milliseconds(100),
            maxDelay: .milliseconds(300)
        )
        #expect(strategy.jitter)
        let processor = BatchProcessor(
            configuration: .init(throwsOnFullBatchFailure: false, clock: clock),
            middleware: [RetryMiddleware(strategy: strategy)]
        )
        _ = try await Self.fastForward(clock) {
            try await processor.process(SourceKind.sqs.records(specs(20))) { record, context in
                times.append((context.index, context.clock.now))
                throw HandlerFailure(identifier: record.itemIdentifier.description)
            }
        }
        let caps: [Duration] = [.milliseconds(100), .milliseconds(200), .milliseconds(300), .milliseconds(300)]
        var gaps: [Duration] = []
        for index in 0..<20 {
            let instants = times.all.filter { $0.0 == index }.map(\.1)
            #expect(instants.count == 5)
            let recordGaps = zip(instants, instants.dropFirst()).map { $1 - $0 }
            for (gap, cap) in zip(recordGaps, caps) {
                #expect(gap >= .zero && gap <= cap, "a wait of \(gap) is outside 0…\(cap)")
            }
            gaps += recordGaps
        }
        // Without jitter every wait would equal its cap; 80 random draws all landing on it does not happen.
        #expect(Set(gaps).count > 10)
    }

    @Test("A backoff wait cut short by cancellation fails the record with the handler's last error")
    func cancelledBackoffKeepsLastError() async throws {
        let clock = ManualClock()
        let processor = BatchProcessor(
            configuration: .init(throwsOnFullBatchFailure: false, clock: clock),
            middleware: [
                RetryMiddleware(
                    strategy: .init(maxAttempts: 3, baseDelay: .seconds(10), maxDelay: .seconds(10), jitter: false)
                )
            ]
        )
        let task = Task {
            try await processor.process(SourceKind.sqs.records(specs(1))) { record, _ in
                throw HandlerFailure(identifier: record.itemIdentifier.description)
            }
        }
        await clock.waitForSleepers(1)  // the retry's backoff
        task.cancel()
        let result = try await task.value
        #expect(result.outcomes[0].error as? HandlerFailure == HandlerFailure(identifier: "r0"))
        #expect(result.outcomes[0].attempts == 1)
    }

    @Test("Middleware runs in order, the first outermost, around the handler")
    func chainOrder() async throws {
        struct Tag: RecordMiddleware {
            let name: String
            let log: EventLog<String>
            func handle<Record: BatchRecord>(
                _ record: Record,
                context: RecordContext,
                next: RecordNext<Record>
            ) async throws -> RecordResult {
                log.append("\(name)>")
                let result = await next(record, context)
                log.append("<\(name)")
                return result
            }
        }
        let log = EventLog<String>()
        let processor = BatchProcessor(middleware: [Tag(name: "a", log: log), Tag(name: "b", log: log)])
        _ = try await processor.process(SourceKind.sqs.records(specs(1))) { _, _ in log.append("handler") }
        #expect(log.all == ["a>", "b>", "handler", "<b", "<a"])
    }

    @Test("A middleware can answer without calling the handler, or fail the record itself")
    func shortCircuit() async throws {
        struct SkipEven: RecordMiddleware {
            func handle<Record: BatchRecord>(
                _ record: Record,
                context: RecordContext,
                next: RecordNext<Record>
            ) async throws -> RecordResult {
                if context.index % 2 == 0 { return .succeeded(context) }
                if context.index == 3 { throw HandlerFailure(identifier: record.itemIdentifier.description) }
                return await next(record, context)
            }
        }
        let handled = EventLog<Int>()
        let processor = BatchProcessor(middleware: [SkipEven()])
        let result = try await processor.process(SourceKind.dynamodb.records(specs(6))) { _, context in
            handled.append(context.index)
        }
        #expect(handled.all == [1, 5])
        #expect(result.response.itemIdentifiers == ["r3"])
    }

    @Test("A middleware can read a source's own fields")
    func sourceSpecificMiddleware() async throws {
        struct RejectPoison: RecordMiddleware {
            func handle<Record: BatchRecord>(
                _ record: Record,
                context: RecordContext,
                next: RecordNext<Record>
            ) async throws -> RecordResult {
                if case .sqs(let message) = record as? AnyBatchRecord, message.body.contains("poison") {
                    throw HandlerFailure(identifier: message.messageId)
                }
                return await next(record, context)
            }
        }
        let records: [AnyBatchRecord] = [
            .sqs(.init(messageId: "ok", body: "fine")), .sqs(.init(messageId: "bad", body: "poison pill")),
        ]
        let result = try await BatchProcessor(middleware: [RejectPoison()]).process(records, handler: failing([]))
        #expect(result.response.itemIdentifiers == ["bad"])
    }

    @Test("A middleware's own facts reach the record's outcome, beside the attempts the chain counted")
    func annotations() async throws {
        enum Handled: RecordAnnotationKey {
            typealias Value = String
            static let name = "handled_by"
        }
        enum Observed: RecordAnnotationKey {
            typealias Value = Int
            static let name = "observed_attempts"
        }
        // Outside retry: sees the final attempts, and adds a fact of its own.
        struct Outer: RecordMiddleware {
            func handle<Record: BatchRecord>(
                _ record: Record,
                context: RecordContext,
                next: RecordNext<Record>
            ) async throws -> RecordResult {
                var result = await next(record, context)
                result.annotations[Observed.self] = result.attempts
                return result
            }
        }
        // Inside retry: tags each attempt's result; the last one wins.
        struct Inner: RecordMiddleware {
            func handle<Record: BatchRecord>(
                _ record: Record,
                context: RecordContext,
                next: RecordNext<Record>
            ) async throws -> RecordResult {
                var result = await next(record, context)
                result.annotations[Handled.self] = "inner #\(context.attempt)"
                return result
            }
        }
        let processor = BatchProcessor(
            configuration: .init(throwsOnFullBatchFailure: false),
            middleware: [Outer(), RetryMiddleware(strategy: Self.quickRetry), Inner()]
        )
        let result = try await processor.process(SourceKind.sqs.records(specs(2))) { _, context in
            if context.index == 1 && context.attempt < 3 { throw HandlerFailure(identifier: "r1") }
        }
        #expect(result.outcomes.map(\.attempts) == [1, 3])
        #expect(result.outcomes.map { $0.result?.annotations[Observed.self] } == [1, 3])
        #expect(result.outcomes.map { $0.result?.annotations[Handled.self] } == ["inner #1", "inner #3"])
        #expect(result.outcomes[1].result?.annotations.names == ["handled_by", "observed_attempts"])
        #expect(result.response.batchItemFailures.isEmpty)
    }

    @Test("A middleware that throws fails the record at its attempt; one that sets the error keeps the inner facts")
    func thrownAndReturnedFailures() async throws {
        enum Fact: RecordAnnotationKey {
            typealias Value = Bool
            static let name = "fact"
        }
        struct Annotate: RecordMiddleware {
            func handle<Record: BatchRecord>(
                _ record: Record,
                context: RecordContext,
                next: RecordNext<Record>
            ) async throws -> RecordResult {
                var result = await next(record, context)
                result.annotations[Fact.self] = true
                return result
            }
        }
        struct Veto: RecordMiddleware {
            func handle<Record: BatchRecord>(
                _ record: Record,
                context: RecordContext,
                next: RecordNext<Record>
            ) async throws -> RecordResult {
                var result = await next(record, context)
                switch context.index {
                case 0: throw HandlerFailure(identifier: "thrown")
                case 1: result.error = HandlerFailure(identifier: "returned")
                default: break
                }
                return result
            }
        }
        let processor = BatchProcessor(
            configuration: .init(throwsOnFullBatchFailure: false),
            middleware: [Veto(), Annotate()]
        )
        let result = try await processor.process(SourceKind.sqs.records(specs(3))) { _, _ in }
        #expect(result.response.itemIdentifiers == ["r0", "r1"])
        #expect(result.outcomes[0].error as? HandlerFailure == HandlerFailure(identifier: "thrown"))
        #expect(result.outcomes[0].result?.annotations.isEmpty == true)
        #expect(result.outcomes[1].error as? HandlerFailure == HandlerFailure(identifier: "returned"))
        #expect(result.outcomes[1].result?.annotations[Fact.self] == true)
        #expect(result.outcomes[2].succeeded && result.outcomes[2].result?.annotations[Fact.self] == true)
    }

    @Test("Fault injection fails the listed identifiers and indices without calling the handler")
    func faultInjectionLists() async throws {
        let handled = EventLog<Int>()
        let processor = BatchProcessor(middleware: [FaultInjectionMiddleware(identifiers: ["r1"], indices: [3])])
        let result = try await processor.process(SourceKind.kinesis.records(specs(5))) { _, context in
            handled.append(context.index)
        }
        #expect(result.response.itemIdentifiers == ["r1", "r3"])
        #expect(handled.all == [0, 2, 4])
        #expect(result.outcomes[3].error as? InjectedFault == InjectedFault(index: 3, itemIdentifier: "r3", attempt: 1))
    }

    @Test("A seeded fraction picks about that share of records, the same ones at any concurrency")
    func faultInjectionFraction() async throws {
        let injector = FaultInjectionMiddleware(fraction: 0.3, seed: 42)
        let batch = SourceKind.sqs.records(specs(1000))
        let sequential = try await BatchProcessor(middleware: [injector]).process(batch, handler: failing([]))
        let parallel = try await BatchProcessor(configuration: .init(maxConcurrency: 8), middleware: [injector])
            .process(batch, handler: failing([]))
        #expect(sequential.response == parallel.response)
        #expect((250...350).contains(sequential.failedCount))
        let otherSeed = try await BatchProcessor(middleware: [FaultInjectionMiddleware(fraction: 0.3, seed: 7)])
            .process(batch, handler: failing([]))
        #expect(otherSeed.response != sequential.response)
    }

    @Test("Fault injection limited to the first attempts lets retry recover")
    func faultInjectionWithRetry() async throws {
        let processor = BatchProcessor(middleware: [
            RetryMiddleware(strategy: Self.quickRetry),
            FaultInjectionMiddleware(indices: [0, 1], failingAttempts: 2),
        ])
        let result = try await processor.process(SourceKind.sqs.records(specs(2)), handler: failing([]))
        #expect(result.response.batchItemFailures.isEmpty)
    }
}

@Suite("Timeout middleware")
struct TimeoutMiddlewareTests {
    @Test("A record that runs past its timeout is cancelled and fails with RecordTimeoutError; quick ones pass")
    func timeout() async throws {
        let clock = ManualClock()
        let processor = BatchProcessor(
            configuration: .init(throwsOnFullBatchFailure: false, clock: clock),
            middleware: [TimeoutMiddleware(timeout: .seconds(2))]
        )
        let task = Task {
            try await processor.process(SourceKind.sqs.records(specs(2))) { _, context in
                if context.index == 0 {
                    try await context.clock.sleep(until: context.clock.now + .seconds(10), tolerance: nil)
                }
            }
        }
        await clock.waitForSleepers(2)  // the handler's long sleep and the timeout's
        clock.advance(by: .seconds(2))
        let result = try await task.value
        #expect(result.outcomes[0].error as? RecordTimeoutError == RecordTimeoutError(timeout: .seconds(2), index: 0))
        #expect(result.outcomes[1].succeeded)
        #expect(result.response.itemIdentifiers == ["r0"])
    }
}
