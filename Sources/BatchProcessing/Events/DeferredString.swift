/// A string field of an event kept as its place in the event's JSON until someone reads it, so that a body the
/// handler never reads costs no copy and no allocation. The text was checked when the event was read, so turning
/// it into a `String` cannot fail. Equal when the strings are.
struct DeferredString: Sendable, Equatable {
    private enum Storage: Sendable {
        case string(String)
        /// The event's bytes (shared by every record, not copied) and where the text is in them.
        case json([UInt8], JSONScanner.StringText)
    }

    private let storage: Storage

    init(_ string: String) {
        storage = .string(string)
    }

    init(json: [UInt8], text: JSONScanner.StringText) {
        storage = .json(json, text)
    }

    var string: String {
        switch storage {
        case .string(let string): string
        case .json(let bytes, let text): bytes.withUnsafeBufferPointer { JSONScanner.decode($0, text) }
        }
    }

    static func == (lhs: DeferredString, rhs: DeferredString) -> Bool { lhs.string == rhs.string }
}

extension Optional where Wrapped == DeferredString {
    /// The string, or `nil`.
    var string: String? { self?.string }
}

/// How a value kept in the event's bytes is checked when the event is read and built when someone asks for it.
protocol DeferredReading {
    associatedtype Value: Sendable & Equatable
    /// Checks the value at the scanner by the rules ``build(_:)`` reads it with, making nothing.
    static func check(_ scanner: inout JSONScanner) throws(JSONReadError)
    static func build(_ scanner: inout JSONScanner) throws(JSONReadError) -> Value
    /// What the value reads as should building text that was checked fail all the same (rather than trap).
    static var fallback: Value { get }
}

/// A value of an event (a DynamoDB image or key, Kafka headers) kept as its place in the event's JSON until someone
/// reads it; built on each read. The text was checked when the event was read, so building it cannot fail. Equal
/// when the values are.
struct Deferred<Reading: DeferredReading>: Sendable, Equatable {
    private enum Storage: Sendable {
        case value(Reading.Value)
        /// The event's bytes (shared by every record, not copied) and where the value is in them.
        case json([UInt8], Range<Int>)
    }

    private let storage: Storage

    init(_ value: Reading.Value) {
        storage = .value(value)
    }

    init(json: [UInt8], range: Range<Int>) {
        storage = .json(json, range)
    }

    var value: Reading.Value {
        switch storage {
        case .value(let value): return value
        case .json(let bytes, let range):
            return bytes.withUnsafeBufferPointer { buffer in
                var scanner = JSONScanner(UnsafeBufferPointer(rebasing: buffer[range]))
                return (try? Reading.build(&scanner)) ?? Reading.fallback
            }
        }
    }

    static func == (lhs: Deferred, rhs: Deferred) -> Bool { lhs.value == rhs.value }
}

extension JSONScanner {
    /// The value next, checked and kept in the event's bytes when the scanner has them (built now otherwise);
    /// `nil` for `null`.
    mutating func readDeferred<Reading: DeferredReading>(
        _ reading: Reading.Type
    ) throws(JSONReadError) -> Deferred<Reading>? {
        if try takeNull() { return nil }
        guard let source else { return Deferred(try Reading.build(&self)) }
        let start = offset
        try Reading.check(&self)
        return Deferred(json: source, range: start..<offset)
    }
}
