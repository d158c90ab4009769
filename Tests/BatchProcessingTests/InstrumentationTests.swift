import BatchProcessing
import BatchProcessingTestProcessSupport
import CoreMetrics
import EMFMetrics
import JSONLogging
import Logging
import Synchronization
import Testing

@Suite("Processor: logs and metrics")
struct InstrumentationTests {
    /// A processor wired to a real EMF backend and JSON log handler, both writing into collectors.
    struct Harness {
        let metrics: EMFMetricsFactory
        let metricLines = LineCollector()
        let logLines = LineCollector()
        let flushes = FlushCounter()

        init() throws {
            let lines = metricLines
            metrics = try EMFMetricsFactory(
                configuration: .init(
                    namespace: "Tests",
                    defaultDimensions: [("service", "tests")],
                    output: { lines.writer.write(line: $0) }
                )
            )
        }

        func processor(
            policy: FailurePolicy = .automatic,
            logsPayloads: Bool = false,
            middleware: [any RecordMiddleware] = []
        ) -> BatchProcessor {
            let metrics = self.metrics
            return BatchProcessor(
                configuration: .init(
                    policy: policy,
                    throwsOnFullBatchFailure: true,
                    instrumentation: Instrumentation(
                        metricsFactory: metrics,
                        flushMetrics: { [flushes] in
                            flushes.count.add(1, ordering: .relaxed)
                            metrics.flush()
                        },
                        logsRecordPayloads: logsPayloads
                    )
                ),
                middleware: middleware
            )
        }

        var invocation: InvocationContext {
            let configuration = JSONLogHandler.Configuration(
                service: "tests",
                logLevel: .debug,
                output: logLines.writer
            )
            return InvocationContext(
                requestID: "req-7",
                traceID: "Root=1-abc-def;Parent=1;Sampled=1",
                logger: Logger(label: "processor") { JSONLogHandler(label: $0, configuration: configuration) }
            )
        }

        var flushCount: Int { flushes.count.load(ordering: .relaxed) }
    }

    @Test("Each batch writes one EMF document whose counts equal the response", arguments: SourceKind.allCases)
    func countsMatch(kind: SourceKind) async throws {
        let harness = try Harness()
        let result = try await harness.processor().process(
            kind.records(specs(10)),
            context: harness.invocation,
            handler: failing(["r2", "r5", "r9"])
        )
        #expect(harness.flushCount == 1)
        let documents = try harness.metricLines.objects()
        #expect(documents.count == 1)
        let document = try #require(documents.first)
        #expect(document["event_source"] as? String == kind.source.rawValue)
        #expect(document["RecordsReceived"] as? Int == 10)
        #expect(document["RecordsSucceeded"] as? Int == 7)
        #expect(document["RecordsFailed"] as? Int == 3)
        #expect(document["RecordsSkipped"] as? Int == 0)
        #expect(document["RecordsReported"] as? Int == result.response.batchItemFailures.count)
        #expect(document["RecordRetries"] as? Int == 0)
        #expect((document["RecordDuration"] as? [Double])?.count == 10)
        #expect(document["BatchDuration"] is Double)
        #expect(document["BatchFailures"] == nil)
    }

    @Test("Skipped records and retries are counted")
    func skippedAndRetries() async throws {
        let harness = try Harness()
        let attempts = Mutex<[String: Int]>([:])
        let processor = harness.processor(
            policy: .skipGroup,
            middleware: [RetryMiddleware(strategy: .exponentialJitter(maxAttempts: 3, baseDelay: .milliseconds(1)))]
        )
        let result = try await processor.process(
            SourceKind.sqs.records(ProcessorPolicyTests.abab, fifo: true),
            context: harness.invocation
        ) { record, context in
            let count = attempts.withLock { state -> Int in
                state[record.itemIdentifier.description, default: 0] += 1
                return state[record.itemIdentifier.description, default: 0]
            }
            // m0 succeeds on its third attempt; m1 always fails.
            if record.itemIdentifier == "m1" || (record.itemIdentifier == "m0" && count < 3) {
                throw HandlerFailure(identifier: record.itemIdentifier.description)
            }
        }
        #expect(result.outcomes[0].attempts == 3)
        #expect(result.outcomes[1].attempts == 3)
        #expect(result.outcomes[3].attempts == 0)
        let document = try #require(try harness.metricLines.objects().first)
        #expect(document["RecordRetries"] as? Int == 4)
        #expect(document["RecordsSkipped"] as? Int == 1)
        #expect(document["RecordsFailed"] as? Int == 1)
        #expect(document["RecordsSucceeded"] as? Int == 3)
        #expect((document["RecordDuration"] as? [Double])?.count == 4, "only records that ran have a duration")
    }

