import BatchProcessingJSONSupport
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The embedded idempotency store: a hash table of fixed-size slots in a file per shard, safe across the tasks of
/// a process, across processes on a host, and across hosts sharing an NFS or EFS mount.
///
/// The folder holds:
/// - `FORMAT`, which says what the folder is;
/// - `tables/SS.table`, one per shard (`SS` from `00` to `3f`: the key's first byte, modulo 64): a 512-byte header,
///   then slots of 512 bytes, each empty, free or holding one key's record as one line of text with a checksum
///   (the slot format). A key's record is in the first slot from its home slot (its hash, modulo the table's size)
///   that holds it; a lookup stops at an empty slot or after a bounded number of slots;
/// - `locks`, whose byte *n* is locked while shard *n* is read or changed;
/// - `quarantine/`, where damaged slots and tables are copied for a look.
///
/// How it stays safe:
/// - **One writer per shard.** Every read and change happens under the shard's lock: an open-file-description lock
///   (`F_OFD_SETLK`, which NFS and EFS honour as record locks) on the shard's byte of `locks`, taken without
///   blocking a thread, after an in-process lock so tasks of one process queue in order. The lock holder reads,
///   decides and writes; nobody else can act in between. A process killed while holding it loses it with its life.
/// - **One slot per write.** A change rewrites one 512-byte slot in place (one `pwrite`, one disk sector): a
///   process killed at any instant leaves the old record or the new one. A slot that does not read back whole (a
///   power loss mid-write without the durable mode, or a file damaged from outside) fails its checksum: it is
///   copied to `quarantine/`, cleared, and the call fails with an error naming it; the next call goes on.
/// - **Growing without stopping.** A table that has no free slot near a key's home is rebuilt at twice the size
///   (a new file renamed over the old, so readers see one or the other); other processes notice the new file by
///   its inode the next time they take the shard's lock. ``purgeExpired(now:)`` rebuilds tables without their
///   expired and free slots, so the hot path never scans the store.
///
/// A state change costs one lock, one to a few reads of 4 KB and one write of 512 bytes, with no file created or
/// renamed: a few microseconds where creating and renaming a file per record cost hundreds.
///
/// Durability is a choice (``Durability``): by default a write survives the death of the process but not of the
/// machine; ``Durability/durable`` flushes to disk before a state change counts, grouping the flushes of records
/// processed at once.
public final class FileIdempotencyStore: IdempotencyStore {
    /// How far a write must have gone before a state change counts.
    public enum Durability: String, Sendable, CaseIterable {
        /// Written to the file: survives the process being killed, not a power loss (the default; it costs no
        /// flush).
        case processCrashSafe = "process"
        /// Flushed to disk before the change counts (one flush shared by concurrent writers): survives a power
        /// loss.
        case durable
    }

    /// The store's folder.
    public let directory: String
    /// How far writes go before they count.
    public let durability: Durability
    /// How long to keep trying for a shard's lock that another process holds before failing the call.
    public let lockTimeout: Duration

    private let directoryDescriptor: Int32
    private let tablesDescriptor: Int32
    private let lockDescriptor: Int32
    private let shardLocks = ShardLocks(count: FileIdempotencyStore.shardCount)
    /// Each shard's open table, used only under the shard's lock.
    private let tables = Mutex<[OpenTable?]>(Array(repeating: nil, count: FileIdempotencyStore.shardCount))
    private let gate: SyncGate?

    /// What the store writes in its `FORMAT` file, to tell its folders from others.
    static let formatMarker = "batch-processing idempotency file store, format 2\n"
    /// What stores of the first format (a file per key) wrote there.
    static let firstFormatMarker = "batch-processing idempotency file store, format 1\n"
    static let shardCount = 64
    /// Slots of a new table.
    static let initialCapacity = 1024
    /// The farthest a record may be from its home slot; a table with no room that near is grown.
    static let maxProbe = 64
    /// The most slots a table may have (8 GB of file); past it a table is not grown.
    static let maxCapacity = 1 << 24
    /// Slots read at once while looking a key up: 4 KB.
    static let slotsPerRead = 8
    static let tableMagic = "batch-idempotency-table 2 capacity "

    private struct OpenTable: Sendable {
        var descriptor: Int32
        var device: UInt64
        var inode: UInt64
        var capacity: Int
    }

