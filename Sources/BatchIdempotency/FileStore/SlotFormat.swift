#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// How one record is written in a slot of a shard's table: one line of text, then zero bytes to the slot's end.
///
///     P <key> <inProgressUntil> <expiresAt> <payloadHash> <token> <checksum>\n
///
/// - the state: `P` in progress, `C` completed, `F` free (released or removed: the slot may be reused, and
///   lookups go on past it);
/// - the key's 64 hex digits; the two instants in milliseconds since 1970, in decimal;
/// - the payload hash and the token, each `-` when absent or `=` and the text, every byte outside `!`…`~` and every
///   `%` written `%XX`, so no field holds a space;
/// - the FNV-1a 64-bit hash of everything before it (the final space included), in 16 hex digits.
///
/// A slot of zero bytes only is empty: it ends a lookup. Any other slot that does not read as above (torn by a
/// power loss, overwritten by something else) is damaged, and is reported rather than guessed at.
enum SlotFormat {
    /// Bytes per slot: one disk sector, so a write of a slot is not torn by a power loss on disks that write
    /// sectors whole.
    static let size = 512
    /// Longest text of the payload hash and the token together, as written (escapes included).
    static let maxVariableBytes = size - 136

    enum State: UInt8 {
        case inProgress = 0x50  // P
        case completed = 0x43  // C
        case free = 0x46  // F
    }

    enum Slot: Equatable {
        case empty
        case free
        case record(IdempotencyRecord)
        case damaged(String)
    }

    /// The slot's bytes for a record in `state`, or `nil` when its token and payload hash are too long to fit.
    static func encode(
        _ record: IdempotencyRecord,
        state: State
    ) -> [UInt8]? {
        var line: [UInt8] = []
        line.reserveCapacity(size)
        line.append(state.rawValue)
        line.append(0x20)
        line.append(contentsOf: record.key.utf8)
        line.append(0x20)
        appendDecimal(record.inProgressUntil ?? 0, to: &line)
        line.append(0x20)
        appendDecimal(record.expiresAt ?? 0, to: &line)
        line.append(0x20)
        let variableStart = line.count
        appendOptional(record.payloadHash, to: &line)
        line.append(0x20)
        appendOptional(record.token, to: &line)
        guard line.count - variableStart <= maxVariableBytes else { return nil }
        line.append(0x20)
        let checksum = fnv1a(line[...])
        for shift in stride(from: 60, through: 0, by: -4) {
            line.append(hexDigit(UInt8(truncatingIfNeeded: checksum >> UInt64(shift)) & 0x0F))
        }
        line.append(0x0A)
        line.append(contentsOf: repeatElement(0, count: size - line.count))
        return line
    }

    /// A slot read and checked, its fields still in the slot's bytes: nothing is allocated until ``record(in:)``.
    struct View {
        var state: State
        /// Where the key's 64 hex digits are in the slot.
        var keyStart: Int
        var inProgressUntil: Int64
        var expiresAt: Int64
        var payloadHash: Range<Int>
        var token: Range<Int>

        /// Whether the slot is the record of `key` (its lowercase hex digits).
        func holds(_ key: UnsafeRawBufferPointer, in bytes: UnsafeRawBufferPointer) -> Bool {
            guard state != .free, key.count == 64, let slot = bytes.baseAddress, let wanted = key.baseAddress else {
                return false
            }
            return memcmp(slot + keyStart, wanted, 64) == 0
        }

        func isExpired(at now: Int64) -> Bool {
            switch state {
            case .completed: expiresAt <= now
            case .inProgress: inProgressUntil <= now
            case .free: true
            }
        }

        /// The record, or `nil` for a free slot or text the format does not allow.
        func record(in bytes: UnsafeRawBufferPointer) -> IdempotencyRecord? {
            guard state != .free, let hash = SlotFormat.parseOptional(bytes, payloadHash),
                let tokenText = SlotFormat.parseOptional(bytes, token), let token = tokenText
            else { return nil }
            return IdempotencyRecord(
                key: String(
                    decoding: UnsafeRawBufferPointer(rebasing: bytes[keyStart..<(keyStart + 64)]),
                    as: UTF8.self
                ),
                status: state == .completed ? .completed : .inProgress,
                token: token,
                expiresAt: expiresAt,
                inProgressUntil: inProgressUntil,
                payloadHash: hash
            )
        }
    }

