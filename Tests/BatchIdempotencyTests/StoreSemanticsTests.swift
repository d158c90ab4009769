import BatchIdempotency
import Foundation
import Testing

/// The store protocol's meaning, one suite for every store: the file store on real files, the PostgreSQL store on
/// a real server.
@Suite("Store semantics: the same state machine in every store")
struct StoreSemanticsTests {
    @Test("Claim, complete, replay, expire: each transition as the store records it", arguments: StoreKind.allCases)
    func lifecycle(kind: StoreKind) async throws {
        try await kind.withStore { store in
            #expect(try await store.record(for: keyA) == nil)
            #expect(
                try await store.claim(
                    key: keyA,
                    token: "t1",
                    payloadHash: "h",
                    inProgressUntil: 2000,
                    expiresAt: 10_000,
                    now: 1000
                ) == .claimed
            )
            let held = try #require(try await store.record(for: keyA))
            #expect(
                held.status == .inProgress && held.token == "t1" && held.inProgressUntil == 2000
                    && held.payloadHash == "h" && held.expiresAt == 10_000 && held.key == keyA.hex
            )
            // A live in-progress record of another holder is reported, not taken.
            #expect(try await store.claim(keyA, "t2", until: 3000, now: 1500) == .inProgress(held))
            #expect(try await store.complete(key: keyA, token: "t1") == .applied)
            let done = try #require(try await store.record(for: keyA))
            #expect(done.status == .completed && done.expiresAt == 10_000 && done.token == "t1")
            #expect(try await store.claim(keyA, "t3", until: 9000, now: 5000) == .completed(done))
            // Expired completed record: claimed afresh, the new holder's now.
            #expect(try await store.claim(keyA, "t4", until: 20_000, now: 10_000) == .claimed)
            let fresh = try #require(try await store.record(for: keyA))
            #expect(fresh.token == "t4" && fresh.status == .inProgress && fresh.payloadHash == nil)
        }
    }

    @Test(
        "An in-progress record past its holder's time is taken over; the old holder is fenced out",
        arguments: StoreKind.allCases
    )
    func takeoverAndFencing(kind: StoreKind) async throws {
        try await kind.withStore { store in
            _ = try await store.claim(keyA, "old", until: 2000, now: 1000)
            let result = try await store.claim(keyA, "new", until: 9000, now: 2000)
            guard case .tookOver(let previous) = result else {
                Issue.record("expected a takeover, got \(result)")
                return
            }
            #expect(previous.token == "old" && previous.inProgressUntil == 2000)
            // The old holder comes back late: it can neither complete nor release the new holder's record.
            #expect(try await store.complete(key: keyA, token: "old") == .fenced)
            #expect(try await store.release(key: keyA, token: "old") == .fenced)
            let current = try #require(try await store.record(for: keyA))
            #expect(current.token == "new" && current.status == .inProgress)
            #expect(try await store.complete(key: keyA, token: "new") == .applied)
            // A completed record cannot be released, not even by its holder.
            #expect(try await store.release(key: keyA, token: "new") == .fenced)
            #expect(try await store.record(for: keyA)?.status == .completed)
        }
    }

    @Test("Release removes the holder's record, and the key starts afresh", arguments: StoreKind.allCases)
    func release(kind: StoreKind) async throws {
        try await kind.withStore { store in
            _ = try await store.claim(keyB, "t", until: 5000, now: 1000)
            #expect(try await store.release(key: keyB, token: "t") == .applied)
            #expect(try await store.record(for: keyB) == nil)
            #expect(try await store.release(key: keyB, token: "t") == .fenced)
            #expect(try await store.complete(key: keyB, token: "t") == .fenced)
            #expect(try await store.claim(keyB, "u", until: 5000, now: 1000) == .claimed)
        }
    }

    @Test(
        "A change repeated by its holder (its answer lost) finds its own: claimed again, applied again",
        arguments: StoreKind.allCases
    )
    func repeatedByHolder(kind: StoreKind) async throws {
        try await kind.withStore { store in
            #expect(try await store.claim(keyA, "t", until: 5000, now: 1000) == .claimed)
            #expect(try await store.claim(keyA, "t", until: 5000, now: 1200) == .claimed)
            #expect(try await store.record(for: keyA)?.token == "t")
            #expect(try await store.complete(key: keyA, token: "t") == .applied)
            #expect(try await store.complete(key: keyA, token: "t") == .applied)
            let done = try #require(try await store.record(for: keyA))
            #expect(done.status == .completed)
            // Once completed, the holder's own claim is a replay like anyone's.
            #expect(try await store.claim(keyA, "t", until: 5000, now: 1300) == .completed(done))
        }
    }

    @Test(
        "Purge removes expired records, in progress and completed, and keeps live ones",
        arguments: StoreKind.allCases
    )
    func purge(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let keys = (0..<6).map(spreadKey)
            for (index, key) in keys.enumerated() {
                let time = 1000 + Int64(index) * 1000
                _ = try await store.claim(key, "t", until: time, expiresAt: time, now: 0)
                if index % 2 == 0 { _ = try await store.complete(key: key, token: "t") }
            }
            #expect(try await store.purgeExpired(now: 3500) == 3)
            for (index, key) in keys.enumerated() {
                #expect((try await store.record(for: key) != nil) == (index >= 3), "key \(index)")
            }
            #expect(try await store.purgeExpired(now: 3500) == 0)
        }
    }

    @Test("Many tasks claiming one key at once: exactly one holds it", arguments: StoreKind.allCases)
    func concurrentClaims(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let results = try await withThrowingTaskGroup(of: ClaimResult.self) { group in
                for index in 0..<32 {
                    group.addTask { try await store.claim(keyA, "t\(index)", until: 9000, now: 0) }
                }
                var all: [ClaimResult] = []
                for try await result in group { all.append(result) }
                return all
            }
            #expect(results.filter { $0 == .claimed }.count == 1)
            let holder = try #require(try await store.record(for: keyA))
            #expect(results.filter { $0 == .inProgress(holder) }.count == 31)
        }
    }

    @Test("Many keys at once, each through its whole life", arguments: StoreKind.allCases)
    func manyKeys(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let keys = (0..<200).map(spreadKey)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (index, key) in keys.enumerated() {
                    group.addTask { () async throws -> Void in
                        let claimed = try await store.claim(key, "t\(index)", until: 9000, now: 0)
                        #expect(claimed == .claimed)
                        let ended =
                            index % 4 == 0
                            ? try await store.release(key: key, token: "t\(index)")
                            : try await store.complete(key: key, token: "t\(index)")
                        #expect(ended == .applied)
                    }
                }
                try await group.waitForAll()
            }
            for (index, key) in keys.enumerated() {
                let record = try await store.record(for: key)
                if index % 4 == 0 {
                    #expect(record == nil)
                } else {
                    #expect(record?.status == .completed && record?.token == "t\(index)")
                }
            }
        }
    }

    // MARK: - Agreement with the rules

    /// Puts `state` in the store under `key`, as a holder would: a claim, and for a completed record its completion.
    static func prepare(_ state: StoredState, key: IdempotencyKey, in store: any IdempotencyStore) async throws {
        guard state != .none else { return }
        let claimed = try await store.claim(
            key: key,
            token: StoredState.holder,
            payloadHash: "held",
            inProgressUntil: StoredState.inProgressUntil,
            expiresAt: StoredState.expiresAt,
            now: 0
        )
        try #require(claimed == .claimed)
        if state == .completed {
            try #require(try await store.complete(key: key, token: StoredState.holder) == .applied)
        }
        try #require(try await store.record(for: key) == state.record(key: key), "prepared \(state)")
    }

    @Test("Every row of the claim table: the store answers and ends as the rules decide", arguments: StoreKind.allCases)
    func claimsFollowTheRules(kind: StoreKind) async throws {
        try await kind.withStore { store in
            for (index, row) in ClaimRow.all.enumerated() {
                let key = spreadKey(index)
                try await Self.prepare(row.state, key: key, in: store)
                let before = try await store.record(for: key)
                let decision = IdempotencyRules.claim(existing: before, token: row.token, now: row.now)
                let answer = try await store.claim(
                    key: key,
                    token: row.token,
                    payloadHash: "new",
                    inProgressUntil: 30_000,
                    expiresAt: 40_000,
                    now: row.now
                )
                #expect(answer == decision.answer, "\(row.testDescription)")
                #expect(answer == row.expectedAnswer(existing: before), "\(row.testDescription)")
                let after = try await store.record(for: key)
                let written = IdempotencyRecord(
                    key: key.hex,
                    status: .inProgress,
                    token: row.token,
                    expiresAt: 40_000,
                    inProgressUntil: 30_000,
                    payloadHash: "new"
                )
                #expect(after == (decision.writes ? written : before), "\(row.testDescription)")
            }
        }
    }

    @Test(
        "Every row of the completion and release tables: the store answers and ends as the rules decide",
        arguments: StoreKind.allCases
    )
    func changesFollowTheRules(kind: StoreKind) async throws {
        try await kind.withStore { store in
            for (index, row) in FenceRow.all.enumerated() {
                let key = spreadKey(100 + index)
                try await Self.prepare(row.state, key: key, in: store)
                let before = try await store.record(for: key)
                let decision = row.decide(existing: before)
                let answer =
                    switch row.change {
                    case .complete: try await store.complete(key: key, token: row.token)
                    case .release: try await store.release(key: key, token: row.token)
                    }
                #expect(answer == decision.answer, "\(row.testDescription)")
                var expected = before
                if decision.writes {
                    if row.change == .complete { expected?.status = .completed } else { expected = nil }
                }
                #expect(try await store.record(for: key) == expected, "\(row.testDescription)")
            }
        }
    }
}
