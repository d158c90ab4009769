import BatchProcessing
import BatchProcessingTesting
import Foundation
import InMemoryLogging
import InMemoryTracing
import Logging
import Synchronization
import Testing
import Tracing

@Suite("Processor: a span per batch and per record")
struct TracingTests {
    typealias Attribute = Instrumentation.TraceAttribute

    /// A FIFO batch of one group under stop-on-first-failure: r0 succeeds, r1 fails once and then succeeds, r2 fails
    /// all three attempts, r3 and r4 are skipped because of r2.
    func runMixedBatch(concurrency: Int) async throws -> (TestObservation, BatchProcessingError?) {
        let observation = TestObservation()
        let processor = BatchProcessor(
            configuration: .init(maxConcurrency: concurrency, instrumentation: observation.instrumentation),
            middleware: [
                RetryMiddleware(strategy: .init(maxAttempts: 3, baseDelay: .zero, maxDelay: .zero, jitter: false))
            ]
        )
        let event = TestEvents.sqs(["r0", "r1", "r2", "r3", "r4"], group: "A")
        var thrown: BatchProcessingError?
        do {
            _ = try await processor.process(event, context: .init(requestID: "req-1", logger: observation.logger)) {
                message,
                context in
                if message.messageId == "r1", context.attempt == 1 { throw HandlerFailure(identifier: "r1") }
                if message.messageId == "r2" { throw HandlerFailure(identifier: "r2") }
            }
        } catch {
            thrown = error
        }
        return (observation, thrown)
    }

    @Test("The span tree: one batch span, one span per record under it, in one trace", arguments: [1, 4])
    func spanTree(concurrency: Int) async throws {
        let (observation, thrown) = try await runMixedBatch(concurrency: concurrency)
        #expect(thrown == nil)
        let spans = observation.spans
        let batches = spans.filter { $0.operationName == Instrumentation.SpanName.batch }
        let records = spans.filter { $0.operationName == Instrumentation.SpanName.record }
        #expect(spans.count == 6)
        let batch = try #require(batches.first)
        #expect(batches.count == 1)
        #expect(batch.kind == .consumer)
        #expect(batch.parentSpanID == nil)
        #expect(records.count == 5)
        for record in records {
            #expect(record.parentSpanID == batch.spanID)
            #expect(record.traceID == batch.traceID)
            #expect(record.kind == .consumer)
        }
        // The batch span ends last, after every record's.
        #expect(spans.last?.spanID == batch.spanID)
        #expect(observation.tracer.activeSpans.isEmpty)
        #expect(Set(records.compactMap { $0.int(Attribute.recordIndex) }) == Set(0..<5))
    }

    @Test("The batch span carries the source, the policy and the counts of the response")
    func batchAttributes() async throws {
        let (observation, _) = try await runMixedBatch(concurrency: 1)
        let batch = try #require(observation.spans.first { $0.operationName == Instrumentation.SpanName.batch })
        let attributes = batch.attributes
        #expect(attributes[Attribute.eventSource]?.toSpanAttribute() == "aws:sqs")
        #expect(attributes[Attribute.messagingSystem]?.toSpanAttribute() == "aws_sqs")
        #expect(attributes[Attribute.recordCount]?.toSpanAttribute() == 5)
        #expect(attributes[Attribute.policy]?.toSpanAttribute() == .string(FailurePolicy.stopOnFirstFailure.name))
        #expect(attributes[Attribute.invocationID]?.toSpanAttribute() == "req-1")
        #expect(attributes[Attribute.succeededCount]?.toSpanAttribute() == 2)
        #expect(attributes[Attribute.failedCount]?.toSpanAttribute() == 1)
        #expect(attributes[Attribute.skippedCount]?.toSpanAttribute() == 2)
        #expect(attributes[Attribute.reportedCount]?.toSpanAttribute() == 3)
        #expect(attributes[Attribute.retryCount]?.toSpanAttribute() == 3)
        // Some records failed, but the invocation answers: the batch span is not an error.
        #expect(batch.status == nil)
        #expect(batch.errors.isEmpty)
    }

