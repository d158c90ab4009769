/// Decodes a DynamoDB image (`NewImage`, `OldImage`, `Keys`) into your own `Decodable` type.
///
/// `N` values decode into any integer or floating-point type, or into `String` to keep every digit; `B` values
/// decode into `[UInt8]`; sets and lists decode into arrays; `M` into nested types or dictionaries; `NULL` into
/// `nil`. A value that does not fit the type throws a `DecodingError` whose coding path names the attribute.
///
/// ```swift
/// struct Order: Decodable { var id: Int; var status: String }
/// let order = try DynamoDBImageDecoder().decode(Order.self, from: record.dynamodb.newImage ?? [:])
/// ```
public struct DynamoDBImageDecoder: Sendable {
    /// Creates a decoder.
    public init() {}

    /// Decodes `type` from an image (a map of attribute names to values).
    public func decode<T: Decodable>(
        _ type: T.Type,
        from image: [String: DynamoDBEvent.AttributeValue]
    ) throws -> T {
        try decode(type, from: .map(image))
    }

    /// Decodes `type` from one attribute value.
    public func decode<T: Decodable>(_ type: T.Type, from value: DynamoDBEvent.AttributeValue) throws -> T {
        try AttributeValueDecoder(value: value, codingPath: []).decodeValue(type)
    }
}

extension DynamoDBEvent.StreamRecord {
    /// The new image decoded as `type`, or `nil` when the record has no new image (a removal, or a stream
    /// view without it).
    public func decodeNewImage<T: Decodable>(as type: T.Type) throws -> T? {
        try newImage.map { try DynamoDBImageDecoder().decode(type, from: $0) }
    }

    /// The old image decoded as `type`, or `nil` when the record has no old image.
    public func decodeOldImage<T: Decodable>(as type: T.Type) throws -> T? {
        try oldImage.map { try DynamoDBImageDecoder().decode(type, from: $0) }
    }
}

private struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int?
    init(stringValue: String) { self.stringValue = stringValue }
    init(intValue: Int) {
        self.stringValue = "Index \(intValue)"
        self.intValue = intValue
    }
}

private struct AttributeValueDecoder: Decoder {
    typealias Value = DynamoDBEvent.AttributeValue
    let value: Value
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .map(let map) = value else {
            throw mismatch([String: Value].self, "a map (M)")
        }
        return KeyedDecodingContainer(KeyedContainer<Key>(map: map, codingPath: codingPath))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        let elements: [Value]
        switch value {
        case .list(let list): elements = list
        case .stringSet(let set): elements = set.map(Value.string)
        case .numberSet(let set): elements = set.map(Value.number)
        case .binarySet(let set): elements = set.map(Value.binary)
        default: throw mismatch([Value].self, "a list (L) or a set (SS, NS, BS)")
        }
        return UnkeyedContainer(elements: elements, codingPath: codingPath)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        SingleValueContainer(decoder: self)
    }

    func mismatch(_ type: Any.Type, _ expected: String) -> DecodingError {
        DecodingError.typeMismatch(
            type,
            .init(codingPath: codingPath, debugDescription: "expected \(expected), found \(value.typeName)")
        )
    }

    func decodeValue<T: Decodable>(_ type: T.Type) throws -> T {
        if type == [UInt8].self, case .binary(let bytes) = value, let bytes = bytes as? T {
            return bytes
        }
        return try T(from: self)
    }

    func decodeNumber<T: LosslessStringConvertible>(_ type: T.Type) throws -> T {
        guard case .number(let text) = value else { throw mismatch(type, "a number (N)") }
        guard let number = T(text) else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: codingPath, debugDescription: "number \(text) does not fit in \(type)")
            )
        }
        return number
    }
}

