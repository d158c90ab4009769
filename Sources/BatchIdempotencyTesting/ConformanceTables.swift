package import BatchIdempotency

/// The states a key's stored record can be in for the rules' tables: none, a holder's in-progress record (its time
/// ends at 2,000 ms), or a completed one (it expires at 10,000 ms).
package enum StoredState: String, CaseIterable, Sendable {
    case none
    case inProgress = "in-progress"
    case completed

    package static let holder = "holder"
    package static let inProgressUntil: Int64 = 2000
    package static let expiresAt: Int64 = 10_000

    package func record(key: IdempotencyKey) -> IdempotencyRecord? {
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

/// One row of the claim table: the stored state, whether the caller is its holder, the time, and the decision,
/// each written out by hand (not computed by the rules it checks).
package struct ClaimRow: Sendable, CustomStringConvertible {
    package enum Expected: Sendable { case claimed, tookOver, inProgress, completed }
    package let state: StoredState
    package let sameToken: Bool
    package let now: Int64
    package let writes: Bool
    package let answer: Expected

    package var token: String { sameToken ? StoredState.holder : "caller" }
    package var description: String { "\(state.rawValue), \(sameToken ? "same" : "other") token, now \(now)" }

    /// The answer the row expects, given the stored record.
    package func expectedAnswer(existing: IdempotencyRecord?) -> ClaimResult? {
        switch answer {
        case .claimed: return .claimed
        case .tookOver: return existing.map { .tookOver(previous: $0) }
        case .inProgress: return existing.map { .inProgress($0) }
        case .completed: return existing.map { .completed($0) }
        }
    }

    /// Every state × token × time. The times sit on both sides of each expiry and on it (an expiry at `now` has
    /// passed).
    package static let all: [ClaimRow] = {
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
package struct FenceRow: Sendable, CustomStringConvertible {
    package enum Change: String, Sendable { case complete, release }
    package let change: Change
    package let state: StoredState
    package let sameToken: Bool
    package let writes: Bool
    package let answer: FenceResult

    package var token: String { sameToken ? StoredState.holder : "caller" }
    package var description: String {
        "\(change.rawValue) over \(state.rawValue), \(sameToken ? "same" : "other") token"
    }

    package static let all: [FenceRow] = [
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

    package func decide(existing: IdempotencyRecord?) -> IdempotencyRules.Decision<FenceResult> {
        switch change {
        case .complete: IdempotencyRules.complete(existing: existing, token: token)
        case .release: IdempotencyRules.release(existing: existing, token: token)
        }
    }
}

/// Key number `number`, spread over shards and slots as SHA-256 digests are (four rounds of splitmix64), so that
/// checks with many keys meet a store as real keys do.
package func spreadKey(_ number: Int) -> IdempotencyKey {
    var state = UInt64(truncatingIfNeeded: number) &+ 0x9E37_79B9_7F4A_7C15
    var hex = ""
    for _ in 0..<4 {
        state = state &+ 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        mixed ^= mixed >> 31
        let digits = String(mixed, radix: 16)
        hex += String(repeating: "0", count: 16 - digits.count) + digits
    }
    guard let key = IdempotencyKey(hex: hex) else { preconditionFailure("spreadKey made \(hex), not 64 hex digits") }
    return key
}
