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
    private(set) var offset: Int
    private var depth = 0
    private var scratch: [UInt8] = []

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
        // A UTF-8 byte order mark is ignored, as RFC 8259 allows and Foundation does.
        offset = bytes.count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF ? 3 : 0
    }

    /// A place in the input to come back to: the offset and the nesting depth there.
    struct Mark {
        fileprivate let offset: Int
        fileprivate let depth: Int
    }

    var mark: Mark { Mark(offset: offset, depth: depth) }

    /// Goes back to `mark`, as if nothing after it had been read.
    mutating func rewind(to mark: Mark) {
        offset = mark.offset
        depth = mark.depth
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

    /// Reads a string or `null`.
    @inline(__always)
    mutating func readOptionalString() throws(JSONReadError) -> String? {
        if try takeNull() { return nil }
        return try readString()
    }

    private mutating func readKey() throws(JSONReadError) -> JSONKey {
        let start = offset &+ 1
        let end = try scanStringEnd()
        if end.escaped {
            offset = start &- 1
            return JSONKey(raw: UnsafeBufferPointer(rebasing: bytes[start..<start]), decoded: try scanString())
        }
        if !end.ascii { try validateUTF8(start..<end.quote) }
        offset = end.quote &+ 1
        return JSONKey(raw: UnsafeBufferPointer(rebasing: bytes[start..<end.quote]), decoded: nil)
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
        // Eight bytes at a time while none is a quote, a backslash or a control character. (The zero-byte tests
        // can be wrong only above a byte that truly matches, and the byte loop below settles those.)
        while index &+ 8 <= count {
            let word = UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self)
            let quotes = word ^ (Self.ones &* 0x22)
            let slashes = word ^ (Self.ones &* 0x5C)
            let special =
                ((quotes &- Self.ones) & ~quotes) | ((slashes &- Self.ones) & ~slashes)
                | ((word &- (Self.ones &* 0x20)) & ~word)
            if special & Self.highs != 0 { break }
            seen |= word
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

    /// From an opening quote at `offset`, finds the closing quote or the first escape, noting whether a byte
    /// above ASCII came before it. Throws on a control character or the end of the input. Does not move `offset`.
    @inline(__always)
    private func scanStringEnd() throws(JSONReadError) -> (quote: Int, escaped: Bool, ascii: Bool) {
        let (index, sawHigh) = findSpecial(from: offset &+ 1)
        try checkSpecial(at: index)
        return (index, bytes[index] == UInt8(ascii: "\\"), !sawHigh)
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
        let start = offset &+ 1
        let end = try scanStringEnd()
        if !end.escaped {
            offset = end.quote &+ 1
            let slice = UnsafeBufferPointer(rebasing: bytes[start..<end.quote])
            if end.ascii { return String(decoding: slice, as: UTF8.self) }
            guard let text = String(validating: slice, as: UTF8.self) else {
                try validateUTF8(start..<end.quote)
                return String(decoding: slice, as: UTF8.self)
            }
            return text
        }
        return try scanEscapedString(from: start, firstEscape: end.quote, ascii: end.ascii)
    }

    private mutating func scanEscapedString(
        from start: Int,
        firstEscape: Int,
        ascii: Bool
    ) throws(JSONReadError) -> String {
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<firstEscape]))
        var sawHigh = !ascii
        var index = firstEscape
        while bytes[index] == UInt8(ascii: "\\") {
            index = try unescape(at: index)
            let (next, high) = findSpecial(from: index)
            try checkSpecial(at: next)
            scratch.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[index..<next]))
            sawHigh = sawHigh || high
            index = next
        }
        offset = index &+ 1
        if !sawHigh { return String(decoding: scratch, as: UTF8.self) }
        // Escapes always make whole characters, so the text is valid exactly when the raw bytes are; the raw
        // string (its escapes are ASCII) says where the first bad byte is.
        guard let text = String(validating: scratch, as: UTF8.self) else {
            try validateUTF8(start..<index)
            return String(decoding: scratch, as: UTF8.self)
        }
        return text
    }

    /// Decodes the escape at `index` (a backslash) into `scratch`; returns the index after it.
    private mutating func unescape(at index: Int) throws(JSONReadError) -> Int {
        guard index &+ 1 < bytes.count else { throw syntaxError("the event ends inside an escape", at: index) }
        let letter = bytes[index &+ 1]
        switch letter {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): scratch.append(letter)
        case UInt8(ascii: "b"): scratch.append(0x08)
        case UInt8(ascii: "f"): scratch.append(0x0C)
        case UInt8(ascii: "n"): scratch.append(0x0A)
        case UInt8(ascii: "r"): scratch.append(0x0D)
        case UInt8(ascii: "t"): scratch.append(0x09)
        case UInt8(ascii: "u"):
            let unit = try hexUnit(at: index &+ 2)
            var scalarValue = UInt32(unit)
            var next = index &+ 6
            if (0xD800...0xDBFF).contains(unit) {
                guard next &+ 1 < bytes.count, bytes[next] == UInt8(ascii: "\\"), bytes[next &+ 1] == UInt8(ascii: "u")
                else {
                    throw syntaxError(
                        "\\u\(Self.hex(unit)) is a high surrogate without the low surrogate (\\uDC00–\\uDFFF) "
                            + "that must follow it",
                        at: index
                    )
                }
                let low = try hexUnit(at: next &+ 2)
                guard (0xDC00...0xDFFF).contains(low) else {
                    throw syntaxError(
                        "\\u\(Self.hex(unit)) is a high surrogate followed by \\u\(Self.hex(low)), not by a low "
                            + "surrogate (\\uDC00–\\uDFFF)",
                        at: index
                    )
                }
                scalarValue = 0x10000 &+ ((UInt32(unit) &- 0xD800) << 10) &+ (UInt32(low) &- 0xDC00)
                next &+= 6
            } else if (0xDC00...0xDFFF).contains(unit) {
                throw syntaxError(
                    "\\u\(Self.hex(unit)) is a low surrogate without the high surrogate that must come before it",
                    at: index
                )
            }
            // Every value left is a Unicode scalar: surrogates were paired or rejected above.
            if let scalar = Unicode.Scalar(scalarValue) {
                scratch.append(contentsOf: scalar.utf8)
            }
            return next
        default:
            throw syntaxError("'\\\(Self.describe(byte: letter))' is not a JSON escape", at: index)
        }
        return index &+ 2
    }

    private static func hex(_ unit: UInt16) -> String {
        let text = String(unit, radix: 16, uppercase: true)
        return String(repeating: "0", count: 4 - text.count) + text
    }

    private func hexUnit(at index: Int) throws(JSONReadError) -> UInt16 {
        guard index &+ 4 <= bytes.count else { throw syntaxError("the event ends inside a \\u escape", at: index) }
        var value: UInt16 = 0
        for position in index..<(index &+ 4) {
            let byte = bytes[position]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte &- UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte &- UInt8(ascii: "a") &+ 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte &- UInt8(ascii: "A") &+ 10
            default:
                throw syntaxError("a \\u escape needs four hexadecimal digits", at: position)
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
            let start = offset &+ 1
            let end = try scanStringEnd()
            if end.escaped {
                _ = try scanString()
            } else {
                if !end.ascii { try validateUTF8(start..<end.quote) }
                offset = end.quote &+ 1
            }
        case UInt8(ascii: "{"):
            try beginObject()
            var first = true
            var seen: Set<String> = []
            while let key = try nextKeyChecked(first: &first, seen: &seen) {
                _ = key
                try skipValue()
            }
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

    /// ``nextKey(first:)`` for objects whose keys are not known in advance: a key seen before in this object is
    /// an error.
    mutating func nextKeyChecked(first: inout Bool, seen: inout Set<String>) throws(JSONReadError) -> JSONKey? {
        let position = offset
        guard let key = try nextKey(first: &first) else { return nil }
        let text = key.string
        guard seen.insert(text).inserted else { throw duplicate(text, at: position) }
        return key
    }

    func duplicate(_ key: String, at position: Int? = nil) -> JSONReadError {
        syntaxError(
            "the key \(JSONText.quoted(key)) appears twice in one object; its meaning would be ambiguous",
            at: position
        )
    }
}
