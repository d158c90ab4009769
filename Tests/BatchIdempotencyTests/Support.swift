import BatchIdempotency
import Foundation
import Synchronization

/// A fresh folder for one test, removed when the test's value goes.
final class TemporaryFolder: Sendable {
    let path: String

    init() {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("idempotency-\(UUID().uuidString)").path
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }

    func store(durability: FileIdempotencyStore.Durability = .processCrashSafe) throws -> FileIdempotencyStore {
        try FileIdempotencyStore(directory: path + "/store", durability: durability)
    }
}

/// A wall clock a test sets by hand, in milliseconds.
final class TestWallClock: Sendable {
    private let value = Atomic<Int64>(1_800_000_000_000)
    var now: Int64 { value.load(ordering: .relaxed) }
    func advance(by milliseconds: Int64) { value.add(milliseconds, ordering: .relaxed) }
    var read: @Sendable () -> Int64 { { [self] in now } }
}

/// A store that counts the calls made to another.
final class CountingStore: IdempotencyStore {
    let base: any IdempotencyStore
    private let calls = Mutex<[String: Int]>([:])

    init(_ base: any IdempotencyStore) { self.base = base }

    func count(_ name: String) -> Int { calls.withLock { $0[name, default: 0] } }
    private func note(_ name: String) { calls.withLock { $0[name, default: 0] += 1 } }

    func claim(
        key: IdempotencyKey,
        token: String,
        payloadHash: String?,
        inProgressUntil: Int64,
        expiresAt: Int64,
        now: Int64
    ) async throws(IdempotencyStoreError) -> ClaimResult {
        note("claim")
        defer { note("claim answered") }
        return try await base.claim(
            key: key,
            token: token,
            payloadHash: payloadHash,
            inProgressUntil: inProgressUntil,
            expiresAt: expiresAt,
            now: now
        )
    }

    /// How many of the next completions fail (as a lost connection would) before reaching the base store.
    let failingCompletions = Mutex(0)

    func complete(key: IdempotencyKey, token: String) async throws(IdempotencyStoreError) -> FenceResult {
        note("complete")
        let fails = failingCompletions.withLock { count in
            defer { count = max(count - 1, 0) }
            return count > 0
        }
        if fails { throw IdempotencyStoreError("the connection was lost (a test's failure)", code: .unavailable) }
        return try await base.complete(key: key, token: token)
    }

    func release(key: IdempotencyKey, token: String) async throws(IdempotencyStoreError) -> FenceResult {
        note("release")
        return try await base.release(key: key, token: token)
    }

    func record(for key: IdempotencyKey) async throws(IdempotencyStoreError) -> IdempotencyRecord? {
        try await base.record(for: key)
    }

    func purgeExpired(now: Int64) async throws(IdempotencyStoreError) -> Int {
        try await base.purgeExpired(now: now)
    }
}

let keyA = IdempotencyKey(hex: String(repeating: "a", count: 64))!
let keyB = IdempotencyKey(hex: "0123456789abcdef" + String(repeating: "0", count: 48))!

extension IdempotencyStore {
    /// A claim with the arguments tests vary, the others fixed.
    func claim(
        _ key: IdempotencyKey,
        _ token: String,
        until inProgressUntil: Int64,
        expiresAt: Int64 = 99_000,
        now: Int64,
        payloadHash: String? = nil
    ) async throws(IdempotencyStoreError) -> ClaimResult {
        try await claim(
            key: key,
            token: token,
            payloadHash: payloadHash,
            inProgressUntil: inProgressUntil,
            expiresAt: expiresAt,
            now: now
        )
    }
}
