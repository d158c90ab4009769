import BatchProcessingJSONSupport
import BatchProcessingSystemSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// Damage: a slot or table that does not read back whole is copied to `quarantine/`, and what can be read of it
// is kept.

extension FileIdempotencyStore {
    /// Copies a damaged slot to `quarantine/`, clears it (a free slot, so lookups go on past it), and gives the
    /// error that says so.
    func quarantineSlot(
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
    func salvage(_ descriptor: Int32, size: Int, shard: Int) -> Salvage {
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
    func quarantineTable(_ shard: Int, reason: String, salvaged: Salvage) -> IdempotencyStoreError {
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
}
