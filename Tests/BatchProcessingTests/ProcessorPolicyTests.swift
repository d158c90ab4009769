import BatchProcessing
import Logging
import Testing

@Suite("Processor: responses and policies")
struct ProcessorPolicyTests {
    let processor = BatchProcessor()

    @Test("A batch with no failures answers with an empty list", arguments: SourceKind.allCases)
    func noFailures(kind: SourceKind) async throws {
        let result = try await processor.process(kind.records(specs(5)), handler: failing([]))
        #expect(result.response == PartialBatchResponse(batchItemFailures: []))
        #expect(result.response.jsonString == #"{"batchItemFailures":[]}"#)
        #expect(result.outcomes.map(\.succeeded) == Array(repeating: true, count: 5))
        #expect(result.eventSource == kind.source)
    }

    @Test("Failures are reported in record order, whatever order they failed in", arguments: SourceKind.allCases)
    func someFailures(kind: SourceKind) async throws {
        let batch = kind.records(specs(6))
        let result = try await processor.process(batch, handler: failing(["r4", "r1", "r5"]))
        #expect(reportedIDs(result, batch) == ["r1", "r4", "r5"])
        #expect(result.response.itemIdentifiers == [1, 4, 5].map { batch[$0].itemIdentifier })
        #expect(result.failedCount == 3)
        #expect(result.succeededCount == 3)
        #expect(result.outcomes[4].error as? HandlerFailure == HandlerFailure(identifier: "r4"))
    }

    @Test("Records sharing an identifier are each reported", arguments: SourceKind.allCases)
    func duplicateIdentifiers(kind: SourceKind) async throws {
        let batch = kind.records([.init(id: "dup"), .init(id: "ok"), .init(id: "dup")])
        let result = try await processor.process(batch, handler: failing(["dup"]))
        #expect(reportedIDs(result, batch) == ["dup", "dup"])
        #expect(result.response.batchItemFailures.count == 2)
    }

    @Test("Failing identifiers that are not in the batch change nothing", arguments: SourceKind.allCases)
    func absentFailureIdentifiers(kind: SourceKind) async throws {
        let chaos = BatchProcessor(middleware: [FaultInjectionMiddleware(identifiers: ["not-here", "nor-here"])])
        let result = try await chaos.process(kind.records(specs(3)), handler: failing([]))
        #expect(result.response.batchItemFailures.isEmpty)
    }

    @Test(
        "When every record fails, the error carries the full response and every record's error",
        arguments: SourceKind.allCases
    )
    func allFailedThrows(kind: SourceKind) async throws {
        let batch = kind.records(specs(3))
        let error = await expectBatchError {
            try await processor.process(batch, handler: failing(["r0", "r1", "r2"]))
        }
        #expect(error?.code == .allRecordsFailed)
        #expect(error?.response?.itemIdentifiers == batch.map(\.itemIdentifier))
        let errors = (error?.result?.outcomes ?? []).compactMap { $0.error as? HandlerFailure }
        #expect(errors.map(\.identifier) == ["r0", "r1", "r2"])
        #expect(error?.message.contains("all 3 records") == true)
        #expect(error?.errorType == "BatchProcessingError.allRecordsFailed")
    }

    @Test("With throwing off, a batch where every record failed answers with all of them")
    func allFailedReturns() async throws {
        let lenient = BatchProcessor(configuration: .init(throwsOnFullBatchFailure: false))
        let result = try await lenient.process(SourceKind.sqs.records(specs(2)), handler: failing(["r0", "r1"]))
        #expect(result.response.itemIdentifiers == ["r0", "r1"])
        #expect(result.allRecordsReported)
    }

    @Test("An empty batch answers calmly with an empty list", arguments: SourceKind.allCases)
    func emptyBatch(kind: SourceKind) async throws {
        let typed = try await processor.process(kind.records([]), handler: failing([]))
        #expect(typed.response.batchItemFailures.isEmpty)
        #expect(typed.outcomes.isEmpty)
        let raw = try await processor.processJSON(Array(kind.emptyEventJSON.utf8), source: kind.source) { _, _ in }
        #expect(String(decoding: raw, as: UTF8.self) == #"{"batchItemFailures":[]}"#)
    }

