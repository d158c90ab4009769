public import BatchIdempotency
public import BatchProcessing

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A processor and its middleware chain described in a file (JSON or YAML), with environment variables able to
/// change any scalar setting.
///
/// ```yaml
/// processor:
///   policy: auto                 # auto, continue, stop-on-first-failure, skip-group, skip-key
///   maxConcurrency: 4
///   deadlineMarginMs: 500
///   throwOnFullBatchFailure: true
/// middleware:                    # outermost first
///   - retry: { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 5000, jitter: true }
///   - idempotency:
///       store: { file: { directory: /mnt/efs/orders, durable: false } }
///       # or: store: { postgres: { url: "postgres://batch@db:5432/orders", table: batch_idempotency,
///       #                          timeoutSeconds: 5, maxConnections: 8 } }
///       key: identity            # identity, payload, or json:<dotted.path>
///       expirySeconds: 3600
///       inProgressExpirySeconds: 60
///       validatePayload: false
///       namespace: orders
///       missingKey: process      # process or fail
///       cacheSize: 0
///   - timeout: { seconds: 5 }
///   - faultInjection: { identifiers: [msg-03], indices: [7], fraction: 0.1, seed: 7, failingAttempts: 1 }
/// ```
///
/// A variable `BATCH_PROCESSING_<SECTION>_<SETTING>` (upper case, words joined by `_`) replaces a scalar setting:
/// `BATCH_PROCESSING_POLICY`, `BATCH_PROCESSING_MAX_CONCURRENCY`, `BATCH_PROCESSING_DEADLINE_MARGIN_MS` and
/// `BATCH_PROCESSING_THROW_ON_FULL_BATCH_FAILURE` for the processor, `BATCH_PROCESSING_RETRY_MAX_ATTEMPTS`,
/// `BATCH_PROCESSING_IDEMPOTENCY_EXPIRY_SECONDS`, `BATCH_PROCESSING_TIMEOUT_SECONDS`… for the first middleware of
/// that kind in the file. Unknown keys and bad values are errors that name the file and the key.
public struct ChainConfiguration: Sendable {
    /// The processor's settings (policy, concurrency, deadline margin, throwing).
    public var processor: BatchProcessor.Configuration
    /// The middleware, outermost first.
    public var middleware: [Step]
    /// Where it was read from, for messages.
    public var source: String
    /// The keys the file's `processor` section gives (`policy`, `maxConcurrency`…), whatever their variables say.
    package var processorKeysGiven: Set<String> = []

    /// One middleware of the chain, as the file describes it.
    public enum Step: Sendable {
        /// `retry`.
        case retry(RetryStrategy)
        /// `idempotency`, with where its store is.
        case idempotency(IdempotencyMiddleware.Configuration, store: IdempotencyStoreLocation)
        /// `timeout`.
        case timeout(Duration)
        /// `faultInjection`.
        case faultInjection(FaultInjectionMiddleware)

        /// The middleware of this step; an idempotency step opens its store with `openStore`.
        ///
        /// - Parameters:
        ///   - openStore: opens the step's store; by default file stores only.
        /// - Throws: `IdempotencyStoreError` when the store cannot be opened.
        public func makeMiddleware(
            openStore: IdempotencyStoreOpener = IdempotencyStoreLocation.openFileStore
        ) throws(IdempotencyStoreError) -> any RecordMiddleware {
            switch self {
            case .retry(let strategy):
                return RetryMiddleware(strategy: strategy)
            case .idempotency(let configuration, let location):
                let store = try openStore(location)
                return IdempotencyMiddleware(store: store, configuration: configuration)
            case .timeout(let timeout):
                return TimeoutMiddleware(timeout: timeout)
            case .faultInjection(let middleware):
                return middleware
            }
        }
    }

    /// Reads a configuration file (`.json`, `.yaml`, `.yml`; JSON is read as YAML, of which it is a part).
    ///
    /// - Parameters:
    ///   - path: the file.
    ///   - environment: the variables that may replace settings; by default the process's.
    ///   - processorDefaults: the processor settings that the file's `processor` section and the variables change
    ///     (what the file leaves out keeps its value here); by default the library's.
    /// - Throws: ``ConfigurationError`` naming the file and the key.
    public static func load(
        path: String,
        environment: [String: String]? = nil,
        processorDefaults: BatchProcessor.Configuration = BatchProcessor.Configuration()
    ) throws -> ChainConfiguration {
        try load(
            path: path,
            environment: environment,
            processorDefaults: processorDefaults,
            readsProcessorVariables: true
        )
    }

    /// Reads a configuration file; without `readsProcessorVariables`, the `processor` section is the file's alone
    /// (the runner puts the variables and flags over it itself, and keeps where each setting came from).
    package static func load(
        path: String,
        environment: [String: String]?,
        processorDefaults: BatchProcessor.Configuration,
        readsProcessorVariables: Bool
    ) throws -> ChainConfiguration {
        var isFolder = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
            throw ConfigurationError(.unreadableFile, message: "\(path): no such configuration file")
        }
        guard !isFolder else {
            throw ConfigurationError(
                .unreadableFile,
                message: "\(path): is a folder; give the path of a JSON or YAML file"
            )
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError(.unreadableFile, message: "\(path): cannot be read (permission denied?)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigurationError(.unreadableFile, message: "\(path): is not UTF-8 text")
        }
        return try parse(
            text,
            source: path,
            environment: environment ?? ProcessInfo.processInfo.environment,
            processorDefaults: processorDefaults,
            readsProcessorVariables: readsProcessorVariables
        )
    }

    /// Reads a configuration from its text; `source` names it in messages.
    public static func parse(
        _ text: String,
        source: String,
        environment: [String: String] = [:],
        processorDefaults: BatchProcessor.Configuration = BatchProcessor.Configuration()
    ) throws
        -> ChainConfiguration
    {
        try parse(
            text,
            source: source,
            environment: environment,
            processorDefaults: processorDefaults,
            readsProcessorVariables: true
        )
    }

    static func parse(
        _ text: String,
        source: String,
        environment: [String: String],
        processorDefaults: BatchProcessor.Configuration,
        readsProcessorVariables: Bool
    ) throws -> ChainConfiguration {
        let value: ConfigValue
        do {
            value = try ConfigValue.parse(text)
        } catch {
            throw ConfigurationError(.syntax, message: "\(source): is not valid JSON or YAML: \(error)")
        }
        var reader = ConfigReader(
            source: source,
            environment: environment,
            processorDefaults: processorDefaults,
            readsProcessorVariables: readsProcessorVariables
        )
        return try reader.read(value)
    }

    /// The middleware this configuration describes, opening the stores it names.
    ///
    /// - Parameters:
    ///   - openStore: opens each idempotency step's store; by default file stores only (a PostgreSQL store needs
    ///     an opener from a program that links `BatchIdempotencyPostgres`).
    public func makeMiddleware(
        openStore: IdempotencyStoreOpener = IdempotencyStoreLocation.openFileStore
    ) throws -> [any RecordMiddleware] {
        try middleware.map { step -> any RecordMiddleware in
            do {
                return try step.makeMiddleware(openStore: openStore)
            } catch {
                throw ConfigurationError(.storeFailed, message: "\(source): idempotency.store: \(error)")
            }
        }
    }
}
