import BatchIdempotency
import BatchIdempotencyTesting
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("File store: its files, damage, growth and durability")
struct FileStoreTests {
    @Test("A record is one line in its key's slot of its shard's table; folders 0700, files 0600")
    func layoutAndPermissions() async throws {
        let folder = TemporaryFolder()
        let store = try folder.store()
        _ = try await store.claim(keyB, "t", until: 5000, expiresAt: 9000, now: 1000)
        let base = folder.path + "/store"
        // keyB starts 01: shard 1; its home is the next 16 hex digits modulo the 1,024 slots of a new table.
        let table = base + "/tables/01.table"
        for (path, mode) in [(base, 0o700), (base + "/tables", 0o700), (table, 0o600), (base + "/locks", 0o600)] {
            var status = stat()
            #expect(stat(path, &status) == 0, "\(path)")
            #expect(Int(status.st_mode & 0o777) == mode, "\(path)")
        }
        let bytes = try Data(contentsOf: URL(fileURLWithPath: table))
        #expect(bytes.count == 512 * 1025)
        #expect(
            String(decoding: bytes.prefix(40), as: UTF8.self).hasPrefix("batch-idempotency-table 2 capacity 1024\n")
        )
        let home = Int(UInt64("23456789abcdef00", radix: 16)! % 1024)
        func slotLine() throws -> String {
            let slot = try Data(contentsOf: URL(fileURLWithPath: table)).dropFirst(512 * (home + 1)).prefix(512)
            return String(decoding: slot.prefix { $0 != 0x0A }, as: UTF8.self)
        }
        #expect(try slotLine().hasPrefix("P \(keyB.hex) 5000 9000 - =t "))
        #expect(try store.allKeys() == [keyB])
        // Completing rewrites the same slot: only the state changes.
        #expect(try await store.complete(key: keyB, token: "t") == .applied)
        #expect(try slotLine().hasPrefix("C \(keyB.hex) 5000 9000 - =t "))
        #expect(try store.allKeys() == [keyB])
    }

    @Test(
        "A damaged slot is copied to the quarantine and cleared, with an error naming it; the key then starts afresh",
        arguments: ["truncated", "random", "flipped byte", "no end of line", "zeros then text"]
    )
    func damagedSlots(kind: String) async throws {
        let folder = TemporaryFolder()
        let store = try folder.store()
        _ = try await store.claim(keyA, "t", until: 5000, expiresAt: 90_000, now: 1000)
        _ = try await store.complete(key: keyA, token: "t")
        // keyA (all a) is in shard 0xaa % 64 = 42 (2a), at home 0xaaaaaaaaaaaaaaaa % 1024.
        let table = folder.path + "/store/tables/2a.table"
        let home = Int(UInt64("aaaaaaaaaaaaaaaa", radix: 16)! % 1024)
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: table))
        try handle.seek(toOffset: UInt64(512 * (home + 1)))
        var slot = [UInt8](try handle.read(upToCount: 512) ?? Data())
        #expect(slot.first == UInt8(ascii: "C"))
        switch kind {
        case "truncated": for index in 40..<512 { slot[index] = 0 }
        case "random": slot = [0x43] + (1..<512).map { _ in UInt8.random(in: 0...255) }
        case "flipped byte": slot[70] ^= 0x01
        case "no end of line": slot[slot.firstIndex(of: 0x0A)!] = 0x20
        default: slot = [0, 0, 0] + slot.prefix(509)
        }
        try handle.seek(toOffset: UInt64(512 * (home + 1)))
        try handle.write(contentsOf: slot)
        try handle.close()
        do {
            _ = try await store.claim(keyA, "u", until: 5000, now: 2000)
            Issue.record("a damaged slot must not be read as a record")
        } catch {
            #expect(error.code == .damaged)
            #expect(error.message.contains(table), "\(error.message)")
            #expect(error.message.contains("quarantine"), "\(error.message)")
            #expect(error.message.contains("slot \(home)"), "\(error.message)")
        }
        let quarantined = FileIdempotencyStoreTestsSupport.entries(folder.path + "/store/quarantine")
        #expect(quarantined.count == 1 && quarantined[0].hasPrefix("2a.table-slot-\(home)."))
        let copy = try Data(contentsOf: URL(fileURLWithPath: folder.path + "/store/quarantine/" + quarantined[0]))
        #expect([UInt8](copy) == slot)
        #expect(try await store.claim(keyA, "v", until: 5000, now: 2000) == .claimed)
    }

    @Test("A header claiming more slots than the file holds: listing skips the table as a lookup refuses it")
    func headerLongerThanFile() async throws {
        let folder = TemporaryFolder()
        let store = try folder.store()
        _ = try await store.claim(keyA, "t", until: 5000, expiresAt: 90_000, now: 1000)
        _ = try await store.claim(keyB, "t", until: 5000, expiresAt: 90_000, now: 1000)
        #expect(Set(try store.allKeys()) == [keyA, keyB])
        // keyA's table (2a) says 16,777,216 slots in a file of 1,024.
        let table = folder.path + "/store/tables/2a.table"
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: table))
        var header = [UInt8](try handle.read(upToCount: 512) ?? Data())
        let claimed = Array("batch-idempotency-table 2 capacity 16777216\n".utf8)
        header.replaceSubrange(0..<claimed.count, with: claimed)
        try handle.seek(toOffset: 0)
        try handle.write(contentsOf: header)
        try handle.close()
        #expect(try store.allKeys() == [keyB])
        // A fresh store's lookup quarantines the table, saying why.
        let fresh = try folder.store()
        do {
            _ = try await fresh.record(for: keyA)
            Issue.record("a table shorter than its header says was read")
        } catch {
            #expect(error.code == .damaged)
            #expect(error.message.contains("shorter than its header says"), "\(error.message)")
            #expect(
                error.message.contains("the 1 record(s) read from its slots are in a new table"),
                "\(error.message)"
            )
        }
        // The readable record is kept: keyA is still held, not free to run again.
        #expect(try await fresh.record(for: keyA)?.token == "t")
        #expect(FileIdempotencyStoreTestsSupport.entries(folder.path + "/store/quarantine").count == 1)
    }

    @Test("A damaged header: the readable slots go to a new table, the unreadable ones are counted and start afresh")
    func damagedHeaderSalvage() async throws {
        let folder = TemporaryFolder()
        let store = try folder.store()
        // Ten keys of shard 2a, completed, spread over its slots.
        let keys = (0..<8000).map(spreadKey).filter { $0.hex.hasPrefix("2a") }.prefix(10)
        try #require(keys.count == 10)
        for key in keys {
            _ = try await store.claim(key, "t", until: 5000, expiresAt: 90_000, now: 1000)
            #expect(try await store.complete(key: key, token: "t") == .applied)
        }
        let table = folder.path + "/store/tables/2a.table"
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: table)))
        // A header that is not a header, and one record's slot with a byte changed.
        bytes.replaceSubrange(0..<8, with: Array("garbage!".utf8))
        let damagedSlot = try #require(
            (1..<(bytes.count / 512)).first { bytes[$0 * 512] == UInt8(ascii: "C") },
            "no completed slot found"
        )
        bytes[damagedSlot * 512 + 10] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: table))
        let fresh = try folder.store()
        do {
            _ = try await fresh.record(for: keys[keys.startIndex])
            Issue.record("a table with a damaged header was read")
        } catch {
            #expect(error.code == .damaged)
            #expect(
                error.message.contains("the 9 record(s) read from its slots are in a new table"),
                "\(error.message)"
            )
            #expect(error.message.contains("1 unreadable slot(s) were left out"), "\(error.message)")
        }
        var kept = 0
        for key in keys where try await fresh.record(for: key)?.status == .completed { kept += 1 }
        #expect(kept == 9)
    }

    @Test(
        "A store folder that is not one says what it is: a file, a dangling symbolic link, a loop of them",
        arguments: [
            ("file", "exists and is a file"), ("dangling", "is a symbolic link to nothing"),
            ("loop", "is a loop of symbolic links"),
        ]
    )
    func notAFolder(kind: String, says: String) throws {
        let folder = TemporaryFolder()
        let path = folder.path + "/store"
        try FileManager.default.createDirectory(atPath: folder.path, withIntermediateDirectories: true)
        switch kind {
        case "file": try Data("x".utf8).write(to: URL(fileURLWithPath: path))
        case "dangling":
            try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: folder.path + "/gone")
        default:
            try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: folder.path + "/other")
            try FileManager.default.createSymbolicLink(atPath: folder.path + "/other", withDestinationPath: path)
        }
        do {
            _ = try FileIdempotencyStore(directory: path)
            Issue.record("a store was opened on \(kind)")
        } catch {
            #expect(error.message == "\(path) \(says); the idempotency store needs a folder there")
        }
    }

    @Test("A crowded table grows, and another store on the same folder finds every record in the new table")
    func growth() async throws {
        let folder = TemporaryFolder()
        let store = try folder.store()
        let other = try folder.store()
        // Seventy keys of shard 0 whose homes are all 5 in a table of 1,024 slots: more than the 64 slots a lookup
        // goes, so the table must grow; at 2,048 slots they split into two homes of 35.
        let keys = (0..<70).map { index in
            IdempotencyKey(
                hex: "00" + String(format: "%016llx", 5 + 1024 * UInt64(index)) + String(repeating: "0", count: 46)
            )!
        }
        _ = try await other.claim(keys[0], "t", until: 5000, now: 1000)
        for key in keys.dropFirst() {
            #expect(try await store.claim(key, "t", until: 5000, now: 1000) == .claimed)
        }
        let size = try FileManager.default.attributesOfItem(atPath: folder.path + "/store/tables/00.table")[.size]
        #expect(size as? Int == 512 * 2049)
        // `other` opened the table before it grew: it notices the new file and reads every record from it.
        for key in keys {
            #expect(try await other.record(for: key)?.token == "t")
            #expect(try await other.complete(key: key, token: "t") == .applied)
        }
        #expect(Set(try store.allKeys()) == Set(keys))
    }

    @Test("Keys that crowd one home slot (not SHA-256 digests) are refused with a message; the table stays small")
    func crowdedKeys() async throws {
        let folder = TemporaryFolder()
        let store = try folder.store()
        // Shard 0, and every home slot 0 at any capacity: the first 64 fit next to each other, the 65th cannot.
        let keys = (0..<66).map {
            IdempotencyKey(hex: "00" + String(repeating: "0", count: 16) + String(format: "%046x", $0))!
        }
        for key in keys.prefix(64) { #expect(try await store.claim(key, "t", until: 5000, now: 1000) == .claimed) }
        do {
            for key in keys.suffix(2) { _ = try await store.claim(key, "t", until: 5000, now: 1000) }
            Issue.record("66 keys with one home slot were all stored")
        } catch {
            #expect(error.message.contains("share their first hex digits"), "\(error.message)")
        }
        let size = try FileManager.default.attributesOfItem(atPath: folder.path + "/store/tables/00.table")[.size]
        #expect((size as? Int ?? 0) <= 512 * 2049)
        for key in keys.prefix(64) { #expect(try await store.record(for: key)?.token == "t") }
    }

    @Test("A folder that holds something else is refused, naming it; a store's own folder opens again")
    func foreignFolder() throws {
        let folder = TemporaryFolder()
        try FileManager.default.createDirectory(atPath: folder.path + "/other", withIntermediateDirectories: true)
        try Data("hello".utf8).write(to: URL(fileURLWithPath: folder.path + "/other/notes.txt"))
        let foreign = #expect(throws: IdempotencyStoreError.self) {
            try FileIdempotencyStore(directory: folder.path + "/other")
        }
        #expect(foreign?.code == .invalidConfiguration)
        try Data("a file".utf8).write(to: URL(fileURLWithPath: folder.path + "/plain"))
        #expect(throws: IdempotencyStoreError.self) { try FileIdempotencyStore(directory: folder.path + "/plain") }
        _ = try folder.store()
        _ = try folder.store()
        #expect(try FileIdempotencyStore.isStore(directory: folder.path + "/store"))
    }

    @Test("Durable mode: every state change holds, with many records at once")
    func durable() async throws {
        let folder = TemporaryFolder()
        let store = try folder.store(durability: .durable)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<64 {
                group.addTask {
                    let key = IdempotencyKey(hex: String(format: "%064x", index + 100))!
                    _ = try await store.claim(key, "t\(index)", until: 9000, now: 0)
                    _ = try await store.complete(key: key, token: "t\(index)")
                }
            }
            try await group.waitForAll()
        }
        #expect(try store.allKeys().count == 64)
        for key in try store.allKeys() { #expect(try await store.record(for: key)?.status == .completed) }
    }
}

