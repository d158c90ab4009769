import BatchProcessingJSONSupport

// The scanner's strings: finding a string's end a word at a time, checking its escapes and UTF-8, and decoding it
// only when asked (keys and deferred strings are views into the event).

extension JSONScanner {
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

    mutating func readKey() throws(JSONReadError) -> JSONKey {
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
    func findSpecial(from index: Int) -> (index: Int, sawHigh: Bool) {
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
    static func isShortEscape(_ letter: UInt8) -> Bool {
        switch letter {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "n"), UInt8(ascii: "t"),
            UInt8(ascii: "r"), UInt8(ascii: "b"), UInt8(ascii: "f"):
            true
        default: false
        }
    }

    /// Throws unless `index` holds a quote or a backslash (what ``findSpecial(from:)`` stops at inside a string).
    @inline(__always)
    func checkSpecial(at index: Int) throws(JSONReadError) {
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
    mutating func scanString() throws(JSONReadError) -> String {
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

    static func unicodeEscape(in bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> Escape {
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

    static func hex(_ unit: UInt16) -> String {
        let text = String(unit, radix: 16, uppercase: true)
        return String(repeating: "0", count: 4 - text.count) + text
    }

    /// The four hexadecimal digits at `index` as a UTF-16 unit, `nil` when they are not four hex digits.
    static func hexUnit(in bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> UInt16? {
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
    func validateUTF8(_ range: Range<Int>) throws(JSONReadError) {
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
}
