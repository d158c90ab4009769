import BatchProcessingJSONSupport

/// Why the fast event reader rejected an event: where (byte offset, and the path of records and fields leading
/// there, filled in as the error passes up through the readers) and what was wrong.
struct JSONReadError: Error {
    enum Kind {
        /// The bytes are not JSON (RFC 8259): a syntax error, bad UTF-8, a duplicate key, nesting too deep.
        case syntax
        /// The JSON is valid but a field is missing, null or of the wrong type.
        case shape
    }

    enum PathPart {
        case key(String)
        case index(Int)
    }

    var kind: Kind
    /// The offset in the event's bytes (from 0) where the problem was found.
    var offset: Int
    /// What was wrong, as the end of a sentence ("is missing", "has the wrong type: expected a string, found a
    /// number", "expected ',' or '}' after a member").
    var reason: String
    /// The path from the event's root to the faulty value, outermost first.
    var path: [PathPart] = []
    /// An error of the detection rules, which already names the record and the field: reported as it says.
    var detection: DetectionFailure?
    /// The source detected before the error, when there was one.
    var source: BatchEventSource?

    /// The same error, one level further out.
    func at(_ part: PathPart) -> JSONReadError {
        var copy = self
        copy.path.insert(part, at: 0)
        return copy
    }

    func at(key: StaticString) -> JSONReadError { at(.key(key.description)) }
}

/// A JSON key as read: a view into the event's bytes, or, when the key had escapes, its decoded text.
struct JSONKey {
    let raw: UnsafeBufferPointer<UInt8>
    let decoded: String?

    @inline(__always)
    func matches(_ literal: StaticString) -> Bool {
        if let decoded { return decoded == literal.description }
        let count = literal.utf8CodeUnitCount
        guard raw.count == count else { return false }
        let expected = literal.utf8Start
        for index in 0..<count where raw[index] != expected[index] { return false }
        return true
    }

    var string: String { decoded ?? String(decoding: raw, as: UTF8.self) }

    /// Whether the key is `name`.
    func matches(_ name: String) -> Bool {
        if let decoded { return decoded == name }
        var name = name
        return name.withUTF8 { JSONScanner.equal($0, raw) }
    }
}

/// A pull reader over a JSON document's bytes (RFC 8259), for the event readers: they ask for the value they
/// expect, and the scanner checks the syntax as it goes, so that one pass reads and validates the whole event.
///
/// Strings are checked for control characters, escapes (`\u` surrogate pairs; a lone surrogate is rejected) and
/// UTF-8; numbers for their grammar; containers for their commas, colons and brackets, and for nesting deeper than
/// ``maxDepth``. Values an event reader does not want are skipped with the same checks, duplicate keys included.
struct JSONScanner {
    /// The deepest nesting of objects and arrays accepted, as Foundation's `JSONDecoder`.
    static let maxDepth = 512

    let bytes: UnsafeBufferPointer<UInt8>
    /// The array `bytes` points into, when there is one: strings read with ``readDeferredString()`` keep a
    /// reference to it instead of a copy of their text.
    let source: [UInt8]?
    /// Where the next byte to read is; moved only by the scanner's own reads (here and in its extensions).
    var offset: Int
    private var depth = 0

    /// A scanner positioned at `offset`, to read again a value checked before.
    init(_ bytes: UnsafeBufferPointer<UInt8>, at offset: Int) {
        self.bytes = bytes
        self.source = nil
        self.offset = offset
    }

    /// The keys of the objects being checked for duplicates (``beginKeyCheck()``), innermost object last.
    private var openKeys: [UnsafeBufferPointer<UInt8>] = []

    init(_ bytes: UnsafeBufferPointer<UInt8>, source: [UInt8]? = nil) {
        self.bytes = bytes
        self.source = source
        // A UTF-8 byte order mark is ignored, as RFC 8259 allows and Foundation does.
        offset = bytes.count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF ? 3 : 0
    }

    /// A place in the input to come back to: the offset and the nesting depth there.
    struct Mark {
        fileprivate let offset: Int
        fileprivate let depth: Int
        fileprivate let openKeys: Int
    }

    var mark: Mark { Mark(offset: offset, depth: depth, openKeys: openKeys.count) }

    /// Goes back to `mark`, as if nothing after it had been read (keys of objects left unfinished included).
    mutating func rewind(to mark: Mark) {
        offset = mark.offset
        depth = mark.depth
        if openKeys.count > mark.openKeys { openKeys.removeSubrange(mark.openKeys...) }
    }

