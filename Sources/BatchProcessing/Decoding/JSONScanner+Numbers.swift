// The scanner's numbers: JSON's grammar checked as the number is passed, integers read without a detour through
// text, doubles as Swift parses them.

extension JSONScanner {
    /// Checks the number at `offset` against JSON's grammar and moves past it; returns its bytes and whether it
    /// is an integer (no fraction, no exponent).
    mutating func scanNumber() throws(JSONReadError) -> (range: Range<Int>, integer: Bool) {
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

    func isNumberStart(_ byte: UInt8) -> Bool {
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
}