    @Test("Record spans: identifier, attempts, outcome, skip reason; errors and retries recorded")
    func recordAttributes() async throws {
        let (observation, _) = try await runMixedBatch(concurrency: 1)
        let records = Dictionary(
            uniqueKeysWithValues: observation.spans.filter { $0.operationName == Instrumentation.SpanName.record }.map {
                ($0.string(Attribute.itemIdentifier) ?? "?", $0)
            }
        )
        let r0 = try #require(records["r0"])
        #expect(r0.attributes[Attribute.outcome]?.toSpanAttribute() == "succeeded")
        #expect(r0.attributes[Attribute.attempts]?.toSpanAttribute() == 1)
        #expect(r0.attributes[Attribute.messageID]?.toSpanAttribute() == "r0")
        #expect(r0.attributes[Attribute.eventSource]?.toSpanAttribute() == "aws:sqs")
        #expect(r0.errors.isEmpty && r0.events.isEmpty && r0.status == nil)

        // Retried once, then succeeded: the first attempt's error and the retry are on the span; it is not an error.
        let r1 = try #require(records["r1"])
        #expect(r1.attributes[Attribute.outcome]?.toSpanAttribute() == "succeeded")
        #expect(r1.attributes[Attribute.attempts]?.toSpanAttribute() == 2)
        #expect(r1.errors.map { $0.error as? HandlerFailure } == [HandlerFailure(identifier: "r1")])
        #expect(r1.errors.first?.attributes[Attribute.attempt]?.toSpanAttribute() == 1)
        #expect(r1.events.map(\.name) == [Instrumentation.SpanEventName.retry])
        #expect(r1.events.first?.attributes[Attribute.attempt]?.toSpanAttribute() == 1)
        #expect(r1.events.first?.attributes[Attribute.retryDelayMilliseconds]?.toSpanAttribute() == .double(0))
        #expect(r1.status == nil)

        // Failed every attempt: three errors (attempts 1, 2, 3), two retries, status error.
        let r2 = try #require(records["r2"])
        #expect(r2.attributes[Attribute.outcome]?.toSpanAttribute() == "failed")
        #expect(r2.attributes[Attribute.attempts]?.toSpanAttribute() == 3)
        #expect(r2.errors.count == 3)
        #expect(r2.errors.map { $0.attributes[Attribute.attempt]?.toSpanAttribute() } == [1, 2, 3])
        #expect(r2.events.filter { $0.name == Instrumentation.SpanEventName.retry }.count == 2)
        #expect(r2.status?.code == .error)
        #expect(r2.status?.message == "handler failed for r2")

        for id in ["r3", "r4"] {
            let skipped = try #require(records[id])
            #expect(skipped.attributes[Attribute.outcome]?.toSpanAttribute() == "skipped")
            #expect(skipped.attributes[Attribute.skipReason]?.toSpanAttribute() == "earlier_failure")
            #expect(skipped.attributes[Attribute.skipCauseIndex]?.toSpanAttribute() == 2)
            #expect(skipped.attributes[Attribute.attempts]?.toSpanAttribute() == 0)
            #expect(skipped.errors.isEmpty)
        }
    }

