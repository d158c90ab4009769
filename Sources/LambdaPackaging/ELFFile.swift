/// What an executable needs from the system it runs on, read from its ELF headers: the dynamic loader it names
/// (`PT_INTERP`) and the shared libraries it lists (`DT_NEEDED`). A program that names neither runs in an empty root
/// file system, such as a Lambda `provided.al2023` environment whatever its glibc.
package struct ELFFile {
    /// The processor the program is for.
    package enum Machine: Equatable, CustomStringConvertible {
        case x86_64
        case arm64
        case other(UInt16)

        /// The architecture a Lambda function must be given to run the program.
        package var lambdaArchitecture: String? {
            switch self {
            case .x86_64: "x86_64"
            case .arm64: "arm64"
            case .other: nil
            }
        }

        package var description: String {
            switch self {
            case .x86_64: "x86-64"
            case .arm64: "AArch64"
            case .other(let number): "ELF machine \(number)"
            }
        }
    }

    /// Why the file could not be read as a program.
    package struct Failure: Error, CustomStringConvertible {
        package var description: String
    }

    package var machine: Machine
    /// The dynamic loader the program asks for (`/lib64/ld-linux-x86-64.so.2`), or `nil`.
    package var interpreter: String?
    /// The shared libraries it needs (`libc.so.6`…), in the order it lists them.
    package var neededLibraries: [String]

    /// Whether it needs nothing from the system: no loader, no shared library.
    package var isSelfContained: Bool { interpreter == nil && neededLibraries.isEmpty }

    /// Reads the headers of the 64-bit little-endian ELF file `bytes` (Linux on x86-64 or AArch64).
    ///
    /// - Throws: ``Failure`` saying what is not as a program's headers should be.
    package init(_ bytes: [UInt8]) throws(Failure) {
        guard bytes.count >= 64, bytes[0] == 0x7F, bytes[1] == 0x45, bytes[2] == 0x4C, bytes[3] == 0x46 else {
            throw Failure(description: "it is not an ELF file (no \\x7FELF at its start)")
        }
        guard bytes[4] == 2, bytes[5] == 1 else {
            throw Failure(
                description: "it is not a 64-bit little-endian ELF file (class \(bytes[4]), data \(bytes[5]))"
            )
        }
        let reader = Reader(bytes: bytes)
        switch try reader.u16(18) {
        case 62: machine = .x86_64
        case 183: machine = .arm64
        case let number: machine = .other(number)
        }
        let headerOffset = try reader.int(32)
        let headerSize = try reader.int16(54)
        let headerCount = try reader.int16(56)
        guard headerSize >= 56 else { throw Failure(description: "its program headers are \(headerSize) bytes") }
        var interpreter: String?
        var dynamic: (offset: Int, size: Int)?
        var loads: [(address: Int, offset: Int, size: Int)] = []
        for index in 0..<headerCount {
            let header = headerOffset + index * headerSize
            let offset = try reader.int(header + 8)
            let size = try reader.int(header + 32)
            switch try reader.u32(header) {
            case 1: loads.append((try reader.int(header + 16), offset, size))  // PT_LOAD
            case 2: dynamic = (offset, size)  // PT_DYNAMIC
            case 3: interpreter = try reader.string(offset, limit: offset + size)  // PT_INTERP
            default: break
            }
        }
        self.interpreter = interpreter
        neededLibraries = []
        guard let dynamic else { return }
        // DT_NEEDED entries are offsets in the string table, which DT_STRTAB gives as an address.
        var needed: [Int] = []
        var stringTable: Int?
        var entry = dynamic.offset
        while entry + 16 <= dynamic.offset + dynamic.size {
            let tag = try reader.int(entry)
            let value = try reader.int(entry + 8)
            if tag == 0 { break }  // DT_NULL
            if tag == 1 { needed.append(value) }  // DT_NEEDED
            if tag == 5 { stringTable = value }  // DT_STRTAB
            entry += 16
        }
        guard !needed.isEmpty else { return }
        guard let address = stringTable,
            let load = loads.first(where: { address >= $0.address && address < $0.address + $0.size })
        else { throw Failure(description: "it lists shared libraries but has no string table to name them") }
        let table = load.offset + (address - load.address)
        neededLibraries = try needed.map { offset throws(Failure) in
            try reader.string(table + offset, limit: bytes.count)
        }
    }

    private struct Reader {
        let bytes: [UInt8]

        func u16(_ offset: Int) throws(Failure) -> UInt16 { UInt16(truncatingIfNeeded: try value(offset, 2)) }
        func u32(_ offset: Int) throws(Failure) -> UInt32 { UInt32(truncatingIfNeeded: try value(offset, 4)) }
        func int16(_ offset: Int) throws(Failure) -> Int { Int(try u16(offset)) }

        /// A 64-bit field as an `Int`; one beyond `Int.max` cannot be an offset or size in a real file.
        func int(_ offset: Int) throws(Failure) -> Int {
            let value = try value(offset, 8)
            guard value <= UInt64(Int.max) else {
                throw Failure(description: "a field at byte \(offset) is out of range")
            }
            return Int(value)
        }

        private func value(_ offset: Int, _ width: Int) throws(Failure) -> UInt64 {
            guard offset >= 0, offset <= bytes.count - width else {
                throw Failure(description: "it ends before its headers do (byte \(offset))")
            }
            var result: UInt64 = 0
            for index in (0..<width).reversed() { result = result << 8 | UInt64(bytes[offset + index]) }
            return result
        }

        /// The NUL-terminated string at `offset`, which must end before `limit`.
        func string(_ offset: Int, limit: Int) throws(Failure) -> String {
            guard offset >= 0, offset < min(limit, bytes.count) else {
                throw Failure(description: "a name at byte \(offset) is outside the file")
            }
            guard let end = bytes[offset..<min(limit, bytes.count)].firstIndex(of: 0) else {
                throw Failure(description: "the name at byte \(offset) has no end")
            }
            return String(decoding: bytes[offset..<end], as: UTF8.self)
        }
    }
}
