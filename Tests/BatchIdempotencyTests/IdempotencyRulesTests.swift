import BatchIdempotency
import Testing

/// The states a key's stored record can be in for the rules' table: none, a holder's in-progress record
/// (its time ends at 2,000 ms), or a completed one (it expires at 10,000 ms).
enum StoredState: String, CaseIterable, Sendable {
    case none
    case inProgress = "in-progress"
    case completed

    static let holder = "holder"
    static let inProgressUntil: Int64 = 2000
    static let expiresAt: Int64 = 10_000

    func record(key: IdempotencyKey) -> IdempotencyRecord? {
        switch self {
        case .none: nil
        case .inProgress, .completed:
            IdempotencyRecord(
                key: key.hex,
                status: self == .completed ? .completed : .inProgress,
                token: Self.holder,
                expiresAt: Self.expiresAt,
                inProgressUntil: Self.inProgressUntil,
                payloadHash: "held"
            )
        }
    }
}

/// One row of the claim table: the stored state, whether the caller is its holder, the time, and the decision.
struct ClaimRow: Sendable, CustomTestStringConvertible {
    enum Expected: Sendable { case claimed, tookOver, inProgress, completed }
    let state: StoredState
    let sameToken: Bool
    let now: Int64
    let writes: Bool
    let answer: Expected

    var token: String { sameToken ? StoredState.holder : "caller" }
    var testDescription: String { "\(state.rawValue), \(sameToken ? "same" : "other") token, now \(now)" }

    /// The answer the row expects, given the stored record.
    func expectedAnswer(existing: IdempotencyRecord?) -> ClaimResult? {
        switch answer {
        case .claimed: return .claimed
        case .tookOver: return existing.map { .tookOver(previous: $0) }
        case .inProgress: return existing.map { .inProgress($0) }
        case .completed: return existing.map { .completed($0) }
        }
    }

    /// Every state × token × time, each decision written out by hand. The times sit on both sides of each expiry
    /// and on it (an expiry at `now` has passed).
    static let all: [ClaimRow] = {
        var rows: [ClaimRow] = []
        func add(_ state: StoredState, same: Bool, _ now: Int64, _ writes: Bool, _ answer: Expected) {
            rows.append(ClaimRow(state: state, sameToken: same, now: now, writes: writes, answer: answer))
        }
        for now: Int64 in [1000, 1999, 2000, 9999, 10_000, 20_000] {
            add(.none, same: true, now, true, .claimed)
            add(.none, same: false, now, true, .claimed)
            // The holder claiming again (its first answer lost) holds it, live or not.
            add(.inProgress, same: true, now, true, .claimed)
        }
        add(.inProgress, same: false, 1000, false, .inProgress)
        add(.inProgress, same: false, 1999, false, .inProgress)
        add(.inProgress, same: false, 2000, true, .tookOver)
        add(.inProgress, same: false, 9999, true, .tookOver)
        add(.inProgress, same: false, 10_000, true, .tookOver)
        add(.inProgress, same: false, 20_000, true, .tookOver)
        for same in [true, false] {
            add(.completed, same: same, 1000, false, .completed)
            add(.completed, same: same, 1999, false, .completed)
            add(.completed, same: same, 2000, false, .completed)
            add(.completed, same: same, 9999, false, .completed)
            add(.completed, same: same, 10_000, true, .claimed)
            add(.completed, same: same, 20_000, true, .claimed)
        }
        return rows
    }()
}

/// One row of the completion and release tables.
struct FenceRow: Sendable, CustomTestStringConvertible {
    enum Change: String, Sendable { case complete, release }
    let change: Change
    let state: StoredState
    let sameToken: Bool
    let writes: Bool
    let answer: FenceResult

    var token: String { sameToken ? StoredState.holder : "caller" }
    var testDescription: String { "\(change.rawValue) over \(state.rawValue), \(sameToken ? "same" : "other") token" }

    static let all: [FenceRow] = [
        FenceRow(change: .complete, state: .none, sameToken: true, writes: false, answer: .fenced),
        FenceRow(change: .complete, state: .none, sameToken: false, writes: false, answer: .fenced),
        FenceRow(change: .complete, state: .inProgress, sameToken: true, writes: true, answer: .applied),
        FenceRow(change: .complete, state: .inProgress, sameToken: false, writes: false, answer: .fenced),
        // Repeated by its holder: applied, nothing changes.
        FenceRow(change: .complete, state: .completed, sameToken: true, writes: false, answer: .applied),
        FenceRow(change: .complete, state: .completed, sameToken: false, writes: false, answer: .fenced),
        FenceRow(change: .release, state: .none, sameToken: true, writes: false, answer: .fenced),
        FenceRow(change: .release, state: .none, sameToken: false, writes: false, answer: .fenced),
        FenceRow(change: .release, state: .inProgress, sameToken: true, writes: true, answer: .applied),
        FenceRow(change: .release, state: .inProgress, sameToken: false, writes: false, answer: .fenced),
        // A completed record is never released, not even by its holder.
        FenceRow(change: .release, state: .completed, sameToken: true, writes: false, answer: .fenced),
        FenceRow(change: .release, state: .completed, sameToken: false, writes: false, answer: .fenced),
    ]

    func decide(existing: IdempotencyRecord?) -> IdempotencyRules.Decision<FenceResult> {
        switch change {
        case .complete: IdempotencyRules.complete(existing: existing, token: token)
        case .release: IdempotencyRules.release(existing: existing, token: token)
        }
    }
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
