public import BatchProcessing
import BatchProcessingJSONSupport
import Logging
import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Runs each record's handler at most once per key: a redelivered record whose key is completed is a *replay*
/// (counted as succeeded, the handler not called), one that another holder is processing fails for now (it comes
/// back), and a failed handler leaves no trace, so the next delivery tries again.
///
/// ```swift
/// let store = try FileIdempotencyStore(directory: "/mnt/efs/idempotency")
/// let processor = BatchProcessor(middleware: [
///     RetryMiddleware(),                                   // outside: each retry is a new claim
///     IdempotencyMiddleware(store: store),                 // keyed by messageId, completed keys kept an hour
/// ])
/// ```
///
/// Place it inside retry, so that a failed attempt releases its claim before the next. Each record costs one store
/// call to claim and one to complete (or release); a replay costs one, or none with ``Configuration/cacheSize``.
public struct IdempotencyMiddleware: RecordMiddleware {
    /// What to do with a record that has no key (a JSON path the payload lacks, a custom key that says `nil`).
    public enum MissingKey: String, Sendable {
        /// Run the handler without idempotency, and log a warning.
        case processWithoutIdempotency = "process"
        /// Fail the record with ``IdempotencyError/Code/missingKey``.
        case fail
    }

    /// How the middleware keys, expires and checks records.
    public struct Configuration: Sendable {
        /// Which part of a record makes its key; by default its stable identity.
        public var keySource: IdempotencyKeySource
        /// Put before every key, so that functions sharing a store do not share keys; by default the function's
        /// name (`AWS_LAMBDA_FUNCTION_NAME`, or the invocation's), else `batch-processing`.
        public var namespace: String?
        /// How long a completed key makes redeliveries replays (default one hour), counted from its claim.
        public var expiry: Duration
        /// How long an in-progress key is held when the invocation has no deadline (a local run, a host); with a
        /// deadline, it is held until the deadline plus ``takeoverMargin``.
        public var inProgressExpiry: Duration
        /// Added to the invocation's deadline before another holder may take an in-progress key over.
        public var takeoverMargin: Duration
        /// When on, a completed key whose payload hash differs from the record's is an error, not a replay.
        public var validatesPayload: Bool
        /// What to do with a record that has no key.
        public var missingKey: MissingKey
        /// How many completed keys to remember in memory (0, the default, for none).
        public var cacheSize: Int
        /// How long to keep trying to store a success's completion when the store fails (backing off from 50 ms
        /// to 1 s between tries), within the record's deadline and its claim; zero for one try. Default 10 s.
        public var completionRetryTime: Duration
        /// The wall clock, in milliseconds since 1970: stores compare times across processes and hosts.
        public var wallClock: @Sendable () -> Int64

        /// Creates a configuration.
        public init(
            keySource: IdempotencyKeySource = .recordIdentity,
            namespace: String? = nil,
            expiry: Duration = .seconds(3600),
            inProgressExpiry: Duration = .seconds(60),
            takeoverMargin: Duration = .seconds(5),
            validatesPayload: Bool = false,
            missingKey: MissingKey = .processWithoutIdempotency,
            cacheSize: Int = 0,
            completionRetryTime: Duration = .seconds(10),
            wallClock: (@Sendable () -> Int64)? = nil
        ) {
            self.keySource = keySource
            self.namespace = namespace
            self.expiry = expiry
            self.inProgressExpiry = inProgressExpiry
            self.takeoverMargin = takeoverMargin
            self.validatesPayload = validatesPayload
            self.missingKey = missingKey
            self.cacheSize = cacheSize
            self.completionRetryTime = completionRetryTime
            self.wallClock = wallClock ?? { WallClock.nowMilliseconds() }
        }
    }

    /// The name of the metric counting replays, with the `event_source` dimension. The processor emits it from
    /// each record's `RecordResult.replay`, which this middleware sets.
    public static let replayMetricName = Instrumentation.MetricName.recordsReplayed
    /// The attribute a replayed record's span carries (when the processor traces): where its completed key was
    /// found, `memory` (the middleware's cache) or `store`.
    public static let replaySpanAttribute = Instrumentation.TraceAttribute.replayedFrom

    /// What became of a successful record's completion, noted in its `RecordResult.annotations` under this key.
    public enum Completion: RecordAnnotationKey {
        public typealias Value = CompletionState
        public static let name = "idempotency_completion"
    }

