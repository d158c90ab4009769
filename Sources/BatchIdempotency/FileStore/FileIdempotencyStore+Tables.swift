import BatchProcessingSystemSupport
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// The slot tables: finding, opening and rebuilding a shard's table, placing records in it, and reading its slots.

extension FileIdempotencyStore {
    func tableName(_ shard: Int) -> String {
        let digits = Array("0123456789abcdef".utf8)
        return String(decoding: [digits[shard >> 4], digits[shard & 0x0F]], as: UTF8.self) + ".table"
    }

    func tablePath(_ shard: Int) -> String { directory + "/tables/" + tableName(shard) }

    func tableExists(_ shard: Int) -> Bool {
        var status = stat()
        return fstatat(tablesDescriptor, tableName(shard), &status, 0) == 0
    }

    /// The shard's table as it is on disk now: made when missing, opened again when another process replaced it.
    func currentTable(_ shard: Int) throws(IdempotencyStoreError) -> OpenTable {
        // A table replaced by a rebuild has no name left: its link count is 0. (Asking the open descriptor costs no
        // path lookup; a handle that went stale on NFS is an error, which also means: look the name up again.)
        if let cached = tables.withLock({ $0[shard] }) {
            var status = stat()
            if fstat(cached.descriptor, &status) == 0, status.st_nlink > 0 { return cached }
        }
        let name = tableName(shard)
        var status = stat()
        if fstatat(tablesDescriptor, name, &status, 0) != 0 {
            guard errno == ENOENT else {
                throw Self.fileSystemError("look at", tablePath(shard), .last())
            }
            try makeTable(shard, capacity: Self.initialCapacity, records: [])
            guard fstatat(tablesDescriptor, name, &status, 0) == 0 else {
                throw Self.fileSystemError("look at", tablePath(shard), .last())
            }
        }
        let cached = tables.withLock { $0[shard] }
        if let cached, cached.device == UInt64(status.st_dev), cached.inode == UInt64(status.st_ino) {
            return cached
        }
        let descriptor = Self.openTable(at: tablesDescriptor, name)
        guard descriptor >= 0 else {
            throw Self.fileSystemError("open", tablePath(shard), .last())
        }
        let capacity: Int
        do throws(IdempotencyStoreError) {
            capacity = try Self.readHeader(descriptor, size: Int(status.st_size))
        } catch {
            let salvaged = salvage(descriptor, size: Int(status.st_size), shard: shard)
            close(descriptor)
            throw quarantineTable(shard, reason: error.message, salvaged: salvaged)
        }
        let table = OpenTable(
            descriptor: descriptor,
            device: UInt64(status.st_dev),
            inode: UInt64(status.st_ino),
            capacity: capacity
        )
        let replaced = tables.withLock { tables in
            defer { tables[shard] = table }
            return tables[shard]
        }
        if let replaced { close(replaced.descriptor) }
        return table
    }

    #if os(Linux)
    /// `O_NOATIME` from `<fcntl.h>` (0o1000000 on Linux), which Glibc's Swift module does not export.
    static let noAccessTime: Int32 = 0o1_000_000
    #endif

    /// Opens a table for reading and writing slots: without access-time updates when the file is ours (a read
    /// would otherwise write the inode), and telling the kernel that reads are random (no read-ahead).
    static func openTable(at folder: Int32, _ name: String) -> Int32 {
        #if os(Linux)
        var descriptor = openat(folder, name, O_RDWR | O_CLOEXEC | noAccessTime)
        if descriptor < 0 && errno == EPERM { descriptor = openat(folder, name, O_RDWR | O_CLOEXEC) }
        if descriptor >= 0 { _ = posix_fadvise(descriptor, 0, 0, POSIX_FADV_RANDOM) }
        return descriptor
        #else
        return openat(folder, name, O_RDWR | O_CLOEXEC)
        #endif
    }