@Suite("File store: waiting for another process's lock")
struct FileStoreLockWaitTests {
    /// Holds the shard's lock as another process would: an open-file-description lock on a separate open of the lock
    /// file conflicts with the store's own, even inside one process.
    static func holdShardLock(_ path: String) throws -> Int32 {
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        try #require(descriptor >= 0)
        var lock = flock()
        lock.l_type = Int16(F_WRLCK)
        lock.l_whence = Int16(SEEK_SET)
        #if os(Linux)
        try #require(fcntl(descriptor, 37, &lock) == 0)  // F_OFD_SETLK
        #else
        try #require(fcntl(descriptor, F_SETLK, &lock) == 0)
        #endif
        return descriptor
    }

    @Test("A claim waiting for a held lock stops when its task is cancelled, saying so, and the key is untouched")
    func cancelledWhileWaiting() async throws {
        let folder = TemporaryFolder()
        let store = try folder.store()
        // Make the shard's table, then hold the store's locks from "another process".
        _ = try await store.claim(keyB, "first", until: 5000, now: 1000)
        #expect(try await store.release(key: keyB, token: "first") == .applied)
        let held = try Self.holdShardLock(folder.path + "/store/locks")
        let waiting = Task { try await store.claim(keyB, "second", until: 5000, now: 1000) }
        try await Task.sleep(for: .milliseconds(50))
        waiting.cancel()
        let outcome = await waiting.result
        close(held)
        guard case .failure(let error) = outcome else {
            Issue.record("the claim went ahead while another process held the lock: \(outcome)")
            return
        }
        // The store's lock timeout is 10 s: a cancelled wait ends with its own message, not the timeout's.
        #expect("\(error)".contains("cancelled while waiting for the lock"), "\(error)")
        #expect(try await store.record(for: keyB) == nil)
        #expect(try await store.claim(keyB, "third", until: 5000, now: 1000) == .claimed)
    }
}

