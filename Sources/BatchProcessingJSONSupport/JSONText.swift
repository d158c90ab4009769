/// Writes JSON text by hand, for the small documents this package produces itself (responses, log lines, EMF
/// documents): no encoder, no Foundation, and exact control over key order.
///
/// Strings are always valid UTF-8 in Swift (invalid bytes became U+FFFD when the string was made), so escaping
/// quotes, backslashes and control characters is all that JSON needs.
package struct JSONText {
    /// The bytes written so far.
    package var bytes: [UInt8]
    /// One entry per open object or array: true until its first element is written.
    private var isFirst: [Bool] = []
    /// True right after a key, whose value takes no comma.
    private var afterKey = false

    package init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// The text written so far.
    package var string: String { String(decoding: bytes, as: UTF8.self) }

    // MARK: Structure

    package mutating func beginObject() { open(UInt8(ascii: "{")) }
    package mutating func endObject() { close(UInt8(ascii: "}")) }
    package mutating func beginArray() { open(UInt8(ascii: "[")) }
    package mutating func endArray() { close(UInt8(ascii: "]")) }

    private mutating func open(_ bracket: UInt8) {
        separate()
        bytes.append(bracket)
        isFirst.append(true)
    }

    private mutating func close(_ bracket: UInt8) {
        bytes.append(bracket)
        isFirst.removeLast()
    }

    /// Writes `"key":`; the value written next belongs to it.
    package mutating func key(_ key: String) {
        separate()
        Self.appendQuoted(key, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
        afterKey = true
    }

    /// Writes the comma before an element, unless it is the first of its container or the value of a key.
    private mutating func separate() {
        if afterKey {
            afterKey = false
        } else if let first = isFirst.last {
            if first {
                isFirst[isFirst.count - 1] = false
            } else {
                bytes.append(UInt8(ascii: ","))
            }
        }
    }

    // MARK: Values

    package mutating func string(_ value: String) {
        separate()
        Self.appendQuoted(value, to: &bytes)
    }

    package mutating func integer<T: BinaryInteger>(_ value: T) {
        separate()
        if let small = Int64(exactly: value) {
            Self.appendDigits(of: small, to: &bytes)
        } else {
            bytes.append(contentsOf: String(value).utf8)
        }
    }

    /// Writes a finite number; a non-finite one (which JSON cannot express) is written as `null`.
    package mutating func number(_ value: Double) {
        separate()
        guard value.isFinite else {
            bytes.append(contentsOf: "null".utf8)
            return
        }
        if value == value.rounded(), abs(value) < 1e15 {
            Self.appendDigits(of: Int64(value), to: &bytes)
        } else {
            bytes.append(contentsOf: value.description.utf8)
        }
    }

    package mutating func bool(_ value: Bool) {
        separate()
        bytes.append(contentsOf: (value ? "true" : "false").utf8)
    }

    package mutating func null() {
        separate()
        bytes.append(contentsOf: "null".utf8)
    }

    /// Appends already-valid JSON text as one value.
    package mutating func raw(_ json: [UInt8]) {
        separate()
        bytes.append(contentsOf: json)
    }

    /// `value` as JSON number text: whole numbers without a fraction, others in Swift's shortest exact form.
    package static func format(_ value: Double) -> String {
        var text = JSONText(capacity: 24)
        text.number(value)
        return String(decoding: text.bytes, as: UTF8.self)
    }

    /// Appends the decimal digits of `value` (with a minus sign when negative), without making a `String`.
    private static func appendDigits(of value: Int64, to output: inout [UInt8]) {
        if value < 0 { output.append(UInt8(ascii: "-")) }
        // The magnitude as unsigned, so that Int64.min needs no special case.
        var rest = value.magnitude
        guard rest >= 10 else {
            output.append(UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: rest))
            return
        }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var position = 20
            while rest > 0 {
                position &-= 1
                digits[position] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: rest % 10)
                rest /= 10
            }
            output.append(contentsOf: UnsafeBufferPointer(rebasing: digits[position...]))
        }
    }

    // MARK: Strings

    /// Appends `string` as a quoted JSON string, escaping quotes, backslashes and every control character.
    package static func appendQuoted(_ string: String, to output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        var string = string
        string.withUTF8 { utf8 in
            // Runs of bytes that need no escape are copied at once.
            var runStart = 0
            for (position, byte) in utf8.enumerated() where byte < 0x20 || byte == 0x22 || byte == 0x5C || byte == 0x7F
            {
                if runStart < position {
                    output.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<position]))
                }
                appendEscape(of: byte, to: &output)
                runStart = position &+ 1
            }
            if runStart < utf8.count {
                output.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart...]))
            }
        }
        output.append(UInt8(ascii: "\""))
    }

    private static func appendEscape(of byte: UInt8, to output: inout [UInt8]) {
        output.append(0x5C)
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"): output.append(byte)
        case 0x0A: output.append(UInt8(ascii: "n"))
        case 0x0D: output.append(UInt8(ascii: "r"))
        case 0x09: output.append(UInt8(ascii: "t"))
        default:
            output.append(UInt8(ascii: "u"))
            output.append(UInt8(ascii: "0"))
            output.append(UInt8(ascii: "0"))
            output.append(hexDigit(byte >> 4))
            output.append(hexDigit(byte & 0x0F))
        }
    }

    /// `string` as a quoted JSON string.
    package static func quoted(_ string: String) -> String {
        var output = [UInt8]()
        appendQuoted(string, to: &output)
        return String(decoding: output, as: UTF8.self)
    }

    private static func hexDigit(_ value: UInt8) -> UInt8 {
        value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "a") + value - 10
    }
}