    /// Rebuilds the shard's table with its records (`records`, when the caller has read them already), without the
    /// expired ones given `now`, at least `minimumCapacity` slots and three for each record, every record within
    /// ``maxProbe`` of its home.
    func rebuild(
        _ shard: Int,
        table: OpenTable,
        records: [IdempotencyRecord]? = nil,
        now: Int64?,
        minimumCapacity: Int
    ) async throws(IdempotencyStoreError) {
        var kept: [IdempotencyRecord]
        if let records {
            kept = records
        } else {
            kept = try readAll(table, shard: shard).records
        }
        if let now { kept.removeAll { $0.isExpired(at: now) } }
        // A table this empty has no room near a home slot only when many keys share their first bytes, which
        // SHA-256 digests do not: doubling would not help, and would go on until the disk is full.
        if minimumCapacity > table.capacity, table.capacity > Self.crowdingFactor * max(kept.count, Self.maxProbe) {
            throw Self.crowdedError(tablePath(shard), capacity: table.capacity, records: kept.count)
        }
        var capacity = Self.initialCapacity
        while capacity < Self.maxCapacity && (capacity < minimumCapacity || capacity < kept.count * 3) {
            capacity *= 2
        }
        if capacity <= table.capacity && minimumCapacity > table.capacity {
            throw IdempotencyStoreError(
                "the idempotency table \(tablePath(shard)) is full (\(table.capacity) slots) and cannot grow further",
                code: .full
            )
        }
        try makeTable(shard, capacity: capacity, records: kept)
        try await gate?.flush()
    }

    /// A table may grow while it holds at least one record per this many slots.
    static let crowdingFactor = 16

    static func crowdedError(_ path: String, capacity: Int, records: Int) -> IdempotencyStoreError {
        IdempotencyStoreError(
            "the idempotency table \(path) has no room near a key's home slot although only \(records) of its "
                + "\(capacity) slots are used: more than \(maxProbe) keys share their first hex digits (keys are "
                + "meant to be SHA-256 digests, as IdempotencyKeySource makes them)",
            code: .invalidRequest
        )
    }

    /// Writes a table to a temporary file and renames it into place.
    func makeTable(_ shard: Int, capacity: Int, records: [IdempotencyRecord]) throws(IdempotencyStoreError) {
        var capacity = capacity
        var placement = Self.place(records, capacity: capacity)
        while placement == nil {
            // Only keys made to share their hash's first bytes (not SHA-256 digests) can crowd one home slot.
            guard capacity < Self.maxCapacity, capacity <= Self.crowdingFactor * max(records.count, Self.maxProbe)
            else {
                throw Self.crowdedError(tablePath(shard), capacity: capacity, records: records.count)
            }
            capacity *= 2
            placement = Self.place(records, capacity: capacity)
        }
        let name = tableName(shard)
        let temporary = name + ".tmp-" + Self.randomSuffix()
        let path = directory + "/tables/" + temporary
        let descriptor = openat(tablesDescriptor, temporary, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw Self.fileSystemError("create", path, .last())
        }
        defer { close(descriptor) }
        do throws(IdempotencyStoreError) {
            guard ftruncate(descriptor, off_t(Self.offset(ofSlot: capacity))) == 0 else {
                throw Self.fileSystemError("size", path, .last())
            }
            var header = Array((Self.tableMagic + String(capacity) + "\n").utf8)
            header += repeatElement(0, count: SlotFormat.size - header.count)
            try Self.writeAll(header, to: descriptor, at: 0, path: path)
            for (record, slot) in zip(records, placement ?? []) {
                let state: SlotFormat.State = record.status == .completed ? .completed : .inProgress
                guard let bytes = SlotFormat.encode(record, state: state) else { continue }
                try Self.writeAll(bytes, to: descriptor, at: Self.offset(ofSlot: slot), path: path)
            }
            if gate != nil && fsync(descriptor) != 0 {
                throw IdempotencyStoreError(
                    "cannot flush \(path) to disk: \(Self.describe(errno))",
                    code: .fileSystem,
                    systemErrorNumber: errno
                )
            }
            guard renameat(tablesDescriptor, temporary, tablesDescriptor, name) == 0 else {
                throw Self.fileSystemError("put", "\(path) in place of \(tablePath(shard))", .last())
            }
        } catch {
            unlinkat(tablesDescriptor, temporary, 0)
            throw error
        }
    }

    /// Where each record goes in a table of `capacity` slots, or `nil` when one would be farther than
    /// ``maxProbe`` from its home.
    static func place(_ records: [IdempotencyRecord], capacity: Int) -> [Int]? {
        var taken = [Bool](repeating: false, count: capacity)
        var slots: [Int] = []
        slots.reserveCapacity(records.count)
        for record in records {
            guard let key = IdempotencyKey(hex: record.key) else { return nil }
            let home = home(of: key, capacity: capacity)
            guard let position = (0..<min(maxProbe, capacity)).first(where: { !taken[(home + $0) % capacity] }) else {
                return nil
            }
            let slot = (home + position) % capacity
            taken[slot] = true
            slots.append(slot)
        }
        return slots
    }