    /// Opens the store in `directory`, creating it (0700) when missing.
    ///
    /// - Throws: ``IdempotencyStoreError`` when the folder cannot be made or opened, or holds something other than
    ///   this store (its `FORMAT` file says otherwise).
    public init(
        directory: String,
        durability: Durability = .processCrashSafe,
        lockTimeout: Duration = .seconds(10)
    ) throws(IdempotencyStoreError) {
        self.directory = directory
        self.durability = durability
        self.lockTimeout = lockTimeout
        try Self.makeDirectory(directory)
        let descriptor = try Self.openOrFail(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC, what: "the store")
        do {
            try Self.checkFormat(directory)
        } catch {
            close(descriptor)
            throw error
        }
        let tables: Int32
        do {
            tables = try Self.openOrFail(
                directory + "/tables",
                O_RDONLY | O_DIRECTORY | O_CLOEXEC,
                what: "the tables folder"
            )
        } catch {
            close(descriptor)
            throw error
        }
        let locks: Int32
        do {
            locks = try Self.openOrFail(directory + "/locks", O_RDWR | O_CREAT | O_CLOEXEC, what: "the lock file")
        } catch {
            close(descriptor)
            close(tables)
            throw error
        }
        directoryDescriptor = descriptor
        tablesDescriptor = tables
        lockDescriptor = locks
        gate = durability == .durable ? SyncGate(directoryDescriptor: descriptor) : nil
    }

    deinit {
        for table in tables.withLock({ $0 }) { if let table { close(table.descriptor) } }
        close(lockDescriptor)
        close(tablesDescriptor)
        close(directoryDescriptor)
    }

    /// True when `directory` is a store of this format (its `FORMAT` file says so); false when it has none.
    public static func isStore(directory: String) throws(IdempotencyStoreError) -> Bool {
        switch readFile(directory + "/FORMAT") {
        case .read(let bytes): return bytes == Array(formatMarker.utf8)
        case .missing: return false
        case .failed(let code):
            throw IdempotencyStoreError(
                "cannot read \(directory)/FORMAT: \(describe(code))",
                code: .fileSystem,
                systemErrorNumber: code
            )
        }
    }

    // MARK: - IdempotencyStore

    public func claim(
        key: IdempotencyKey,
        token: String,
        payloadHash: String?,
        inProgressUntil: Int64,
        expiresAt: Int64,
        now: Int64
    ) async throws(IdempotencyStoreError) -> ClaimResult {
        let fresh = IdempotencyRecord(
            key: key.hex,
            status: .inProgress,
            token: token,
            expiresAt: expiresAt,
            inProgressUntil: inProgressUntil,
            payloadHash: payloadHash
        )
        guard !token.isEmpty else {
            throw IdempotencyStoreError("the claim of \(key) has an empty token", code: .invalidRequest)
        }
        guard let slot = SlotFormat.encode(fresh, state: .inProgress) else {
            throw IdempotencyStoreError(
                "the token and payload hash of \(key) are too long for the file store (together at most "
                    + "\(SlotFormat.maxVariableBytes) bytes as written)",
                code: .invalidRequest
            )
        }
        let shard = Self.shard(of: key)
        let result = try await withShard(shard) { () async throws(IdempotencyStoreError) -> ClaimResult in
            while true {
                let table = try currentTable(shard)
                let probe = try find(key, in: table, shard: shard, now: now)
                if let found = probe.found {
                    let decision = IdempotencyRules.claim(existing: found.record, token: token, now: now)
                    if decision.writes { try write(slot, at: found.slot, of: table, shard: shard) }
                    return decision.answer
                }
                // No record: the rules' first row (a claim, written).
                if let vacancy = probe.vacancy {
                    try write(slot, at: vacancy, of: table, shard: shard)
                    return .claimed
                }
                // No room near the key's home: a table twice the size, then look again.
                try await rebuild(shard, table: table, now: now, minimumCapacity: table.capacity * 2)
            }
        }
        switch result {
        case .claimed, .tookOver: try await flushIfDurable()
        case .completed, .inProgress: break
        }
        return result
    }

    public func complete(key: IdempotencyKey, token: String) async throws(IdempotencyStoreError) -> FenceResult {
        try await changeHeld(key, token: token, to: .completed)
    }

    public func release(key: IdempotencyKey, token: String) async throws(IdempotencyStoreError) -> FenceResult {
        try await changeHeld(key, token: token, to: .free)
    }

    public func record(for key: IdempotencyKey) async throws(IdempotencyStoreError) -> IdempotencyRecord? {
        let shard = Self.shard(of: key)
        return try await withShard(shard) { () throws(IdempotencyStoreError) -> IdempotencyRecord? in
            let table = try currentTable(shard)
            return try find(key, in: table, shard: shard, now: nil).found?.record
        }
    }

