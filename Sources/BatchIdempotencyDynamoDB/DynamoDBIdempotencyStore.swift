public import BatchIdempotency
import BatchProcessingJSONSupport
public import Logging

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// An idempotency store in a DynamoDB table: serverless, reached over HTTPS without a VPC, costing nothing at rest;
/// the store for Lambda functions.
///
/// ```swift
/// let store = try DynamoDBIdempotencyStore(
///     configuration: DynamoDBStoreConfiguration(table: "orders-idempotency", environment: environment)
/// )
/// ```
///
/// Every state change is one conditional write, so DynamoDB applies ``IdempotencyRules`` atomically: a claim is a
/// `PutItem` that succeeds only when there is no live record, or the record is the claimer's own in-progress one
/// (`attribute_not_exists(id) OR live_until <= :now OR (status = in_progress AND token = :token)`), and returns the
/// item it replaced (`ReturnValues: ALL_OLD`), or, when the condition fails, the item that stopped it
/// (`ReturnValuesOnConditionCheckFailure: ALL_OLD`), in the same round trip; a completion is an `UpdateItem` on the
/// holder's token, a release a `DeleteItem` on the holder's token and the in-progress state. Expiry is checked on
/// every read and write, and DynamoDB's time to live deletes what stopped counting, in its own time (within days).
///
/// The table has one key, the string `id` (``migrate()`` makes it, on demand, with time to live on the
/// configuration's ``DynamoDBStoreConfiguration/timeToLiveAttribute``). The IAM actions the store uses:
/// `dynamodb:PutItem`, `UpdateItem`, `DeleteItem` and `GetItem`; `Scan` for ``purgeExpired(now:)`` and
/// ``allRecords()``; `CreateTable`, `DescribeTable`, `UpdateTimeToLive` and `DescribeTimeToLive` for ``migrate()``.
public final class DynamoDBIdempotencyStore: IdempotencyStore {
    /// The configuration the store was made with.
    public let configuration: DynamoDBStoreConfiguration
    let client: DynamoDBClient
    typealias Names = DynamoDBRecordAttributes

    /// A store on the table `configuration` names. Nothing is sent yet: the first state change does.
    ///
    /// - Parameters:
    ///   - configuration: the table, the region, the endpoint, the credentials and the time limits.
    ///   - logger: where retries are logged (at debug level); never a credential or a signature.
    ///   - wallClock: milliseconds since 1970, for signatures (the default, the system's clock).
    /// - Throws: `IdempotencyStoreError` when the configuration is invalid or names no credentials.
    public init(
        configuration: DynamoDBStoreConfiguration,
        logger: Logger = Logger(label: "batch-idempotency-dynamodb"),
        wallClock: @escaping @Sendable () -> Int64 = DynamoDBIdempotencyStore.systemMilliseconds
    ) throws(IdempotencyStoreError) {
        self.configuration = configuration
        self.client = try DynamoDBClient(configuration: configuration, logger: logger, wallClock: wallClock)
    }

    /// The system's wall clock in milliseconds since 1970.
    @Sendable
    public static func systemMilliseconds() -> Int64 {
        WallClock.nowMilliseconds()
    }

    /// Closes the store's connections. Calls made afterwards fail.
    public func shutdown() async {
        await client.shutdown()
    }

    // MARK: - IdempotencyStore

    public func claim(
        key: IdempotencyKey,
        token: String,
        payloadHash: String?,
        inProgressUntil: Int64,
        expiresAt: Int64,
        now: Int64
    ) async throws(IdempotencyStoreError) -> ClaimResult {
        guard !token.isEmpty else {
            throw IdempotencyStoreError("the claim of \(key) has an empty token", code: .invalidRequest)
        }
        var item: [String: DynamoDBValue] = [
            Names.key: .string(key.hex),
            Names.status: .string(Names.inProgress),
            Names.token: .string(token),
            Names.inProgressUntil: DynamoDBValue(inProgressUntil),
            Names.expiresAt: DynamoDBValue(expiresAt),
            Names.liveUntil: DynamoDBValue(inProgressUntil),
            configuration.timeToLiveAttribute: DynamoDBValue(
                Names.timeToLive(liveUntil: max(inProgressUntil, expiresAt))
            ),
        ]
        if let payloadHash { item[Names.payloadHash] = .string(payloadHash) }
        let request = WriteRequest(
            TableName: configuration.table,
            Key: nil,
            Item: DynamoDBItem(item),
            ConditionExpression:
                "attribute_not_exists(#id) OR #live <= :now OR (#status = :in_progress AND #token = :token)",
            UpdateExpression: nil,
            ExpressionAttributeNames: [
                "#id": Names.key, "#live": Names.liveUntil, "#status": Names.status, "#token": Names.token,
            ],
            ExpressionAttributeValues: [
                ":now": DynamoDBValue(now), ":in_progress": .string(Names.inProgress), ":token": .string(token),
            ],
            ReturnValues: "ALL_OLD",
            ReturnValuesOnConditionCheckFailure: "ALL_OLD"
        )
        let (written, found) = try await conditionalWrite("PutItem", "claim of \(key)", request)
        // The condition is the rules' `writes`; what DynamoDB replaced, or found in the way, is what the rules
        // decide the answer from.
        let decision = IdempotencyRules.claim(existing: found, token: token, now: now)
        guard decision.writes == written else {
            throw IdempotencyStoreError(
                "the claim of \(key) in \(configuration.table) \(written ? "was written" : "was refused") against "
                    + "the rules for the record found (\(found.map { "\($0.status.rawValue) by another" } ?? "none")): "
                    + "is the table written by something else?",
                code: .damaged
            )
        }
        return decision.answer
    }

