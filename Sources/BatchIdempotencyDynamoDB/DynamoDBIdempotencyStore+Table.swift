public import BatchIdempotency

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension DynamoDBIdempotencyStore {
    /// Makes the table when it does not exist (key `id`, a string; on-demand capacity), waits until it is active,
    /// and turns on time to live for ``DynamoDBStoreConfiguration/timeToLiveAttribute``. Harmless on a table that
    /// has both; a table whose key is not the string `id` is refused, saying what it has.
    public func migrate() async throws(IdempotencyStoreError) {
        struct KeyElement: Codable {
            var AttributeName: String
            var KeyType: String
        }
        struct AttributeDefinition: Codable {
            var AttributeName: String
            var AttributeType: String
        }
        struct CreateTable: Encodable {
            var TableName: String
            var AttributeDefinitions: [AttributeDefinition]
            var KeySchema: [KeyElement]
            var BillingMode = "PAY_PER_REQUEST"
        }
        let create = CreateTable(
            TableName: configuration.table,
            AttributeDefinitions: [AttributeDefinition(AttributeName: Names.key, AttributeType: "S")],
            KeySchema: [KeyElement(AttributeName: Names.key, KeyType: "HASH")]
        )
        switch try await client.call("CreateTable", body: try encode(create), deadline: deadline()) {
        case .success: break
        case .failure(let error) where error.type == "ResourceInUseException": break
        case .failure(let error): throw rejection(error, "creation of the table")
        }

        struct DescribeTable: Encodable { var TableName: String }
        struct Description: Decodable {
            struct Table: Decodable {
                var TableStatus: String?
                var KeySchema: [KeyElement]?
                var AttributeDefinitions: [AttributeDefinition]?
            }
            var Table: Table
        }
        // A new table takes seconds to become active; give it a minute.
        let waitUntil = ContinuousClock.now + .seconds(60)
        while true {
            let description: Description = try await decodedCall(
                "DescribeTable",
                "description of the table",
                body: try encode(DescribeTable(TableName: configuration.table))
            )
            let keys = description.Table.KeySchema ?? []
            let types = description.Table.AttributeDefinitions ?? []
            guard keys.count == 1, keys[0].AttributeName == Names.key, keys[0].KeyType == "HASH",
                types.contains(where: { $0.AttributeName == Names.key && $0.AttributeType == "S" })
            else {
                throw IdempotencyStoreError(
                    "the DynamoDB table \(configuration.table) has the key "
                        + keys.map { "\($0.AttributeName) (\($0.KeyType))" }.joined(separator: ", ")
                        + "; the idempotency store needs a table whose only key is the string id",
                    code: .invalidConfiguration
                )
            }
            if description.Table.TableStatus == "ACTIVE" { break }
            guard ContinuousClock.now < waitUntil else {
                throw IdempotencyStoreError(
                    "the DynamoDB table \(configuration.table) is still \(description.Table.TableStatus ?? "not active") "
                        + "after a minute",
                    code: .unavailable
                )
            }
            try? await Task.sleep(for: .seconds(1))
        }

        struct DescribeTimeToLive: Encodable { var TableName: String }
        struct TimeToLiveDescription: Decodable {
            struct Settings: Decodable {
                var TimeToLiveStatus: String?
                var AttributeName: String?
            }
            var TimeToLiveDescription: Settings?
        }
        let current: TimeToLiveDescription = try await decodedCall(
            "DescribeTimeToLive",
            "description of the table's time to live",
            body: try encode(DescribeTimeToLive(TableName: configuration.table))
        )
        let settings = current.TimeToLiveDescription
        if settings?.TimeToLiveStatus == "ENABLED" || settings?.TimeToLiveStatus == "ENABLING" {
            guard settings?.AttributeName == configuration.timeToLiveAttribute else {
                throw IdempotencyStoreError(
                    "the DynamoDB table \(configuration.table) has time to live on \(settings?.AttributeName ?? "?"), "
                        + "not on \(configuration.timeToLiveAttribute): give that name as timeToLiveAttribute",
                    code: .invalidConfiguration
                )
            }
            return
        }
        struct UpdateTimeToLive: Encodable {
            struct Specification: Encodable {
                var Enabled: Bool
                var AttributeName: String
            }
            var TableName: String
            var TimeToLiveSpecification: Specification
        }
        let update = UpdateTimeToLive(
            TableName: configuration.table,
            TimeToLiveSpecification: .init(Enabled: true, AttributeName: configuration.timeToLiveAttribute)
        )
        switch try await client.call("UpdateTimeToLive", body: try encode(update), deadline: deadline()) {
        case .success: return
        case .failure(let error): throw rejection(error, "time to live of the table")
        }
    }

    /// The AWS CLI commands that make the table as ``migrate()`` does, for an administrator to review or run.
    public static func migrationCommands(
        table: String = DynamoDBStoreConfiguration.defaultTable,
        timeToLiveAttribute: String = "expiration"
    ) -> String {
        """
        aws dynamodb create-table --table-name \(table) --billing-mode PAY_PER_REQUEST \\
            --attribute-definitions AttributeName=id,AttributeType=S --key-schema AttributeName=id,KeyType=HASH
        aws dynamodb wait table-exists --table-name \(table)
        aws dynamodb update-time-to-live --table-name \(table) \\
            --time-to-live-specification Enabled=true,AttributeName=\(timeToLiveAttribute)

        """
    }
}

extension DynamoDBIdempotencyStore {
    /// Deletes the table (for tests, which make one table each).
    package func deleteTable() async throws(IdempotencyStoreError) {
        struct DeleteTable: Encodable { var TableName: String }
        switch try await client.call(
            "DeleteTable",
            body: try encode(DeleteTable(TableName: configuration.table)),
            deadline: deadline()
        ) {
        case .success: return
        case .failure(let error) where error.type == "ResourceNotFoundException": return
        case .failure(let error): throw rejection(error, "deletion of the table")
        }
    }
}