    enum Checked {
        case empty
        case slot(View)
        case damaged(String)
    }

    /// Checks one slot's bytes (exactly ``size`` of them): its layout, its checksum, every field's form.
    static func check(_ bytes: UnsafeRawBufferPointer) -> Checked {
        guard bytes.count == size else { return .damaged("it is \(bytes.count) bytes, not \(size)") }
        guard bytes[0] != 0 else {
            return bytes.allSatisfy({ $0 == 0 }) ? .empty : .damaged("it starts with a zero byte but is not empty")
        }
        guard let newline = bytes.firstIndex(of: 0x0A) else { return .damaged("it has no end of line") }
        guard bytes[(newline + 1)...].allSatisfy({ $0 == 0 }) else {
            return .damaged("bytes follow its end of line")
        }
        // Seven fields separated by single spaces; the last is the checksum of all that comes before it.
        var ends: (Int, Int, Int, Int, Int, Int) = (0, 0, 0, 0, 0, 0)
        var found = 0
        for index in 0..<newline where bytes[index] == 0x20 {
            switch found {
            case 0: ends.0 = index
            case 1: ends.1 = index
            case 2: ends.2 = index
            case 3: ends.3 = index
            case 4: ends.4 = index
            case 5: ends.5 = index
            default: return .damaged("it has more than 7 fields")
            }
            found += 1
        }
        guard found == 6 else { return .damaged("it has \(found + 1) fields, not 7") }
        guard newline - ends.5 - 1 == 16, let written = parseHex(bytes, (ends.5 + 1)..<newline),
            written == fnv1a(UnsafeRawBufferPointer(rebasing: bytes[..<(ends.5 + 1)]))
        else { return .damaged("its checksum does not match its content") }
        guard ends.0 == 1, let state = State(rawValue: bytes[0]) else {
            return .damaged("its state is not P, C or F")
        }
        guard ends.1 - ends.0 - 1 == 64, bytes[(ends.0 + 1)..<ends.1].allSatisfy(isLowerHex) else {
            return .damaged("its key is not 64 hex digits")
        }
        guard let inProgressUntil = parseDecimal(bytes, (ends.1 + 1)..<ends.2),
            let expiresAt = parseDecimal(bytes, (ends.2 + 1)..<ends.3)
        else { return .damaged("its instants are not whole numbers") }
        let view = View(
            state: state,
            keyStart: ends.0 + 1,
            inProgressUntil: inProgressUntil,
            expiresAt: expiresAt,
            payloadHash: (ends.3 + 1)..<ends.4,
            token: (ends.4 + 1)..<ends.5
        )
        guard isWellFormed(bytes, view.payloadHash, required: false), isWellFormed(bytes, view.token, required: true)
        else { return .damaged("its payload hash or token is not written as the format says") }
        return .slot(view)
    }

    /// Reads one slot's bytes (exactly ``size`` of them) into a record.
    static func decode(_ bytes: UnsafeRawBufferPointer) -> Slot {
        switch check(bytes) {
        case .empty: return .empty
        case .damaged(let reason): return .damaged(reason)
        case .slot(let view):
            if view.state == .free { return .free }
            guard let record = view.record(in: bytes) else {
                return .damaged("its payload hash or token is not written as the format says")
            }
            return .record(record)
        }
    }

