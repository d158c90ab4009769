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
        bytes.append(contentsOf: Array(String(value).utf8))
    }

    /// Writes a finite number; a non-finite one (which JSON cannot express) is written as `null`.
    package mutating func number(_ value: Double) {
        separate()
        bytes.append(contentsOf: Array(Self.format(value).utf8))
    }

    package mutating func bool(_ value: Bool) {
        separate()
        bytes.append(contentsOf: Array((value ? "true" : "false").utf8))
    }

    package mutating func null() {
        separate()
        bytes.append(contentsOf: Array("null".utf8))
    }

    /// Appends already-valid JSON text as one value.
    package mutating func raw(_ json: [UInt8]) {
        separate()
        bytes.append(contentsOf: json)
    }

    /// `value` as JSON number text: whole numbers without a fraction, others in Swift's shortest exact form.
    package static func format(_ value: Double) -> String {
        guard value.isFinite else { return "null" }
        if value == value.rounded(), abs(value) < 1e15 {
            return String(Int64(value))
        }
        return "\(value)"
    }

    // MARK: Strings

    /// Appends `string` as a quoted JSON string, escaping quotes, backslashes and every control character.
    package static func appendQuoted(_ string: String, to output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""): output.append(contentsOf: [0x5C, 0x22])
            case UInt8(ascii: "\\"): output.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: output.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: output.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: output.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0x00..<0x20, 0x7F:
                output.append(contentsOf: [0x5C, UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
                output.append(hexDigit(byte >> 4))
                output.append(hexDigit(byte & 0x0F))
            default:
                output.append(byte)
            }
        }
        output.append(UInt8(ascii: "\""))
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