    @Test(
        "A failed record with an empty identifier fails the invocation, naming the record",
        arguments: SourceKind.stringIdentified
    )
    func emptyIdentifier(kind: SourceKind) async throws {
        let batch = kind.records([.init(id: "a"), .init(id: ""), .init(id: "c")])
        let error = await expectBatchError {
            try await processor.process(batch, handler: failing([""]))
        }
        #expect(error?.code == .missingItemIdentifier)
        #expect(error?.recordIndex == 1)
        #expect(error?.message.contains("record 1") == true)
        // The same record succeeding needs no identifier.
        let result = try await processor.process(batch, handler: failing(["c"]))
        #expect(result.response.itemIdentifiers == ["c"])
    }

    @Test("A blank identifier counts as missing")
    func blankIdentifier() async throws {
        let error = await expectBatchError {
            try await processor.process(
                SourceKind.sqs.records([.init(id: "a"), .init(id: "  ")]),
                handler: failing(["  "])
            )
        }
        #expect(error?.code == .missingItemIdentifier)
    }

    // MARK: FIFO

    static let abab = [
        RecordSpec(id: "m0", key: "A"), .init(id: "m1", key: "B"), .init(id: "m2", key: "A"),
        .init(id: "m3", key: "B"), .init(id: "m4", key: "A"),
    ]

    @Test("A FIFO queue stops at the first failure by default: it and every later record are reported")
    func fifoDefaultStops() async throws {
        let ran = EventLog<String>()
        let result = try await processor.process(SourceKind.sqs.records(Self.abab, fifo: true)) { record, _ in
            ran.append(record.itemIdentifier.description)
            if record.itemIdentifier == "m1" { throw HandlerFailure(identifier: "m1") }
        }
        #expect(result.policy == .stopOnFirstFailure)
        #expect(result.response.itemIdentifiers == ["m1", "m2", "m3", "m4"])
        #expect(ran.all == ["m0", "m1"])
        #expect(result.outcomes[2].skipReason == .earlierFailure(index: 1))
    }

    @Test("Skip-group on a FIFO queue reports the failed record and its group's later records only")
    func fifoSkipGroup() async throws {
        let skipping = BatchProcessor(configuration: .init(policy: .skipGroup))
        let ran = EventLog<String>()
        let result = try await skipping.process(SourceKind.sqs.records(Self.abab, fifo: true)) { record, _ in
            ran.append(record.itemIdentifier.description)
            if record.itemIdentifier == "m1" { throw HandlerFailure(identifier: "m1") }
        }
        #expect(result.response.itemIdentifiers == ["m1", "m3"])
        #expect(ran.all == ["m0", "m1", "m2", "m4"])
        #expect(result.outcomes[3].skipReason == .sameKeyFailed(index: 1))
    }

    @Test("Skip-group where every group fails at its first record reports the whole batch")
    func skipGroupEveryGroupFails() async throws {
        let skipping = BatchProcessor(configuration: .init(policy: .skipGroup, throwsOnFullBatchFailure: false))
        let result = try await skipping.process(
            SourceKind.sqs.records(Self.abab, fifo: true),
            handler: failing(["m0", "m1"])
        )
        #expect(result.response.itemIdentifiers == ["m0", "m1", "m2", "m3", "m4"])
        #expect(result.failedCount == 2)
        #expect(result.skippedCount == 3)
    }

    @Test("Skip-group never skips records that have no group")
    func skipGroupWithoutGroups() async throws {
        let skipping = BatchProcessor(configuration: .init(policy: .skipGroup))
        let batch = SourceKind.sqs.records([
            .init(id: "n0"), .init(id: "g1", key: "G"), .init(id: "n2"),
            .init(id: "g3", key: "G"), .init(id: "n4"),
        ])
        let result = try await skipping.process(batch, handler: failing(["n0", "g1"]))
        #expect(result.response.itemIdentifiers == ["n0", "g1", "g3"])
        #expect(result.outcomes[2].succeeded)
        #expect(result.outcomes[4].succeeded)
    }

    @Test("A standard queue continues after a failure by default")
    func standardQueueContinues() async throws {
        let result = try await processor.process(SourceKind.sqs.records(Self.abab), handler: failing(["m1"]))
        #expect(result.policy == .continueOnFailure)
        #expect(result.response.itemIdentifiers == ["m1"])
    }

    // MARK: Streams

    static let streamKeys = [
        RecordSpec(id: "s0", key: "p1"), .init(id: "s1", key: "p2"), .init(id: "s2", key: "p1"),
        .init(id: "s3", key: "p3"), .init(id: "s4", key: "p2"),
    ]