    @Test("A batch that fails as a whole has its error on the batch span")
    func wholeBatchFailure() async throws {
        let observation = TestObservation()
        let processor = BatchProcessor(configuration: .init(instrumentation: observation.instrumentation))
        await #expect(throws: BatchProcessingError.self) {
            _ = try await processor.process(TestEvents.sqs(["a", "b"])) { message, _ in
                throw HandlerFailure(identifier: message.messageId)
            }
        }
        let batch = try #require(observation.spans.first { $0.operationName == Instrumentation.SpanName.batch })
        #expect(batch.status?.code == .error)
        #expect((batch.errors.first?.error as? BatchProcessingError)?.code == .allRecordsFailed)
        #expect(observation.spans.filter { $0.status?.code == .error }.count == 3)
    }

    @Test("A malformed event still gets a batch span, with the decoding error")
    func malformedEvent() async throws {
        let observation = TestObservation()
        let processor = BatchProcessor(configuration: .init(instrumentation: observation.instrumentation))
        await #expect(throws: BatchProcessingError.self) {
            _ = try await processor.process(eventJSON: Array(#"{"Records":[{"eventSource":"aws:sqs"}]}"#.utf8)) {
                _,
                _ in
            }
        }
        #expect(observation.spans.map(\.operationName) == [Instrumentation.SpanName.batch])
        #expect((observation.spans.first?.errors.first?.error as? BatchProcessingError)?.code == .malformedEvent)
    }

    @Test("The handler runs in its record's span: its own spans are children, and it can annotate the record's")
    func handlerSpans() async throws {
        let observation = TestObservation()
        let processor = BatchProcessor(configuration: .init(instrumentation: observation.instrumentation))
        _ = try await processor.process(TestEvents.sqs(["a", "b"])) { message, context in
            context.span?.attributes["order.id"] = "order-\(message.messageId)"
            observation.tracer.withSpan("charge card") { _ in }
        }
        let spans = observation.spans
        for id in ["a", "b"] {
            let record = try #require(
                spans.first { $0.attributes[Attribute.itemIdentifier]?.toSpanAttribute() == .string(id) }
            )
            #expect(record.attributes["order.id"]?.toSpanAttribute() == .string("order-\(id)"))
            let children = spans.filter { $0.parentSpanID == record.spanID }
            #expect(children.map(\.operationName) == ["charge card"])
        }
    }

    @Test("The span of the caller, when there is one, is the batch span's parent")
    func nestsUnderCurrentSpan() async throws {
        let observation = TestObservation()
        let processor = BatchProcessor(configuration: .init(instrumentation: observation.instrumentation))
        try await observation.tracer.withSpan("lambda invocation") { _ in
            _ = try await processor.process(TestEvents.sqs(["a"])) { _, _ in }
        }
        let outer = try #require(observation.spans.first { $0.operationName == "lambda invocation" })
        let batch = try #require(observation.spans.first { $0.operationName == Instrumentation.SpanName.batch })
        #expect(batch.parentSpanID == outer.spanID)
        #expect(batch.traceID == outer.traceID)
    }

    // MARK: - Links to the producer's trace

    @Test("A record carrying the producer's trace context links its span to it; one without carries no link")
    func linksFromMessageAttributes() async throws {
        let observation = TestObservation()
        let processor = BatchProcessor(configuration: .init(instrumentation: observation.instrumentation))
        var traced = TestEvents.sqsMessage(id: "traced")
        traced.messageAttributes = [
            InMemoryTracer.traceIDKey: .init(dataType: "String", stringValue: "producer-trace"),
            InMemoryTracer.spanIDKey: .init(dataType: "String", stringValue: "producer-span"),
        ]
        let plain = TestEvents.sqsMessage(id: "plain")
        let result = try await processor.process(SQSEvent(records: [traced, plain])) { message, context in
            if message.messageId == "traced" {
                #expect(context.producerTraceContext?.inMemorySpanContext?.traceID == "producer-trace")
            } else {
                #expect(context.producerTraceContext == nil)
            }
        }
        #expect(result.response.batchItemFailures.isEmpty)
        let spans = observation.spans
        let tracedSpan = try #require(spans.first { $0.attributes[Attribute.messageID]?.toSpanAttribute() == "traced" })
        let plainSpan = try #require(spans.first { $0.attributes[Attribute.messageID]?.toSpanAttribute() == "plain" })
        #expect(tracedSpan.links.count == 1)
        let linked = try #require(tracedSpan.links.first?.context.inMemorySpanContext)
        #expect(linked.traceID == "producer-trace")
        #expect(linked.spanID == "producer-span")
        // A link, not a parent: the record's span stays in the batch's trace, since a batch mixes producers.
        #expect(tracedSpan.traceID != "producer-trace")
        #expect(plainSpan.links.isEmpty)
    }

    @Test(
        "SQS's AWSTraceHeader reaches a tracer that reads only W3C headers, and the invocation's trace header parents the batch"
    )
    func linksFromAWSTraceHeader() async throws {
        let tracer = TraceparentTracer()
        let processor = BatchProcessor(configuration: .init(instrumentation: Instrumentation(tracer: tracer)))
        let event = try Fixture.bytes("sqs-fifo.json")
        let invocation = InvocationContext(
            traceID: "Root=1-67891233-abcdef012345678912345678;Parent=463ac35c9f6413ad;Sampled=1"
        )
        _ = try await processor.process(eventJSON: event, context: invocation) { _, _ in }
        let spans = tracer.inner.finishedSpans
        let batch = try #require(spans.first { $0.operationName == Instrumentation.SpanName.batch })
        #expect(batch.traceID == "67891233abcdef012345678912345678")
        #expect(batch.parentSpanID == "463ac35c9f6413ad")
        let first = try #require(
            spans.first { $0.attributes[Attribute.messageID]?.toSpanAttribute() == "fifo-0" }
        )
        let link = try #require(first.links.first?.context.inMemorySpanContext)
        #expect(link.traceID == "5759e988bd862e3fe1be46a994272793")
        #expect(link.spanID == "53995c3f42cd8ad8")
        #expect(first.attributes[Attribute.producerTraceID]?.toSpanAttribute() == "1-5759e988-bd862e3fe1be46a994272793")
    }

    @Test("Kafka headers carry a W3C traceparent to the record's span link and log lines")
    func kafkaTraceparent() async throws {
        let observation = TestObservation()
        let processor = BatchProcessor(
            configuration: .init(
                instrumentation: Instrumentation(metricsFactory: observation.metrics, tracer: TraceparentTracer())
            )
        )
        var record = KafkaEvent.Record(topic: "orders", partition: 0, offset: 7, key: nil, value: Array("v".utf8))
        record.headers = [
            .init(name: "traceparent", bytes: Array("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".utf8))
        ]
        let seen = Mutex<String?>(nil)
        _ = try await processor.process([record], context: .init(logger: observation.logger)) { _, context in
            seen.withLock { $0 = context.producerTraceID }
            context.logger.info("handled")
        }
        #expect(seen.withLock { $0 } == "0af7651916cd43dd8448eb211c80319c")
        let line = try #require(observation.entries(withMessage: "handled").first)
        #expect(line.metadata["record_trace_id"] == "0af7651916cd43dd8448eb211c80319c")
    }

    // MARK: - Logs and the cost of not tracing

    @Test("Without a tracer, log lines of a record still carry the producer's trace id")
    func recordTraceIDInLogs() async throws {
        let observation = TestObservation()
        let processor = BatchProcessor(
            configuration: .init(instrumentation: Instrumentation(metricsFactory: observation.metrics))
        )
        let event = try Fixture.bytes("sqs-fifo.json")
        _ = try? await processor.process(eventJSON: event, context: .init(logger: observation.logger)) {
            record,
            context in
            #expect(context.span == nil)
            context.logger.info("handling")
            if record.itemIdentifier.description == "fifo-0" { throw HandlerFailure(identifier: "fifo-0") }
        }
        let handling = observation.entries(withMessage: "handling")
        let first = try #require(handling.first { $0.metadata["item_identifier"] == "fifo-0" })
        #expect(first.metadata["record_trace_id"] == "1-5759e988-bd862e3fe1be46a994272793")
        let failed = try #require(observation.entries(withMessage: "record failed").first)
        #expect(failed.metadata["record_trace_id"] == "1-5759e988-bd862e3fe1be46a994272793")
        #expect(handling.allSatisfy { $0.metadata["record_trace_id"] == "1-5759e988-bd862e3fe1be46a994272793" })
        // A record without a trace header has no such key.
        _ = try await processor.process(TestEvents.sqs(["plain"]), context: .init(logger: observation.logger)) {
            _,
            context in context.logger.info("plain record")
        }
        let plain = try #require(observation.entries(withMessage: "plain record").first)
        #expect(plain.metadata["record_trace_id"] == nil)
        #expect(plain.metadata["item_identifier"] == "plain")
    }

    @Test("Without a tracer the processor starts no span and reads no trace header")
    func noTracerNoWork() async throws {
        let processor = BatchProcessor()
        let reads = ReadCounter()
        let records = (0..<4).map { CountingRecord(id: "c\($0)", reads: reads) }
        let result = try await processor.process(records) { _, context in
            #expect(context.span == nil)
            #expect(context.producerTraceContext == nil)
        }
        #expect(result.succeededCount == 4)
        #expect(reads.count == 0)

        // The same batch with a tracer does read them (so the count above could have moved).
        let traced = BatchProcessor(configuration: .init(instrumentation: Instrumentation(tracer: InMemoryTracer())))
        _ = try await traced.process(records) { _, context in #expect(context.span != nil) }
        #expect(reads.count > 0)
    }

    @Test("A tracer bound to the task with withTracer is used when none is configured")
    func taskLocalTracer() async throws {
        let tracer = InMemoryTracer()
        let processor = BatchProcessor()
        try await withTracer(tracer) {
            _ = try await processor.process(TestEvents.sqs(["a", "b"])) { _, _ in }
        }
        #expect(tracer.finishedSpans.count == 3)
        // NoOpTracer configured turns tracing off even so.
        let off = BatchProcessor(configuration: .init(instrumentation: Instrumentation(tracer: NoOpTracer())))
        try await withTracer(tracer) {
            _ = try await off.process(TestEvents.sqs(["a"])) { _, context in #expect(context.span == nil) }
        }
        #expect(tracer.finishedSpans.count == 3)
    }

    // MARK: - Trace headers

    @Test("X-Ray headers as W3C traceparent, and trace ids read from each")
    func headerConversions() {
        func traceparent(_ header: String) -> String? {
            var message = TestEvents.sqsMessage(id: "m")
            message.attributes["AWSTraceHeader"] = header
            return message.traceHeader(named: "traceparent")
        }
        #expect(
            traceparent("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1")
                == "00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01"
        )
        #expect(
            traceparent("Root=1-5759E988-BD862E3FE1BE46A994272793;Sampled=0;Parent=53995C3F42CD8AD8")
                == "00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-00"
        )
        #expect(traceparent("Root=1-5759e988-bd862e3fe1be46a994272793") == nil)  // no parent: no span to link to
        #expect(traceparent("Root=2-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8") == nil)
        #expect(traceparent("Root=1-5759e988-bd862e3fe1be46a99427279x;Parent=53995c3f42cd8ad8") == nil)
        #expect(traceparent("Root=1-00000000-000000000000000000000000;Parent=53995c3f42cd8ad8") == nil)
        #expect(traceparent("garbage") == nil)

        var message = TestEvents.sqsMessage(id: "m")
        #expect(message.producerTraceID == nil)
        message.attributes["AWSTraceHeader"] = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8"
        #expect(message.producerTraceID == "1-5759e988-bd862e3fe1be46a994272793")
        #expect(message.traceHeader(named: "x-amzn-trace-id") == message.attributes.awsTraceHeader)
        // A traceparent the producer sent as a message attribute wins over the converted header.
        message.messageAttributes["traceparent"] = .init(
            dataType: "String",
            stringValue: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
        )
        #expect(message.traceHeader(named: "TraceParent") == "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")

        var bare = TestEvents.sqsMessage(id: "m")
        bare.messageAttributes["traceparent"] = .init(dataType: "String", stringValue: "00-zz-b7ad6b7169203331-01")
        #expect(bare.producerTraceID == nil)
    }
}

