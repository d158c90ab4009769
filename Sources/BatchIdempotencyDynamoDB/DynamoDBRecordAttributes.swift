import BatchIdempotency

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One DynamoDB attribute value of the kinds the store writes: a string or a number.
enum DynamoDBValue: Codable, Sendable, Hashable {
    case string(String)
    case number(String)

    init(_ number: Int64) { self = .number(String(number)) }

    var text: String? {
        if case .string(let value) = self { return value }
        return nil
    }
    var integer: Int64? {
        if case .number(let value) = self { return Int64(value) }
        return nil
    }

    private enum Kind: String, CodingKey {
        case S
        case N
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Kind.self)
        if let value = try container.decodeIfPresent(String.self, forKey: .S) {
            self = .string(value)
        } else if let value = try container.decodeIfPresent(String.self, forKey: .N) {
            self = .number(value)
        } else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "an attribute value that is neither S nor N")
            )
        }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Kind.self)
        switch self {
        case .string(let value): try container.encode(value, forKey: .S)
        case .number(let value): try container.encode(value, forKey: .N)
        }
    }
}

/// An item as DynamoDB's JSON writes it. Attributes of other kinds than S and N (which the store never writes) are
/// skipped when read.
struct DynamoDBItem: Codable, Sendable {
    var attributes: [String: DynamoDBValue]

    init(_ attributes: [String: DynamoDBValue]) { self.attributes = attributes }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: AnyKey.self)
        var attributes: [String: DynamoDBValue] = [:]
        for key in container.allKeys {
            if let value = try? container.decode(DynamoDBValue.self, forKey: key) {
                attributes[key.stringValue] = value
            }
        }
        self.attributes = attributes
    }

    func encode(to encoder: any Encoder) throws {
        try attributes.encode(to: encoder)
    }

    struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}

/// How a record is kept in an item: the key (`id`, the table's partition key), `status` (`in_progress` or
/// `completed`), `token`, `payload_hash` when validated, `in_progress_until`, `expires_at` and `live_until` in
/// milliseconds since 1970 (`live_until` is the first while in progress, the second once completed: a claim may
/// replace the record once it is past), and the time-to-live attribute in seconds, for DynamoDB to delete the item
/// some time after it no longer counts.
enum DynamoDBRecordAttributes {
    static let key = "id"
    static let status = "status"
    static let token = "token"
    static let payloadHash = "payload_hash"
    static let inProgressUntil = "in_progress_until"
    static let expiresAt = "expires_at"
    static let liveUntil = "live_until"
    static let names: Set<String> = [key, status, token, payloadHash, inProgressUntil, expiresAt, liveUntil]

    static let inProgress = "in_progress"
    static let completed = "completed"

    /// The time-to-live value of a record that counts until `liveUntil`: the next whole second after it.
    static func timeToLive(liveUntil: Int64) -> Int64 {
        liveUntil / 1000 + 1
    }

    /// The record an item holds; throws a `damaged` error naming the key when the item is not one of the store's.
    static func record(_ item: DynamoDBItem, table: String) throws(IdempotencyStoreError) -> IdempotencyRecord {
        let attributes = item.attributes
        let keyText = attributes[key]?.text ?? "?"
        guard let recordKey = IdempotencyKey(hex: keyText),
            let statusText = attributes[status]?.text,
            let token = attributes[token]?.text,
            let state: IdempotencyRecord.Status =
                statusText == inProgress ? .inProgress : statusText == completed ? .completed : nil
        else {
            throw IdempotencyStoreError(
                "the item \(keyText) of DynamoDB table \(table) is not an idempotency record (it needs id, status "
                    + "in_progress or completed, and token)",
                code: .damaged
            )
        }
        return IdempotencyRecord(
            key: recordKey.hex,
            status: state,
            token: token,
            expiresAt: attributes[expiresAt]?.integer,
            inProgressUntil: attributes[inProgressUntil]?.integer,
            payloadHash: attributes[payloadHash]?.text
        )
    }
}
