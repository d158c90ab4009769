import ArgumentParser
import BatchIdempotency
import BatchProcessing
import BatchRunner
import CoreMetrics

/// The options that put idempotency in `batchproc process`'s chain.
struct IdempotencyOptions: ParsableArguments {
    @Option(
        name: .customLong("idempotency-store"),
        help: "Make records idempotent with the file store in this folder (created 0700 when missing)."
    )
    var store: String?

    @Option(
        name: .customLong("idempotency-key"),
        help:
            "What keys a record: identity (messageId, sequence number, topic-partition and offset), payload, or json:PATH."
    )
    var key: String = "identity"

    @Option(
        name: .customLong("idempotency-expiry"),
        help: "Seconds a completed key makes redeliveries replays (default 3600)."
    )
    var expiry: Double = 3600

    @Option(
        name: .customLong("idempotency-in-progress-expiry"),
        help: "Seconds an in-progress key is held before another process may take it over (default 60)."
    )
    var inProgressExpiry: Double = 60

    @Option(name: .customLong("idempotency-namespace"), help: "Put before every key (default: the function's name).")
    var namespace: String?

    @Flag(name: .customLong("idempotency-durable"), help: "Flush the store to disk before a state change counts.")
    var durable = false

    @Flag(
        name: .customLong("idempotency-validate-payload"),
        help: "A completed key with a different payload is an error, not a replay."
    )
    var validatePayload = false

    func validate() throws {
        _ = try keySource()
        guard expiry > 0, expiry.isFinite else {
            throw ValidationError("--idempotency-expiry must be a number of seconds above 0, not \(expiry)")
        }
        guard inProgressExpiry >= 0, inProgressExpiry.isFinite else {
            throw ValidationError(
                "--idempotency-in-progress-expiry must be a number of seconds, 0 or more, not \(inProgressExpiry)"
            )
        }
    }

    func keySource() throws -> IdempotencyKeySource {
        guard let source = IdempotencyKeySource(name: key) else {
            throw ValidationError("--idempotency-key must be identity, payload or json:PATH, not '\(key)'")
        }
        return source
    }

    /// The middleware, or `nil` without `--idempotency-store`: the same step a chain file's `idempotency` makes.
    func middleware(metricsFactory: any MetricsFactory) throws -> (any RecordMiddleware)? {
        guard let store else { return nil }
        let step = ChainConfiguration.Step.idempotency(
            .init(
                keySource: try keySource(),
                namespace: namespace,
                expiry: .milliseconds(Int64(expiry * 1000)),
                inProgressExpiry: .milliseconds(Int64(inProgressExpiry * 1000)),
                validatesPayload: validatePayload
            ),
            storeDirectory: store,
            durable: durable
        )
        do {
            return try step.makeMiddleware(metricsFactory: metricsFactory)
        } catch {
            throw UsageError(message: error.message)
        }
    }
}
