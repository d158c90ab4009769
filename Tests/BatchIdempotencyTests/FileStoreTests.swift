import BatchIdempotency
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("File store: the state machine on real files")
struct FileStoreTests {
    @Test("Claim, complete, replay, expire: each transition as the store records it")
    func lifecycle() async throws {
        let folder = TemporaryFolder()
        let store = try folder.store()
        #expect(try await store.record(for: keyA) == nil)
        #expect(
            try await store.claim(
                key: keyA,
                token: "t1",
                payloadHash: "h",
                inProgressUntil: 2000,
                expiresAt: 10_000,
                now: 1000
            )
                == .claimed
        )
        let held = try #require(try await store.record(for: keyA))
        #expect(
            held.status == .inProgress && held.token == "t1" && held.inProgressUntil == 2000 && held.payloadHash == "h"
        )
        // A live in-progress record is reported, not taken.
        let busy = try await store.claim(keyA, "t2", until: 3000, now: 1500)
        #expect(busy == .inProgress(held))
        #expect(try await store.complete(key: keyA, token: "t1") == .applied)
        let done = try #require(try await store.record(for: keyA))
        #expect(done.status == .completed && done.expiresAt == 10_000 && done.token == "t1")
        #expect(
            try await store.claim(keyA, "t3", until: 9000, now: 5000)
                == .completed(done)
        )
        // Expired completed record: claimed afresh, the new holder's now.
        #expect(
            try await store.claim(keyA, "t4", until: 20_000, now: 10_000)
                == .claimed
        )
        #expect(try await store.record(for: keyA)?.token == "t4")
    }

    @Test("An in-progress record past its holder's time is taken over; the old holder is fenced out")
    func takeoverAndFencing() async throws {
        let folder = TemporaryFolder()
        let store = try folder.store()
        _ = try await store.claim(keyA, "old", until: 2000, now: 1000)
        let result = try await store.claim(keyA, "new", until: 9000, now: 2000)
        guard case .tookOver(let previous) = result else {
            Issue.record("expected a takeover, got \(result)")
            return
        }
        #expect(previous.token == "old")
        // The old holder comes back late: it can neither complete nor release the new holder's record.
        #expect(try await store.complete(key: keyA, token: "old") == .fenced)
        #expect(try await store.release(key: keyA, token: "old") == .fenced)
        let current = try #require(try await store.record(for: keyA))
        #expect(current.token == "new" && current.status == .inProgress)
        #expect(try await store.complete(key: keyA, token: "new") == .applied)
        // A completed record cannot be released, not even by its holder.
        #expect(try await store.release(key: keyA, token: "new") == .fenced)
    }

    @Test("Release removes the holder's record, and the key starts afresh")
    func release() async throws {
        let folder = TemporaryFolder()
        let store = try folder.store()
        _ = try await store.claim(keyB, "t", until: 5000, now: 1000)
        #expect(try await store.release(key: keyB, token: "t") == .applied)
        #expect(try await store.record(for: keyB) == nil)
        let leaf = folder.path + "/store/records/01/2/"
        #expect(!FileManager.default.fileExists(atPath: leaf + keyB.hex + ".claim"))
        #expect(
            try await store.claim(keyB, "u", until: 5000, now: 1000) == .claimed
        )
    }

    @Test("Files are named after the key's hash in folders of its first hex digits, folders 0700 and files 0600")
    func layoutAndPermissions() async throws {
        let folder = TemporaryFolder()
        let store = try folder.store()
        _ = try await store.claim(keyB, "t", until: 5000, now: 1000)
        let base = folder.path + "/store"
        let record = base + "/records/01/2/" + keyB.hex + ".claim"
        #expect(FileManager.default.fileExists(atPath: record))
        for (path, mode) in [
            (base, 0o700), (base + "/records", 0o700), (base + "/records/01", 0o700), (base + "/records/01/2", 0o700),
            (record, 0o600), (base + "/records/01/.lock", 0o600),
        ] {
            var status = stat()
            #expect(stat(path, &status) == 0)
            #expect(Int(status.st_mode & 0o777) == mode, "\(path)")
        }
        #expect(try store.allKeys() == [keyB])
        // Completing renames the claim to the completed name: the same file, still 0600.
        #expect(try await store.complete(key: keyB, token: "t") == .applied)
        let completed = base + "/records/01/2/" + keyB.hex + ".json"
        var status = stat()
        #expect(stat(completed, &status) == 0 && Int(status.st_mode & 0o777) == 0o600)
        #expect(!FileManager.default.fileExists(atPath: record))
        #expect(try store.allKeys() == [keyB])
    }

    @Test(
        "A file that is not a record is quarantined with an error naming it; the key then starts afresh",
        arguments: [
            "truncated", "random", "foreign key", "folder", "wrong format", "empty",
        ]
    )
    func corruptFiles(kind: String) async throws {
        let folder = TemporaryFolder()
        let store = try folder.store()
        _ = try await store.claim(keyA, "t", until: 5000, expiresAt: 90_000, now: 1000)
        _ = try await store.complete(key: keyA, token: "t")
        let path = folder.path + "/store/records/aa/a/" + keyA.hex + ".json"
        let good = try Data(contentsOf: URL(fileURLWithPath: path))
        try FileManager.default.removeItem(atPath: path)
        switch kind {
        case "truncated": try good.prefix(good.count / 2).write(to: URL(fileURLWithPath: path))
        case "random": try Data((0..<300).map { _ in UInt8.random(in: 0...255) }).write(to: URL(fileURLWithPath: path))
        case "foreign key":
            let other = String(decoding: good, as: UTF8.self).replacingOccurrences(of: keyA.hex, with: keyB.hex)
            try Data(other.utf8).write(to: URL(fileURLWithPath: path))
        case "folder": try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        case "wrong format":
            let other = String(decoding: good, as: UTF8.self).replacingOccurrences(
                of: "batch-idempotency",
                with: "other-format"
            )
            try Data(other.utf8).write(to: URL(fileURLWithPath: path))
        default: try Data().write(to: URL(fileURLWithPath: path))
        }
        do {
            _ = try await store.claim(keyA, "u", until: 5000, now: 2000)
            Issue.record("a bad file must not be read as a record")
        } catch {
            #expect(error.message.contains(path))
            #expect(error.message.contains("quarantine"))
        }
        let quarantined = FileIdempotencyStoreTestsSupport.entries(folder.path + "/store/quarantine")
        #expect(quarantined.count == 1 && quarantined[0].hasPrefix(keyA.hex))
        #expect(
            try await store.claim(keyA, "v", until: 5000, now: 2000) == .claimed
        )
    }

    @Test("A folder that holds something else is refused, naming it; a store's own folder opens again")
    func foreignFolder() throws {
        let folder = TemporaryFolder()
        try FileManager.default.createDirectory(atPath: folder.path + "/other", withIntermediateDirectories: true)
        try Data("hello".utf8).write(to: URL(fileURLWithPath: folder.path + "/other/notes.txt"))
        #expect(throws: IdempotencyStoreError.self) { try FileIdempotencyStore(directory: folder.path + "/other") }
        try Data("a file".utf8).write(to: URL(fileURLWithPath: folder.path + "/plain"))
        #expect(throws: IdempotencyStoreError.self) { try FileIdempotencyStore(directory: folder.path + "/plain") }
        _ = try folder.store()
        _ = try folder.store()
        #expect(try FileIdempotencyStore.isStore(directory: folder.path + "/store"))
    }

    @Test("Purge removes expired records, in progress and completed, and keeps live ones")
    func purge() async throws {
        let folder = TemporaryFolder()
        let store = try folder.store()
        let keys = (0..<6).map { IdempotencyKey(hex: String(format: "%064x", $0 + 1))! }
        for (index, key) in keys.enumerated() {
            _ = try await store.claim(
                key,
                "t",
                until: 1000 + Int64(index) * 1000,
                expiresAt: 1000 + Int64(index) * 1000,
                now: 0
            )
            if index % 2 == 0 {
                _ = try await store.complete(key: key, token: "t")
            }
        }
        #expect(try await store.purgeExpired(now: 3500) == 3)
        #expect(Set(try store.allKeys()) == Set(keys.suffix(3)))
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

    @Test("Many tasks of one process claiming one key: exactly one holds it")
    func concurrentClaims() async throws {
        let folder = TemporaryFolder()
        let store = try folder.store()
        let results = try await withThrowingTaskGroup(of: ClaimResult.self) { group in
            for index in 0..<32 {
                group.addTask {
                    try await store.claim(keyA, "t\(index)", until: 9000, now: 0)
                }
            }
            var all: [ClaimResult] = []
            for try await result in group { all.append(result) }
            return all
        }
        #expect(results.filter { $0 == .claimed }.count == 1)
        #expect(results.count == 32)
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
        // Make the shard's folders and lock file, then hold its lock from "another process".
        _ = try await store.claim(keyB, "first", until: 5000, now: 1000)
        #expect(try await store.release(key: keyB, token: "first") == .applied)
        let held = try Self.holdShardLock(folder.path + "/store/records/01/.lock")
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

    @Test("Many tasks making the same new store at once all succeed")
    func concurrentCreation() async throws {
        let folder = TemporaryFolder()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<16 { group.addTask { _ = try folder.store() } }
            try await group.waitForAll()
        }
    }
}