enum FileIdempotencyStoreTestsSupport {
    static func entries(_ path: String) -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
    }
}

@Suite("File store: creation")
struct FileStoreCreationTests {
    @Test("A store whose creation was cut short (a FORMAT.tmp file left) still opens")
    func interruptedCreation() throws {
        let folder = TemporaryFolder()
        try FileManager.default.createDirectory(atPath: folder.path + "/store", withIntermediateDirectories: true)
        try Data("partial".utf8).write(to: URL(fileURLWithPath: folder.path + "/store/FORMAT.tmp-1234"))
        _ = try folder.store()
        #expect(try FileIdempotencyStore.isStore(directory: folder.path + "/store"))
    }

    @Test("A folder of the first format (a file per key) is refused with a message that says so and what to do")
    func firstFormat() throws {
        let folder = TemporaryFolder()
        try FileManager.default.createDirectory(
            atPath: folder.path + "/store/records/aa/a",
            withIntermediateDirectories: true
        )
        try Data("batch-processing idempotency file store, format 1\n".utf8)
            .write(to: URL(fileURLWithPath: folder.path + "/store/FORMAT"))
        #expect {
            _ = try folder.store()
        } throws: { error in
            guard let error = error as? IdempotencyStoreError, error.code == .invalidConfiguration else { return false }
            let message = error.message
            return message.contains("earlier version") && message.contains("format 1") && message.contains("new folder")
        }
        #expect(!FileManager.default.fileExists(atPath: folder.path + "/store/tables"))
    }

    @Test("Many tasks making the same new store at once all succeed")
    func concurrentCreation() async throws {
        let folder = TemporaryFolder()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<16 { group.addTask { _ = try folder.store() } }
            try await group.waitForAll()
        }
    }
}
