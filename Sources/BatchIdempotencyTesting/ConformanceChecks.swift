import BatchIdempotency

extension IdempotencyStoreConformance {
    private static let keyA = spreadKey(1_000_001)
    private static let keyB = spreadKey(1_000_002)

    private static func claim(
        _ store: any IdempotencyStore,
        _ key: IdempotencyKey,
        _ token: String,
        until inProgressUntil: Int64,
        expiresAt: Int64 = 99_000,
        now: Int64,
        payloadHash: String? = nil
    ) async throws -> ClaimResult {
        try await store.claim(
            key: key,
            token: token,
            payloadHash: payloadHash,
            inProgressUntil: inProgressUntil,
            expiresAt: expiresAt,
            now: now
        )
    }

    static func lifecycle(_ store: any IdempotencyStore, _ check: Recorder) async throws {
        let empty = try await store.record(for: keyA)
        check.expect(empty == nil, "a new store has a record: \(String(describing: empty))")
        let first = try await claim(store, keyA, "t1", until: 2000, expiresAt: 10_000, now: 1000, payloadHash: "h")
        check.expect(first == .claimed, "the first claim answered \(first), not claimed")
        let held = try check.require(try await store.record(for: keyA), "no record after a claim")
        check.expect(
            held.status == .inProgress && held.token == "t1" && held.inProgressUntil == 2000
                && held.payloadHash == "h" && held.expiresAt == 10_000 && held.key == keyA.hex,
            "the claimed record is \(held)"
        )
        let other = try await claim(store, keyA, "t2", until: 3000, now: 1500)
        check.expect(other == .inProgress(held), "another holder's claim of a live key answered \(other)")
        let completed = try await store.complete(key: keyA, token: "t1")
        check.expect(completed == .applied, "the holder's completion answered \(completed)")
        let done = try check.require(try await store.record(for: keyA), "no record after the completion")
        check.expect(
            done.status == .completed && done.expiresAt == 10_000 && done.token == "t1",
            "the completed record is \(done)"
        )
        let replay = try await claim(store, keyA, "t3", until: 9000, now: 5000)
        check.expect(replay == .completed(done), "a claim of a completed live key answered \(replay)")
        let fresh = try await claim(store, keyA, "t4", until: 20_000, now: 10_000)
        check.expect(fresh == .claimed, "a claim of an expired completed key answered \(fresh)")
        let now = try check.require(try await store.record(for: keyA), "no record after the fresh claim")
        check.expect(
            now.token == "t4" && now.status == .inProgress && now.payloadHash == nil,
            "the fresh claim left \(now)"
        )
    }

    static func takeover(_ store: any IdempotencyStore, _ check: Recorder) async throws {
        _ = try await claim(store, keyA, "old", until: 2000, now: 1000)
        let result = try await claim(store, keyA, "new", until: 9000, now: 2000)
        guard case .tookOver(let previous) = result else {
            check.fail("a claim of an in-progress key past its time answered \(result), not tookOver")
            return
        }
        check.expect(previous.token == "old" && previous.inProgressUntil == 2000, "tookOver named \(previous)")
        let late = try await store.complete(key: keyA, token: "old")
        check.expect(late == .fenced, "the old holder's completion answered \(late), not fenced")
        let lateRelease = try await store.release(key: keyA, token: "old")
        check.expect(lateRelease == .fenced, "the old holder's release answered \(lateRelease), not fenced")
        let current = try check.require(try await store.record(for: keyA), "the new holder's record is gone")
        check.expect(current.token == "new" && current.status == .inProgress, "after the fenced calls: \(current)")
        let completed = try await store.complete(key: keyA, token: "new")
        check.expect(completed == .applied, "the new holder's completion answered \(completed)")
        let released = try await store.release(key: keyA, token: "new")
        check.expect(released == .fenced, "the release of a completed record answered \(released), not fenced")
        let status = try await store.record(for: keyA)?.status
        check.expect(status == .completed, "a completed record after a refused release: \(String(describing: status))")
    }

