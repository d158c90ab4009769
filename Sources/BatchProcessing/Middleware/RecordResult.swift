/// What the chain learned about one run of a record: how it ended, how many attempts it took, whether it was
/// answered from an idempotency record instead of running, and whatever else a middleware chose to note.
///
/// Every ``RecordMiddleware`` returns one, and every `next` it calls gives one back, so these facts travel up the
/// chain as values: the processor puts the final one in the record's ``RecordOutcome`` (``RecordOutcome/result``),
/// where logs, metrics, spans and the runner's replay summary read them.
///
/// A middleware usually returns what `next` gave it, perhaps changed:
///
/// ```swift
/// var result = await next(record, context)
/// result.annotations[Enriched.self] = true
/// return result
/// ```
public struct RecordResult: Sendable {
    /// Where a replayed record's completed idempotency key was found.
    public enum Replay: String, Sendable, Hashable, CaseIterable {
        /// The idempotency middleware's in-memory cache of completed keys.
        case memory
        /// The idempotency store.
        case store
    }

    /// The error that failed the record, or `nil` when it succeeded.
    public var error: (any Error)?
    /// How many attempts the record took, from 1 (above 1 when a middleware such as ``RetryMiddleware`` retried).
    public var attempts: Int
    /// Where the record's completed idempotency key was found when the handler was not run because the record had
    /// already been processed (a replay); `nil` when the record was not a replay.
    public var replay: Replay?
    /// Facts that middleware added, keyed by types the core does not know (``RecordAnnotationKey``).
    public var annotations: RecordAnnotations

    /// Creates a result.
    public init(
        attempts: Int = 1,
        error: (any Error)? = nil,
        replay: Replay? = nil,
        annotations: RecordAnnotations = RecordAnnotations()
    ) {
        self.attempts = attempts
        self.error = error
        self.replay = replay
        self.annotations = annotations
    }

    /// A success after the context's attempt: what a middleware that answers for the handler returns.
    public static func succeeded(_ context: RecordContext) -> RecordResult {
        RecordResult(attempts: context.attempt)
    }

    /// A failure with `error` at the context's attempt.
    public static func failed(_ error: any Error, _ context: RecordContext) -> RecordResult {
        RecordResult(attempts: context.attempt, error: error)
    }

    /// True when the record succeeded.
    public var succeeded: Bool { error == nil }
}

/// The key of a fact a middleware adds to a ``RecordResult``: a type of its own, so that two middleware never
/// overwrite each other's facts, and the value's type is checked where it is read.
///
/// ```swift
/// enum Enriched: RecordAnnotationKey {
///     typealias Value = Bool
///     static let name = "enriched"
/// }
/// ```
public protocol RecordAnnotationKey: Sendable {
    /// The type of the fact.
    associatedtype Value: Sendable
    /// A short name for the fact, for descriptions and logs.
    static var name: String { get }
}

/// The facts middleware added to a record's result, each under its ``RecordAnnotationKey`` type.
///
/// Empty by default, and then it costs no allocation.
public struct RecordAnnotations: Sendable, CustomStringConvertible {
    private var values: [ObjectIdentifier: (name: String, value: any Sendable)] = [:]

    /// No facts.
    public init() {}

    /// The fact stored under `key`, or `nil`.
    public subscript<Key: RecordAnnotationKey>(_ key: Key.Type) -> Key.Value? {
        get { values[ObjectIdentifier(key)]?.value as? Key.Value }
        set {
            if let newValue {
                values[ObjectIdentifier(key)] = (Key.name, newValue)
            } else {
                values[ObjectIdentifier(key)] = nil
            }
        }
    }

    /// True when no middleware added a fact.
    public var isEmpty: Bool { values.isEmpty }

    /// The names of the facts, sorted.
    public var names: [String] { values.values.map(\.name).sorted() }

    public var description: String {
        "[" + values.values.map { "\($0.name): \($0.value)" }.sorted().joined(separator: ", ") + "]"
    }
}
