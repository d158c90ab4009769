import BatchIdempotency
import BatchIdempotencyTesting
import BatchProcessing
import BatchProcessingTesting
import Foundation
import Synchronization
import Testing

/// The store protocol's meaning, one suite for every store: BatchIdempotencyTesting's conformance checks on the file
/// store (real files), the PostgreSQL store (a real server, with and without prepared statements) and the in-memory
/// store.
@Suite("Store semantics: the same state machine in every store")
struct StoreSemanticsTests {
    @Test(
        "Every store passes every conformance check",
        arguments: StoreKind.allCases,
        IdempotencyStoreConformance.Check.allCases
    )
    func conformance(kind: StoreKind, check: IdempotencyStoreConformance.Check) async throws {
        try await kind.withStore { store in
            let failures = await IdempotencyStoreConformance.run(check, on: store)
            #expect(failures.isEmpty, "\(failures)")
        }
    }

    @Test("The in-memory store under the middleware: a redelivered batch is replayed, its records completed")
    func inMemoryUnderTheMiddleware() async throws {
        let store = InMemoryIdempotencyStore()
        let processor = BatchProcessor(middleware: [IdempotencyMiddleware(store: store)])
        let event = TestEvents.sqs(["m1", "m2"])
        let runs = Mutex(0)
        _ = try await processor.process(event) { _, _ in runs.withLock { $0 += 1 } }
        let again = try await processor.process(event) { _, _ in runs.withLock { $0 += 1 } }
        #expect(again.replayedCount == 2)
        #expect(runs.withLock { $0 } == 2)
        #expect(store.allRecords.map(\.status) == [.completed, .completed])
    }

    @Test("The checks find a store that breaks the rules: one that never fences, one that forgets completions")
    func findsBrokenStores() async {
        let unfenced = await IdempotencyStoreConformance.runAll { BrokenStore(.neverFences) }
        #expect(Set(unfenced.map(\.check)).isSuperset(of: [.takeover, .release, .fenceTable]), "\(unfenced)")
        let forgetful = await IdempotencyStoreConformance.runAll { BrokenStore(.forgetsCompletions) }
        #expect(Set(forgetful.map(\.check)).isSuperset(of: [.lifecycle, .repeatedByHolder, .manyKeys]), "\(forgetful)")
        #expect(forgetful.contains { $0.message.contains("completed") }, "\(forgetful)")
    }
}

/// An in-memory store with one deliberate defect, to show that the conformance checks can fail.
final class BrokenStore: IdempotencyStore {
    enum Defect { case neverFences, forgetsCompletions }
    let defect: Defect
    let base = InMemoryIdempotencyStore()

    init(_ defect: Defect) { self.defect = defect }

    func claim(
        key: IdempotencyKey,
        token: String,
        payloadHash: String?,
        inProgressUntil: Int64,
        expiresAt: Int64,
        now: Int64
    ) async throws(IdempotencyStoreError) -> ClaimResult {
        try await base.claim(
            key: key,
            token: token,
            payloadHash: payloadHash,
            inProgressUntil: inProgressUntil,
            expiresAt: expiresAt,
            now: now
        )
    }

    func complete(key: IdempotencyKey, token: String) async throws(IdempotencyStoreError) -> FenceResult {
        switch defect {
        case .neverFences:
            _ = try await base.complete(key: key, token: token)
            return .applied
        case .forgetsCompletions:
            return .applied
        }
    }

    func release(key: IdempotencyKey, token: String) async throws(IdempotencyStoreError) -> FenceResult {
        let answer = try await base.release(key: key, token: token)
        return defect == .neverFences ? .applied : answer
    }

    func record(for key: IdempotencyKey) async throws(IdempotencyStoreError) -> IdempotencyRecord? {
        try await base.record(for: key)
    }

    func purgeExpired(now: Int64) async throws(IdempotencyStoreError) -> Int {
        try await base.purgeExpired(now: now)
    }
}
