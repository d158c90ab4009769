import BatchIdempotency
import Foundation
import FuzzSupport

/// libFuzzer's entry point: every input is the content of a slot of the file store's table (the key's home
/// slot: 512 bytes, the input cut or padded with zeros). Reading it must give a record, nothing, or an error (the
/// slot quarantined), never a crash, and the key must then be claimable afresh.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSlot(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var slot = [UInt8](UnsafeBufferPointer(start: data, count: min(size, FuzzStore.slotSize)))
    slot += repeatElement(0, count: FuzzStore.slotSize - slot.count)
    guard FuzzStore.writeHomeSlot(slot) else { return 0 }
    blocking {
        _ = try? await FuzzStore.store.record(for: FuzzStore.key)
        // Whatever the slot held, the key can then be claimed and released: the store is never stuck.
        let now: Int64 = 2_000_000_000_000
        var claim = try? await FuzzStore.claim(now: now)
        // A damaged slot fails the first call (and is cleared); the next one goes ahead.
        if claim == nil { claim = try? await FuzzStore.claim(now: now) }
        switch claim {
        case .claimed, .tookOver:
            _ = try? await FuzzStore.store.release(key: FuzzStore.key, token: "fuzz")
        case .completed, .inProgress:
            break
        case nil:
            fatalError("the key could not be claimed after a slot of \(size) bytes")
        }
    }
    // Start the next input from an empty slot and no quarantine.
    _ = FuzzStore.writeHomeSlot([UInt8](repeating: 0, count: FuzzStore.slotSize))
    try? FileManager.default.removeItem(atPath: FuzzStore.directory + "/quarantine")
    return 0
}

/// One store for the whole run, in a fresh temporary folder, and where its key's slot is (as the store's
/// documentation lays the table out).
enum FuzzStore {
    static let directory = NSTemporaryDirectory() + "idempotency-fuzz-" + UUID().uuidString
    static let slotSize = 512
    /// All `a`: shard 0xaa % 64 = 42 (`2a.table`), home 0xaaaaaaaaaaaaaaaa % 1024 in a new table of 1,024 slots.
    static let key = IdempotencyKey(hex: String(repeating: "a", count: 64))!
    static let table = directory + "/tables/2a.table"
    static let homeOffset = UInt64(slotSize) * (0xaaaa_aaaa_aaaa_aaaa % 1024 + 1)
    static let store: FileIdempotencyStore = {
        do {
            let store = try FileIdempotencyStore(directory: directory)
            // A first claim makes the key's table.
            blocking {
                _ = try? await store.claim(
                    key: key,
                    token: "setup",
                    payloadHash: nil,
                    inProgressUntil: 1,
                    expiresAt: 2,
                    now: 0
                )
            }
            return store
        } catch {
            fatalError("cannot create the fuzzing store in \(directory): \(error)")
        }
    }()

    static func claim(now: Int64) async throws -> ClaimResult {
        try await store.claim(
            key: key,
            token: "fuzz",
            payloadHash: nil,
            inProgressUntil: now + 1,
            expiresAt: now + 2,
            now: now
        )
    }

    static func writeHomeSlot(_ bytes: [UInt8]) -> Bool {
        _ = store
        guard let handle = FileHandle(forUpdatingAtPath: table) else { return false }
        defer { try? handle.close() }
        do {
            try handle.seek(toOffset: homeOffset)
            try handle.write(contentsOf: bytes)
            return true
        } catch {
            return false
        }
    }
}

@_cdecl("IdempotencyRecordFuzzer_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzSlot)
}
