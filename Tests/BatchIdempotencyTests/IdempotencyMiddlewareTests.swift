import BatchIdempotency
import BatchProcessing
import BatchProcessingTesting
import Foundation
import InMemoryLogging
import InMemoryTracing
import MetricsTestKit
import Synchronization
import Testing
import Tracing

/// Counts how often the handler ran for each record.
final class Runs: Sendable {
    private let counts = Mutex<[String: Int]>([:])
    func note(_ id: String) { counts.withLock { $0[id, default: 0] += 1 } }
    func count(_ id: String) -> Int { counts.withLock { $0[id, default: 0] } }
    var total: Int { counts.withLock { $0.values.reduce(0, +) } }
}

@Suite("Idempotency middleware")
struct IdempotencyMiddlewareTests {
    struct Setup {
        let folder = TemporaryFolder()
        let clock = TestWallClock()
        let observation = TestObservation()
        let store: CountingStore
        let runs = Runs()

        init() throws {
            store = CountingStore(try folder.store())
        }

        func middleware(
            _ configure: (inout IdempotencyMiddleware.Configuration) -> Void = { _ in }
        ) -> IdempotencyMiddleware {
            var configuration = IdempotencyMiddleware.Configuration(
                namespace: "tests",
                wallClock: clock.read
            )
            configure(&configuration)
            return IdempotencyMiddleware(store: store, configuration: configuration)
        }

        func processor(
            _ middleware: [any RecordMiddleware],
            policy: FailurePolicy = .continueOnFailure,
            concurrency: Int = 1
        ) -> BatchProcessor {
            BatchProcessor(
                configuration: .init(
                    policy: policy,
                    maxConcurrency: concurrency,
                    throwsOnFullBatchFailure: false,
                    instrumentation: observation.instrumentation
                ),
                middleware: middleware
            )
        }

        func handler(failing: Set<String> = []) -> RecordHandler<SQSEvent.Message> {
            { [runs] message, _ in
                runs.note(message.messageId)
                if failing.contains(message.messageId) {
                    throw TestHandlerFailure(itemIdentifier: message.itemIdentifier)
                }
            }
        }

        func replays() throws -> Int64 {
            try observation.metrics.expectCounter("RecordsReplayed", [("event_source", "aws:sqs")]).values.reduce(0, +)
        }
    }

