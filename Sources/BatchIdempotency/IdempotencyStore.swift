/// Where idempotency records live: the file store (``FileIdempotencyStore``) on one host or a shared mount, or a
/// database.
///
/// Every state change is one call that the store makes atomic, and every change to an existing record is
/// *fenced*: it names the holder's ``IdempotencyRecord/token`` and does nothing when another holder has taken the
/// record over since. Times are wall-clock milliseconds since 1970, so that processes on different hosts agree.
///
/// A change repeated by the same holder finds its own earlier change: a second claim with the same token of a key
/// it holds is ``ClaimResult/claimed`` again, and a second completion is ``FenceResult/applied``. So a store whose
/// answer was lost on the way (a dropped database connection) may send the same change again without risk.
///
/// Every store passes the same conformance checks (`IdempotencyStoreConformance`, in the `BatchIdempotencyTesting`
/// product): the file store, the PostgreSQL store (`BatchIdempotencyPostgres`) and the in-memory store behave
/// alike, and a store of your own can run the checks too.
public protocol IdempotencyStore: Sendable {
    /// Claims `key` for a new attempt by the holder `token`: creates an in-progress record when there is none, or
    /// when the one there has expired (a completed record past its expiry, or an in-progress one past
    /// `inProgressUntil`, whose holder is taken to have died). A live in-progress record of the same `token` is
    /// ``ClaimResult/claimed`` (the claim was repeated).
    ///
    /// - Parameters:
    ///   - key: the record's key.
    ///   - token: the claiming attempt's own token, which later calls must give to change the record.
    ///   - payloadHash: the record's payload hash, kept to compare with redeliveries; `nil` when not validated.
    ///   - inProgressUntil: until when (milliseconds since 1970) the claim holds before another may take it over.
    ///   - expiresAt: when the record expires once completed; given with the claim, so that completing changes
    ///     nothing but the state.
    ///   - now: the present, in milliseconds since 1970, against which expiries are judged.
    /// - Returns: what the store found and did; see ``ClaimResult``.
    func claim(
        key: IdempotencyKey,
        token: String,
        payloadHash: String?,
        inProgressUntil: Int64,
        expiresAt: Int64,
        now: Int64
    ) async throws(IdempotencyStoreError) -> ClaimResult

    /// Marks the holder's in-progress record completed (until the `expiresAt` of its claim), if `token` still
    /// holds it; ``FenceResult/applied`` too when the holder had completed it already.
    func complete(key: IdempotencyKey, token: String) async throws(IdempotencyStoreError) -> FenceResult

    /// Removes the holder's in-progress record (its handler failed), if `token` still holds it.
    func release(key: IdempotencyKey, token: String) async throws(IdempotencyStoreError) -> FenceResult

    /// The record of `key`, whatever its state; `nil` when there is none.
    func record(for key: IdempotencyKey) async throws(IdempotencyStoreError) -> IdempotencyRecord?

    /// Removes every record that has expired by `now`; returns how many.
    func purgeExpired(now: Int64) async throws(IdempotencyStoreError) -> Int
}

/// The key of one record in a store: the SHA-256 of the namespace and the chosen part of the record, as 64
/// lower-case hex digits. Stores name their entries after it, never after raw input.
public struct IdempotencyKey: Sendable, Hashable, CustomStringConvertible {
    /// 64 lower-case hex digits.
    public let hex: String

    /// A key from its hex form; `nil` unless it is 64 lower-case hex digits.
    public init?(hex: String) {
        guard hex.utf8.count == 64, hex.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) })
        else { return nil }
        self.hex = hex
    }

    public var description: String { hex }
}

/// One record in a store.
public struct IdempotencyRecord: Sendable, Hashable, Codable {
    /// The two stored states; *expired* is derived from time.
    public enum Status: String, Sendable, Hashable, Codable {
        /// A holder is running the record's handler.
        case inProgress = "in_progress"
        /// The handler succeeded; redeliveries are replays until ``IdempotencyRecord/expiresAt``.
        case completed
    }

    /// The record's key.
    public var key: String
    /// Its state.
    public var status: Status
    /// The holder's unique token: who may complete or release it.
    public var token: String
    /// When the record expires once completed (wall-clock milliseconds since 1970).
    public var expiresAt: Int64?
    /// For an in-progress record, when its holder is taken to have died and another may take over.
    public var inProgressUntil: Int64?
    /// The SHA-256 of the payload, when payload validation is on.
    public var payloadHash: String?

