import AsyncHTTPClient
import BatchIdempotency
import Crypto
import Logging
import NIOCore
import NIOHTTP1
import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// DynamoDB's JSON API (protocol `awsJson1_0`, target `DynamoDB_20120810`) over HTTPS: each call a signed `POST /`,
/// retried while the deadline allows when DynamoDB throttles it or fails on its side, or the connection fails.
final class DynamoDBClient: Sendable {
    let configuration: DynamoDBStoreConfiguration
    let endpoint: DynamoDBEndpoint
    let http: HTTPClient
    let credentials: AWSCredentialsProvider
    let logger: Logger
    /// Milliseconds since 1970, for signatures and credential expiry.
    let wallClock: @Sendable () -> Int64

    init(
        configuration: DynamoDBStoreConfiguration,
        logger: Logger,
        wallClock: @escaping @Sendable () -> Int64
    ) throws(IdempotencyStoreError) {
        try configuration.validate()
        self.configuration = configuration
        self.endpoint = try DynamoDBEndpoint(configuration.resolvedEndpoint)
        // Everything that may throw comes before the HTTP client, which must be shut down once made.
        let source = try AWSCredentialsProvider.source(for: configuration.credentials)
        var settings = HTTPClient.Configuration()
        settings.timeout.connect = .nanoseconds(configuration.connectTimeout.nanoseconds)
        settings.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = configuration.maximumConnections
        settings.connectionPool.idleTimeout = .seconds(50)
        // A refused connection comes back at once, to be retried by `call` with its waits and counted there.
        settings.connectionPool.retryConnectionEstablishment = false
        settings.httpVersion = .http1Only
        settings.decompression = .disabled
        self.http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: settings)
        self.credentials = AWSCredentialsProvider(source, client: http)
        self.logger = logger
        self.wallClock = wallClock
    }

    private let isShutDown = Atomic<Bool>(false)

    /// The signing key of the last day and credentials signed with: four HMACs saved on every other request.
    private let lastSigningKey = Mutex<(day: String, credentials: AWSCredentials, key: SymmetricKey)?>(nil)

    private func signingKey(_ signer: AWSSignatureV4, day: String) -> SymmetricKey {
        if let last = lastSigningKey.withLock({ $0 }), last.day == day, last.credentials == signer.credentials {
            return last.key
        }
        let key = signer.signingKey(day: day)
        lastSigningKey.withLock { $0 = (day, signer.credentials, key) }
        return key
    }

    func shutdown() async {
        guard !isShutDown.exchange(true, ordering: .acquiringAndReleasing) else { return }
        try? await http.shutdown()
    }

    deinit {
        // A store dropped without `shutdown()`: its connections are closed in the background (the HTTP client
        // insists on being shut down before it goes).
        if !isShutDown.load(ordering: .acquiring) {
            let http = self.http
            Task { try? await http.shutdown() }
        }
    }

    /// An error DynamoDB answered with: its HTTP status, its `__type` without the namespace
    /// (`ConditionalCheckFailedException`), its message, and the whole body (which may hold the item a failed
    /// condition found).
    struct ServiceError: Error, Sendable {
        var status: UInt
        var type: String
        var message: String
        var body: [UInt8]

        /// Throttling, or a failure on DynamoDB's side: worth another try after a wait.
        var isRetryable: Bool {
            if status >= 500 { return true }
            return [
                "ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded",
                "LimitExceededException", "TransactionInProgressException", "TransactionConflictException",
            ].contains(type)
        }
        var isThrottling: Bool {
            ["ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"].contains(type)
        }
    }

    /// What became of a call: DynamoDB's answer (2xx) or its error.
    enum Outcome: Sendable {
        case success([UInt8])
        case failure(ServiceError)
    }

    /// The first wait before a retry, and the longest (AWS's full jitter: a random wait up to
    /// `min(cap, base × 2^attempt)`).
    static let backoffBase = Duration.milliseconds(25)
    static let backoffCap = Duration.seconds(1)

    /// Calls `operation` with `body` (JSON), retrying throttling, server errors and failed connections until
    /// `deadline`. DynamoDB's answer, or its error when it is not worth another try (a failed condition, a missing
    /// table, a refused signature); throws when the deadline passed or the task was cancelled.
    func call(
        _ operation: String,
        body: [UInt8],
        deadline: ContinuousClock.Instant
    ) async throws(IdempotencyStoreError)
        -> Outcome
    {
        var attempt = 0
        var tries = 0
        var lastProblem = ""
        var throttled = false
        while true {
            if Task.isCancelled {
                throw IdempotencyStoreError(
                    "DynamoDB \(operation) on \(configuration.table) was cancelled",
                    code: .cancelled
                )
            }
            let remaining = ContinuousClock.now.duration(to: deadline)
            if remaining <= .zero {
                throw IdempotencyStoreError(
                    "DynamoDB \(operation) on table \(configuration.table) (\(endpoint.url)) did not succeed within "
                        + "\(configuration.timeout) (\(tries) \(tries == 1 ? "try" : "tries")): \(lastProblem)",
                    code: throttled ? .busy : .unavailable
                )
            }
            tries += 1
            do {
                let outcome = try await send(operation, body: body, timeout: remaining, deadline: deadline)
                switch outcome {
                case .success:
                    return outcome
                case .failure(let error) where error.isRetryable:
                    lastProblem = "HTTP \(error.status) \(error.type): \(error.message)"
                    throttled = error.isThrottling
                case .failure:
                    return outcome
                }
            } catch let problem as TransportProblem {
                lastProblem = problem.description
                throttled = false
            } catch let error as IdempotencyStoreError {
                throw error
            } catch {
                lastProblem = "\(error)"
            }
            logger.debug(
                "DynamoDB call failed; trying again",
                metadata: ["operation": "\(operation)", "attempt": "\(attempt + 1)", "problem": "\(lastProblem)"]
            )
            let ceiling = min(Self.backoffCap, Self.backoffBase * (1 << min(attempt, 16)))
            let wait = Duration.nanoseconds(Int64.random(in: 0...max(0, ceiling.nanoseconds)))
            let left = ContinuousClock.now.duration(to: deadline)
            if left <= .zero { continue }
            do {
                try await Task.sleep(for: min(wait, left))
            } catch {
                throw IdempotencyStoreError(
                    "DynamoDB \(operation) on \(configuration.table) was cancelled",
                    code: .cancelled
                )
            }
            attempt += 1
        }
    }

    /// A connection that failed or an answer that did not come: worth another try.
    struct TransportProblem: Error, CustomStringConvertible {
        var description: String
    }

    private func send(
        _ operation: String,
        body: [UInt8],
        timeout: Duration,
        deadline: ContinuousClock.Instant
    )
        async throws -> Outcome
    {
        let now = wallClock()
        let credentials = try await self.credentials.credentials(now: now, deadline: deadline)
        let signer = AWSSignatureV4(credentials: credentials, region: configuration.region, service: "dynamodb")
        let date = AWSTimestamp(secondsSince1970: now / 1000)
        let signingKey = self.signingKey(signer, day: date.day)
        let target = "DynamoDB_20120810." + operation
        let headers: [(name: String, value: String)] = [
            ("Host", endpoint.hostHeader),
            ("Content-Type", "application/x-amz-json-1.0"),
            ("X-Amz-Target", target),
        ]
        let signature = signer.sign(
            AWSSignatureV4.Request(method: "POST", path: "/", headers: headers, body: body),
            at: date,
            signingKey: signingKey
        )
        var request = HTTPClientRequest(url: endpoint.url)
        request.method = .POST
        for (name, value) in headers + signature.headers {
            request.headers.add(name: name, value: value)
        }
        request.headers.add(name: "User-Agent", value: "swift-batch-processing")
        request.body = .bytes(ByteBuffer(bytes: body))
        let status: UInt
        let answer: ByteBuffer
        do {
            let response = try await http.execute(request, timeout: .nanoseconds(max(1, timeout.nanoseconds)))
            status = response.status.code
            answer = try await response.body.collect(upTo: 16 * 1024 * 1024)
        } catch let error as HTTPClientError {
            throw TransportProblem(description: "\(error)")
        } catch {
            throw TransportProblem(description: "\(error)")
        }
        let bytes = Array(answer.readableBytesView)
        if (200..<300).contains(status) {
            return .success(bytes)
        }
        return .failure(Self.serviceError(status: status, body: bytes))
    }

    /// DynamoDB's error body, `{"__type": "com.amazonaws.dynamodb.v20120810#Name", "message": "…"}` (or
    /// `Message`), read leniently: a body that is not such JSON (a proxy's page) keeps its first bytes as message.
    static func serviceError(status: UInt, body: [UInt8]) -> ServiceError {
        struct Body: Decodable {
            var type: String?
            var message: String?
            var Message: String?
            enum CodingKeys: String, CodingKey {
                case type = "__type"
                case message
                case Message
            }
        }
        let decoded = try? JSONDecoder().decode(Body.self, from: Data(body))
        let type = decoded?.type.map { String($0.split(separator: "#").last ?? Substring($0)) } ?? "HTTP\(status)"
        let message =
            decoded?.message ?? decoded?.Message ?? String(decoding: body.prefix(300), as: UTF8.self)
        return ServiceError(status: status, type: type, message: message, body: body)
    }
}