    static func release(_ store: any IdempotencyStore, _ check: Recorder) async throws {
        _ = try await claim(store, keyB, "t", until: 5000, now: 1000)
        let released = try await store.release(key: keyB, token: "t")
        check.expect(released == .applied, "the holder's release answered \(released)")
        let left = try await store.record(for: keyB)
        check.expect(left == nil, "a released key still has \(String(describing: left))")
        let again = try await store.release(key: keyB, token: "t")
        check.expect(again == .fenced, "a release of a gone record answered \(again)")
        let completion = try await store.complete(key: keyB, token: "t")
        check.expect(completion == .fenced, "a completion of a gone record answered \(completion)")
        let fresh = try await claim(store, keyB, "u", until: 5000, now: 1000)
        check.expect(fresh == .claimed, "a claim after a release answered \(fresh)")
    }

    static func repeatedByHolder(_ store: any IdempotencyStore, _ check: Recorder) async throws {
        let first = try await claim(store, keyA, "t", until: 5000, now: 1000)
        let second = try await claim(store, keyA, "t", until: 5000, now: 1200)
        check.expect(first == .claimed && second == .claimed, "a claim repeated by its holder: \(first), \(second)")
        let token = try await store.record(for: keyA)?.token
        check.expect(token == "t", "the holder after a repeated claim: \(String(describing: token))")
        let completions = [
            try await store.complete(key: keyA, token: "t"), try await store.complete(key: keyA, token: "t"),
        ]
        check.expect(completions == [.applied, .applied], "a completion repeated by its holder: \(completions)")
        let done = try check.require(try await store.record(for: keyA), "no record after the completions")
        check.expect(done.status == .completed, "after the completions: \(done)")
        let replay = try await claim(store, keyA, "t", until: 5000, now: 1300)
        check.expect(replay == .completed(done), "the holder's claim of its completed key answered \(replay)")
    }

    static func purge(_ store: any IdempotencyStore, _ check: Recorder) async throws {
        let keys = (0..<6).map(spreadKey)
        for (index, key) in keys.enumerated() {
            let time = 1000 + Int64(index) * 1000
            _ = try await claim(store, key, "t", until: time, expiresAt: time, now: 0)
            if index % 2 == 0 { _ = try await store.complete(key: key, token: "t") }
        }
        let removed = try await store.purgeExpired(now: 3500)
        check.expect(removed == 3, "purging at 3,500 ms removed \(removed) records, not 3")
        for (index, key) in keys.enumerated() {
            let kept = try await store.record(for: key) != nil
            check.expect(kept == (index >= 3), "key \(index) (expiry \(1000 + index * 1000) ms) kept: \(kept)")
        }
        let again = try await store.purgeExpired(now: 3500)
        check.expect(again == 0, "a second purge removed \(again) records")
    }

    static func concurrentClaims(_ store: any IdempotencyStore, _ check: Recorder) async throws {
        let keyA = keyA
        let results = try await withThrowingTaskGroup(of: ClaimResult.self) { group in
            for index in 0..<32 {
                group.addTask { try await claim(store, keyA, "t\(index)", until: 9000, now: 0) }
            }
            var all: [ClaimResult] = []
            for try await result in group { all.append(result) }
            return all
        }
        let claimed = results.filter { $0 == .claimed }.count
        check.expect(claimed == 1, "\(claimed) of 32 concurrent claims of one key answered claimed")
        let holder = try check.require(try await store.record(for: keyA), "no record after the claims")
        let waiting = results.filter { $0 == .inProgress(holder) }.count
        check.expect(waiting == 31, "\(waiting) of 32 concurrent claims answered inProgress(holder), not 31")
    }

