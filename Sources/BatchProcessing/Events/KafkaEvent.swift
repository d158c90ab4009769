import BatchProcessingJSONSupport

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A batch of records that Lambda read from Amazon MSK (`eventSource` `aws:kafka`) or a self-managed Apache Kafka
/// cluster (`SelfManagedKafka`).
///
/// On the wire, `records` is an object whose keys name a topic-partition (`"<topic>-<partition>"`) and whose
/// values list that partition's records. ``partitions`` keeps that grouping in the order Lambda delivered it, and
/// ``records`` flattens it (partition order, then list order): that is the batch order for policies, concurrency
/// and the response.
///
/// Foundation's `JSONDecoder` does not keep the order of an object's keys, so a `KafkaEvent` decoded with it lists
/// partitions sorted by topic and partition number. ``init(jsonBytes:)`` (and the processor's raw API) keeps the
/// delivered order.
///
/// Only each record's `offset` is required (its topic and partition default to the ones its key names), and
/// `eventSource` when the raw API detects the source. Every other field may be absent or `null`.
public struct KafkaEvent: Codable, Sendable, Equatable {
    /// `aws:kafka` (Amazon MSK) or `SelfManagedKafka`.
    public var eventSource: String?
    /// The ARN of the MSK cluster (MSK only).
    public var eventSourceArn: String?
    /// The brokers, comma-separated.
    public var bootstrapServers: String?
    /// The records grouped by topic-partition, in delivered order.
    public var partitions: [TopicPartition]

    /// Creates an event.
    public init(
        eventSource: String? = BatchEventSource.kafka.rawValue,
        eventSourceArn: String? = nil,
        bootstrapServers: String? = nil,
        partitions: [TopicPartition]
    ) {
        self.eventSource = eventSource
        self.eventSourceArn = eventSourceArn
        self.bootstrapServers = bootstrapServers
        self.partitions = partitions
    }

    /// Decodes an event from its JSON bytes, keeping the delivered order of its partitions, with the package's
    /// one-pass reader (the fast path the processor's raw API uses).
    ///
    /// - Throws: ``BatchProcessingError`` (``BatchProcessingError/Code/malformedEvent``) naming the byte offset, the
    ///   topic-partition, the record and the field.
    public init(jsonBytes: [UInt8]) throws(BatchProcessingError) {
        guard case .kafka(let event) = try EventDecoding.readEvent(jsonBytes, source: .kafka) else {
            throw .malformedEvent("the event has no \"records\" object, which a Kafka event needs", field: "records")
        }
        self = event
    }

    /// The source the event names: ``BatchEventSource/selfManagedKafka`` for `SelfManagedKafka`, else
    /// ``BatchEventSource/kafka``.
    public var source: BatchEventSource {
        eventSource == BatchEventSource.selfManagedKafka.rawValue ? .selfManagedKafka : .kafka
    }

    /// Every record, partition by partition in delivered order, each partition's records in list order; each
    /// record knows the event's source.
    public var records: [Record] { records(source: source) }

    /// Every record, as ``records``, each with `source` as its source.
    func records(source: BatchEventSource) -> [Record] {
        var all: [Record] = []
        all.reserveCapacity(partitions.reduce(0) { $0 + $1.records.count })
        for partition in partitions {
            for var record in partition.records {
                record.source = source
                all.append(record)
            }
        }
        return all
    }

    /// Every record wrapped for the raw API, each with `source` as its source: one copy of each record.
    func wrappedRecords(source: BatchEventSource) -> [AnyBatchRecord] {
        var all: [AnyBatchRecord] = []
        all.reserveCapacity(partitions.reduce(0) { $0 + $1.records.count })
        for partition in partitions {
            for var record in partition.records {
                record.source = source
                all.append(.kafka(record))
            }
        }
        return all
    }

