import BatchProcessingJSONSupport

// Reading JSON objects member by member: what the readers of every source (`SQSEvent+Reading.swift`,
// `KinesisEvent+Reading.swift`, `DynamoDBEvent+Reading.swift`, `KafkaEvent+Reading.swift`) share. A reader names the
// members it takes with its model's `CodingKeys` (``ObjectFields``), so that it and the `Decodable` conformance read
// the same keys, and its switch over them is exhaustive: a member added to the model and forgotten by the reader
// does not compile.

/// The members a reader takes from one kind of JSON object: a model's `CodingKeys`, whose cases, in order, make the
/// key list.
protocol ObjectFields: CodingKey, CaseIterable where AllCases == [Self] {
    /// The keys as bytes, made once: `static let table = KeyTable<Self>()`.
    static var table: KeyTable<Self> { get }
}

/// The keys of an ``ObjectFields`` enum as bytes, in case order, for matching keys as the scanner reads them. Made
/// once per enum (a `static let`) and kept for the life of the process; never changed after it is made.
struct KeyTable<Field: ObjectFields>: @unchecked Sendable {
    private let keys: [UnsafeBufferPointer<UInt8>]
    private let fields: [Field]

    init() {
        fields = Field.allCases
        keys = fields.map { field in
            let bytes = Array(field.stringValue.utf8)
            let storage = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: bytes.count)
            _ = storage.initialize(from: bytes)
            return UnsafeBufferPointer(storage)
        }
    }

    /// The field `key` names and its position in the table, or `nil` for a key the reader does not take.
    @inline(__always)
    func field(_ key: JSONKey) -> (field: Field, position: Int)? {
        var position = 0
        while position < keys.count {
            if key.matches(keys[position]) { return (fields[position], position) }
            position &+= 1
        }
        return nil
    }
}

extension JSONKey {
    /// Whether the key is the text of `bytes`.
    @inline(__always)
    func matches(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        if let decoded { return decoded.utf8.elementsEqual(bytes) }
        return JSONScanner.equal(raw, bytes)
    }
}

/// Which known keys an object has shown, so that a second one is refused; unknown keys go through the scanner's
/// ``JSONScanner/KeyCheck``. Call ``finish(in:)`` when the object ends.
struct SeenKeys {
    private var bits: UInt32 = 0
    private var others: JSONScanner.KeyCheck

    init(in scanner: inout JSONScanner) {
        others = scanner.beginKeyCheck()
    }

    /// Notes the known key at `position` of the object's known keys (below 32); a second one is an error naming it.
    @inline(__always)
    mutating func insert(
        _ bit: Int,
        _ name: @autoclosure () -> String,
        at position: Int,
        in scanner: JSONScanner
    ) throws(JSONReadError) {
        let mask: UInt32 = 1 << UInt32(bit)
        if bits & mask != 0 { throw scanner.duplicate(name(), at: position) }
        bits |= mask
    }

    mutating func insertOther(_ key: JSONKey, at position: Int, in scanner: inout JSONScanner) throws(JSONReadError) {
        try scanner.check(key, &others, at: position)
    }

    func finish(in scanner: inout JSONScanner) {
        scanner.endKeyCheck(others)
    }
}

extension JSONScanner {
    /// Reads an object whose members of interest are `Field`'s: `read` gets each such member's field, the scanner at
    /// its value; other members are checked and skipped. A key twice is an error, and an error in a field's value
    /// names the field.
    @inline(__always)
    mutating func readFields<Field: ObjectFields>(
        _: Field.Type,
        _ read: (inout JSONScanner, Field) throws(JSONReadError) -> Void
    ) throws(JSONReadError) {
        try beginObject()
        var first = true
        var seen = SeenKeys(in: &self)
        let table = Field.table
        while true {
            let position = offset
            guard let key = try nextKey(first: &first) else {
                seen.finish(in: &self)
                return
            }
            guard let (field, bit) = table.field(key) else {
                try seen.insertOther(key, at: position, in: &self)
                try skipValue()
                continue
            }
            try seen.insert(bit, field.stringValue, at: position, in: self)
            do throws(JSONReadError) {
                try read(&self, field)
            } catch {
                throw error.at(.key(field.stringValue))
            }
        }
    }

    /// The value `read` makes of what is next: a multi-line read written in place.
    @inline(__always)
    mutating func value<T>(_ read: (inout JSONScanner) throws(JSONReadError) -> T) throws(JSONReadError) -> T {
        try read(&self)
    }

    /// Runs `read` on the value of member `key`, adding the key to the path of any error.
    @inline(__always)
    mutating func member<T>(
        _ key: StaticString,
        _ read: (inout JSONScanner) throws(JSONReadError) -> T
    ) throws(JSONReadError) -> T {
        do throws(JSONReadError) {
            return try read(&self)
        } catch {
            throw error.at(key: key)
        }
    }

    mutating func optionalString(_ key: StaticString) throws(JSONReadError) -> String? {
        do throws(JSONReadError) {
            return try readOptionalString()
        } catch {
            throw error.at(key: key)
        }
    }

    /// A required string: `null` is refused, as the reference decoder does.
    mutating func requiredString() throws(JSONReadError) -> String {
        if try peek() == UInt8(ascii: "n") {
            let position = offset
            _ = try takeNull()
            throw shapeError("is null: expected a string", at: position)
        }
        return try readString()
    }

    /// An object that must not be `null`, read by `read`.
    mutating func requiredObject<T>(_ read: (inout JSONScanner) throws(JSONReadError) -> T) throws(JSONReadError) -> T {
        if try peek() == UInt8(ascii: "n") { throw shapeError("is null: expected an object") }
        return try read(&self)
    }

    /// An object read by `read`, or `nil` for `null`.
    mutating func optionalObject<T>(
        _ read: (inout JSONScanner) throws(JSONReadError) -> T
    ) throws(JSONReadError) -> T? {
        try takeNull() ? nil : try read(&self)
    }

    mutating func optionalInt64() throws(JSONReadError) -> Int64? {
        try takeNull() ? nil : try readInt64()
    }

    mutating func optionalDouble() throws(JSONReadError) -> Double? {
        try takeNull() ? nil : try readDouble()
    }

    /// An array of strings, or `nil` for `null`.
    mutating func optionalStrings() throws(JSONReadError) -> [String]? {
        if try takeNull() { return nil }
        return try readElements { scanner throws(JSONReadError) in try scanner.requiredString() }
    }

    /// The elements of the array that is next, each read by `read`, which gives `nil` for one it only checked (and
    /// keeps nothing of); an error in an element names its index.
    @inline(__always)
    mutating func readElements<Element>(
        _ read: (inout JSONScanner) throws(JSONReadError) -> Element?
    ) throws(JSONReadError) -> [Element] {
        try beginArray()
        var elements: [Element] = []
        var index = 0
        var more = true
        while try nextElement(first: &more) {
            do throws(JSONReadError) {
                if let element = try read(&self) { elements.append(element) }
            } catch {
                throw error.at(.index(index))
            }
            index &+= 1
        }
        return elements
    }

    /// The error for a required member the object did not have, its end just read.
    func missing<Field: ObjectFields>(_ field: Field) -> JSONReadError {
        shapeError("is missing", at: offset &- 1).at(.key(field.stringValue))
    }

    /// The error for a required member the object did not have; `position` is the object's end.
    func missing(_ key: StaticString, at position: Int) -> JSONReadError {
        shapeError("is missing", at: position).at(key: key)
    }
}
