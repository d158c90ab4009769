/// Why the idempotency middleware failed a record. The record is reported, so Lambda delivers it again.
public struct IdempotencyError: Error, Sendable, CustomStringConvertible {
    /// The kind of failure. New codes may be added; switch with a `default`.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        enum Kind: String {
            case inProgress
            case payloadMismatch
            case missingKey
            case storeFailed
        }

        let kind: Kind

        /// Another holder is processing the same key and has time left: this delivery fails and comes back.
        public static let inProgress = Code(kind: .inProgress)
        /// The key was completed with a different payload (payload validation is on).
        public static let payloadMismatch = Code(kind: .payloadMismatch)
        /// The record has no key, and the middleware is set to fail such records.
        public static let missingKey = Code(kind: .missingKey)
        /// The store could not establish the record's state (file system or database error).
        public static let storeFailed = Code(kind: .storeFailed)

        public var description: String { kind.rawValue }
    }

    /// The kind of failure.
    public let code: Code
    /// What happened, naming the key.
    public let message: String
    /// The key concerned, when there is one.
    public let key: IdempotencyKey?
    /// The store's error, for ``Code/storeFailed``.
    public let underlying: IdempotencyStoreError?

    init(code: Code, message: String, key: IdempotencyKey?, underlying: IdempotencyStoreError? = nil) {
        self.code = code
        self.message = message
        self.key = key
        self.underlying = underlying
    }

    public var description: String { "IdempotencyError.\(code): \(message)" }
}