    static func manyKeys(_ store: any IdempotencyStore, _ check: Recorder) async throws {
        let keys = (0..<200).map(spreadKey)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, key) in keys.enumerated() {
                group.addTask {
                    let claimed = try await claim(store, key, "t\(index)", until: 9000, now: 0)
                    check.expect(claimed == .claimed, "key \(index): the claim answered \(claimed)")
                    let ended =
                        index % 4 == 0
                        ? try await store.release(key: key, token: "t\(index)")
                        : try await store.complete(key: key, token: "t\(index)")
                    check.expect(ended == .applied, "key \(index): the release or completion answered \(ended)")
                }
            }
            try await group.waitForAll()
        }
        for (index, key) in keys.enumerated() {
            let record = try await store.record(for: key)
            if index % 4 == 0 {
                check.expect(record == nil, "key \(index) was released but holds \(String(describing: record))")
            } else {
                check.expect(
                    record?.status == .completed && record?.token == "t\(index)",
                    "key \(index) was completed but holds \(String(describing: record))"
                )
            }
        }
    }

    /// Puts `state` in the store under `key`, as a holder would: a claim, and for a completed record its completion.
    private static func prepare(
        _ state: StoredState,
        key: IdempotencyKey,
        in store: any IdempotencyStore,
        _ check: Recorder
    ) async throws {
        guard state != .none else { return }
        let claimed = try await store.claim(
            key: key,
            token: StoredState.holder,
            payloadHash: "held",
            inProgressUntil: StoredState.inProgressUntil,
            expiresAt: StoredState.expiresAt,
            now: 0
        )
        try check.require(claimed == .claimed, "preparing \(state): the claim answered \(claimed)")
        if state == .completed {
            let completed = try await store.complete(key: key, token: StoredState.holder)
            try check.require(completed == .applied, "preparing \(state): completion \(completed)")
        }
        let record = try await store.record(for: key)
        try check.require(
            record == state.record(key: key),
            "preparing \(state): the store holds \(String(describing: record))"
        )
    }

    static func claimTable(_ store: any IdempotencyStore, _ check: Recorder) async throws {
        for (index, row) in ClaimRow.all.enumerated() {
            let key = spreadKey(index)
            try await prepare(row.state, key: key, in: store, check)
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
            check.expect(answer == decision.answer, "\(row): answered \(answer), the rules say \(decision.answer)")
            let expected = row.expectedAnswer(existing: before)
            check.expect(
                answer == expected,
                "\(row): answered \(answer), the table says \(String(describing: expected))"
            )
            let after = try await store.record(for: key)
            let written = IdempotencyRecord(
                key: key.hex,
                status: .inProgress,
                token: row.token,
                expiresAt: 40_000,
                inProgressUntil: 30_000,
                payloadHash: "new"
            )
            let wanted = decision.writes ? written : before
            check.expect(
                after == wanted,
                "\(row): the store holds \(String(describing: after)), not \(String(describing: wanted))"
            )
        }
    }

    static func fenceTable(_ store: any IdempotencyStore, _ check: Recorder) async throws {
        for (index, row) in FenceRow.all.enumerated() {
            let key = spreadKey(100 + index)
            try await prepare(row.state, key: key, in: store, check)
            let before = try await store.record(for: key)
            let decision = row.decide(existing: before)
            let answer =
                switch row.change {
                case .complete: try await store.complete(key: key, token: row.token)
                case .release: try await store.release(key: key, token: row.token)
                }
            check.expect(answer == decision.answer, "\(row): answered \(answer), the rules say \(decision.answer)")
            check.expect(answer == row.answer, "\(row): answered \(answer), the table says \(row.answer)")
            var expected = before
            if decision.writes {
                if row.change == .complete { expected?.status = .completed } else { expected = nil }
            }
            let after = try await store.record(for: key)
            check.expect(
                after == expected,
                "\(row): the store holds \(String(describing: after)), not \(String(describing: expected))"
            )
        }
    }
}