    /// The records of a table and how many slots are free; damaged slots are copied to the quarantine and left out.
    func readAll(
        _ table: OpenTable,
        shard: Int
    ) throws(IdempotencyStoreError) -> (records: [IdempotencyRecord], free: Int) {
        var records: [IdempotencyRecord] = []
        var free = 0
        var damaged: [(slot: Int, content: [UInt8], reason: String)] = []
        try Self.forEachSlot(table.descriptor, capacity: table.capacity, path: tablePath(shard)) { slot, bytes in
            switch SlotFormat.decode(bytes) {
            case .empty: break
            case .free: free += 1
            case .record(let record): records.append(record)
            case .damaged(let reason): damaged.append((slot, Array(bytes), reason))
            }
        }
        for (slot, content, reason) in damaged {
            _ = try? quarantineSlot(slot, of: table, shard: shard, content: content, reason: reason)
        }
        return (records, free)
    }

    // MARK: - Keys and slots

    /// The key's shard: its first byte, modulo the number of shards.
    static func shard(of key: IdempotencyKey) -> Int {
        Int(hexNumber(key.hex.utf8.prefix(2)) % UInt64(shardCount))
    }

    /// The key's home slot: the hash's bytes 2 to 9, modulo the table's size.
    static func home(of key: IdempotencyKey, capacity: Int) -> Int {
        Int(hexNumber(key.hex.utf8.dropFirst(2).prefix(16)) % UInt64(capacity))
    }

    static func hexNumber(_ digits: some Sequence<UInt8>) -> UInt64 {
        digits.reduce(0) { value, digit in
            value << 4 | UInt64(digit <= 0x39 ? digit &- 0x30 : digit &- 0x61 &+ 10)
        }
    }

    /// Slot 0 starts after the header.
    static func offset(ofSlot slot: Int) -> Int { (slot + 1) * SlotFormat.size }

    func readSlots(
        _ table: OpenTable,
        from slot: Int,
        count: Int,
        shard: Int
    ) throws(IdempotencyStoreError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count * SlotFormat.size)
        try Self.readAll(into: &bytes, from: table.descriptor, at: Self.offset(ofSlot: slot), path: tablePath(shard))
        return bytes
    }

    /// Calls `body` with every slot of a table, reading 64 KB at a time.
    static func forEachSlot(
        _ descriptor: Int32,
        capacity: Int,
        path: String,
        _ body: (Int, UnsafeRawBufferPointer) -> Void
    ) throws(IdempotencyStoreError) {
        let perRead = 128
        var chunk = [UInt8](repeating: 0, count: perRead * SlotFormat.size)
        var slot = 0
        while slot < capacity {
            let count = min(perRead, capacity - slot)
            try readAll(into: &chunk, from: descriptor, at: offset(ofSlot: slot), path: path)
            chunk.withUnsafeBytes { buffer in
                for index in 0..<count {
                    body(
                        slot + index,
                        UnsafeRawBufferPointer(
                            rebasing: buffer[(index * SlotFormat.size)..<((index + 1) * SlotFormat.size)]
                        )
                    )
                }
            }
            slot += count
        }
    }

    /// The capacity a table's header gives, checked against the file's `size`.
    static func readHeader(_ descriptor: Int32, size: Int) throws(IdempotencyStoreError) -> Int {
        var header = [UInt8](repeating: 0, count: SlotFormat.size)
        try readAll(into: &header, from: descriptor, at: 0, path: "the table")
        let magic = Array(tableMagic.utf8)
        guard header.starts(with: magic), let newline = header.firstIndex(of: 0x0A),
            let capacity = Int(String(decoding: header[magic.count..<newline], as: UTF8.self)), capacity > 0,
            capacity <= maxCapacity
        else { throw IdempotencyStoreError("its header is not a table header of this store", code: .damaged) }
        guard size >= offset(ofSlot: capacity) else {
            throw IdempotencyStoreError("it is shorter than its header says", code: .damaged)
        }
        return capacity
    }
}
