#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Reads the keys of one object in a JSON document in the order they are written, which `Decodable` does not
/// give (Foundation's keyed containers list keys in hash order). The Kafka event needs it: its `records` object
/// lists partitions in the order Lambda delivered them, and that order is the batch order.
///
/// The scanner only walks the document's structure (strings with their escapes, nesting); it does not check
/// what it skips. It runs after the document was decoded, so the document is already known to be valid JSON.
enum JSONKeyOrder {
    /// The keys, in written order, of the object that is the value of `key` in the top-level object; `nil` when
    /// there is no such object.
    static func keys(ofObjectAt key: String, in bytes: [UInt8]) -> [String]? {
        var scanner = Scanner(bytes: bytes)
        scanner.skipWhitespace()
        guard scanner.consume(UInt8(ascii: "{")) else { return nil }
        while true {
            scanner.skipWhitespace()
            guard let name = scanner.string() else { return nil }
            scanner.skipWhitespace()
            guard scanner.consume(UInt8(ascii: ":")) else { return nil }
            scanner.skipWhitespace()
            if name == key {
                return scanner.objectKeys()
            }
            guard scanner.skipValue() else { return nil }
            scanner.skipWhitespace()
            guard scanner.consume(UInt8(ascii: ",")) else { return nil }
        }
    }

    private struct Scanner {
        let bytes: [UInt8]
        var position = 0

        init(bytes: [UInt8]) {
            self.bytes = bytes
        }

        var current: UInt8? { position < bytes.count ? bytes[position] : nil }

        mutating func skipWhitespace() {
            while let byte = current, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { position += 1 }
        }

        mutating func consume(_ byte: UInt8) -> Bool {
            guard current == byte else { return false }
            position += 1
            return true
        }

        /// The string at the position, unescaped; `nil` when there is none.
        mutating func string() -> String? {
            let start = position
            guard skipString() else { return nil }
            let token = Data(bytes[start..<position])
            return try? JSONDecoder().decode(String.self, from: token)
        }

        /// Moves past a string; false when the position holds none.
        mutating func skipString() -> Bool {
            guard consume(UInt8(ascii: "\"")) else { return false }
            while let byte = current {
                position += 1
                if byte == UInt8(ascii: "\\") {
                    position += 1
                } else if byte == UInt8(ascii: "\"") {
                    return true
                }
            }
            return false
        }

        /// Moves past any value: a string, an object or array (with everything inside), or a scalar.
        mutating func skipValue() -> Bool {
            guard let byte = current else { return false }
            switch byte {
            case UInt8(ascii: "\""):
                return skipString()
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                var depth = 0
                while let next = current {
                    switch next {
                    case UInt8(ascii: "\""):
                        guard skipString() else { return false }
                        continue
                    case UInt8(ascii: "{"), UInt8(ascii: "["):
                        depth += 1
                    case UInt8(ascii: "}"), UInt8(ascii: "]"):
                        depth -= 1
                        if depth == 0 {
                            position += 1
                            return true
                        }
                    default:
                        break
                    }
                    position += 1
                }
                return false
            default:
                while let next = current, next != UInt8(ascii: ","), next != UInt8(ascii: "}"),
                    next != UInt8(ascii: "]")
                {
                    position += 1
                }
                return true
            }
        }

        /// The keys of the object at the position, in order; `nil` when the position holds no object.
        mutating func objectKeys() -> [String]? {
            guard consume(UInt8(ascii: "{")) else { return nil }
            var keys: [String] = []
            skipWhitespace()
            if consume(UInt8(ascii: "}")) { return keys }
            while true {
                skipWhitespace()
                guard let name = string() else { return nil }
                keys.append(name)
                skipWhitespace()
                guard consume(UInt8(ascii: ":")) else { return nil }
                skipWhitespace()
                guard skipValue() else { return nil }
                skipWhitespace()
                if consume(UInt8(ascii: "}")) { return keys }
                guard consume(UInt8(ascii: ",")) else { return nil }
            }
        }
    }
}