    /// Whether two byte runs are equal, eight bytes at a time.
    @inline(__always)
    static func equal(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
        guard a.count == b.count else { return false }
        guard let left = a.baseAddress, let right = b.baseAddress else { return a.count == 0 }
        var index = 0
        while index &+ 8 <= a.count {
            let x = UnsafeRawPointer(left + index).loadUnaligned(as: UInt64.self)
            let y = UnsafeRawPointer(right + index).loadUnaligned(as: UInt64.self)
            if x != y { return false }
            index &+= 8
        }
        while index < a.count {
            if left[index] != right[index] { return false }
            index &+= 1
        }
        return true
    }

    // MARK: - Errors

    func syntaxError(_ reason: String, at position: Int? = nil) -> JSONReadError {
        JSONReadError(kind: .syntax, offset: position ?? offset, reason: reason)
    }

    func shapeError(_ reason: String, at position: Int? = nil) -> JSONReadError {
        JSONReadError(kind: .shape, offset: position ?? offset, reason: reason)
    }

    /// "has the wrong type: expected …, found …" for the value at the current position.
    func wrongType(expected: String) -> JSONReadError {
        if offset < bytes.count, !Self.startsValue(bytes[offset]) {
            return syntaxError("\(Self.describe(byte: bytes[offset])) does not start a JSON value")
        }
        return shapeError("has the wrong type: expected \(expected), found \(describeNext())")
    }

