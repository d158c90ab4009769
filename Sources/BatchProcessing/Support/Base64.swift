/// Strict standard base64 (RFC 4648 §4, with padding), as AWS writes Kinesis data and SQS binary attributes.
///
/// Kept in the package so the event models need no Foundation and so that a bad payload gets an error that
/// says which character at which offset is wrong.
enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    private static let decodeTable: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (value, character) in alphabet.enumerated() {
            table[Int(character)] = UInt8(value)
        }
        return table
    }()

    /// Why a string is not valid base64.
    struct DecodingError: Error, CustomStringConvertible {
        var description: String
    }

    static func encode(_ bytes: some Collection<UInt8>) -> String {
        var output = [UInt8]()
        output.reserveCapacity((bytes.count + 2) / 3 * 4)
        var iterator = bytes.makeIterator()
        while let first = iterator.next() {
            let second = iterator.next()
            let third = iterator.next()
            let group = UInt32(first) << 16 | UInt32(second ?? 0) << 8 | UInt32(third ?? 0)
            output.append(alphabet[Int(group >> 18 & 0x3F)])
            output.append(alphabet[Int(group >> 12 & 0x3F)])
            output.append(second == nil ? UInt8(ascii: "=") : alphabet[Int(group >> 6 & 0x3F)])
            output.append(third == nil ? UInt8(ascii: "=") : alphabet[Int(group & 0x3F)])
        }
        return String(decoding: output, as: UTF8.self)
    }

    static func decode(_ string: String) throws(DecodingError) -> [UInt8] {
        let input = Array(string.utf8)
        guard input.count % 4 == 0 else {
            throw DecodingError(description: "base64 length \(input.count) is not a multiple of 4")
        }
        var output = [UInt8]()
        output.reserveCapacity(input.count / 4 * 3)
        var index = 0
        while index < input.count {
            var group: UInt32 = 0
            var padding = 0
            for offset in 0..<4 {
                let character = input[index + offset]
                if character == UInt8(ascii: "=") {
                    // Padding may only close the last group, in its last one or two places.
                    guard index + 4 == input.count, offset >= 2 else {
                        throw DecodingError(description: "unexpected '=' at offset \(index + offset)")
                    }
                    padding += 1
                    group <<= 6
                    continue
                }
                let value = decodeTable[Int(character)]
                guard value != 0xFF, padding == 0 else {
                    throw DecodingError(
                        description: "invalid base64 character \(describe(character)) at offset \(index + offset)"
                    )
                }
                group = group << 6 | UInt32(value)
            }
            output.append(UInt8(group >> 16 & 0xFF))
            if padding < 2 { output.append(UInt8(group >> 8 & 0xFF)) }
            if padding < 1 { output.append(UInt8(group & 0xFF)) }
            index += 4
        }
        return output
    }

    private static func describe(_ byte: UInt8) -> String {
        if byte >= 0x20 && byte < 0x7F {
            return "'\(Character(Unicode.Scalar(byte)))'"
        }
        return "byte 0x\(String(byte, radix: 16))"
    }
}