    public func complete(key: IdempotencyKey, token: String) async throws(IdempotencyStoreError) -> FenceResult {
        let request = WriteRequest(
            TableName: configuration.table,
            Key: DynamoDBItem([Names.key: .string(key.hex)]),
            Item: nil,
            ConditionExpression: "#token = :token",
            // The time to live stays: the claim set it past the later of its two times.
            UpdateExpression: "SET #status = :completed, #live = #expires",
            ExpressionAttributeNames: [
                "#token": Names.token, "#status": Names.status, "#live": Names.liveUntil, "#expires": Names.expiresAt,
            ],
            ExpressionAttributeValues: [":token": .string(token), ":completed": .string(Names.completed)],
            ReturnValues: nil,
            ReturnValuesOnConditionCheckFailure: "ALL_OLD"
        )
        return try await fencedWrite("UpdateItem", "completion of \(key)", request) {
            IdempotencyRules.complete(existing: $0, token: token)
        }
    }

    public func release(key: IdempotencyKey, token: String) async throws(IdempotencyStoreError) -> FenceResult {
        let request = WriteRequest(
            TableName: configuration.table,
            Key: DynamoDBItem([Names.key: .string(key.hex)]),
            Item: nil,
            ConditionExpression: "#token = :token AND #status = :in_progress",
            UpdateExpression: nil,
            ExpressionAttributeNames: ["#token": Names.token, "#status": Names.status],
            ExpressionAttributeValues: [":token": .string(token), ":in_progress": .string(Names.inProgress)],
            ReturnValues: nil,
            ReturnValuesOnConditionCheckFailure: "ALL_OLD"
        )
        return try await fencedWrite("DeleteItem", "release of \(key)", request) {
            IdempotencyRules.release(existing: $0, token: token)
        }
    }

    public func record(for key: IdempotencyKey) async throws(IdempotencyStoreError) -> IdempotencyRecord? {
        struct GetItem: Encodable {
            var TableName: String
            var Key: DynamoDBItem
            var ConsistentRead = true
        }
        struct Answer: Decodable { var Item: DynamoDBItem? }
        let body = try encode(GetItem(TableName: configuration.table, Key: DynamoDBItem([Names.key: .string(key.hex)])))
        let answer: Answer = try await decodedCall("GetItem", "lookup of \(key)", body: body)
        return try answer.Item.map { item throws(IdempotencyStoreError) in
            try Names.record(item, table: configuration.table)
        }
    }

    /// Deletes the records that stopped counting by `now`: a scan for them, then a conditional delete of each (a
    /// record claimed again meanwhile stays). DynamoDB's time to live does the same without being asked, within
    /// days; this is for when that is too slow, or for tables without it.
    public func purgeExpired(now: Int64) async throws(IdempotencyStoreError) -> Int {
        var removed = 0
        for record in try await scan(filterLiveUntilBefore: now) {
            struct DeleteItem: Encodable {
                var TableName: String
                var Key: DynamoDBItem
                var ConditionExpression = "#live <= :now"
                var ExpressionAttributeNames: [String: String]
                var ExpressionAttributeValues: [String: DynamoDBValue]
            }
            let body = try encode(
                DeleteItem(
                    TableName: configuration.table,
                    Key: DynamoDBItem([Names.key: .string(record.key)]),
                    ExpressionAttributeNames: ["#live": Names.liveUntil],
                    ExpressionAttributeValues: [":now": DynamoDBValue(now)]
                )
            )
            switch try await client.call("DeleteItem", body: body, deadline: deadline()) {
            case .success: removed += 1
            case .failure(let error) where error.type == "ConditionalCheckFailedException": continue
            case .failure(let error): throw rejection(error, "purge of \(record.key)")
            }
        }
        return removed
    }

    /// Every record (a scan of the table), in key order: for operators (`batchproc idempotency list`), not the hot
    /// path.
    public func allRecords() async throws(IdempotencyStoreError) -> [IdempotencyRecord] {
        try await scan(filterLiveUntilBefore: nil).sorted { $0.key < $1.key }
    }

    // MARK: - Requests

    /// The parts of `PutItem`, `UpdateItem` and `DeleteItem` requests the store sends (nil parts left out).
    struct WriteRequest: Encodable {
        var TableName: String
        var Key: DynamoDBItem?
        var Item: DynamoDBItem?
        var ConditionExpression: String
        var UpdateExpression: String?
        var ExpressionAttributeNames: [String: String]
        var ExpressionAttributeValues: [String: DynamoDBValue]
        var ReturnValues: String?
        var ReturnValuesOnConditionCheckFailure: String
    }

