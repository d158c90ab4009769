import BatchProcessing
import Testing

@testable import struct BatchProcessing.SplitMix64

@Suite("Processor properties")
struct PropertyTests {
    /// What the policy prescribes, worked out the simplest way: the indices to report, in order.
    static func expectedReported(keys: [String?], failing: Set<Int>, policy: FailurePolicy) -> [Int] {
        switch policy {
        case .continueOnFailure:
            return failing.sorted()
        case .stopOnFirstFailure:
            guard let first = failing.min() else { return [] }
            return Array(first..<keys.count)
        default:  // skip-group / skip-key
            var failedKeys = Set<String>()
            var reported: [Int] = []
            for (index, key) in keys.enumerated() {
                if let key, failedKeys.contains(key) {
                    reported.append(index)
                } else if failing.contains(index) {
                    reported.append(index)
                    if let key { failedKeys.insert(key) }
                }
            }
            return reported
        }
    }

    struct Case: CustomStringConvertible {
        var seed: UInt64
        var kind: SourceKind
        var fifo: Bool
        var policy: FailurePolicy
        var concurrency: Int
        var keys: [String?]
        var failing: Set<Int>
        var throwsOnFullFailure: Bool

        var description: String {
            "seed \(seed): \(kind) fifo=\(fifo) policy=\(policy) concurrency=\(concurrency) keys=\(keys) "
                + "failing=\(failing.sorted())"
        }

        init(seed: UInt64) {
            var random = SplitMix64(seed: seed)
            self.seed = seed
            kind = SourceKind.allCases.randomElement(using: &random)!
            fifo = kind == .sqs && Bool.random(using: &random)
            let policies: [FailurePolicy] = [.automatic, .continueOnFailure, .stopOnFirstFailure, kind.skipPolicy]
            policy = policies.randomElement(using: &random)!
            concurrency = [1, 1, 2, 3, 8].randomElement(using: &random)!
            let count = Int.random(in: 0...24, using: &random)
            let alphabet: [String?] = kind == .sqs ? ["A", "B", "C", nil] : ["p", "q", "r", "s"]
            let keySpace = Int.random(in: 1...alphabet.count, using: &random)
            keys = (0..<count).map { _ in alphabet[Int.random(in: 0..<keySpace, using: &random)] }
            let rate = [0.0, 0.1, 0.3, 0.7, 1.0].randomElement(using: &random)!
            failing = Set((0..<count).filter { _ in Double.random(in: 0..<1, using: &random) < rate })
            throwsOnFullFailure = Bool.random(using: &random)
        }
    }

    /// The result, or the error with the result it carries.
    static func run(
        _ processor: BatchProcessor,
        _ records: [AnyBatchRecord],
        handler: @escaping RecordHandler<AnyBatchRecord>
    ) async -> (BatchResult?, BatchProcessingError?) {
        do {
            return (try await processor.process(records, handler: handler), nil)
        } catch {
            return (nil, error)
        }
    }

    @Test(
        "Over thousands of random batches, every record is succeeded or reported, and the reported set is the policy's"
    )
    func randomBatches() async throws {
        for seed in UInt64(1)...2500 {
            let testCase = Case(seed: seed)
            let records = testCase.kind.records(
                testCase.keys.enumerated().map { RecordSpec(id: "r\($0)", key: $1) },
                fifo: testCase.fifo
            )
            let runs = EventLog<Int>()
            let processor = BatchProcessor(
                configuration: .init(
                    policy: testCase.policy,
                    maxConcurrency: testCase.concurrency,
                    throwsOnFullBatchFailure: testCase.throwsOnFullFailure
                )
            )
            let failing = testCase.failing
            let (returned, error) = await Self.run(processor, records) { _, context in
                runs.append(context.index)
                for _ in 0..<(context.index * 7 % 3) { await Task.yield() }
                if failing.contains(context.index) {
                    throw HandlerFailure(identifier: context.itemIdentifier.description)
                }
            }
            if let error {
                #expect(error.code == .allRecordsFailed && testCase.throwsOnFullFailure, "\(error): \(testCase)")
            }
            guard let result = returned ?? error?.result else {
                Issue.record("neither a result nor an error carrying one: \(testCase)")
                continue
            }

            let effective: FailurePolicy =
                testCase.policy == .automatic ? testCase.kind.automaticPolicy(fifo: testCase.fifo) : testCase.policy
            let expected = Self.expectedReported(keys: testCase.keys, failing: failing, policy: effective)
            let reported = result.outcomes.filter(\.isReported).map(\.index)
            #expect(reported == expected, "\(testCase)")
            #expect(result.response.itemIdentifiers == expected.map { records[$0].itemIdentifier }, "\(testCase)")
            #expect(result.outcomes.map(\.index) == Array(records.indices), "\(testCase)")

            // Exactly one of succeeded (and not reported) or reported, and every failure really failed.
            for outcome in result.outcomes {
                let isSucceededOnly = outcome.succeeded && !outcome.isReported
                #expect(isSucceededOnly != outcome.isReported, "\(testCase)")
                if outcome.error != nil { #expect(failing.contains(outcome.index), "\(testCase)") }
            }
            // No record runs twice, skipped records never run, and a sequential stop runs nothing after the failure.
            let ran = runs.all
            #expect(Set(ran).count == ran.count, "\(testCase)")
            for outcome in result.outcomes where outcome.skipReason != nil {
                #expect(!ran.contains(outcome.index), "\(testCase)")
            }
            if effective == .stopOnFirstFailure, testCase.concurrency == 1, let first = failing.min() {
                #expect(ran == Array(0...first), "\(testCase)")
            }
            if testCase.concurrency == 1 {
                #expect(ran == ran.sorted(), "\(testCase)")
            }
        }
    }
}