    /// Rebuilds every table that has expired or free slots without them.
    public func purgeExpired(now: Int64) async throws(IdempotencyStoreError) -> Int {
        var removed = 0
        for shard in 0..<Self.shardCount where tableExists(shard) {
            removed += try await withShard(shard) { () async throws(IdempotencyStoreError) -> Int in
                let table = try currentTable(shard)
                let contents = try readAll(table, shard: shard)
                let expired = contents.records.filter { $0.isExpired(at: now) }.count
                guard expired > 0 || contents.free > 0 else { return 0 }
                try await rebuild(
                    shard,
                    table: table,
                    records: contents.records,
                    now: now,
                    minimumCapacity: Self.initialCapacity
                )
                return expired
            }
        }
        removeStaleTemporaryFiles(olderThan: now - 3_600_000)
        return removed
    }

    // MARK: - Listing

    /// Every key with a record, in no particular order: a scan of every table, without locks (a slot being
    /// written at that moment is skipped). For operators, not the hot path.
    public func allKeys() throws(IdempotencyStoreError) -> [IdempotencyKey] {
        var keys: [IdempotencyKey] = []
        for shard in 0..<Self.shardCount {
            let path = tablePath(shard)
            let descriptor = open(path, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else {
                if errno == ENOENT { continue }
                throw IdempotencyStoreError(
                    "cannot open \(path): \(Self.describe(errno))",
                    code: .fileSystem,
                    systemErrorNumber: errno
                )
            }
            defer { close(descriptor) }
            // What a lookup checks: a table whose header is damaged, or claims more slots than the file holds, is
            // not scanned (a lookup quarantines it).
            var status = stat()
            guard fstat(descriptor, &status) == 0,
                let capacity = try? Self.readHeader(descriptor, size: Int(status.st_size))
            else { continue }
            try Self.forEachSlot(descriptor, capacity: capacity, path: path) { _, bytes in
                if case .record(let record) = SlotFormat.decode(bytes), let key = IdempotencyKey(hex: record.key) {
                    keys.append(key)
                }
            }
        }
        return keys
    }

    // MARK: - Changes

    /// Completes or releases the key's in-progress record, when it is still `token`'s.
    private func changeHeld(
        _ key: IdempotencyKey,
        token: String,
        to state: SlotFormat.State
    ) async throws(IdempotencyStoreError) -> FenceResult {
        let shard = Self.shard(of: key)
        let result = try await withShard(shard) { () throws(IdempotencyStoreError) -> FenceResult in
            let table = try currentTable(shard)
            let found = try find(key, in: table, shard: shard, now: nil).found
            let decision =
                state == .completed
                ? IdempotencyRules.complete(existing: found?.record, token: token)
                : IdempotencyRules.release(existing: found?.record, token: token)
            guard decision.writes, let found else { return decision.answer }
            // The record as claimed (its expiry was written with the claim): only the state changes.
            guard let slot = SlotFormat.encode(found.record, state: state) else {
                throw IdempotencyStoreError("the record of \(key) no longer fits its slot", code: .invalidRequest)
            }
            try write(slot, at: found.slot, of: table, shard: shard)
            return decision.answer
        }
        if result == .applied { try await flushIfDurable() }
        return result
    }

    private struct Probe {
        var found: (slot: Int, record: IdempotencyRecord)?
        /// The first slot the key's record may go in: free, expired (with `now`), or the empty one that ended the
        /// lookup.
        var vacancy: Int?
    }

    /// Looks the key up from its home slot. With `now`, an expired record of another key counts as a vacancy.
    private func find(
        _ key: IdempotencyKey,
        in table: OpenTable,
        shard: Int,
        now: Int64?
    ) throws(IdempotencyStoreError) -> Probe {
        let home = Self.home(of: key, capacity: table.capacity)
        let limit = min(Self.maxProbe, table.capacity)
        var vacancy: Int?
        var position = 0
        while position < limit {
            let start = (home + position) % table.capacity
            // The home slot alone first: most lookups end there (the key, or an empty slot).
            let run = min(position == 0 ? 1 : Self.slotsPerRead, table.capacity - start, limit - position)
            let bytes = try readSlots(table, from: start, count: run, shard: shard)
            enum Seen {
                case end(Int)
                case found(Int, IdempotencyRecord)
                case damaged(Int, String)
                case next
            }
            var seen = Seen.next
            bytes.withUnsafeBytes { buffer in
                var wanted = key.hex
                wanted.withUTF8 { wantedKey in
                    for offset in 0..<run {
                        let slot = start + offset
                        let slotBytes = UnsafeRawBufferPointer(
                            rebasing: buffer[(offset * SlotFormat.size)..<((offset + 1) * SlotFormat.size)]
                        )
                        switch SlotFormat.check(slotBytes) {
                        case .empty:
                            seen = .end(vacancy ?? slot)
                            return
                        case .damaged(let reason):
                            seen = .damaged(slot, reason)
                            return
                        case .slot(let view):
                            if view.holds(UnsafeRawBufferPointer(wantedKey), in: slotBytes) {
                                guard let record = view.record(in: slotBytes) else {
                                    seen = .damaged(slot, "its payload hash or token is not written as the format says")
                                    return
                                }
                                seen = .found(slot, record)
                                return
                            }
                            if vacancy == nil, view.state == .free || now.map(view.isExpired(at:)) == true {
                                vacancy = slot
                            }
                        }
                    }
                }
            }
            switch seen {
            case .end(let slot): return Probe(found: nil, vacancy: slot)
            case .found(let slot, let record): return Probe(found: (slot, record), vacancy: vacancy)
            case .damaged(let slot, let reason):
                let offset = slot - start
                let content = Array(bytes[(offset * SlotFormat.size)..<((offset + 1) * SlotFormat.size)])
                throw try quarantineSlot(slot, of: table, shard: shard, content: content, reason: reason)
            case .next: break
            }
            position += run
        }
        return Probe(found: nil, vacancy: vacancy)
    }

    /// Writes one slot (under the shard's lock).
    private func write(_ slot: [UInt8], at index: Int, of table: OpenTable, shard: Int) throws(IdempotencyStoreError) {
        try Self.writeAll(slot, to: table.descriptor, at: Self.offset(ofSlot: index), path: tablePath(shard))
        if gate != nil && !SyncGate.flushesFileData && fsync(table.descriptor) != 0 {
            throw IdempotencyStoreError(
                "cannot flush \(tablePath(shard)) to disk: \(Self.describe(errno))",
                code: .fileSystem,
                systemErrorNumber: errno
            )
        }
    }

    /// In the durable mode, returns once what this task wrote is on disk. Called after the shard's lock is let go:
    /// a reader that sees the change before it is flushed can only be held back by it (an in-progress claim) or
    /// skip work that was done (a completion), so the lock need not wait for the disk, and the writers of other
    /// records reach the flush meanwhile and share it.
    private func flushIfDurable() async throws(IdempotencyStoreError) {
        try await gate?.flush()
    }

    // MARK: - Tables

    private func tableName(_ shard: Int) -> String {
        let digits = Array("0123456789abcdef".utf8)
        return String(decoding: [digits[shard >> 4], digits[shard & 0x0F]], as: UTF8.self) + ".table"
    }

    private func tablePath(_ shard: Int) -> String { directory + "/tables/" + tableName(shard) }

    private func tableExists(_ shard: Int) -> Bool {
        var status = stat()
        return fstatat(tablesDescriptor, tableName(shard), &status, 0) == 0
    }

    /// The shard's table as it is on disk now: made when missing, opened again when another process replaced it.
    private func currentTable(_ shard: Int) throws(IdempotencyStoreError) -> OpenTable {
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
                throw IdempotencyStoreError(
                    "cannot look at \(tablePath(shard)): \(Self.describe(errno))",
                    code: .fileSystem,
                    systemErrorNumber: errno
                )
            }
            try makeTable(shard, capacity: Self.initialCapacity, records: [])
            guard fstatat(tablesDescriptor, name, &status, 0) == 0 else {
                throw IdempotencyStoreError(
                    "cannot look at \(tablePath(shard)): \(Self.describe(errno))",
                    code: .fileSystem,
                    systemErrorNumber: errno
                )
            }
        }
        let cached = tables.withLock { $0[shard] }
        if let cached, cached.device == UInt64(status.st_dev), cached.inode == UInt64(status.st_ino) {
            return cached
        }
        let descriptor = Self.openTable(at: tablesDescriptor, name)
        guard descriptor >= 0 else {
            throw IdempotencyStoreError(
                "cannot open \(tablePath(shard)): \(Self.describe(errno))",
                code: .fileSystem,
                systemErrorNumber: errno
            )
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
    private static let noAccessTime: Int32 = 0o1_000_000
    #endif

    /// Opens a table for reading and writing slots: without access-time updates when the file is ours (a read
    /// would otherwise write the inode), and telling the kernel that reads are random (no read-ahead).
    private static func openTable(at folder: Int32, _ name: String) -> Int32 {
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
    private func rebuild(
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

    private static func crowdedError(_ path: String, capacity: Int, records: Int) -> IdempotencyStoreError {
        IdempotencyStoreError(
            "the idempotency table \(path) has no room near a key's home slot although only \(records) of its "
                + "\(capacity) slots are used: more than \(maxProbe) keys share their first hex digits (keys are "
                + "meant to be SHA-256 digests, as IdempotencyKeySource makes them)",
            code: .invalidRequest
        )
    }

    /// Writes a table to a temporary file and renames it into place.
    private func makeTable(_ shard: Int, capacity: Int, records: [IdempotencyRecord]) throws(IdempotencyStoreError) {
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
            throw IdempotencyStoreError(
                "cannot create \(path): \(Self.describe(errno))",
                code: .fileSystem,
                systemErrorNumber: errno
            )
        }
        defer { close(descriptor) }
        do throws(IdempotencyStoreError) {
            guard ftruncate(descriptor, off_t(Self.offset(ofSlot: capacity))) == 0 else {
                throw IdempotencyStoreError(
                    "cannot size \(path): \(Self.describe(errno))",
                    code: .fileSystem,
                    systemErrorNumber: errno
                )
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
                throw IdempotencyStoreError(
                    "cannot put \(path) in place of \(tablePath(shard)): \(Self.describe(errno))",
                    code: .fileSystem,
                    systemErrorNumber: errno
                )
            }
        } catch {
            unlinkat(tablesDescriptor, temporary, 0)
            throw error
        }
    }

    /// Where each record goes in a table of `capacity` slots, or `nil` when one would be farther than
    /// ``maxProbe`` from its home.
    private static func place(_ records: [IdempotencyRecord], capacity: Int) -> [Int]? {
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
    private func readAll(
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

    // MARK: - Damage

    /// Copies a damaged slot to `quarantine/`, clears it (a free slot, so lookups go on past it), and gives the
    /// error that says so.
    private func quarantineSlot(
        _ slot: Int,
        of table: OpenTable,
        shard: Int,
        content: [UInt8],
        reason: String
    ) throws(IdempotencyStoreError) -> IdempotencyStoreError {
        let folder = directory + "/quarantine"
        try Self.makeDirectory(folder)
        let target =
            folder + "/" + tableName(shard) + "-slot-" + String(slot) + "." + String(WallClock.nowMilliseconds())
            + "." + Self.randomSuffix()
        try Self.writeNewFile(target, content)
        let cleared = IdempotencyRecord(
            key: String(repeating: "0", count: 64),
            status: .inProgress,
            token: "cleared"
        )
        if let bytes = SlotFormat.encode(cleared, state: .free) {
            try Self.writeAll(bytes, to: table.descriptor, at: Self.offset(ofSlot: slot), path: tablePath(shard))
        }
        return IdempotencyStoreError(
            "slot \(slot) of the idempotency table \(tablePath(shard)) is damaged (\(reason)); it was copied to "
                + "\(target) and cleared, and its key, whichever it was, starts afresh",
            code: .damaged
        )
    }

    /// What could be read of a table whose header is damaged: the slots after the header, as many as the file
    /// holds, each checked on its own (a slot's checksum covers its content), keeping the records of this shard's
    /// keys; and how many slots were unreadable.
    private func salvage(_ descriptor: Int32, size: Int, shard: Int) -> Salvage {
        let capacity = min(max(size / SlotFormat.size - 1, 0), Self.maxCapacity)
        var found: [String: IdempotencyRecord] = [:]
        var unreadable = 0
        do throws(IdempotencyStoreError) {
            try Self.forEachSlot(descriptor, capacity: capacity, path: tablePath(shard)) { _, bytes in
                switch SlotFormat.decode(bytes) {
                case .empty, .free: break
                case .damaged: unreadable += 1
                case .record(let record):
                    guard let key = IdempotencyKey(hex: record.key), Self.shard(of: key) == shard else {
                        unreadable += 1
                        return
                    }
                    // One key in two slots cannot come from this store; keep the one that lasts longer.
                    if let other = found[record.key], (other.expiresAt ?? 0) >= (record.expiresAt ?? 0) { return }
                    found[record.key] = record
                }
            }
        } catch {
            // Unreadable from some slot on: what was read before it is kept, the rest counts as lost below.
            unreadable += 1
        }
        return Salvage(records: found.values.sorted { $0.key < $1.key }, unreadableSlots: unreadable)
    }

    /// The records recovered from a damaged table.
    struct Salvage {
        var records: [IdempotencyRecord]
        var unreadableSlots: Int
    }

    /// Moves a damaged table to `quarantine/`, puts a new table in its place with the records `salvaged` from it,
    /// and gives the error that says so (how many keys were kept, how many slots could not be read: their keys
    /// start afresh).
    private func quarantineTable(_ shard: Int, reason: String, salvaged: Salvage) -> IdempotencyStoreError {
        let folder = directory + "/quarantine"
        try? Self.makeDirectory(folder)
        let target =
            folder + "/" + tableName(shard) + "." + String(WallClock.nowMilliseconds()) + "." + Self.randomSuffix()
        guard rename(tablePath(shard), target) == 0 else {
            return IdempotencyStoreError(
                "the idempotency table \(tablePath(shard)) is damaged (\(reason)), and it could not be moved aside: "
                    + Self.describe(errno),
                code: .damaged,
                systemErrorNumber: errno
            )
        }
        let lost =
            salvaged.unreadableSlots == 0
            ? "no slot was unreadable"
            : "\(salvaged.unreadableSlots) unreadable slot(s) were left out, and their keys start afresh"
        guard !salvaged.records.isEmpty else {
            return IdempotencyStoreError(
                "the idempotency table \(tablePath(shard)) is damaged (\(reason)); it was moved to \(target), and "
                    + "no record could be read from it (\(lost)): the keys of its shard start afresh",
                code: .damaged
            )
        }
        var capacity = Self.initialCapacity
        while capacity < Self.maxCapacity && capacity < salvaged.records.count * 3 { capacity *= 2 }
        do throws(IdempotencyStoreError) {
            try makeTable(shard, capacity: capacity, records: salvaged.records)
        } catch {
            return IdempotencyStoreError(
                "the idempotency table \(tablePath(shard)) is damaged (\(reason)); it was moved to \(target), but "
                    + "the \(salvaged.records.count) record(s) read from it could not be put in a new table "
                    + "(\(error.message)): the keys of its shard start afresh",
                code: .damaged
            )
        }
        return IdempotencyStoreError(
            "the idempotency table \(tablePath(shard)) is damaged (\(reason)); it was moved to \(target), and the "
                + "\(salvaged.records.count) record(s) read from its slots are in a new table (\(lost))",
            code: .damaged
        )
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

    private static func hexNumber(_ digits: some Sequence<UInt8>) -> UInt64 {
        digits.reduce(0) { value, digit in
            value << 4 | UInt64(digit <= 0x39 ? digit &- 0x30 : digit &- 0x61 &+ 10)
        }
    }

    /// Slot 0 starts after the header.
    private static func offset(ofSlot slot: Int) -> Int { (slot + 1) * SlotFormat.size }

    private func readSlots(
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
    private static func forEachSlot(
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
    private static func readHeader(_ descriptor: Int32, size: Int) throws(IdempotencyStoreError) -> Int {
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

    // MARK: - Locking

    /// Runs `body` holding the shard: first among this process's tasks, then among processes (its byte of
    /// `locks`).
    private func withShard<T: Sendable>(
        _ shard: Int,
        _ body: () async throws(IdempotencyStoreError) -> T
    ) async throws(IdempotencyStoreError) -> T {
        do {
            return try await shardLocks.withLock(shard) { () async throws -> T in
                try await lockShard(shard)
                defer { unlockShard(shard) }
                return try await body()
            }
        } catch let error as IdempotencyStoreError {
            throw error
        } catch {
            throw IdempotencyStoreError("the idempotency store failed: \(error)", code: .fileSystem)
        }
    }

    #if os(Linux)
    /// `F_OFD_SETLK` from `<fcntl.h>` (Linux 3.15 and later), which Glibc's Swift module does not export.
    private static let openFileDescriptionSetLock: Int32 = 37
    #endif

    private func setShardLock(_ shard: Int, _ type: Int32) -> Bool {
        var lock = flock()
        lock.l_type = Int16(type)
        lock.l_whence = Int16(SEEK_SET)
        lock.l_start = off_t(shard)
        lock.l_len = 1
        #if os(Linux)
        // Open-file-description locks belong to the descriptor, not the process, so closing another descriptor of
        // the same file elsewhere in the process does not drop them.
        return fcntl(lockDescriptor, Self.openFileDescriptionSetLock, &lock) == 0
        #else
        return fcntl(lockDescriptor, F_SETLK, &lock) == 0
        #endif
    }

    /// Locks the shard's byte of `locks`, retrying without blocking a thread while another process holds it.
    private func lockShard(_ shard: Int) async throws(IdempotencyStoreError) {
        let path = directory + "/locks"
        let clock = ContinuousClock()
        let giveUp = clock.now + lockTimeout
        var wait = Duration.microseconds(200)
        while true {
            if setShardLock(shard, F_WRLCK) { return }
            let reason = errno
            guard reason == EAGAIN || reason == EACCES || reason == EINTR else {
                throw IdempotencyStoreError(
                    "cannot lock \(path) (shard \(shard)): \(Self.describe(reason))",
                    code: .fileSystem,
                    systemErrorNumber: reason
                )
            }
            guard clock.now < giveUp else {
                throw IdempotencyStoreError(
                    "another process has held the lock on \(path) (shard \(shard)) for over \(lockTimeout); giving "
                        + "up on this record",
                    code: .busy
                )
            }
            do {
                try await Task.sleep(for: wait)
            } catch {
                // Cancelled while waiting: stop trying rather than spin without sleeping until the timeout.
                throw IdempotencyStoreError(
                    "cancelled while waiting for the lock on \(path) (shard \(shard))",
                    code: .cancelled
                )
            }
            wait = min(wait * 2, .milliseconds(20))
        }
    }

    private func unlockShard(_ shard: Int) {
        _ = setShardLock(shard, F_UNLCK)
    }

    // MARK: - File-system helpers

    private enum ReadResult {
        case read([UInt8])
        case missing
        case failed(Int32)
    }

    private static func readFile(_ path: String) -> ReadResult {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return errno == ENOENT ? .missing : .failed(errno) }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count > 0 {
                bytes.append(contentsOf: chunk[0..<count])
                if bytes.count > 64 * 1024 { return .read(bytes) }
            } else if count == 0 {
                return .read(bytes)
            } else if errno != EINTR {
                return .failed(errno)
            }
        }
    }

    /// Fills `bytes` from `offset`; what lies past the end of the file reads as zeros (empty slots).
    private static func readAll(
        into bytes: inout [UInt8],
        from descriptor: Int32,
        at offset: Int,
        path: String
    ) throws(IdempotencyStoreError) {
        var done = 0
        while done < bytes.count {
            let count = bytes.withUnsafeMutableBytes { buffer in
                pread(descriptor, buffer.baseAddress.map { $0 + done }, buffer.count - done, off_t(offset + done))
            }
            if count > 0 {
                done += count
            } else if count == 0 {
                for index in done..<bytes.count { bytes[index] = 0 }
                return
            } else if errno != EINTR {
                throw IdempotencyStoreError(
                    "cannot read \(path): \(describe(errno))",
                    code: .fileSystem,
                    systemErrorNumber: errno
                )
            }
        }
    }

    private static func writeAll(
        _ bytes: [UInt8],
        to descriptor: Int32,
        at offset: Int,
        path: String
    ) throws(IdempotencyStoreError) {
        var done = 0
        while done < bytes.count {
            let count = bytes.withUnsafeBytes { buffer in
                pwrite(descriptor, buffer.baseAddress.map { $0 + done }, buffer.count - done, off_t(offset + done))
            }
            if count > 0 {
                done += count
            } else if count < 0 && errno == EINTR {
                continue
            } else {
                let code = count < 0 ? errno : EIO
                throw IdempotencyStoreError(
                    "cannot write \(path): \(describe(code))",
                    code: .fileSystem,
                    systemErrorNumber: code
                )
            }
        }
    }

    private static func writeNewFile(_ path: String, _ bytes: [UInt8]) throws(IdempotencyStoreError) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw IdempotencyStoreError(
                "cannot create \(path): \(describe(errno))",
                code: .fileSystem,
                systemErrorNumber: errno
            )
        }
        defer { close(descriptor) }
        do {
            try writeAll(bytes, to: descriptor, at: 0, path: path)
        } catch {
            unlink(path)
            throw error
        }
    }

    private static func openOrFail(_ path: String, _ flags: Int32, what: String) throws(IdempotencyStoreError) -> Int32
    {
        let descriptor = open(path, flags, 0o600)
        guard descriptor >= 0 else {
            throw IdempotencyStoreError(
                "cannot open \(what) \(path): \(describe(errno))",
                code: .fileSystem,
                systemErrorNumber: errno
            )
        }
        return descriptor
    }

    /// Creates `path` and its missing parents, each 0700; an existing folder is fine, anything else is an error.
    static func makeDirectory(_ path: String) throws(IdempotencyStoreError) {
        if mkdir(path, 0o700) == 0 { return }
        let code = errno
        if code == EEXIST {
            var status = stat()
            if stat(path, &status) == 0, status.st_mode & S_IFMT == S_IFDIR { return }
            throw IdempotencyStoreError(describeNonFolder(path), code: .invalidConfiguration)
        }
        if code == ENOENT, let slash = path.lastIndex(of: "/"), slash != path.startIndex {
            try makeDirectory(String(path[..<slash]))
            if mkdir(path, 0o700) == 0 || errno == EEXIST { return }
        }
        throw IdempotencyStoreError(
            "cannot create the folder \(path): \(describe(code))",
            code: .fileSystem,
            systemErrorNumber: code
        )
    }

    /// Why the existing `path` cannot be the store's folder: what it is (a file, a symbolic link that leads
    /// nowhere or in a loop, another kind of file).
    private static func describeNonFolder(_ path: String) -> String {
        let needed = "; the idempotency store needs a folder there"
        var own = stat()
        guard lstat(path, &own) == 0 else { return "\(path) cannot be examined: \(describe(errno))" }
        if own.st_mode & S_IFMT == S_IFLNK {
            var target = stat()
            if stat(path, &target) != 0 {
                let code = errno
                let why =
                    code == ELOOP
                    ? "a loop of symbolic links"
                    : code == ENOENT
                        ? "a symbolic link to nothing" : "a symbolic link that cannot be followed (\(describe(code)))"
                return "\(path) is \(why)\(needed)"
            }
            return "\(path) is a symbolic link to something that is not a folder\(needed)"
        }
        let kind =
            switch own.st_mode & S_IFMT {
            case S_IFREG: "a file"
            case S_IFSOCK: "a socket"
            case S_IFIFO: "a named pipe"
            case S_IFCHR, S_IFBLK: "a device"
            default: "not a folder"
            }
        return "\(path) exists and is \(kind)\(needed)"
    }

    /// Writes the `FORMAT` file of a new store, or checks that an existing folder is a store of this format; then
    /// makes the tables folder.
    private static func checkFormat(_ directory: String) throws(IdempotencyStoreError) {
        let path = directory + "/FORMAT"
        switch readFile(path) {
        case .read(let bytes) where bytes == Array(firstFormatMarker.utf8):
            throw IdempotencyStoreError(
                "\(directory) was made by an earlier version of the file store (a file per key, format 1), which "
                    + "this version does not read; give a new folder (the old one's records are not carried over)",
                code: .invalidConfiguration
            )
        case .read(let bytes):
            guard bytes == Array(formatMarker.utf8) else {
                throw IdempotencyStoreError(
                    "\(directory) holds something other than an idempotency file store of this version (its FORMAT "
                        + "file does not match); give an empty folder or one this store made",
                    code: .invalidConfiguration
                )
            }
        case .missing:
            // A `FORMAT.tmp-` file is another process making the store at this moment, or one killed while doing
            // so: neither makes the folder foreign.
            let entries = Self.entries(of: directory).filter {
                !["tables", "locks", "quarantine"].contains($0) && !$0.hasPrefix("FORMAT.tmp-")
            }
            // Another process may have put FORMAT in place since we looked: look again, at what it wrote.
            if entries == ["FORMAT"] { return try checkFormat(directory) }
            guard entries.isEmpty else {
                throw IdempotencyStoreError(
                    "\(directory) is not empty and is not an idempotency file store (no FORMAT file); give an empty "
                        + "folder or one this store made",
                    code: .invalidConfiguration
                )
            }
            let temporary = path + ".tmp-" + Self.randomSuffix()
            try Self.writeNewFile(temporary, Array(Self.formatMarker.utf8))
            if rename(temporary, path) != 0 {
                unlink(temporary)
                throw IdempotencyStoreError(
                    "cannot write \(path): \(Self.describe(errno))",
                    code: .fileSystem,
                    systemErrorNumber: errno
                )
            }
        case .failed(let code):
            throw IdempotencyStoreError(
                "cannot read \(path): \(Self.describe(code))",
                code: .fileSystem,
                systemErrorNumber: code
            )
        }
        try Self.makeDirectory(directory + "/tables")
    }

    /// Removes temporary tables left by processes killed while rebuilding one.
    private func removeStaleTemporaryFiles(olderThan cutoff: Int64) {
        let folder = directory + "/tables"
        for name in Self.entries(of: folder) where name.contains(".tmp-") {
            var status = stat()
            let path = folder + "/" + name
            guard stat(path, &status) == 0 else { continue }
            #if canImport(Darwin)
            let modified = Int64(status.st_mtimespec.tv_sec)
            #else
            let modified = Int64(status.st_mtim.tv_sec)
            #endif
            if modified * 1000 < cutoff { unlink(path) }
        }
    }

    static func entries(of path: String) -> [String] {
        guard let directory = opendir(path) else { return [] }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { buffer in
                String(decoding: buffer.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    static func randomSuffix() -> String {
        var generator = SystemRandomNumberGenerator()
        return String(generator.next() as UInt64, radix: 16)
    }

    static func describe(_ code: Int32) -> String { String(cString: strerror(code)) }
}