    enum CodingKeys: String, CodingKey {
        case eventSource, eventSourceArn, bootstrapServers, records
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        eventSource = try container.decodeIfPresent(String.self, forKey: .eventSource)
        eventSourceArn = try container.decodeIfPresent(String.self, forKey: .eventSourceArn)
        bootstrapServers = try container.decodeIfPresent(String.self, forKey: .bootstrapServers)
        guard container.contains(.records), try !container.decodeNil(forKey: .records) else {
            throw DecodingError.keyNotFound(
                CodingKeys.records,
                .init(codingPath: container.codingPath, debugDescription: "a Kafka event needs a \"records\" object")
            )
        }
        let records = try container.nestedContainer(keyedBy: NamedCodingKey.self, forKey: .records)
        var partitions: [TopicPartition] = []
        for key in records.allKeys {
            let list = try records.decode([Record].self, forKey: key)
            let partition = try TopicPartition(
                key: key.stringValue,
                records: list,
                codingPath: records.codingPath + [key]
            )
            partitions.append(partition)
        }
        // The decoder does not say in which order the keys came; sort so that the order is at least stable.
        self.partitions = partitions.sorted { ($0.topic, $0.partition) < ($1.topic, $1.partition) }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(eventSource, forKey: .eventSource)
        try container.encodeIfPresent(eventSourceArn, forKey: .eventSourceArn)
        try container.encodeIfPresent(bootstrapServers, forKey: .bootstrapServers)
        var records = container.nestedContainer(keyedBy: NamedCodingKey.self, forKey: .records)
        for partition in partitions {
            try records.encode(partition.records, forKey: NamedCodingKey(partition.key))
        }
    }

    /// One topic-partition's records, as the `records` object groups them.
    public struct TopicPartition: Sendable, Equatable {
        /// The key in the event: `"<topic>-<partition>"`.
        public var key: String
        /// The topic the key names (everything before the last `-`).
        public var topic: String
        /// The partition number the key names (after the last `-`).
        public var partition: Int
        /// The partition's records, in offset order as delivered.
        public var records: [Record]

        /// Creates a topic-partition; each record without a topic or partition of its own gets this one's.
        ///
        /// - Throws: `DecodingError` when the key is not `"<topic>-<partition>"`, or a record names another
        ///   topic or partition than the key.
        public init(key: String, records: [Record]) throws {
            try self.init(key: key, records: records, codingPath: [])
        }

        /// Creates the topic-partition of `topic` and `partition`.
        public init(topic: String, partition: Int, records: [Record]) {
            var records = records
            Self.fillIn(&records, topic: topic, partition: partition)
            self.init(key: "\(topic)-\(partition)", topic: topic, partition: partition, filledIn: records)
        }

        /// A topic-partition whose records already name its topic and partition.
        init(key: String, topic: String, partition: Int, filledIn records: [Record]) {
            self.key = key
            self.topic = topic
            self.partition = partition
            self.records = records
        }

        /// Gives each record without a topic or partition of its own this one's, in place.
        static func fillIn(_ records: inout [Record], topic: String, partition: Int) {
            for index in records.indices {
                if records[index].topic == nil { records[index].topic = topic }
                if records[index].partition == nil { records[index].partition = partition }
            }
        }

        init(key: String, records: [Record], codingPath: [any CodingKey]) throws {
            switch Self.check(key: key, records: records) {
            case .valid(let topic, let number):
                self.init(topic: topic, partition: number, records: records)
                self.key = key
            case .badKey(let message):
                throw DecodingError.dataCorrupted(.init(codingPath: codingPath, debugDescription: message))
            case .badRecord(let index, let field, let message):
                throw DecodingError.dataCorrupted(
                    .init(codingPath: codingPath + [IndexKey(index), NamedCodingKey(field)], debugDescription: message)
                )
            }
        }

        /// What a partition's key and records say: its topic and number, or what is wrong.
        enum Check {
            case valid(topic: String, partition: Int)
            case badKey(String)
            case badRecord(index: Int, field: String, message: String)
        }

        static func check(key: String, records: [Record]) -> Check {
            guard let dash = key.lastIndex(of: "-"), let number = Int(key[key.index(after: dash)...]), number >= 0,
                dash != key.startIndex
            else {
                return .badKey(
                    "the key \(JSONText.quoted(key)) does not name a topic-partition; expected \"<topic>-<partition>\""
                )
            }
            let topic = String(key[..<dash])
            for (index, record) in records.enumerated() {
                if let recordTopic = record.topic, recordTopic != topic {
                    return .badRecord(
                        index: index,
                        field: "topic",
                        message:
                            "the record's topic \(JSONText.quoted(recordTopic)) is not the topic of its key \(JSONText.quoted(key))"
                    )
                }
                if let recordPartition = record.partition, recordPartition != number {
                    return .badRecord(
                        index: index,
                        field: "partition",
                        message:
                            "the record's partition \(recordPartition) is not the partition of its key \(JSONText.quoted(key))"
                    )
                }
            }
            return .valid(topic: topic, partition: number)
        }
    }

