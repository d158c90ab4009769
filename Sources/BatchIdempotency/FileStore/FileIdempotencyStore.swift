import BatchProcessingSystemSupport
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

    let directoryDescriptor: Int32
    let tablesDescriptor: Int32
    let lockDescriptor: Int32
    let shardLocks = ShardLocks(count: FileIdempotencyStore.shardCount)
    /// Each shard's open table, used only under the shard's lock.
    let tables = Mutex<[OpenTable?]>(Array(repeating: nil, count: FileIdempotencyStore.shardCount))
    let gate: SyncGate?

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

    struct OpenTable: Sendable {
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
                throw Self.fileSystemError("open", path, .last())
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
    func changeHeld(
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

    struct Probe {
        var found: (slot: Int, record: IdempotencyRecord)?
        /// The first slot the key's record may go in: free, expired (with `now`), or the empty one that ended the
        /// lookup.
        var vacancy: Int?
    }

    /// Looks the key up from its home slot. With `now`, an expired record of another key counts as a vacancy.
    func find(
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
    func write(_ slot: [UInt8], at index: Int, of table: OpenTable, shard: Int) throws(IdempotencyStoreError) {
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
    func flushIfDurable() async throws(IdempotencyStoreError) {
        try await gate?.flush()
    }
}
