/// The idempotency state machine as pure functions: given the record a store holds for a key (or none), the
/// caller's token and the time, what a claim, completion or release decides, with no I/O.
///
/// Every store applies these decisions: the file store calls them under its shard lock; the PostgreSQL store's
/// statements encode the same table in SQL (a claim writes `WHERE live_until <= now OR (in progress AND same
/// token)`, a completion `WHERE token = $2`, a release `WHERE token = $2 AND in progress`), and reads the answer
/// back through ``claim(existing:token:now:)``. A store of your own should do the same. The project's store tests
/// check every store against every row of the table.
///
/// The table, for a claim by token `T` at `now` (`live` meaning not ``IdempotencyRecord/isExpired(at:)``):
///
/// | Stored record | Writes the claim | Answer |
/// | --- | --- | --- |
/// | none | yes | ``ClaimResult/claimed`` |
/// | in progress, `T`'s (live or not: the answer to an earlier claim was lost) | yes | ``ClaimResult/claimed`` |
/// | in progress, another's, live | no | ``ClaimResult/inProgress(_:)`` |
/// | in progress, another's, expired | yes | ``ClaimResult/tookOver(previous:)`` |
/// | completed, live (whoever's) | no | ``ClaimResult/completed(_:)`` (a replay) |
/// | completed, expired | yes | ``ClaimResult/claimed`` |
///
/// A completion by `T` applies to `T`'s record whether in progress (it becomes completed) or already completed
/// (repeated: nothing changes); a release by `T` removes `T`'s in-progress record and refuses a completed one.
/// Either is fenced when the record is gone or another's. Neither looks at the time: a holder whose claim ran out
/// but was not taken over still owns the key.
public enum IdempotencyRules {
    /// What a rule decided: whether the store writes the change, and what it answers.
    public struct Decision<Answer: Sendable & Hashable>: Sendable, Hashable {
        /// True when the store writes the change (a new in-progress record for a claim, the new state for a
        /// completion or release); false when the stored record stays as it is.
        public let writes: Bool
        /// What the store returns to the caller.
        public let answer: Answer

        /// Creates a decision.
        public init(writes: Bool, answer: Answer) {
            self.writes = writes
            self.answer = answer
        }
    }

    /// A claim of a key by `token` at `now`, over the key's stored record.
    public static func claim(existing: IdempotencyRecord?, token: String, now: Int64) -> Decision<ClaimResult> {
        guard let existing else { return Decision(writes: true, answer: .claimed) }
        switch existing.status {
        case .inProgress where existing.token == token:
            return Decision(writes: true, answer: .claimed)
        case .inProgress where existing.isExpired(at: now):
            return Decision(writes: true, answer: .tookOver(previous: existing))
        case .inProgress:
            return Decision(writes: false, answer: .inProgress(existing))
        case .completed where existing.isExpired(at: now):
            return Decision(writes: true, answer: .claimed)
        case .completed:
            return Decision(writes: false, answer: .completed(existing))
        }
    }

    /// A completion of a key by `token`, over the key's stored record.
    public static func complete(existing: IdempotencyRecord?, token: String) -> Decision<FenceResult> {
        guard let existing, existing.token == token else { return Decision(writes: false, answer: .fenced) }
        switch existing.status {
        case .inProgress: return Decision(writes: true, answer: .applied)
        case .completed: return Decision(writes: false, answer: .applied)
        }
    }

    /// A release of a key by `token`, over the key's stored record.
    public static func release(existing: IdempotencyRecord?, token: String) -> Decision<FenceResult> {
        guard let existing, existing.token == token, existing.status == .inProgress else {
            return Decision(writes: false, answer: .fenced)
        }
        return Decision(writes: true, answer: .applied)
    }
}