    struct IndexKey: CodingKey {
        var intValue: Int?
        var stringValue: String { "Index \(intValue ?? 0)" }
        init(_ index: Int) { intValue = index }
        init?(stringValue: String) { nil }
        init(intValue: Int) { self.intValue = intValue }
    }

    /// One Kafka record as Lambda delivers it.
    ///
    /// The key and value are kept as the base64 text of the event and decoded only when asked for
    /// (``keyBytes``, ``valueBytes``, ``decodeValue(as:)``), so a record with bad base64 fails alone.
    public struct Record: Codable, Sendable, Equatable {
        /// The record's topic; the topic-partition key's when absent.
        public var topic: String?
        /// The record's partition; the topic-partition key's when absent.
        public var partition: Int?
        /// The record's offset in its partition. Required: with the topic-partition it identifies the record.
        public var offset: Int64
        /// When the record was produced or appended, in milliseconds since 1970.
        public var timestamp: Int64?
        /// `CREATE_TIME` or `LOG_APPEND_TIME`.
        public var timestampType: String?
        /// The record's key as base64 text; `nil` when it has none.
        public var base64Key: String? {
            get { keyText.string }
            set { keyText = newValue.map(DeferredString.init) }
        }
        /// The record's value as base64 text; `nil` for a tombstone (a deletion in a compacted topic).
        public var base64Value: String? {
            get { valueText.string }
            set { valueText = newValue.map(DeferredString.init) }
        }
        /// `key` and `value` as read from the event, decoded when asked for.
        var keyText: DeferredString?
        var valueText: DeferredString?
        /// The headers in order, as the event lists them. Read from an event, they stay in its bytes (checked) until
        /// first read, and are built on each read.
        public var headers: [Header]? {
            get { headersStorage?.value }
            set { headersStorage = newValue.map(Deferred<KafkaHeadersReading>.init) }
        }
        var headersStorage: Deferred<KafkaHeadersReading>?
        /// The schema registry's description of the key, when one is used.
        public var keySchemaMetadata: SchemaMetadata?
        /// The schema registry's description of the value, when one is used.
        public var valueSchemaMetadata: SchemaMetadata?
        /// The source of the event this record came in (not part of the record's JSON).
        public var source: BatchEventSource = .kafka

        /// Creates a record; fields left `nil` are absent from the JSON.
        public init(
            topic: String? = nil,
            partition: Int? = nil,
            offset: Int64,
            timestamp: Int64? = nil,
            timestampType: String? = nil,
            key: [UInt8]? = nil,
            value: [UInt8]? = nil,
            headers: [Header]? = nil,
            keySchemaMetadata: SchemaMetadata? = nil,
            valueSchemaMetadata: SchemaMetadata? = nil
        ) {
            self.topic = topic
            self.partition = partition
            self.offset = offset
            self.timestamp = timestamp
            self.timestampType = timestampType
            self.base64Key = key.map { Base64.encode($0) }
            self.base64Value = value.map { Base64.encode($0) }
            self.headers = headers
            self.keySchemaMetadata = keySchemaMetadata
            self.valueSchemaMetadata = valueSchemaMetadata
        }