    /// What became of a successful record's completion.
    public enum CompletionState: String, Sendable, Hashable, CaseIterable {
        /// The key is completed in the store: a redelivery is a replay.
        case stored
        /// Another holder took the key over while the handler ran, so this holder's completion was refused; the
        /// other holder's outcome stands.
        case fenced
        /// The store could not be written (the error is logged); the key frees itself at its in-progress expiry,
        /// and a redelivery after that runs the record again.
        case notStored = "not_stored"
        /// The record had no key and ran without idempotency (``MissingKey/processWithoutIdempotency``).
        case withoutKey = "without_key"
    }

    /// The store.
    public let store: any IdempotencyStore
    /// The settings.
    public let configuration: Configuration
    private let cache: CompletedKeyCache
    /// `AWS_LAMBDA_FUNCTION_NAME`, read once.
    private let functionName: String?

    /// Creates the middleware over `store`.
    public init(store: any IdempotencyStore, configuration: Configuration = Configuration()) {
        self.store = store
        self.configuration = configuration
        self.cache = CompletedKeyCache(capacity: configuration.cacheSize)
        self.functionName = ProcessInfo.processInfo.environment["AWS_LAMBDA_FUNCTION_NAME"]
    }

    public func handle<Record: BatchRecord>(
        _ record: Record,
        context: RecordContext,
        next: RecordNext<Record>
    ) async throws -> RecordResult {
        guard let part = configuration.keySource.part(of: record) else {
            switch configuration.missingKey {
            case .processWithoutIdempotency:
                context.logger.warning("record has no idempotency key; processing it without idempotency")
                var result = await next(record, context)
                if result.succeeded { result.annotations[Completion.self] = .withoutKey }
                return result
            case .fail:
                throw IdempotencyError(
                    code: .missingKey,
                    message: "record \(context.index) (\(context.itemIdentifier)) has no idempotency key",
                    key: nil
                )
            }
        }
        let namespace =
            configuration.namespace ?? functionName ?? context.functionName ?? "batch-processing"
        let key = IdempotencyKeySource.key(namespace: namespace, part: part)
        let payloadHash =
            configuration.validatesPayload
            ? IdempotencyKeySource.hash(IdempotencyKeySource.payload(of: record) ?? []) : nil
        // The record's logger with the key, made only when a line is written.
        var logger: Logger {
            var logger = context.logger
            logger[metadataKey: "idempotency_key"] = .string(key.hex)
            return logger
        }

        let now = configuration.wallClock()
        if let cached = cache.lookup(key, now: now) {
            try checkPayload(stored: cached.payloadHash, ours: payloadHash, key: key)
            return replay(context: context, logger: logger, from: .memory)
        }

        let token = Self.newToken()
        let claimedUntil = inProgressUntil(context: context, now: now)
        let claim: ClaimResult
        do {
            claim = try await store.claim(
                key: key,
                token: token,
                payloadHash: payloadHash,
                inProgressUntil: claimedUntil,
                expiresAt: now + Self.milliseconds(configuration.expiry),
                now: now
            )
        } catch {
            throw IdempotencyError(
                code: .storeFailed,
                message: "the state of key \(key) could not be established: \(error.message)",
                key: key,
                underlying: error
            )
        }

        switch claim {
        case .completed(let existing):
            try checkPayload(stored: existing.payloadHash, ours: payloadHash, key: key)
            if let expiresAt = existing.expiresAt {
                cache.insert(key, .init(expiresAt: expiresAt, payloadHash: existing.payloadHash))
            }
            return replay(context: context, logger: logger, from: .store)
        case .inProgress(let existing):
            let remaining = (existing.inProgressUntil ?? now) - now
            throw IdempotencyError(
                code: .inProgress,
                message: "key \(key) is being processed by another holder for up to \(remaining) ms more; this "
                    + "delivery fails so that the record comes back",
                key: key
            )
        case .tookOver(let previous):
            logger.warning(
                "took over an in-progress idempotency key whose holder ran out of time",
                metadata: ["previous_holder": .string(previous.token)]
            )
        case .claimed:
            break
        }

        var result = await next(record, context)
        guard result.succeeded else {
            do {
                _ = try await store.release(key: key, token: token)
            } catch let storeError {
                logger.error(
                    "could not release the idempotency key after the handler failed; it frees itself in time",
                    metadata: ["error": .string(storeError.message)]
                )
            }
            return result
        }

        let expiresAt = now + Self.milliseconds(configuration.expiry)
        switch await complete(key, token: token, claimedUntil: claimedUntil, context: context, logger: logger) {
        case .applied:
            cache.insert(key, .init(expiresAt: expiresAt, payloadHash: payloadHash))
            result.annotations[Completion.self] = .stored
        case .fenced:
            logger.warning("the record succeeded, but another holder took its idempotency key over meanwhile")
            result.annotations[Completion.self] = .fenced
        case nil:
            result.annotations[Completion.self] = .notStored
        }
        return result
    }