    @Test("Metrics are flushed when the invocation fails as a whole, counting the failure")
    func flushOnFailure() async throws {
        let harness = try Harness()
        do {
            _ = try await harness.processor().process(
                SourceKind.kinesis.records(specs(2)),
                context: harness.invocation,
                handler: failing(["r0", "r1"])
            )
            Issue.record("expected the whole batch to fail")
        } catch {
            #expect(error.code == .allRecordsFailed)
        }
        #expect(harness.flushCount == 1)
        let document = try #require(try harness.metricLines.objects().first)
        #expect(document["BatchFailures"] as? Int == 1)
        #expect(document["RecordsFailed"] as? Int == 2)
        let logs = try harness.logLines.objects()
        #expect(
            logs.contains {
                $0["message"] as? String == "batch failed as a whole"
                    && $0["error_type"] as? String == "BatchProcessingError.allRecordsFailed"
            }
        )
    }

    @Test("A configuration error and an empty batch still flush")
    func flushAlways() async throws {
        let harness = try Harness()
        _ = try? await harness.processor(policy: .skipKey).process(
            SourceKind.sqs.records(specs(1)),
            context: harness.invocation,
            handler: failing([])
        )
        _ = try await harness.processor().process(
            SourceKind.sqs.records([]),
            context: harness.invocation,
            handler: failing([])
        )
        #expect(harness.flushCount == 2)
    }

    @Test("Metric objects are made once per processor, not per batch or record")
    func metricObjectsMadeOnce() async throws {
        final class CountingFactory: MetricsFactory, Sendable {
            let base: EMFMetricsFactory
            let made = Atomic<Int>(0)
            init(base: EMFMetricsFactory) { self.base = base }
            func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
                made.add(1, ordering: .relaxed)
                return base.makeCounter(label: label, dimensions: dimensions)
            }
            func makeFloatingPointCounter(
                label: String,
                dimensions: [(String, String)]
            ) -> any FloatingPointCounterHandler {
                made.add(1, ordering: .relaxed)
                return base.makeFloatingPointCounter(label: label, dimensions: dimensions)
            }
            func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
                made.add(1, ordering: .relaxed)
                return base.makeMeter(label: label, dimensions: dimensions)
            }
            func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
                made.add(1, ordering: .relaxed)
                return base.makeRecorder(label: label, dimensions: dimensions, aggregate: aggregate)
            }
            func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
                made.add(1, ordering: .relaxed)
                return base.makeTimer(label: label, dimensions: dimensions)
            }
            func destroyCounter(_ handler: any CounterHandler) {}
            func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {}
            func destroyMeter(_ handler: any MeterHandler) {}
            func destroyRecorder(_ handler: any RecorderHandler) {}
            func destroyTimer(_ handler: any TimerHandler) {}
        }
        let factory = CountingFactory(
            base: try EMFMetricsFactory(configuration: .init(namespace: "T", output: { _ in }))
        )
        let processor = BatchProcessor(configuration: .init(instrumentation: .init(metricsFactory: factory)))
        let afterCreation = factory.made.load(ordering: .relaxed)
        #expect(afterCreation > 0)
        for _ in 0..<3 {
            _ = try await processor.process(SourceKind.kinesis.records(specs(50)), handler: failing(["r3"]))
        }
        #expect(factory.made.load(ordering: .relaxed) == afterCreation)
    }

    @Test("One log line per failed record, with identifier, source, attempt, policy and error; one summary")
    func logLines() async throws {
        let harness = try Harness()
        _ = try await harness.processor().process(
            SourceKind.sqs.records(specs(5)),
            context: harness.invocation,
            handler: failing(["r1", "r3"])
        )
        let logs = try harness.logLines.objects()
        let failures = logs.filter { $0["message"] as? String == "record failed" }
        #expect(failures.compactMap { $0["item_identifier"] as? String } == ["r1", "r3"])
        for failure in failures {
            #expect(failure["level"] as? String == "ERROR")
            #expect(failure["event_source"] as? String == "aws:sqs")
            #expect(failure["attempt"] as? Int == 1)
            #expect(failure["policy"] as? String == "continue")
            #expect((failure["error_type"] as? String)?.hasSuffix("HandlerFailure") == true)
            #expect((failure["exception"] as? String)?.hasPrefix("handler failed for") == true)
            #expect(failure["function_request_id"] as? String == "req-7")
            #expect(failure["xray_trace_id"] as? String == "1-abc-def")
            #expect(failure["payload"] == nil)
        }
        let summaries = logs.filter { ($0["message"] as? String)?.hasPrefix("batch processed") == true }
        #expect(summaries.count == 1)
        let summary = try #require(summaries.first)
        #expect(summary["records"] as? Int == 5)
        #expect(summary["failed"] as? Int == 2)
        #expect(summary["reported"] as? Int == 2)
        #expect(summary["level"] as? String == "WARN")
    }

    @Test("Payloads are logged only when turned on")
    func payloads() async throws {
        let harness = try Harness()
        let records: [AnyBatchRecord] = [.sqs(.init(messageId: "m", body: "{\"secret\":1}"))]
        _ = try? await harness.processor().process(records, context: harness.invocation, handler: failing(["m"]))
        let withoutPayload = try #require(
            try harness.logLines.objects().first { $0["message"] as? String == "record failed" },
            "the failure must be logged, so that its lack of a payload means something"
        )
        #expect(withoutPayload["payload"] == nil)
        #expect(harness.logLines.all.allSatisfy { !$0.contains("secret") })
        let withPayloads = try Harness()
        _ = try? await withPayloads.processor(logsPayloads: true).process(
            records,
            context: withPayloads.invocation,
            handler: failing(["m"])
        )
        let failure = try #require(
            try withPayloads.logLines.objects().first { $0["message"] as? String == "record failed" }
        )
        #expect(failure["payload"] as? String == "{\"secret\":1}")
    }
}

/// Counts calls of the flush hook.
final class FlushCounter: Sendable {
    let count = Atomic<Int>(0)
}
