import BatchIdempotency
import BatchIdempotencyTesting
import Testing

// The tables (StoredState, ClaimRow, FenceRow) live in BatchIdempotencyTesting, whose conformance checks run every
// store against the same rows.
extension ClaimRow: CustomTestStringConvertible {
    public var testDescription: String { description }
}

extension FenceRow: CustomTestStringConvertible {
    public var testDescription: String { description }
}

@Suite("Idempotency rules: the state machine as a table")
struct IdempotencyRulesTests {
    @Test("Claims: every stored state × token × time", arguments: ClaimRow.all)
    func claim(row: ClaimRow) throws {
        let existing = row.state.record(key: keyA)
        let decision = IdempotencyRules.claim(existing: existing, token: row.token, now: row.now)
        #expect(decision.writes == row.writes)
        #expect(decision.answer == row.expectedAnswer(existing: existing))
    }

    @Test("Completions and releases: every stored state × token", arguments: FenceRow.all)
    func fence(row: FenceRow) {
        let decision = row.decide(existing: row.state.record(key: keyA))
        #expect(decision == IdempotencyRules.Decision(writes: row.writes, answer: row.answer))
    }

    @Test("The table covers every state, token and side of each expiry")
    func coverage() {
        let claims = Set(ClaimRow.all.map { "\($0.state)-\($0.sameToken)-\($0.now)" })
        #expect(claims.count == ClaimRow.all.count, "no row twice")
        #expect(claims.count == StoredState.allCases.count * 2 * 6)
        #expect(Set(FenceRow.all.map { "\($0.change)-\($0.state)-\($0.sameToken)" }).count == 2 * 3 * 2)
    }
}