    static func startsValue(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "{"), UInt8(ascii: "["), UInt8(ascii: "t"), UInt8(ascii: "f"),
            UInt8(ascii: "n"), UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        default: false
        }
    }

    func describeNext() -> String {
        guard offset < bytes.count else { return "the end of the event" }
        switch bytes[offset] {
        case UInt8(ascii: "\""): return "a string"
        case UInt8(ascii: "{"): return "an object"
        case UInt8(ascii: "["): return "an array"
        case UInt8(ascii: "t"), UInt8(ascii: "f"): return "a boolean"
        case UInt8(ascii: "n"): return "null"
        default: return "a number"
        }
    }

    static func describe(byte: UInt8) -> String {
        if byte >= 0x21 && byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
        return "byte 0x" + String(byte, radix: 16, uppercase: true)
    }

    // MARK: - Structure

    /// Skips whitespace and returns the next byte without consuming it, or throws at the end of the input.
    @inline(__always)
    mutating func peek() throws(JSONReadError) -> UInt8 {
        while offset < bytes.count {
            let byte = bytes[offset]
            if byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 {
                offset &+= 1
            } else {
                return byte
            }
        }
        throw syntaxError("the event ends in the middle of a value")
    }

    /// After the root value: only whitespace may follow.
    mutating func expectEnd() throws(JSONReadError) {
        while offset < bytes.count {
            let byte = bytes[offset]
            guard byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 else {
                throw syntaxError("unexpected \(Self.describe(byte: byte)) after the end of the event's JSON value")
            }
            offset &+= 1
        }
    }

    /// Whether the next value is `null`; consumes it when it is.
    @inline(__always)
    mutating func takeNull() throws(JSONReadError) -> Bool {
        guard try peek() == UInt8(ascii: "n") else { return false }
        try literal("null")
        return true
    }

    mutating func enter() throws(JSONReadError) {
        depth &+= 1
        if depth > Self.maxDepth {
            throw syntaxError("the JSON nests deeper than \(Self.maxDepth) objects and arrays")
        }
    }

    /// Consumes `{`; the caller then loops on ``nextKey(first:)``. Throws a shape error when the value is of
    /// another type.
    mutating func beginObject() throws(JSONReadError) {
        guard try peek() == UInt8(ascii: "{") else { throw wrongType(expected: "an object") }
        try enter()
        offset &+= 1
    }

    /// The next member's key (with its `:` consumed), or `nil` at the object's `}`.
    mutating func nextKey(first: inout Bool) throws(JSONReadError) -> JSONKey? {
        var byte = try peek()
        if first {
            first = false
            if byte == UInt8(ascii: "}") {
                offset &+= 1
                depth &-= 1
                return nil
            }
        } else {
            if byte == UInt8(ascii: "}") {
                offset &+= 1
                depth &-= 1
                return nil
            }
            guard byte == UInt8(ascii: ",") else {
                throw syntaxError("expected ',' or '}' after an object member, found \(Self.describe(byte: byte))")
            }
            offset &+= 1
            byte = try peek()
        }
        guard byte == UInt8(ascii: "\"") else {
            if byte == UInt8(ascii: "}") {
                throw syntaxError("a ',' must be followed by another member; trailing commas are not JSON")
            }
            throw syntaxError("expected a member name in double quotes, found \(Self.describe(byte: byte))")
        }
        let key = try readKey()
        let colon = try peek()
        guard colon == UInt8(ascii: ":") else {
            throw syntaxError("expected ':' after the member name, found \(Self.describe(byte: colon))")
        }
        offset &+= 1
        return key
    }

    /// Consumes `[`; the caller then loops on ``nextElement(first:)``.
    mutating func beginArray() throws(JSONReadError) {
        guard try peek() == UInt8(ascii: "[") else { throw wrongType(expected: "an array") }
        try enter()
        offset &+= 1
    }

    /// Whether another element follows (positioned at it), or `false` at the array's `]`.
    mutating func nextElement(first: inout Bool) throws(JSONReadError) -> Bool {
        let byte = try peek()
        if byte == UInt8(ascii: "]") {
            offset &+= 1
            depth &-= 1
            return false
        }
        if first {
            first = false
            return true
        }
        guard byte == UInt8(ascii: ",") else {
            throw syntaxError("expected ',' or ']' after an array element, found \(Self.describe(byte: byte))")
        }
        offset &+= 1
        if try peek() == UInt8(ascii: "]") {
            throw syntaxError("a ',' must be followed by another element; trailing commas are not JSON")
        }
        return true
    }

    mutating func literal(_ word: StaticString) throws(JSONReadError) {
        let count = word.utf8CodeUnitCount
        let expected = word.utf8Start
        guard offset &+ count <= bytes.count else { throw syntaxError("expected '\(word)'") }
        for index in 0..<count where bytes[offset &+ index] != expected[index] {
            throw syntaxError("expected '\(word)'", at: offset &+ index)
        }
        offset &+= count
    }

    // MARK: - Scalars

    mutating func readBool() throws(JSONReadError) -> Bool {
        switch try peek() {
        case UInt8(ascii: "t"):
            try literal("true")
            return true
        case UInt8(ascii: "f"):
            try literal("false")
            return false
        default:
            throw wrongType(expected: "true or false")
        }
    }

    // MARK: - Skipping

    /// Skips one value of any type, checking its syntax (duplicate keys included).
    mutating func skipValue() throws(JSONReadError) {
        switch try peek() {
        case UInt8(ascii: "\""):
            _ = try skimString()
        case UInt8(ascii: "{"):
            try beginObject()
            var first = true
            var keys = beginKeyCheck()
            while true {
                let position = offset
                guard let key = try nextKey(first: &first) else { break }
                try check(key, &keys, at: position)
                try skipValue()
            }
            endKeyCheck(keys)
        case UInt8(ascii: "["):
            try beginArray()
            var first = true
            while try nextElement(first: &first) { try skipValue() }
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        case let byte where isNumberStart(byte):
            _ = try scanNumber()
        case let byte:
            throw syntaxError("\(Self.describe(byte: byte)) does not start a JSON value")
        }
    }

    /// The keys of one object whose keys are not known in advance, for ``check(_:_:at:)``: a key seen before in
    /// the object is an error. The keys are compared as the bytes the event holds, kept on a stack the scanner
    /// shares between objects, so that checking a small object allocates nothing.
    struct KeyCheck {
        fileprivate var base: Int
        /// Every key of the object so far as text, once one was written with escapes or the object has many.
        fileprivate var texts: Set<String>?
    }

    /// Objects with more keys than this are checked with a set rather than by comparing with each earlier key.
    private static let keysComparedOneByOne = 16

    mutating func beginKeyCheck() -> KeyCheck {
        KeyCheck(base: openKeys.count)
    }

    mutating func check(_ key: JSONKey, _ keys: inout KeyCheck, at position: Int) throws(JSONReadError) {
        if keys.texts == nil {
            if key.decoded == nil && openKeys.count &- keys.base < Self.keysComparedOneByOne {
                for earlier in openKeys[keys.base...] where Self.equal(earlier, key.raw) {
                    throw duplicate(key.string, at: position)
                }
                openKeys.append(key.raw)
                return
            }
            // A key with escapes, or many keys: from here on every key goes in a set, the earlier ones first.
            keys.texts = Set(openKeys[keys.base...].map { String(decoding: $0, as: UTF8.self) })
        }
        let text = key.string
        if keys.texts?.insert(text).inserted == false { throw duplicate(text, at: position) }
    }

    mutating func endKeyCheck(_ keys: KeyCheck) {
        if openKeys.count > keys.base { openKeys.removeSubrange(keys.base...) }
    }

    func duplicate(_ key: String, at position: Int? = nil) -> JSONReadError {
        syntaxError(
            "the key \(JSONText.quoted(key)) appears twice in one object; its meaning would be ambiguous",
            at: position
        )
    }
}