    /// Creates a record.
    public init(
        key: String,
        status: Status,
        token: String,
        expiresAt: Int64? = nil,
        inProgressUntil: Int64? = nil,
        payloadHash: String? = nil
    ) {
        self.key = key
        self.status = status
        self.token = token
        self.expiresAt = expiresAt
        self.inProgressUntil = inProgressUntil
        self.payloadHash = payloadHash
    }

    /// True when the record no longer counts at `now`: a completed one past its expiry, an in-progress one past
    /// its holder's time.
    public func isExpired(at now: Int64) -> Bool {
        switch status {
        case .completed: (expiresAt ?? Int64.max) <= now
        case .inProgress: (inProgressUntil ?? Int64.max) <= now
        }
    }
}

/// What ``IdempotencyStore/claim(key:token:payloadHash:inProgressUntil:expiresAt:now:)`` found.
public enum ClaimResult: Sendable, Hashable {
    /// There was no live record: the caller now holds a new in-progress one.
    case claimed
    /// An in-progress record had outlived its holder's time: the caller took it over and holds it now.
    case tookOver(previous: IdempotencyRecord)
    /// A live completed record: the caller must not run the handler (a replay).
    case completed(IdempotencyRecord)
    /// A live in-progress record of another holder: the caller must not run the handler now.
    case inProgress(IdempotencyRecord)
}

/// What a fenced change found.
public enum FenceResult: Sendable, Hashable {
    /// The caller held the record; the change was made.
    case applied
    /// Another holder had taken the record over (or it was gone): nothing was changed.
    case fenced
}

/// A store could not do what was asked: the file system or database failed, or a record was unreadable.
///
/// Switch on ``code`` to decide what to do (retry later, alert an operator, fix the configuration); the message
/// names the path, key or server for a person.
public struct IdempotencyStoreError: Error, Sendable, CustomStringConvertible {
    /// The kind of failure. New codes may be added; switch with a `default`.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        enum Kind: String {
            case invalidConfiguration
            case invalidRequest
            case fileSystem
            case damaged
            case unavailable
            case busy
            case full
            case cancelled
            case rejected
        }

        let kind: Kind

        /// The store's settings cannot work: a bad URL, port, table name or TLS set-up, a store path that is
        /// not a folder, a folder of another format. Retrying does not help; the configuration must change.
        public static let invalidConfiguration = Code(kind: .invalidConfiguration)
        /// The call itself was wrong (an empty token, a token too long to store, keys that are not digests): a bug
        /// in the caller, not in the store.
        public static let invalidRequest = Code(kind: .invalidRequest)
        /// A file system call failed (``IdempotencyStoreError/systemErrorNumber`` has the `errno`): permissions, a
        /// full disk, an I/O error.
        public static let fileSystem = Code(kind: .fileSystem)
        /// Stored data is damaged or not the store's: a table whose header or size is wrong, a record that no
        /// longer fits. The file store quarantines what it cannot read and starts the affected keys afresh.
        public static let damaged = Code(kind: .damaged)
        /// The database could not be reached or did not answer in time (down, restarting, unreachable): a later
        /// try may work.
        public static let unavailable = Code(kind: .unavailable)
        /// The store was too busy for the call: every connection in use, a lock held past its wait, changes that
        /// kept racing. A later try may work; a lasting one means more connections or fewer records at once.
        public static let busy = Code(kind: .busy)
        /// The store has no room for another key: a file store table at its largest size. Purge expired keys
        /// (`batchproc idempotency purge`) or shorten the expiry.
        public static let full = Code(kind: .full)
        /// The caller's task was cancelled while the store waited.
        public static let cancelled = Code(kind: .cancelled)
        /// The database answered the statement with an error of its own (a missing table, a permission, a
        /// statement timeout); the message has the server's words and code.
        public static let rejected = Code(kind: .rejected)

        public var description: String { kind.rawValue }
    }

    /// The kind of failure.
    public let code: Code
    /// What went wrong, in words an operator can act on (it names the path or key).
    public let message: String
    /// The system's error number (`errno`), when a system call failed.
    public let systemErrorNumber: Int32?

    /// Creates an error.
    public init(_ message: String, code: Code, systemErrorNumber: Int32? = nil) {
        self.message = message
        self.code = code
        self.systemErrorNumber = systemErrorNumber
    }

    public var description: String { message }
}