    /// Stores a success's completion, trying again after a failure (a lost connection, a restarting database)
    /// while that can still help: a completion is fenced by the token, so repeating it is safe. It stops at
    /// ``Configuration/completionRetryTime``, at the record's deadline, when the task is cancelled, or when the
    /// claim runs out (another holder may then take the key over, and a completion would be fenced anyway).
    /// `nil` when it gave up; the record still succeeds (its work is done: failing it would only run it again).
    private func complete(
        _ key: IdempotencyKey,
        token: String,
        claimedUntil: Int64,
        context: RecordContext,
        logger: @autoclosure () -> Logger
    ) async -> FenceResult? {
        let clock = context.clock
        var giveUpAt = clock.now.advanced(by: max(configuration.completionRetryTime, .zero))
        if let deadline = context.deadline, deadline < giveUpAt { giveUpAt = deadline }
        var delay = Duration.milliseconds(50)
        var tries = 0
        while true {
            tries += 1
            let failure: IdempotencyStoreError
            do {
                let answer = try await store.complete(key: key, token: token)
                if tries > 1 {
                    logger().info("the completion was stored after \(tries) tries", metadata: ["tries": "\(tries)"])
                }
                return answer
            } catch {
                failure = error
            }
            let start = clock.now
            let claimLeft = claimedUntil - configuration.wallClock()
            guard !Task.isCancelled, start.advanced(by: delay) < giveUpAt, Self.milliseconds(delay) < claimLeft else {
                // The handler's work is done: failing the record now would only make it run again.
                logger().error(
                    "the record succeeded but its completion could not be stored",
                    metadata: ["error": .string(failure.message), "tries": "\(tries)"]
                )
                return nil
            }
            logger().warning(
                "the completion could not be stored; trying again",
                metadata: ["error": .string(failure.message), "retry_in_ms": "\(Self.milliseconds(delay))"]
            )
            do {
                try await clock.sleep(until: start.advanced(by: delay), tolerance: nil)
            } catch {
                continue  // cancelled: the guard above gives up after one last try
            }
            delay = min(delay * 2, .seconds(1))
        }
    }

    /// The result of a replay: a success at the context's attempt, from `place`.
    private func replay(
        context: RecordContext,
        logger: @autoclosure () -> Logger,
        from place: RecordResult.Replay
    ) -> RecordResult {
        if context.logLevel <= .debug {
            logger().debug(
                "record replayed: its idempotency key is completed",
                metadata: ["found_in": .string(place.rawValue)]
            )
        }
        return RecordResult(attempts: context.attempt, replay: place)
    }

    private func checkPayload(stored: String?, ours: String?, key: IdempotencyKey) throws(IdempotencyError) {
        guard configuration.validatesPayload, let ours, let stored, stored != ours else { return }
        throw IdempotencyError(
            code: .payloadMismatch,
            message: "key \(key) was completed with a different payload (hash \(stored.prefix(12))…, this record's "
                + "\(ours.prefix(12))…)",
            key: key
        )
    }

    /// Until when a claim holds: the invocation's deadline plus the margin, or the in-progress expiry from now.
    private func inProgressUntil(context: RecordContext, now: Int64) -> Int64 {
        if let remaining = context.remainingTime {
            return now + Self.milliseconds(max(remaining, .zero) + configuration.takeoverMargin)
        }
        return now + Self.milliseconds(configuration.inProgressExpiry)
    }

    static func milliseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }

    /// A token no other claim has: this process's random prefix (drawn once) and a count. Unique is all a token
    /// must be (it fences out a holder whose key was taken over), so it costs no draw of randomness per record.
    static func newToken() -> String {
        tokenPrefix + String(tokenCount.add(1, ordering: .relaxed).newValue, radix: 16)
    }

    private static let tokenPrefix: String = {
        var generator = SystemRandomNumberGenerator()
        return String(generator.next() as UInt64, radix: 16) + "-"
    }()
    private static let tokenCount = Atomic<UInt64>(0)
}