    /// The FNV-1a 64-bit hash: not for security, only to tell a slot written whole from one that was not.
    static func fnv1a<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01B3
        }
        return hash
    }

    // MARK: - Fields

    private static func appendOptional(_ text: String?, to line: inout [UInt8]) {
        guard let text else {
            line.append(UInt8(ascii: "-"))
            return
        }
        line.append(UInt8(ascii: "="))
        for byte in text.utf8 {
            if byte > 0x20 && byte < 0x7F && byte != UInt8(ascii: "%") {
                line.append(byte)
            } else {
                line.append(UInt8(ascii: "%"))
                line.append(hexDigit(byte >> 4))
                line.append(hexDigit(byte & 0x0F))
            }
        }
    }

    /// Whether a field is `-` (allowed unless `required`) or `=` and text with well-formed escapes.
    private static func isWellFormed(_ bytes: UnsafeRawBufferPointer, _ field: Range<Int>, required: Bool) -> Bool {
        guard let first = field.first.map({ bytes[$0] }) else { return false }
        if first == UInt8(ascii: "-") { return field.count == 1 && !required }
        guard first == UInt8(ascii: "=") else { return false }
        var index = field.lowerBound + 1
        while index < field.upperBound {
            let byte = bytes[index]
            if byte == UInt8(ascii: "%") {
                guard field.upperBound - index >= 3, hexValue(bytes[index + 1]) != nil,
                    hexValue(bytes[index + 2]) != nil
                else { return false }
                index += 3
            } else {
                guard byte > 0x20 && byte < 0x7F else { return false }
                index += 1
            }
        }
        return !required || field.count > 1
    }

    /// `nil` when the field is not written as the format says; `.some(nil)` for an absent value.
    static func parseOptional(_ bytes: UnsafeRawBufferPointer, _ field: Range<Int>) -> String?? {
        guard let first = field.first.map({ bytes[$0] }) else { return nil }
        if first == UInt8(ascii: "-") { return field.count == 1 ? .some(nil) : nil }
        guard first == UInt8(ascii: "=") else { return nil }
        var text: [UInt8] = []
        text.reserveCapacity(field.count)
        var index = field.lowerBound + 1
        while index < field.upperBound {
            let byte = bytes[index]
            if byte == UInt8(ascii: "%") {
                guard field.upperBound - index >= 3, let high = hexValue(bytes[index + 1]),
                    let low = hexValue(bytes[index + 2])
                else { return nil }
                text.append(high << 4 | low)
                index += 3
            } else {
                guard byte > 0x20 && byte < 0x7F else { return nil }
                text.append(byte)
                index += 1
            }
        }
        guard let string = String(validating: text, as: UTF8.self) else { return nil }
        return .some(string)
    }

    private static func appendDecimal(_ value: Int64, to line: inout [UInt8]) {
        line.append(contentsOf: String(value).utf8)
    }

    private static func parseDecimal(_ bytes: UnsafeRawBufferPointer, _ field: Range<Int>) -> Int64? {
        guard !field.isEmpty, field.count <= 20 else { return nil }
        var index = field.lowerBound
        let negative = bytes[index] == UInt8(ascii: "-")
        if negative { index += 1 }
        guard index < field.upperBound else { return nil }
        var value: Int64 = 0
        while index < field.upperBound {
            let digit = bytes[index] &- 0x30
            guard digit < 10 else { return nil }
            let (times, overflow) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times.subtractingReportingOverflow(Int64(digit))
            guard !overflow, !overflow2 else { return nil }
            // Accumulated as a negative number, so that Int64.min reads too.
            value = sum
            index += 1
        }
        if negative { return value }
        return value == .min ? nil : -value
    }

    private static func parseHex(_ bytes: UnsafeRawBufferPointer, _ field: Range<Int>) -> UInt64? {
        var value: UInt64 = 0
        for index in field {
            let byte = bytes[index]
            guard isLowerHex(byte), let digit = hexValue(byte) else { return nil }
            value = value << 4 | UInt64(digit)
        }
        return value
    }

    private static func isLowerHex(_ byte: UInt8) -> Bool {
        (0x30...0x39).contains(byte) || (0x61...0x66).contains(byte)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: byte - 0x30
        case 0x61...0x66: byte - 0x61 + 10
        case 0x41...0x46: byte - 0x41 + 10
        default: nil
        }
    }

    private static func hexDigit(_ value: UInt8) -> UInt8 {
        value < 10 ? 0x30 + value : 0x61 + value - 10
    }
}