    @Test("Streams continue after a failure by default", arguments: [SourceKind.kinesis, .dynamodb])
    func streamsContinue(kind: SourceKind) async throws {
        let result = try await processor.process(kind.records(Self.streamKeys), handler: failing(["s1"]))
        #expect(result.policy == .continueOnFailure)
        #expect(result.response.itemIdentifiers == ["s1"])
    }

    @Test("Streams can stop at the first failure", arguments: [SourceKind.kinesis, .dynamodb])
    func streamsStop(kind: SourceKind) async throws {
        let stopping = BatchProcessor(configuration: .init(policy: .stopOnFirstFailure))
        let result = try await stopping.process(kind.records(Self.streamKeys), handler: failing(["s1"]))
        #expect(result.response.itemIdentifiers == ["s1", "s2", "s3", "s4"])
    }

    @Test(
        "Skip-key skips later records of the failed record's partition key or item only",
        arguments: [SourceKind.kinesis, .dynamodb]
    )
    func streamsSkipKey(kind: SourceKind) async throws {
        let skipping = BatchProcessor(configuration: .init(policy: .skipKey))
        let result = try await skipping.process(kind.records(Self.streamKeys), handler: failing(["s1"]))
        #expect(result.response.itemIdentifiers == ["s1", "s4"])
        #expect(result.outcomes[2].succeeded)
        #expect(result.outcomes[3].succeeded)
    }

    @Test("A policy that does not fit the source is refused with a clear error")
    func policyMismatch() async throws {
        let skipKey = BatchProcessor(configuration: .init(policy: .skipKey))
        let sqsError = await expectBatchError {
            try await skipKey.process(SourceKind.sqs.records(specs(1)), handler: failing([]))
        }
        #expect(sqsError?.code == .invalidConfiguration)
        #expect(sqsError?.message.contains("skip-group") == true)
        let skipGroup = BatchProcessor(configuration: .init(policy: .skipGroup))
        let kinesisError = await expectBatchError {
            try await skipGroup.process(SourceKind.kinesis.records(specs(1)), handler: failing([]))
        }
        #expect(kinesisError?.code == .invalidConfiguration)
        let zero = BatchProcessor(configuration: .init(maxConcurrency: 0))
        let zeroError = await expectBatchError {
            try await zero.process(SourceKind.sqs.records(specs(1)), handler: failing([]))
        }
        #expect(zeroError?.message.contains("maxConcurrency") == true)
    }

    // MARK: Handler errors and state

    @Test("A handler that throws CancellationError fails that record only; the batch goes on")
    func handlerCancellation() async throws {
        let result = try await processor.process(SourceKind.sqs.records(specs(3))) { record, _ in
            if record.itemIdentifier == "r1" { throw CancellationError() }
        }
        #expect(result.response.itemIdentifiers == ["r1"])
        #expect(result.outcomes[1].error is CancellationError)
        #expect(result.outcomes[2].succeeded)
    }

    @Test("Nothing carries over from one invocation to the next")
    func noStateBetweenInvocations() async throws {
        let shared = BatchProcessor(configuration: .init(policy: .skipGroup, maxConcurrency: 2))
        let batch = SourceKind.sqs.records(Self.abab, fifo: true)
        let first = try await shared.process(batch, handler: failing(["m0"]))
        #expect(first.response.itemIdentifiers == ["m0", "m2", "m4"])
        let second = try await shared.process(batch, handler: failing([]))
        #expect(second.response.itemIdentifiers == [])
        #expect(second.outcomes.allSatisfy { $0.succeeded })
    }

    @Test("The handler's context carries the record's identity and the invocation's facts")
    func recordContext() async throws {
        let seen = EventLog<RecordContext>()
        let invocation = InvocationContext(requestID: "req-1", functionName: "orders", traceID: "Root=1-abc")
        _ = try await processor.process(SourceKind.kinesis.records(specs(2)), context: invocation) { _, context in
            seen.append(context)
        }
        let contexts = seen.all
        #expect(contexts.map(\.index) == [0, 1])
        #expect(contexts.map(\.itemIdentifier) == ["r0", "r1"])
        #expect(contexts.allSatisfy { $0.attempt == 1 && $0.eventSource == .kinesis })
        #expect(contexts[0].requestID == "req-1")
        #expect(contexts[0].functionName == "orders")
        #expect(contexts[0].logger[metadataKey: "item_identifier"] == "r0")
        #expect(contexts[1].logger[metadataKey: "record_index"]?.description == "1")
        #expect(contexts[0].logger[metadataKey: "function_request_id"] == "req-1")
        #expect(contexts[0].deadline == nil)
    }
}