        /// The members of a record, the offset first (the event reader matches keys in this order).
        enum CodingKeys: String, CodingKey, CaseIterable {
            case offset, topic, partition, timestamp, timestampType
            case base64Key = "key"
            case base64Value = "value"
            case headers, keySchemaMetadata, valueSchemaMetadata
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            self.init(
                topic: try container.decodeIfPresent(String.self, forKey: .topic),
                partition: try container.decodeIfPresent(Int.self, forKey: .partition),
                offset: try container.decode(Int64.self, forKey: .offset),
                timestamp: try container.decodeIfPresent(Int64.self, forKey: .timestamp),
                timestampType: try container.decodeIfPresent(String.self, forKey: .timestampType),
                headers: try container.decodeIfPresent([Header].self, forKey: .headers),
                keySchemaMetadata: try container.decodeIfPresent(SchemaMetadata.self, forKey: .keySchemaMetadata),
                valueSchemaMetadata: try container.decodeIfPresent(SchemaMetadata.self, forKey: .valueSchemaMetadata)
            )
            base64Key = try container.decodeIfPresent(String.self, forKey: .base64Key)
            base64Value = try container.decodeIfPresent(String.self, forKey: .base64Value)
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encodeIfPresent(topic, forKey: .topic)
            try container.encodeIfPresent(partition, forKey: .partition)
            try container.encode(offset, forKey: .offset)
            try container.encodeIfPresent(timestamp, forKey: .timestamp)
            try container.encodeIfPresent(timestampType, forKey: .timestampType)
            try container.encodeIfPresent(base64Key, forKey: .base64Key)
            try container.encodeIfPresent(base64Value, forKey: .base64Value)
            try container.encodeIfPresent(headers, forKey: .headers)
            try container.encodeIfPresent(keySchemaMetadata, forKey: .keySchemaMetadata)
            try container.encodeIfPresent(valueSchemaMetadata, forKey: .valueSchemaMetadata)
        }

        /// The topic-partition as Lambda names it: `"<topic>-<partition>"`.
        public var topicPartition: String { "\(topic ?? "")-\(partition.map(String.init) ?? "")" }

        /// True for a tombstone: a record without a value.
        public var isTombstone: Bool { valueText == nil }

        /// The key's bytes; `nil` when the record has none.
        ///
        /// - Throws: ``RecordPayloadError`` when the key is not valid base64.
        public var keyBytes: [UInt8]? {
            get throws(RecordPayloadError) { try Self.bytes(base64Key, field: "key") }
        }

        /// The key as UTF-8 text (invalid sequences become U+FFFD); `nil` when the record has none.
        public var keyString: String? {
            get throws(RecordPayloadError) { try keyBytes.map { String(decoding: $0, as: UTF8.self) } }
        }

        /// The value's bytes; `nil` for a tombstone.
        ///
        /// - Throws: ``RecordPayloadError`` when the value is not valid base64.
        public var valueBytes: [UInt8]? {
            get throws(RecordPayloadError) { try Self.bytes(base64Value, field: "value") }
        }

        private static func bytes(_ base64: String?, field: String) throws(RecordPayloadError) -> [UInt8]? {
            guard let base64 else { return nil }
            return try RecordPayloadError.decodeBase64(base64, field: field)
        }

        /// The value as UTF-8 text (invalid sequences become U+FFFD); `nil` for a tombstone.
        public var valueString: String? {
            get throws(RecordPayloadError) { try valueBytes.map { String(decoding: $0, as: UTF8.self) } }
        }

        /// The value decoded as JSON into `type`.
        ///
        /// - Throws: ``RecordPayloadError`` for a tombstone or a value that is not valid base64, or the decoder's
        ///   error when the value is not JSON for `type`; inside a handler either fails this record only.
        public func decodeValue<T: Decodable>(as type: T.Type) throws -> T {
            guard let bytes = try valueBytes else {
                throw RecordPayloadError(.missingValue, field: "value", message: "is null: the record is a tombstone")
            }
            return try JSONDecoder().decode(type, from: Data(bytes))
        }

        /// The headers as bytes by name; when a name repeats, the last value wins (``headers`` keeps them all).
        ///
        /// - Throws: ``RecordPayloadError`` when a header holds a number that is not a byte.
        public var headerBytes: [String: [UInt8]] {
            get throws(RecordPayloadError) {
                var result: [String: [UInt8]] = [:]
                for header in headers ?? [] { result[header.name] = try header.bytes }
                return result
            }
        }

        /// The headers as UTF-8 text by name (invalid sequences become U+FFFD); the last value of a repeated name
        /// wins.
        public var headerStrings: [String: String] {
            get throws(RecordPayloadError) { try headerBytes.mapValues { String(decoding: $0, as: UTF8.self) } }
        }
    }
}
