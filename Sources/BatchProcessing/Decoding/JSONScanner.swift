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
    /// An error of the detection rules, which already names the record and the field: reported as it is.
    var detection: BatchProcessingError?
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
    private(set) var offset: Int
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

    private static func startsValue(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "{"), UInt8(ascii: "["), UInt8(ascii: "t"), UInt8(ascii: "f"),
            UInt8(ascii: "n"), UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        default: false
        }
    }

    private func describeNext() -> String {
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

    private mutating func enter() throws(JSONReadError) {
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

    private mutating func literal(_ word: StaticString) throws(JSONReadError) {
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

    /// Reads a string value; a shape error when the value is of another type.
    @inline(__always)
    mutating func readString() throws(JSONReadError) -> String {
        guard try peek() == UInt8(ascii: "\"") else { throw wrongType(expected: "a string") }
        return try scanString()
    }

    /// Reads a string or `null` for a field that may go unread: text longer than a small string stays in the
    /// event (checked now, decoded when read).
    mutating func readDeferredString() throws(JSONReadError) -> DeferredString? {
        if try takeNull() { return nil }
        guard try peek() == UInt8(ascii: "\"") else { throw wrongType(expected: "a string") }
        let text = try skimString()
        if let source, text.range.count > 15 { return DeferredString(json: source, text: text) }
        return DeferredString(Self.decode(bytes, text))
    }

    /// Reads a string or `null`.
    @inline(__always)
    mutating func readOptionalString() throws(JSONReadError) -> String? {
        if try takeNull() { return nil }
        return try readString()
    }

    private mutating func readKey() throws(JSONReadError) -> JSONKey {
        let text = try skimString()
        if text.escaped {
            return JSONKey(raw: UnsafeBufferPointer(rebasing: bytes[0..<0]), decoded: Self.decode(bytes, text))
        }
        return JSONKey(raw: UnsafeBufferPointer(rebasing: bytes[text.range]), decoded: nil)
    }

    private static let ones: UInt64 = 0x0101_0101_0101_0101
    private static let highs: UInt64 = 0x8080_8080_8080_8080

    /// The index of the first quote, backslash or control character at or after `index` (`bytes.count` when
    /// there is none), and whether a byte above ASCII comes before it.
    @inline(__always)
    private func findSpecial(from index: Int) -> (index: Int, sawHigh: Bool) {
        var index = index
        let count = bytes.count
        var seen: UInt64 = 0
        guard let base = bytes.baseAddress else { return (count, false) }
        // Eight bytes at a time while none is a quote, a backslash or a control character. The zero-byte tests
        // can flag a byte wrongly only above (after) a byte that truly matches, so the lowest flag is exact.
        // (A byte above ASCII after the match may set `seen`: that only costs a UTF-8 check that was not needed.)
        while index &+ 8 <= count {
            let word = UInt64(littleEndian: UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self))
            let quotes = word ^ (Self.ones &* 0x22)
            let slashes = word ^ (Self.ones &* 0x5C)
            let special =
                (((quotes &- Self.ones) & ~quotes) | ((slashes &- Self.ones) & ~slashes)
                    | ((word &- (Self.ones &* 0x20)) & ~word)) & Self.highs
            seen |= word
            if special != 0 {
                return (index &+ special.trailingZeroBitCount &>> 3, seen & Self.highs != 0)
            }
            index &+= 8
        }
        while index < count {
            let byte = base[index]
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte < 0x20 { break }
            seen |= UInt64(byte)
            index &+= 1
        }
        return (index, seen & Self.highs != 0)
    }

    /// Where a string's text is in the input (between its quotes), and what decoding it takes.
    struct StringText {
        var range: Range<Int>
        /// Whether the text has escapes (else its bytes are the string's UTF-8).
        var escaped: Bool
    }

    /// Checks the string whose opening quote is at `offset` (escapes, control characters, UTF-8) and moves past
    /// it, without making a `String`.
    @inline(__always)
    mutating func skimString() throws(JSONReadError) -> StringText {
        let start = offset &+ 1
        var index = start
        var sawHigh = false
        var escaped = false
        while true {
            let (next, high) = findSpecial(from: index)
            sawHigh = sawHigh || high
            try checkSpecial(at: next)
            if bytes[next] == UInt8(ascii: "\"") {
                if sawHigh { try validateUTF8(start..<next) }
                offset = next &+ 1
                return StringText(range: start..<next, escaped: escaped)
            }
            escaped = true
            // The common escapes (\" \\ \/ \n \t \r \b \f) take two bytes and need no decoding to check.
            if next &+ 1 < bytes.count, Self.isShortEscape(bytes[next &+ 1]) {
                index = next &+ 2
                continue
            }
            switch Self.escape(in: bytes, at: next) {
            case .value(_, let after): index = after
            case .invalid(let reason, let position): throw syntaxError(reason, at: position)
            }
        }
    }

    @inline(__always)
    private static func isShortEscape(_ letter: UInt8) -> Bool {
        switch letter {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "n"), UInt8(ascii: "t"),
            UInt8(ascii: "r"), UInt8(ascii: "b"), UInt8(ascii: "f"):
            true
        default: false
        }
    }

    /// Throws unless `index` holds a quote or a backslash (what ``findSpecial(from:)`` stops at inside a string).
    @inline(__always)
    private func checkSpecial(at index: Int) throws(JSONReadError) {
        guard index < bytes.count else {
            throw syntaxError("the event ends inside a string that starts at byte \(offset)", at: index)
        }
        let byte = bytes[index]
        if byte < 0x20 {
            throw syntaxError(
                "a control character (\(Self.describe(byte: byte))) must be escaped inside a string",
                at: index
            )
        }
    }

    /// Reads the string whose opening quote is at `offset`.
    private mutating func scanString() throws(JSONReadError) -> String {
        Self.decode(bytes, try skimString())
    }

    /// The string of text that ``skimString()`` checked.
    static func decode(_ bytes: UnsafeBufferPointer<UInt8>, _ text: StringText) -> String {
        let raw = UnsafeBufferPointer(rebasing: bytes[text.range])
        guard text.escaped else { return String(decoding: raw, as: UTF8.self) }
        // Escapes only shrink: `\uXXXX` (6 bytes) makes at most 3, a surrogate pair (12) makes 4.
        return String(unsafeUninitializedCapacity: raw.count) { output in
            guard let target = output.baseAddress, let source = bytes.baseAddress else { return 0 }
            var written = 0
            var index = text.range.lowerBound
            let end = text.range.upperBound
            while index < end {
                var run = index
                while run < end && bytes[run] != UInt8(ascii: "\\") { run &+= 1 }
                if run > index {
                    let count = run &- index
                    UnsafeMutableRawPointer(target + written).copyMemory(from: source + index, byteCount: count)
                    written &+= count
                    index = run
                }
                guard index < end else { break }
                switch escape(in: bytes, at: index) {
                case .value(let scalar, let after):
                    for byte in scalar.utf8 {
                        output[written] = byte
                        written &+= 1
                    }
                    index = after
                case .invalid:
                    // Checked text has no invalid escape; should one appear, it ends the string rather than trap.
                    index = end
                }
            }
            return written
        }
    }

    enum Escape {
        case value(Unicode.Scalar, next: Int)
        case invalid(String, at: Int)
    }

    /// The escape at `index` (a backslash): the character it stands for and the index after it, or why it is not
    /// a JSON escape.
    @inline(__always)
    static func escape(in bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> Escape {
        guard index &+ 1 < bytes.count else { return .invalid("the event ends inside an escape", at: index) }
        let letter = bytes[index &+ 1]
        let simple: UInt8
        switch letter {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): simple = letter
        case UInt8(ascii: "b"): simple = 0x08
        case UInt8(ascii: "f"): simple = 0x0C
        case UInt8(ascii: "n"): simple = 0x0A
        case UInt8(ascii: "r"): simple = 0x0D
        case UInt8(ascii: "t"): simple = 0x09
        case UInt8(ascii: "u"):
            return unicodeEscape(in: bytes, at: index)
        default:
            return .invalid("'\\\(describe(byte: letter))' is not a JSON escape", at: index)
        }
        return .value(Unicode.Scalar(simple), next: index &+ 2)
    }

    private static func unicodeEscape(in bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> Escape {
        guard let unit = hexUnit(in: bytes, at: index &+ 2) else {
            return .invalid("a \\u escape needs four hexadecimal digits", at: index)
        }
        if (0xDC00...0xDFFF).contains(unit) {
            return .invalid(
                "\\u\(hex(unit)) is a low surrogate without the high surrogate that must come before it",
                at: index
            )
        }
        guard (0xD800...0xDBFF).contains(unit) else {
            // Not a surrogate: a scalar of its own.
            return Unicode.Scalar(unit).map { .value($0, next: index &+ 6) }
                ?? .invalid("\\u\(hex(unit)) is not a character", at: index)
        }
        let next = index &+ 6
        guard next &+ 1 < bytes.count, bytes[next] == UInt8(ascii: "\\"), bytes[next &+ 1] == UInt8(ascii: "u"),
            let low = hexUnit(in: bytes, at: next &+ 2)
        else {
            return .invalid(
                "\\u\(hex(unit)) is a high surrogate without the low surrogate (\\uDC00–\\uDFFF) that must follow it",
                at: index
            )
        }
        guard (0xDC00...0xDFFF).contains(low) else {
            return .invalid(
                "\\u\(hex(unit)) is a high surrogate followed by \\u\(hex(low)), not by a low surrogate "
                    + "(\\uDC00–\\uDFFF)",
                at: index
            )
        }
        let value = 0x10000 &+ ((UInt32(unit) &- 0xD800) << 10) &+ (UInt32(low) &- 0xDC00)
        return Unicode.Scalar(value).map { .value($0, next: next &+ 6) }
            ?? .invalid("\\u\(hex(unit))\\u\(hex(low)) is not a character", at: index)
    }

    private static func hex(_ unit: UInt16) -> String {
        let text = String(unit, radix: 16, uppercase: true)
        return String(repeating: "0", count: 4 - text.count) + text
    }

    /// The four hexadecimal digits at `index` as a UTF-16 unit, `nil` when they are not four hex digits.
    private static func hexUnit(in bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> UInt16? {
        guard index &+ 4 <= bytes.count else { return nil }
        var value: UInt16 = 0
        for position in index..<(index &+ 4) {
            let byte = bytes[position]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte &- UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte &- UInt8(ascii: "a") &+ 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte &- UInt8(ascii: "A") &+ 10
            default: return nil
            }
            value = value << 4 | UInt16(digit)
        }
        return value
    }

    /// Throws at the first byte of `range` that does not continue a valid UTF-8 sequence.
    private func validateUTF8(_ range: Range<Int>) throws(JSONReadError) {
        var index = range.lowerBound
        while index < range.upperBound {
            let lead = bytes[index]
            if lead < 0x80 {
                index &+= 1
                continue
            }
            let length: Int
            var low: UInt8 = 0x80
            var high: UInt8 = 0xBF
            switch lead {
            case 0xC2...0xDF: length = 2
            case 0xE0:
                length = 3
                low = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: length = 3
            case 0xED:
                length = 3
                high = 0x9F
            case 0xF0:
                length = 4
                low = 0x90
            case 0xF1...0xF3: length = 4
            case 0xF4:
                length = 4
                high = 0x8F
            default:
                throw syntaxError("invalid UTF-8: \(Self.describe(byte: lead)) cannot start a character", at: index)
            }
            guard index &+ length <= range.upperBound else {
                throw syntaxError("invalid UTF-8: a character is cut short", at: index)
            }
            for position in (index &+ 1)..<(index &+ length) {
                let byte = bytes[position]
                let (lower, upper) = position == index &+ 1 ? (low, high) : (UInt8(0x80), UInt8(0xBF))
                guard byte >= lower && byte <= upper else {
                    throw syntaxError(
                        "invalid UTF-8: \(Self.describe(byte: byte)) cannot continue a character",
                        at: position
                    )
                }
            }
            index &+= length
        }
    }

    // MARK: - Numbers

    /// Checks the number at `offset` against JSON's grammar and moves past it; returns its bytes and whether it
    /// is an integer (no fraction, no exponent).
    private mutating func scanNumber() throws(JSONReadError) -> (range: Range<Int>, integer: Bool) {
        let start = offset
        var index = offset
        let count = bytes.count
        if index < count && bytes[index] == UInt8(ascii: "-") { index &+= 1 }
        guard index < count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") else {
            throw syntaxError("a number needs a digit after '-'", at: index)
        }
        if bytes[index] == UInt8(ascii: "0") {
            index &+= 1
            if index < count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") {
                throw syntaxError("a number cannot start with 0 followed by more digits", at: index)
            }
        } else {
            while index < count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") { index &+= 1 }
        }
        var integer = true
        if index < count && bytes[index] == UInt8(ascii: ".") {
            integer = false
            index &+= 1
            guard index < count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") else {
                throw syntaxError("a number needs a digit after its decimal point", at: index)
            }
            while index < count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") { index &+= 1 }
        }
        if index < count && (bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E")) {
            integer = false
            index &+= 1
            if index < count && (bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-")) {
                index &+= 1
            }
            guard index < count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") else {
                throw syntaxError("a number needs a digit in its exponent", at: index)
            }
            while index < count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") { index &+= 1 }
        }
        offset = index
        return (start..<index, integer)
    }

    private func isNumberStart(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: "-") || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
    }

    /// Reads a number as a `Double`; one too large for a `Double` is an error, as in Foundation.
    mutating func readDouble() throws(JSONReadError) -> Double {
        guard isNumberStart(try peek()) else { throw wrongType(expected: "a number") }
        let start = offset
        let (range, _) = try scanNumber()
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self)
        guard let value = Double(text), value.isFinite else {
            throw shapeError("is out of range: \(text) does not fit a 64-bit floating-point number", at: start)
        }
        return value
    }

    /// Reads an integer. As Foundation, a number written with a fraction or exponent is accepted when its value is
    /// a whole number in range (`26.0`, `2.6e1`).
    mutating func readInt64() throws(JSONReadError) -> Int64 {
        guard isNumberStart(try peek()) else { throw wrongType(expected: "an integer") }
        let start = offset
        let (range, integer) = try scanNumber()
        if integer {
            var index = range.lowerBound
            let negative = bytes[index] == UInt8(ascii: "-")
            if negative { index &+= 1 }
            var value: Int64 = 0
            while index < range.upperBound {
                let digit = Int64(bytes[index] &- UInt8(ascii: "0"))
                let (shifted, overflowA) = value.multipliedReportingOverflow(by: 10)
                let (next, overflowB) =
                    negative ? shifted.subtractingReportingOverflow(digit) : shifted.addingReportingOverflow(digit)
                if overflowA || overflowB {
                    throw shapeError("is out of range for a 64-bit integer", at: start)
                }
                value = next
                index &+= 1
            }
            return value
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self)
        guard let double = Double(text), double.isFinite, double.rounded() == double,
            double >= -9_223_372_036_854_775_808.0, double < 9_223_372_036_854_775_808.0
        else {
            throw shapeError("has the wrong type: expected an integer, found \(text)", at: start)
        }
        return Int64(double)
    }

    mutating func readInt() throws(JSONReadError) -> Int {
        Int(try readInt64())
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