    @Test("A redelivered batch is all replays: the handler does not run, every record succeeds and is counted")
    func replay() async throws {
        let setup = try Setup()
        let processor = setup.processor([setup.middleware()])
        let event = TestEvents.sqs(["m0", "m1", "m2", "m3", "m4"])
        _ = try await processor.process(
            event,
            context: .init(logger: setup.observation.logger),
            handler: setup.handler()
        )
        let again = try await processor.process(
            event,
            context: .init(logger: setup.observation.logger),
            handler: setup.handler()
        )
        #expect(setup.runs.total == 5)
        #expect(again.response.batchItemFailures.isEmpty)
        #expect(again.succeededCount == 5)
        #expect(try setup.replays() == 5)
        #expect(again.replayedCount == 5)
        #expect(again.outcomes.allSatisfy { $0.replay == .store && $0.attempts == 1 })
        #expect(again.outcomes.allSatisfy { $0.result?.annotations[IdempotencyMiddleware.Completion.self] == nil })
        #expect(setup.observation.entries(withMessage: "record replayed: its idempotency key is completed").count == 5)
        // Each replayed record's span says where its completed key was found: the store (no cache by default).
        let recordSpans = setup.observation.spans.filter { $0.operationName == Instrumentation.SpanName.record }
        #expect(recordSpans.count == 10)
        let replayed = recordSpans.filter { $0.attributes[IdempotencyMiddleware.replaySpanAttribute] != nil }
        #expect(replayed.count == 5)
        #expect(
            replayed.allSatisfy {
                $0.attributes[IdempotencyMiddleware.replaySpanAttribute]?.toSpanAttribute() == "store"
            }
        )
    }

    @Test("A failed handler removes its marker, so the next delivery runs the record again")
    func failureReleases() async throws {
        let setup = try Setup()
        let processor = setup.processor([setup.middleware()])
        let event = TestEvents.sqs(["m0", "m1", "m2"])
        let first = try await processor.process(event, handler: setup.handler(failing: ["m1"]))
        #expect(first.response.itemIdentifiers == ["m1"])
        #expect(setup.store.count("release") == 1)
        let second = try await processor.process(event, handler: setup.handler())
        #expect(second.response.batchItemFailures.isEmpty)
        #expect(setup.runs.count("m1") == 2)
        #expect(setup.runs.count("m0") == 1)
    }

    @Test("With retry outside, each failed attempt releases its claim and the next claims afresh")
    func retryOutside() async throws {
        let setup = try Setup()
        let attempts = Mutex(0)
        let processor = setup.processor([
            RetryMiddleware(strategy: .init(maxAttempts: 3, baseDelay: .zero, maxDelay: .zero, jitter: false)),
            setup.middleware(),
        ])
        let result = try await processor.process(TestEvents.sqs(["m0"])) { message, _ in
            let attempt = attempts.withLock { value -> Int in
                value += 1
                return value
            }
            if attempt < 3 { throw TestHandlerFailure(itemIdentifier: message.itemIdentifier) }
        }
        #expect(result.response.batchItemFailures.isEmpty)
        #expect(setup.store.count("claim") == 3)
        #expect(setup.store.count("release") == 2)
        #expect(setup.store.count("complete") == 1)
    }

    /// The key the middleware gives `message` in the "tests" namespace.
    static func key(of id: String, in store: any IdempotencyStore, setup: Setup) async throws -> IdempotencyKey {
        // Run a throwaway batch in another folder to learn the key, by listing that store.
        let other = try FileIdempotencyStore(directory: setup.folder.path + "/probe-\(id)")
        let middleware = IdempotencyMiddleware(store: other, configuration: .init(namespace: "tests"))
        _ = try await BatchProcessor(middleware: [middleware]).process(TestEvents.sqs([id])) { _, _ in }
        return try #require(try other.allKeys().first)
    }

    @Test("A key another holder is processing fails this delivery with a clear error; past its time it is taken over")
    func inProgressAndTakeover() async throws {
        let setup = try Setup()
        let key = try await Self.key(of: "m0", in: setup.store, setup: setup)
        _ = try await setup.store.claim(
            key: key,
            token: "other",
            payloadHash: nil,
            inProgressUntil: setup.clock.now + 30_000,
            expiresAt: 99_000,
            now: setup.clock.now
        )
        let processor = setup.processor([setup.middleware()])
        let busy = try await processor.process(TestEvents.sqs(["m0"]), handler: setup.handler())
        #expect(busy.response.itemIdentifiers == ["m0"])
        let error = try #require(busy.outcomes[0].error as? IdempotencyError)
        #expect(error.code == .inProgress)
        #expect(error.message.contains(key.hex))
        #expect(setup.runs.total == 0)

        setup.clock.advance(by: 30_001)
        let taken = try await processor.process(
            TestEvents.sqs(["m0"]),
            context: .init(logger: setup.observation.logger),
            handler: setup.handler()
        )
        #expect(taken.response.batchItemFailures.isEmpty)
        #expect(setup.runs.count("m0") == 1)
        #expect(
            setup.observation.entries(
                withMessage: "took over an in-progress idempotency key whose holder ran out of time"
            ).count == 1
        )
        #expect(try await setup.store.record(for: key)?.status == .completed)
    }

    @Test("A holder whose key was taken over meanwhile cannot complete it: the new holder's record stands")
    func fencedCompletion() async throws {
        let setup = try Setup()
        let key = try await Self.key(of: "m0", in: setup.store, setup: setup)
        let processor = setup.processor([setup.middleware { $0.inProgressExpiry = .seconds(10) }])
        let result = try await processor.process(
            TestEvents.sqs(["m0"]),
            context: .init(logger: setup.observation.logger)
        ) {
            _,
            _ in
            // While this handler runs, its claim runs out and another holder takes the key over.
            setup.clock.advance(by: 10_001)
            let taken = try await setup.store.claim(
                key: key,
                token: "successor",
                payloadHash: nil,
                inProgressUntil: setup.clock.now + 60_000,
                expiresAt: 99_000,
                now: setup.clock.now
            )
            guard case .tookOver = taken else { throw TestHandlerFailure(itemIdentifier: "m0") }
        }
        #expect(result.response.batchItemFailures.isEmpty, "the handler did succeed")
        #expect(result.outcomes.first?.result?.annotations[IdempotencyMiddleware.Completion.self] == .fenced)
        let record = try #require(try await setup.store.record(for: key))
        #expect(record.token == "successor" && record.status == .inProgress)
        #expect(
            setup.observation.entries(
                withMessage: "the record succeeded, but another holder took its idempotency key over meanwhile"
            ).count == 1
        )
    }

    @Test("A completion the store failed to take is tried again until it lands: the redelivery is a replay")
    func completionRetried() async throws {
        let setup = try Setup()
        setup.store.failingCompletions.withLock { $0 = 3 }
        // A window far longer than the three backoff waits (350 ms): the full suite can hold a task up for seconds.
        let processor = setup.processor([setup.middleware { $0.completionRetryTime = .seconds(300) }])
        let event = TestEvents.sqs(["m0"])
        let first = try await processor.process(
            event,
            context: .init(logger: setup.observation.logger),
            handler: setup.handler()
        )
        #expect(first.response.batchItemFailures.isEmpty)
        #expect(setup.store.count("complete") == 4)
        #expect(first.outcomes[0].result?.annotations[IdempotencyMiddleware.Completion.self] == .stored)
        #expect(setup.observation.entries(withMessage: "the completion could not be stored; trying again").count == 3)
        #expect(setup.observation.entries(withMessage: "the completion was stored after 4 tries").count == 1)
        let again = try await processor.process(event, handler: setup.handler())
        #expect(again.replayedCount == 1)
        #expect(setup.runs.count("m0") == 1)
    }

    @Test("A completion that cannot be stored in time leaves the record succeeded, says so, and it runs again later")
    func completionGivenUp() async throws {
        let setup = try Setup()
        setup.store.failingCompletions.withLock { $0 = 1 }
        let processor = setup.processor([
            setup.middleware {
                $0.completionRetryTime = .zero
                $0.inProgressExpiry = .seconds(5)
            }
        ])
        let event = TestEvents.sqs(["m0"])
        let first = try await processor.process(
            event,
            context: .init(logger: setup.observation.logger),
            handler: setup.handler()
        )
        #expect(first.response.batchItemFailures.isEmpty, "the handler's work is done")
        #expect(setup.store.count("complete") == 1)
        #expect(first.outcomes[0].result?.annotations[IdempotencyMiddleware.Completion.self] == .notStored)
        #expect(
            setup.observation.entries(withMessage: "the record succeeded but its completion could not be stored").count
                == 1
        )
        // Within the claim's time, a redelivery finds it in progress; after it, the record runs again.
        let during = try await processor.process(event, handler: setup.handler())
        #expect((during.outcomes[0].error as? IdempotencyError)?.code == .inProgress)
        setup.clock.advance(by: 5000)
        _ = try await processor.process(event, handler: setup.handler())
        #expect(setup.runs.count("m0") == 2)
    }

    @Test("With payload validation, the same key with another payload is an error, not a replay")
    func payloadValidation() async throws {
        let setup = try Setup()
        let strict = setup.processor([setup.middleware { $0.validatesPayload = true }])
        _ = try await strict.process(
            SQSEvent(records: [TestEvents.sqsMessage(id: "m0", body: "A")]),
            handler: setup.handler()
        )
        let changed = try await strict.process(
            SQSEvent(records: [TestEvents.sqsMessage(id: "m0", body: "B")]),
            handler: setup.handler()
        )
        #expect((changed.outcomes[0].error as? IdempotencyError)?.code == .payloadMismatch)
        let same = try await strict.process(
            SQSEvent(records: [TestEvents.sqsMessage(id: "m0", body: "A")]),
            handler: setup.handler()
        )
        #expect(same.response.batchItemFailures.isEmpty)
        // Without validation the changed payload is a replay.
        let lax = setup.processor([setup.middleware()])
        let replayed = try await lax.process(
            SQSEvent(records: [TestEvents.sqsMessage(id: "m0", body: "B")]),
            handler: setup.handler()
        )
        #expect(replayed.response.batchItemFailures.isEmpty)
        #expect(setup.runs.count("m0") == 1)
    }

    @Test("Key sources: the payload, a JSON path in it, and what happens to a record without a key")
    func keySources() async throws {
        let setup = try Setup()
        let byBody = setup.processor([setup.middleware { $0.keySource = .payload }])
        _ = try await byBody.process(
            SQSEvent(records: [
                TestEvents.sqsMessage(id: "a", body: "same"), TestEvents.sqsMessage(id: "b", body: "same"),
            ]),
            handler: setup.handler()
        )
        #expect(setup.runs.count("a") == 1 && setup.runs.count("b") == 0)

        let byOrder = setup.processor([setup.middleware { $0.keySource = .jsonPath("order.id") }])
        let orders = SQSEvent(records: [
            TestEvents.sqsMessage(id: "c", body: #"{"order":{"id":7},"note":"first"}"#),
            TestEvents.sqsMessage(id: "d", body: #"{"order":{"id":7},"note":"second"}"#),
            TestEvents.sqsMessage(id: "e", body: #"{"order":{"id":8}}"#),
            TestEvents.sqsMessage(id: "f", body: "not json"),
        ])
        let result = try await byOrder.process(
            orders,
            context: .init(logger: setup.observation.logger),
            handler: setup.handler()
        )
        #expect(result.response.batchItemFailures.isEmpty)
        let counts: [Int] = ["c", "d", "e", "f"].map { setup.runs.count($0) }
        #expect(counts == [1, 0, 1, 1])
        #expect(
            setup.observation.entries(withMessage: "record has no idempotency key; processing it without idempotency")
                .count == 1
        )

        let failing = setup.processor([
            setup.middleware {
                $0.keySource = .jsonPath("order.id"); $0.missingKey = .fail
            }
        ])
        let refused = try await failing.process(
            SQSEvent(records: [TestEvents.sqsMessage(id: "g", body: "{}")]),
            handler: setup.handler()
        )
        #expect((refused.outcomes[0].error as? IdempotencyError)?.code == .missingKey)
        #expect(setup.runs.count("g") == 0)
    }

    @Test("Hostile key text (slashes, dots, NUL, 10 KB) only ever becomes a hash: no path is made from it")
    func hostileKeys() async throws {
        let setup = try Setup()
        let texts = ["../../etc/passwd", "/absolute/path", "a\u{0}b", String(repeating: "x", count: 10_240), "..", "."]
        let processor = setup.processor([setup.middleware { $0.keySource = .payload }])
        let event = SQSEvent(records: texts.enumerated().map { TestEvents.sqsMessage(id: "m\($0)", body: $1) })
        let result = try await processor.process(event, handler: setup.handler())
        #expect(result.response.batchItemFailures.isEmpty)
        let store = try FileIdempotencyStore(directory: setup.folder.path + "/store")
        #expect(try store.allKeys().count == texts.count)
        // The store's folder holds what it always holds, and nothing outside it was made.
        let entries = Set(try FileManager.default.contentsOfDirectory(atPath: setup.folder.path + "/store"))
        #expect(entries == ["FORMAT", "locks", "tables"])
        let tables = try FileManager.default.contentsOfDirectory(atPath: setup.folder.path + "/store/tables")
        #expect(tables.allSatisfy { $0.hasSuffix(".table") && $0.count == 8 }, "\(tables)")
        #expect(!FileManager.default.fileExists(atPath: setup.folder.path + "/etc"))
    }

    @Test("Namespaces keep functions that share a store apart")
    func namespaces() async throws {
        let setup = try Setup()
        let event = TestEvents.sqs(["m0"])
        _ = try await setup.processor([setup.middleware { $0.namespace = "orders" }]).process(
            event,
            handler: setup.handler()
        )
        _ = try await setup.processor([setup.middleware { $0.namespace = "billing" }]).process(
            event,
            handler: setup.handler()
        )
        _ = try await setup.processor([setup.middleware { $0.namespace = "orders" }]).process(
            event,
            handler: setup.handler()
        )
        #expect(setup.runs.count("m0") == 2)
    }

    @Test("A completed key expires: after its expiry the record runs again")
    func expiry() async throws {
        let setup = try Setup()
        let processor = setup.processor([setup.middleware { $0.expiry = .seconds(60) }])
        let event = TestEvents.sqs(["m0"])
        _ = try await processor.process(event, handler: setup.handler())
        setup.clock.advance(by: 59_000)
        _ = try await processor.process(event, handler: setup.handler())
        #expect(setup.runs.count("m0") == 1)
        setup.clock.advance(by: 2_000)
        _ = try await processor.process(event, handler: setup.handler())
        #expect(setup.runs.count("m0") == 2)
    }

    @Test("A duplicate inside one batch runs once: sequentially the second is a replay")
    func duplicateSequential() async throws {
        let setup = try Setup()
        let processor = setup.processor([setup.middleware()])
        let result = try await processor.process(TestEvents.sqs(["dup", "other", "dup"]), handler: setup.handler())
        #expect(result.response.batchItemFailures.isEmpty)
        #expect(setup.runs.count("dup") == 1)
        #expect(try setup.replays() == 1)
    }

    @Test("A duplicate running at the same time as its twin fails cleanly (it comes back), never runs twice")
    func duplicateConcurrent() async throws {
        let setup = try Setup()
        let processor = setup.processor([setup.middleware()], concurrency: 2)
        let result = try await processor.process(TestEvents.sqs(["dup", "dup"])) { message, _ in
            setup.runs.note(message.messageId)
            // The twin's claim is answered while this one holds the key, however loaded the machine is.
            try await waitUntil("the twin's claim answered") { setup.store.count("claim answered") == 2 }
        }
        #expect(setup.runs.count("dup") == 1)
        #expect(result.response.batchItemFailures.count == 1)
        #expect(result.outcomes.compactMap { ($0.error as? IdempotencyError)?.code } == [.inProgress])
    }

    @Test("With a cache, a warm process replays completed keys without asking the store")
    func cache() async throws {
        let setup = try Setup()
        let processor = setup.processor([setup.middleware { $0.cacheSize = 10 }])
        let event = TestEvents.sqs(["m0", "m1", "m2"])
        let first = try await processor.process(event, handler: setup.handler())
        #expect(
            first.outcomes.map { $0.result?.annotations[IdempotencyMiddleware.Completion.self] } == [
                .stored, .stored, .stored,
            ]
        )
        #expect(first.replayedCount == 0)
        let claims = setup.store.count("claim")
        let replayed = try await processor.process(event, handler: setup.handler())
        #expect(setup.store.count("claim") == claims)
        #expect(setup.runs.total == 3)
        #expect(try setup.replays() == 3)
        #expect(replayed.outcomes.map(\.replay) == [.memory, .memory, .memory])
    }

    @Test("The claim lasts until the invocation's deadline plus the margin")
    func claimFollowsDeadline() async throws {
        let setup = try Setup()
        let key = try await Self.key(of: "m0", in: setup.store, setup: setup)
        let until = Mutex<Int64?>(nil)
        let processor = setup.processor([setup.middleware { $0.takeoverMargin = .seconds(5) }])
        let started = ContinuousClock.now
        _ = try await processor.process(TestEvents.sqs(["m0"]), context: .init(remainingTime: .seconds(120))) { _, _ in
            let record = try await setup.store.record(for: key)
            until.withLock { $0 = record?.inProgressUntil }
        }
        let held = try #require(until.withLock { $0 }) - setup.clock.now
        // 120 s less the processor's margin and the time the run took to reach the claim (long on a loaded
        // machine), plus 5 s.
        let elapsed = (ContinuousClock.now - started).components.seconds * 1000 + 1000
        #expect(held <= 125_000 && held >= 125_000 - elapsed - 1000, "held until \(held) ms from now")
    }
}