    /// A write whose condition may fail: whether it was written, and the item it replaced (on success with
    /// `ALL_OLD`) or that stopped it (on a failed condition).
    func conditionalWrite(
        _ operation: String,
        _ what: String,
        _ request: WriteRequest
    )
        async throws(IdempotencyStoreError) -> (written: Bool, found: IdempotencyRecord?)
    {
        struct Replaced: Decodable { var Attributes: DynamoDBItem? }
        struct Refused: Decodable { var Item: DynamoDBItem? }
        let body = try encode(request)
        switch try await client.call(operation, body: body, deadline: deadline()) {
        case .success(let bytes):
            let replaced =
                bytes.isEmpty ? nil : (try? JSONDecoder().decode(Replaced.self, from: Data(bytes)))?.Attributes
            return (
                true,
                try replaced.map { item throws(IdempotencyStoreError) in
                    try Names.record(item, table: configuration.table)
                }
            )
        case .failure(let error) where error.type == "ConditionalCheckFailedException":
            let item = (try? JSONDecoder().decode(Refused.self, from: Data(error.body)))?.Item
            return (
                false,
                try item.map { item throws(IdempotencyStoreError) in try Names.record(item, table: configuration.table)
                }
            )
        case .failure(let error):
            throw rejection(error, what)
        }
    }

    private func fencedWrite(
        _ operation: String,
        _ what: String,
        _ request: WriteRequest,
        rule: (IdempotencyRecord?) -> IdempotencyRules.Decision<FenceResult>
    ) async throws(IdempotencyStoreError) -> FenceResult {
        let (written, found) = try await conditionalWrite(operation, what, request)
        if written { return .applied }
        return rule(found).answer
    }

    private func scan(filterLiveUntilBefore now: Int64?) async throws(IdempotencyStoreError) -> [IdempotencyRecord] {
        struct Scan: Encodable {
            var TableName: String
            var ConsistentRead = true
            var ExclusiveStartKey: DynamoDBItem?
            var FilterExpression: String?
            var ExpressionAttributeNames: [String: String]?
            var ExpressionAttributeValues: [String: DynamoDBValue]?
        }
        struct Page: Decodable {
            var Items: [DynamoDBItem]?
            var LastEvaluatedKey: DynamoDBItem?
        }
        var records: [IdempotencyRecord] = []
        var start: DynamoDBItem?
        repeat {
            var request = Scan(TableName: configuration.table, ExclusiveStartKey: start)
            if let now {
                request.FilterExpression = "#live <= :now"
                request.ExpressionAttributeNames = ["#live": Names.liveUntil]
                request.ExpressionAttributeValues = [":now": DynamoDBValue(now)]
            }
            let page: Page = try await decodedCall("Scan", "scan", body: try encode(request))
            for item in page.Items ?? [] {
                records.append(try Names.record(item, table: configuration.table))
            }
            start = page.LastEvaluatedKey
        } while start != nil
        return records
    }

    // MARK: - Plumbing

    func deadline() -> ContinuousClock.Instant {
        .now + configuration.timeout
    }

    func encode(_ value: some Encodable) throws(IdempotencyStoreError) -> [UInt8] {
        do {
            return Array(try JSONEncoder().encode(value))
        } catch {
            throw IdempotencyStoreError("cannot encode a DynamoDB request: \(error)", code: .invalidRequest)
        }
    }

    func decodedCall<Answer: Decodable>(
        _ operation: String,
        _ what: String,
        body: [UInt8]
    )
        async throws(IdempotencyStoreError) -> Answer
    {
        switch try await client.call(operation, body: body, deadline: deadline()) {
        case .success(let bytes):
            do {
                return try JSONDecoder().decode(Answer.self, from: Data(bytes))
            } catch {
                throw IdempotencyStoreError(
                    "the \(what) in DynamoDB table \(configuration.table) got an answer that is not DynamoDB's "
                        + "JSON: \(String(decoding: bytes.prefix(200), as: UTF8.self))",
                    code: .rejected
                )
            }
        case .failure(let error):
            throw rejection(error, what)
        }
    }

    /// DynamoDB's refusal as a store error naming the operation, the table and DynamoDB's words.
    func rejection(_ error: DynamoDBClient.ServiceError, _ what: String) -> IdempotencyStoreError {
        var message =
            "the \(what) in DynamoDB table \(configuration.table) was refused: HTTP \(error.status) "
            + "\(error.type): \(error.message)"
        switch error.type {
        case "ResourceNotFoundException":
            message +=
                " (make the table with `batchproc idempotency migrate --idempotency-dynamodb \(configuration.table)`)"
        case "UnrecognizedClientException", "InvalidSignatureException", "MissingAuthenticationTokenException",
            "ExpiredTokenException":
            message += " (check the credentials and the region: \(configuration.region))"
        case "AccessDeniedException":
            message += " (the role needs dynamodb:PutItem, UpdateItem, DeleteItem and GetItem on the table)"
        default:
            break
        }
        return IdempotencyStoreError(message, code: .rejected)
    }
}
