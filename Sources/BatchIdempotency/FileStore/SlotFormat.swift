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

    /// Reads one slot's bytes (exactly ``size`` of them).
    static func decode(_ bytes: UnsafeRawBufferPointer) -> Slot {
        guard bytes.count == size else { return .damaged("it is \(bytes.count) bytes, not \(size)") }
        guard bytes[0] != 0 else {
            return bytes.allSatisfy({ $0 == 0 }) ? .empty : .damaged("it starts with a zero byte but is not empty")
        }
        guard let newline = bytes.firstIndex(of: 0x0A) else { return .damaged("it has no end of line") }
        guard bytes[(newline + 1)...].allSatisfy({ $0 == 0 }) else {
            return .damaged("bytes follow its end of line")
        }
        let fields = bytes[..<newline].split(separator: 0x20, omittingEmptySubsequences: false)
        guard fields.count == 7 else { return .damaged("it has \(fields.count) fields, not 7") }
        let checksumStart = newline - 16
        guard fields[6].count == 16, let written = parseHex(fields[6]),
            written == fnv1a(UnsafeRawBufferPointer(rebasing: bytes[..<checksumStart]))
        else { return .damaged("its checksum does not match its content") }
        guard fields[0].count == 1, let state = State(rawValue: fields[0][fields[0].startIndex]) else {
            return .damaged("its state is not P, C or F")
        }
        guard fields[1].count == 64, fields[1].allSatisfy(isLowerHex) else {
            return .damaged("its key is not 64 hex digits")
        }
        guard let inProgressUntil = parseDecimal(fields[2]), let expiresAt = parseDecimal(fields[3]) else {
            return .damaged("its instants are not whole numbers")
        }
        guard let payloadHash = parseOptional(fields[4]), let tokenField = parseOptional(fields[5]),
            let token = tokenField, !token.isEmpty
        else { return .damaged("its payload hash or token is not written as the format says") }
        if state == .free { return .free }
        return .record(
            IdempotencyRecord(
                key: String(decoding: fields[1], as: UTF8.self),
                status: state == .completed ? .completed : .inProgress,
                token: token,
                expiresAt: expiresAt,
                inProgressUntil: inProgressUntil,
                payloadHash: payloadHash
            )
        )
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

    /// `nil` when the field is not written as the format says; `.some(nil)` for an absent value.
    private static func parseOptional(_ field: Slice<UnsafeRawBufferPointer>) -> String?? {
        guard let first = field.first else { return nil }
        if first == UInt8(ascii: "-") { return field.count == 1 ? .some(nil) : nil }
        guard first == UInt8(ascii: "=") else { return nil }
        var bytes: [UInt8] = []
        var index = field.index(after: field.startIndex)
        while index < field.endIndex {
            let byte = field[index]
            if byte == UInt8(ascii: "%") {
                guard field.endIndex - index >= 3, let high = hexValue(field[index + 1]),
                    let low = hexValue(field[index + 2])
                else { return nil }
                bytes.append(high << 4 | low)
                index += 3
            } else {
                guard byte > 0x20 && byte < 0x7F else { return nil }
                bytes.append(byte)
                index += 1
            }
        }
        guard let text = String(validating: bytes, as: UTF8.self) else { return nil }
        return .some(text)
    }

    private static func appendDecimal(_ value: Int64, to line: inout [UInt8]) {
        line.append(contentsOf: String(value).utf8)
    }

    private static func parseDecimal(_ field: Slice<UnsafeRawBufferPointer>) -> Int64? {
        guard !field.isEmpty, field.count <= 20 else { return nil }
        return Int64(String(decoding: field, as: UTF8.self))
    }

    private static func parseHex(_ field: Slice<UnsafeRawBufferPointer>) -> UInt64? {
        var value: UInt64 = 0
        for byte in field {
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
