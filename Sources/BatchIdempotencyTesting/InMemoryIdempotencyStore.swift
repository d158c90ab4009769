public import BatchIdempotency
import Synchronization

/// An `IdempotencyStore` in memory, for tests of code that uses idempotency and as the smallest store that keeps
/// the protocol's meaning: every change is one call under a lock, decided by `IdempotencyRules`, as a store of your
/// own should decide it. It passes ``IdempotencyStoreConformance`` like the file and PostgreSQL stores.
///
/// Its records live as long as the value; two processes never share them. Not for production use.
public final class InMemoryIdempotencyStore: IdempotencyStore {
    private let records = Mutex<[String: IdempotencyRecord]>([:])

    /// Creates an empty store.
    public init() {}

    /// Every record, by key: what a test looks at after a run.
    public var allRecords: [IdempotencyRecord] {
        records.withLock { $0.values.sorted { $0.key < $1.key } }
    }

    public func claim(
        key: IdempotencyKey,
        token: String,
        payloadHash: String?,
        inProgressUntil: Int64,
        expiresAt: Int64,
        now: Int64
    ) async throws(IdempotencyStoreError) -> ClaimResult {
        guard !token.isEmpty else {
            throw IdempotencyStoreError("the claim of \(key) has an empty token", code: .invalidRequest)
        }
        return records.withLock { records in
            let decision = IdempotencyRules.claim(existing: records[key.hex], token: token, now: now)
            if decision.writes {
                records[key.hex] = IdempotencyRecord(
                    key: key.hex,
                    status: .inProgress,
                    token: token,
                    expiresAt: expiresAt,
                    inProgressUntil: inProgressUntil,
                    payloadHash: payloadHash
                )
            }
            return decision.answer
        }
    }

    public func complete(key: IdempotencyKey, token: String) async throws(IdempotencyStoreError) -> FenceResult {
        records.withLock { records in
            let decision = IdempotencyRules.complete(existing: records[key.hex], token: token)
            if decision.writes { records[key.hex]?.status = .completed }
            return decision.answer
        }
    }

    public func release(key: IdempotencyKey, token: String) async throws(IdempotencyStoreError) -> FenceResult {
        records.withLock { records in
            let decision = IdempotencyRules.release(existing: records[key.hex], token: token)
            if decision.writes { records[key.hex] = nil }
            return decision.answer
        }
    }

    public func record(for key: IdempotencyKey) async throws(IdempotencyStoreError) -> IdempotencyRecord? {
        records.withLock { $0[key.hex] }
    }

    public func purgeExpired(now: Int64) async throws(IdempotencyStoreError) -> Int {
        records.withLock { records in
            let expired = records.filter { $0.value.isExpired(at: now) }.map(\.key)
            for key in expired { records[key] = nil }
            return expired.count
        }
    }
}