/// A tracer that, like swift-otel's default, reads only W3C `traceparent`; its spans land in an in-memory tracer.
struct TraceparentTracer: Tracer {
    let inner = InMemoryTracer()

    func startSpan<Instant: TracerInstant>(
        _ operationName: String,
        context: @autoclosure () -> InstrumentationContext,
        ofKind kind: SpanKind,
        at instant: @autoclosure () -> Instant,
        function: String,
        file fileID: String,
        line: UInt
    ) -> InMemorySpan {
        inner.startSpan(
            operationName,
            context: context(),
            ofKind: kind,
            at: instant(),
            function: function,
            file: fileID,
            line: line
        )
    }

    func extract<Carrier, Extract: Extractor>(
        _ carrier: Carrier,
        into context: inout InstrumentationContext,
        using extractor: Extract
    ) where Extract.Carrier == Carrier {
        guard let value = extractor.extract(key: "traceparent", from: carrier) else { return }
        let parts = value.split(separator: "-")
        guard parts.count == 4 else { return }
        context.inMemorySpanContext = InMemorySpanContext(
            traceID: String(parts[1]),
            spanID: String(parts[2]),
            parentSpanID: nil
        )
    }

    func inject<Carrier, Inject: Injector>(
        _ context: InstrumentationContext,
        into carrier: inout Carrier,
        using injector: Inject
    ) where Inject.Carrier == Carrier {}

    func forceFlush() {}
}

/// A record of a custom source that counts how often its trace headers are read.
struct CountingRecord: BatchRecord {
    let id: String
    let reads: ReadCounter

    var itemIdentifier: ItemIdentifier { ItemIdentifier(id) }
    var orderingKey: String? { nil }
    var batchSource: BatchEventSource { BatchEventSource(rawValue: "test:counting", name: "counting") }

    func traceHeader(named name: String) -> String? {
        reads.increment()
        return nil
    }
}

final class ReadCounter: Sendable {
    private let value = Atomic<Int>(0)
    func increment() { value.add(1, ordering: .relaxed) }
    var count: Int { value.load(ordering: .relaxed) }
}

extension FinishedInMemorySpan {
    /// The string attribute `name`, or `nil`.
    func string(_ name: String) -> String? {
        if case .string(let value) = attributes[name]?.toSpanAttribute() { return value }
        return nil
    }

    /// The integer attribute `name`, or `nil`.
    func int(_ name: String) -> Int? {
        switch attributes[name]?.toSpanAttribute() {
        case .int64(let value): Int(value)
        case .int32(let value): Int(value)
        default: nil
        }
    }
}