private struct KeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let map: [String: DynamoDBEvent.AttributeValue]
    let codingPath: [any CodingKey]
    var allKeys: [Key] { map.keys.compactMap { Key(stringValue: $0) } }

    func contains(_ key: Key) -> Bool { map[key.stringValue] != nil }

    private func child(_ key: Key) throws -> AttributeValueDecoder {
        guard let value = map[key.stringValue] else {
            throw DecodingError.keyNotFound(
                key,
                .init(codingPath: codingPath, debugDescription: "no attribute named '\(key.stringValue)'")
            )
        }
        return AttributeValueDecoder(value: value, codingPath: codingPath + [key])
    }

    func decodeNil(forKey key: Key) throws -> Bool {
        guard let value = map[key.stringValue] else { return true }
        return value == .null
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try child(key).decodeValue(type)
    }

    func nestedContainer<NestedKey: CodingKey>(
        keyedBy type: NestedKey.Type,
        forKey key: Key
    ) throws -> KeyedDecodingContainer<NestedKey> {
        try child(key).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try child(key).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder {
        AttributeValueDecoder(value: .map(map), codingPath: codingPath)
    }

    func superDecoder(forKey key: Key) throws -> any Decoder { try child(key) }
}

private struct UnkeyedContainer: UnkeyedDecodingContainer {
    let elements: [DynamoDBEvent.AttributeValue]
    let codingPath: [any CodingKey]
    var currentIndex = 0
    var count: Int? { elements.count }
    var isAtEnd: Bool { currentIndex >= elements.count }

    init(elements: [DynamoDBEvent.AttributeValue], codingPath: [any CodingKey]) {
        self.elements = elements
        self.codingPath = codingPath
    }

    private mutating func next() throws -> AttributeValueDecoder {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(
                Any.self,
                .init(codingPath: codingPath, debugDescription: "the list has only \(elements.count) elements")
            )
        }
        defer { currentIndex += 1 }
        return AttributeValueDecoder(
            value: elements[currentIndex],
            codingPath: codingPath + [AnyKey(intValue: currentIndex)]
        )
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd, elements[currentIndex] == .null else { return false }
        currentIndex += 1
        return true
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try next().decodeValue(type)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy type: NestedKey.Type
    ) throws -> KeyedDecodingContainer<NestedKey> {
        try next().container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try next().unkeyedContainer()
    }

    mutating func superDecoder() throws -> any Decoder { try next() }
}

private struct SingleValueContainer: SingleValueDecodingContainer {
    let decoder: AttributeValueDecoder
    var codingPath: [any CodingKey] { decoder.codingPath }

    func decodeNil() -> Bool { decoder.value == .null }

    func decode(_ type: Bool.Type) throws -> Bool {
        guard case .bool(let value) = decoder.value else { throw decoder.mismatch(type, "a boolean (BOOL)") }
        return value
    }

    func decode(_ type: String.Type) throws -> String {
        switch decoder.value {
        case .string(let value), .number(let value): return value
        default: throw decoder.mismatch(type, "a string (S) or a number (N)")
        }
    }

    func decode(_ type: Double.Type) throws -> Double { try decoder.decodeNumber(type) }
    func decode(_ type: Float.Type) throws -> Float { try decoder.decodeNumber(type) }
    func decode(_ type: Int.Type) throws -> Int { try decoder.decodeNumber(type) }
    func decode(_ type: Int8.Type) throws -> Int8 { try decoder.decodeNumber(type) }
    func decode(_ type: Int16.Type) throws -> Int16 { try decoder.decodeNumber(type) }
    func decode(_ type: Int32.Type) throws -> Int32 { try decoder.decodeNumber(type) }
    func decode(_ type: Int64.Type) throws -> Int64 { try decoder.decodeNumber(type) }
    func decode(_ type: UInt.Type) throws -> UInt { try decoder.decodeNumber(type) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try decoder.decodeNumber(type) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try decoder.decodeNumber(type) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try decoder.decodeNumber(type) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try decoder.decodeNumber(type) }

    func decode<T: Decodable>(_ type: T.Type) throws -> T { try decoder.decodeValue(type) }
}

extension DynamoDBEvent.AttributeValue {
    /// The type's name as DynamoDB writes it, for error messages.
    var typeName: String {
        switch self {
        case .string: "S"
        case .number: "N"
        case .binary: "B"
        case .stringSet: "SS"
        case .numberSet: "NS"
        case .binarySet: "BS"
        case .map: "M"
        case .list: "L"
        case .null: "NULL"
        case .bool: "BOOL"
        }
    }
}
