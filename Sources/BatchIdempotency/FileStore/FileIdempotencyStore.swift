import BatchProcessingJSONSupport
import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The embedded idempotency store: one small file per key in a directory, safe across the tasks of a process,
/// across processes on a host, and across hosts sharing an NFS or EFS mount.
///
/// How it stays safe:
/// - **One writer per key.** Every change happens under a lock on the `.lock` file of the key's shard (the keys
///   whose hash starts with the same byte): an open-file-description lock (`F_OFD_SETLK`, which NFS and EFS honour
///   as record locks) taken without blocking a thread, after an in-process lock so tasks of one process queue in
///   order. The lock holder reads, decides and writes; nobody
///   else can act between the read and the write.
/// - **Whole files only.** A claim is written to a temporary file and renamed to the key's `.claim` file, which is
///   atomic: a reader sees the old record or the new one, never half of one, whatever instant a writer dies at.
///   Completing renames the `.claim` file to the key's `.json` file (the completion's expiry was written with the
///   claim), so a record costs one file written, not two.
///   A writer killed while holding the lock loses it with its process.
/// - **Names from hashes.** Files are named after the key's SHA-256 (``IdempotencyKey``), in 256 folders of 16
///   (the hash's first two hex digits, then the third), so input never reaches a path and a million keys are about
///   250 per folder. Making a folder costs as much as making a file, so there are no more folders than that: a new
///   store makes its 4,096 once. Folders are 0700, files 0600.
/// - **Bad files.** A file that is not a record of this store (truncated, random bytes, a folder in its place, a
///   record of another key) is moved to `quarantine/` and the call fails with an error naming it; the next
///   delivery of that key proceeds as if it had none. Nothing is guessed, nothing crashes.
/// - **Expiry.** An expired record is replaced when its key is next claimed; ``purgeExpired(now:)`` removes the
///   rest (with `batchproc idempotency purge`), so the hot path never scans the store.
///
/// Durability is a choice (``Durability``): by default a write survives the death of the process but not of the
/// machine; ``Durability/durable`` flushes to disk before a state change counts, grouping the flushes of records
/// processed at once.
public final class FileIdempotencyStore: IdempotencyStore {
    /// How far a write must have gone before a state change counts.
    public enum Durability: String, Sendable, CaseIterable {
        /// Renamed into place: survives the process being killed, not a power loss (the default; it costs no
        /// flush).
        case processCrashSafe = "process"
        /// Flushed to disk before and after the rename (grouped across concurrent writers): survives a power loss.
        case durable
    }

    /// The store's folder.
    public let directory: String
    /// How far writes go before they count.
    public let durability: Durability
    /// How long to keep trying for a key's lock that another process holds before failing the call.
    public let lockTimeout: Duration

    private let directoryDescriptor: Int32
    private let keyLock = KeyedAsyncLock()
    /// Leaf folders known to exist, so that the hot path does not ask the file system again.
    private let knownLeaves = Mutex<Set<String>>([])
    private let gate: SyncGate?

    /// What the store writes in its `FORMAT` file, to tell its folders from others.
    static let formatMarker = "batch-processing idempotency file store, format 1\n"
    static let recordFormat = "batch-idempotency/1"

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
        let descriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw IdempotencyStoreError(
                "cannot open the idempotency store \(directory): \(Self.describe(errno))",
                code: errno
            )
        }
        directoryDescriptor = descriptor
        gate = durability == .durable ? SyncGate(directoryDescriptor: descriptor) : nil
        do {
            try checkFormat()
        } catch {
            close(descriptor)
            throw error
        }
    }

    deinit {
        close(directoryDescriptor)
    }

    /// True when `directory` is a store of this format (its `FORMAT` file says so); false when it has none.
    public static func isStore(directory: String) throws(IdempotencyStoreError) -> Bool {
        switch readFile(directory + "/FORMAT") {
        case .read(let bytes): return bytes == Array(formatMarker.utf8)
        case .missing: return false
        case .failed(let code):
            throw IdempotencyStoreError("cannot read \(directory)/FORMAT: \(describe(code))", code: code)
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
        try await withKey(key) { () async throws(IdempotencyStoreError) -> ClaimResult in
            let done = try readRecord(key, .completed)
            if let done, !done.isExpired(at: now) { return .completed(done) }
            let claimed = try readRecord(key, .inProgress)
            if let claimed, !claimed.isExpired(at: now) { return .inProgress(claimed) }
            let fresh = IdempotencyRecord(
                key: key.hex,
                status: .inProgress,
                token: token,
                expiresAt: expiresAt,
                inProgressUntil: inProgressUntil,
                payloadHash: payloadHash
            )
            try await writeClaim(fresh, for: key)
            // An expired completion goes once the new claim is in place; a crash in between leaves it expired.
            if done != nil { try await remove(path(key, .completed)) }
            if let claimed { return .tookOver(previous: claimed) }
            return .claimed
        }
    }

    /// Completing is a rename of the claim file to the completed name: no file is written.
    public func complete(key: IdempotencyKey, token: String) async throws(IdempotencyStoreError) -> FenceResult {
        try await withKey(key) { () async throws(IdempotencyStoreError) -> FenceResult in
            guard let claimed = try readRecord(key, .inProgress), claimed.token == token else { return .fenced }
            let from = path(key, .inProgress)
            let to = path(key, .completed)
            guard rename(from, to) == 0 else {
                throw IdempotencyStoreError("cannot complete \(from): \(Self.describe(errno))", code: errno)
            }
            try await gate?.flush()
            return .applied
        }
    }

    public func release(key: IdempotencyKey, token: String) async throws(IdempotencyStoreError) -> FenceResult {
        try await withKey(key) { () async throws(IdempotencyStoreError) -> FenceResult in
            guard let claimed = try readRecord(key, .inProgress), claimed.token == token else { return .fenced }
            try await remove(path(key, .inProgress))
            return .applied
        }
    }

    /// Reads without the key's lock (a record file is always whole), and takes it only to quarantine a bad file.
    /// A claim, when there is one, is newer than a completion beside it (a completion is renamed from its claim).
    public func record(for key: IdempotencyKey) async throws(IdempotencyStoreError) -> IdempotencyRecord? {
        do throws(IdempotencyStoreError) {
            if let claimed = try readRecord(key, .inProgress, quarantining: false) { return claimed }
            return try readRecord(key, .completed, quarantining: false)
        } catch {
            return try await withKey(key) { () throws(IdempotencyStoreError) -> IdempotencyRecord? in
                if let claimed = try readRecord(key, .inProgress) { return claimed }
                return try readRecord(key, .completed)
            }
        }
    }

    public func purgeExpired(now: Int64) async throws(IdempotencyStoreError) -> Int {
        var removed = 0
        for key in try allKeys() {
            removed += try await withKey(key) { () async throws(IdempotencyStoreError) -> Int in
                var count = 0
                for status in [IdempotencyRecord.Status.completed, .inProgress] {
                    guard let record = try? readRecord(key, status), record.isExpired(at: now) else { continue }
                    try await remove(path(key, status))
                    count += 1
                }
                return count
            }
        }
        removeStaleTemporaryFiles(olderThan: now - 3_600_000)
        return removed
    }

    // MARK: - Listing

    /// Every key with a record file, in no particular order (a scan of the whole store: for operators, not the
    /// hot path).
    public func allKeys() throws(IdempotencyStoreError) -> [IdempotencyKey] {
        var keys: [IdempotencyKey] = []
        let records = directory + "/records"
        for first in Self.entries(of: records) where first.utf8.count == 2 {
            for second in Self.entries(of: records + "/" + first) where second.utf8.count == 1 {
                var seen: Set<String> = []
                for name in Self.entries(of: records + "/" + first + "/" + second) {
                    let hex: Substring
                    if name.hasSuffix(".json") {
                        hex = name.dropLast(5)
                    } else if name.hasSuffix(".claim") {
                        hex = name.dropLast(6)
                    } else {
                        continue
                    }
                    if seen.insert(String(hex)).inserted, let key = IdempotencyKey(hex: String(hex)) {
                        keys.append(key)
                    }
                }
            }
        }
        return keys
    }

    // MARK: - Paths

    private func leafDirectory(_ key: IdempotencyKey) -> String {
        let hex = key.hex.utf8
        let first = String(decoding: hex.prefix(2), as: UTF8.self)
        let second = String(decoding: hex.dropFirst(2).prefix(1), as: UTF8.self)
        return directory + "/records/" + first + "/" + second
    }

    /// A key's file for a state: `<hash>.claim` while in progress, `<hash>.json` once completed.
    private func path(_ key: IdempotencyKey, _ status: IdempotencyRecord.Status) -> String {
        leafDirectory(key) + "/" + key.hex + (status == .completed ? ".json" : ".claim")
    }
    /// The lock of the key's shard: one lock file for the 1/256 of keys that share the hash's first byte. A lock
    /// per shard rather than per key means a lock file is made once per shard, not once per key (creating a file is
    /// the dearest thing the store does), at the price of processes waiting on each other for different keys of
    /// one shard, each for a few hundred microseconds.
    private func lockPath(_ key: IdempotencyKey) -> String { directory + "/records/" + shard(key) + "/.lock" }

    private func shard(_ key: IdempotencyKey) -> String { String(decoding: key.hex.utf8.prefix(2), as: UTF8.self) }

    // MARK: - Locking

    private func makeLeafDirectory(_ key: IdempotencyKey) throws(IdempotencyStoreError) {
        let leaf = leafDirectory(key)
        if knownLeaves.withLock({ $0.contains(leaf) }) { return }
        try Self.makeDirectory(leaf)
        knownLeaves.withLock { _ = $0.insert(leaf) }
    }

    /// Runs `body` holding the key: first among this process's tasks, then among processes (the lock file).
    private func withKey<T: Sendable>(
        _ key: IdempotencyKey,
        _ body: () async throws(IdempotencyStoreError) -> T
    ) async throws(IdempotencyStoreError) -> T {
        do {
            return try await keyLock.withLock(shard(key)) { () async throws -> T in
                let lock = try await lockFile(key)
                defer { close(lock) }
                return try await body()
            }
        } catch let error as IdempotencyStoreError {
            throw error
        } catch {
            throw IdempotencyStoreError("the idempotency store failed: \(error)")
        }
    }

    /// Opens and locks the key's lock file, retrying without blocking a thread while another process holds it.
    /// The descriptor returned holds the lock until it is closed.
    private func lockFile(_ key: IdempotencyKey) async throws(IdempotencyStoreError) -> Int32 {
        try makeLeafDirectory(key)
        let path = lockPath(key)
        let clock = ContinuousClock()
        let giveUp = clock.now + lockTimeout
        var wait = Duration.microseconds(200)
        // Shard lock files are made once and never removed, so the descriptor opened here stays the one to lock.
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw IdempotencyStoreError("cannot open the lock file \(path): \(Self.describe(errno))", code: errno)
        }
        while true {
            if Self.tryLock(descriptor) { return descriptor }
            let reason = errno
            guard reason == EAGAIN || reason == EACCES || reason == EINTR else {
                close(descriptor)
                throw IdempotencyStoreError("cannot lock \(path): \(Self.describe(reason))", code: reason)
            }
            guard clock.now < giveUp else {
                close(descriptor)
                throw IdempotencyStoreError(
                    "another process has held the lock on \(path) for over \(lockTimeout); giving up on this record"
                )
            }
            do {
                try await Task.sleep(for: wait)
            } catch {
                // Cancelled while waiting: stop trying rather than spin without sleeping until the timeout.
                close(descriptor)
                throw IdempotencyStoreError("cancelled while waiting for the lock on \(path)")
            }
            wait = min(wait * 2, .milliseconds(20))
        }
    }

    #if os(Linux)
    /// `F_OFD_SETLK` from `<fcntl.h>` (Linux 3.15 and later), which Glibc's Swift module does not export.
    private static let openFileDescriptionSetLock: Int32 = 37
    #endif

    private static func tryLock(_ descriptor: Int32) -> Bool {
        var lock = flock()
        lock.l_type = Int16(F_WRLCK)
        lock.l_whence = Int16(SEEK_SET)
        lock.l_start = 0
        lock.l_len = 0
        #if os(Linux)
        // Open-file-description locks belong to the descriptor, not the process, so closing another descriptor of
        // the same file elsewhere in the process does not drop them.
        return fcntl(descriptor, openFileDescriptionSetLock, &lock) == 0
        #else
        return fcntl(descriptor, F_SETLK, &lock) == 0
        #endif
    }

    // MARK: - Reading and writing (with the key held)

    /// A record as its file holds it. The state is the file's name (`.claim` or `.json`), not its content, so that
    /// completing is a rename.
    private struct FileRecord: Codable {
        var format: String
        var key: String
        var token: String
        var expiresAt: Int64
        var inProgressUntil: Int64
        var payloadHash: String?
    }

    /// The key's record in `status`'s file, `nil` when there is none; a file that is not a valid record of this key
    /// is quarantined and reported.
    private func readRecord(
        _ key: IdempotencyKey,
        _ status: IdempotencyRecord.Status,
        quarantining: Bool = true
    ) throws(IdempotencyStoreError) -> IdempotencyRecord? {
        let path = path(key, status)
        let bytes: [UInt8]
        switch Self.readFile(path) {
        case .missing:
            return nil
        case .failed(let code) where code == EISDIR:
            throw quarantining
                ? quarantine(path, key, reason: "is a folder, not a record") : IdempotencyStoreError(path)
        case .failed(let code):
            throw IdempotencyStoreError(
                "cannot read the idempotency record \(path): \(Self.describe(code))",
                code: code
            )
        case .read(let content):
            bytes = content
        }
        guard let file = try? JSONDecoder().decode(FileRecord.self, from: Data(bytes)) else {
            guard quarantining else { throw IdempotencyStoreError(path) }
            throw quarantine(path, key, reason: "is not a record of this store (\(bytes.count) bytes that are not one)")
        }
        guard file.format == Self.recordFormat, file.key == key.hex, !file.token.isEmpty else {
            guard quarantining else { throw IdempotencyStoreError(path) }
            throw quarantine(path, key, reason: "is not a record of this key in format \(Self.recordFormat)")
        }
        return IdempotencyRecord(
            key: file.key,
            status: status,
            token: file.token,
            expiresAt: file.expiresAt,
            inProgressUntil: file.inProgressUntil,
            payloadHash: file.payloadHash
        )
    }

    /// Moves a key's file to `quarantine/` and gives the error that says so.
    private func quarantine(_ path: String, _ key: IdempotencyKey, reason: String) -> IdempotencyStoreError {
        let folder = directory + "/quarantine"
        try? Self.makeDirectory(folder)
        let target = folder + "/" + key.hex + "." + String(WallClock.nowMilliseconds()) + "." + Self.randomSuffix()
        if rename(path, target) == 0 {
            return IdempotencyStoreError(
                "the idempotency record \(path) \(reason); it was moved to \(target), and the key starts afresh"
            )
        }
        return IdempotencyStoreError(
            "the idempotency record \(path) \(reason), and it could not be moved aside: \(Self.describe(errno))",
            code: errno
        )
    }

    /// Writes the claim whole: a temporary file renamed over the key's claim file.
    private func writeClaim(_ record: IdempotencyRecord, for key: IdempotencyKey) async throws(IdempotencyStoreError) {
        let file = FileRecord(
            format: Self.recordFormat,
            key: record.key,
            token: record.token,
            expiresAt: record.expiresAt ?? 0,
            inProgressUntil: record.inProgressUntil ?? 0,
            payloadHash: record.payloadHash
        )
        let bytes: [UInt8]
        do {
            bytes = Array(try JSONEncoder().encode(file)) + [0x0A]
        } catch {
            throw IdempotencyStoreError("cannot encode the idempotency record of \(key): \(error)")
        }
        let path = path(key, .inProgress)
        let temporary = leafDirectory(key) + "/" + key.hex + ".tmp-" + Self.randomSuffix()
        try Self.writeNewFile(temporary, bytes, sync: gate != nil && !SyncGate.flushesFileData)
        if let gate {
            do {
                try await gate.flush()
            } catch {
                unlink(temporary)
                throw error
            }
        }
        guard rename(temporary, path) == 0 else {
            let code = errno
            unlink(temporary)
            throw IdempotencyStoreError(
                "cannot write the idempotency record \(path): \(Self.describe(code))",
                code: code
            )
        }
        try await gate?.flush()
    }

    /// Removes a key's file.
    private func remove(_ path: String) async throws(IdempotencyStoreError) {
        if unlink(path) != 0 && errno != ENOENT {
            throw IdempotencyStoreError(
                "cannot remove the idempotency record \(path): \(Self.describe(errno))",
                code: errno
            )
        }
        try await gate?.flush()
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
                // A record is a few hundred bytes; anything much larger is not one.
                if bytes.count > 64 * 1024 { return .read(bytes) }
            } else if count == 0 {
                return .read(bytes)
            } else if errno != EINTR {
                return .failed(errno)
            }
        }
    }

    private static func writeNewFile(_ path: String, _ bytes: [UInt8], sync: Bool = false) throws(IdempotencyStoreError)
    {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw IdempotencyStoreError("cannot create \(path): \(describe(errno))", code: errno)
        }
        defer { close(descriptor) }
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + offset, bytes.count - offset) }
            if written > 0 {
                offset += written
            } else if written < 0 && errno == EINTR {
                continue
            } else {
                let code = written < 0 ? errno : EIO
                unlink(path)
                throw IdempotencyStoreError("cannot write \(path): \(describe(code))", code: code)
            }
        }
        if sync && fsync(descriptor) != 0 {
            let code = errno
            unlink(path)
            throw IdempotencyStoreError("cannot flush \(path) to disk: \(describe(code))", code: code)
        }
    }

    /// Creates `path` and its missing parents, each 0700; an existing folder is fine, anything else is an error.
    static func makeDirectory(_ path: String) throws(IdempotencyStoreError) {
        if mkdir(path, 0o700) == 0 { return }
        let code = errno
        if code == EEXIST {
            var status = stat()
            if stat(path, &status) == 0, status.st_mode & S_IFMT == S_IFDIR { return }
            throw IdempotencyStoreError(
                "\(path) exists and is not a folder; the idempotency store needs a folder there"
            )
        }
        if code == ENOENT, let slash = path.lastIndex(of: "/"), slash != path.startIndex {
            try makeDirectory(String(path[..<slash]))
            if mkdir(path, 0o700) == 0 || errno == EEXIST { return }
        }
        throw IdempotencyStoreError("cannot create the folder \(path): \(describe(code))", code: code)
    }

    /// Writes the `FORMAT` file of a new store, or checks that an existing folder is a store of this format.
    private func checkFormat() throws(IdempotencyStoreError) {
        let path = directory + "/FORMAT"
        switch Self.readFile(path) {
        case .read(let bytes):
            guard bytes == Array(Self.formatMarker.utf8) else {
                throw IdempotencyStoreError(
                    "\(directory) holds something other than an idempotency file store of this version (its FORMAT "
                        + "file does not match); give an empty folder or one this store made"
                )
            }
        case .missing:
            // A `FORMAT.tmp-` file is another process making the store at this moment, or one killed while doing
            // so: neither makes the folder foreign.
            let entries = Self.entries(of: directory).filter {
                $0 != "records" && $0 != "quarantine" && !$0.hasPrefix("FORMAT.tmp-")
            }
            // Another process may have put FORMAT in place since we looked: look again, at what it wrote.
            if entries == ["FORMAT"] { return try checkFormat() }
            guard entries.isEmpty else {
                throw IdempotencyStoreError(
                    "\(directory) is not empty and is not an idempotency file store (no FORMAT file); give an empty "
                        + "folder or one this store made"
                )
            }
            let temporary = path + ".tmp-" + Self.randomSuffix()
            try Self.writeNewFile(temporary, Array(Self.formatMarker.utf8))
            if rename(temporary, path) != 0 {
                unlink(temporary)
                throw IdempotencyStoreError("cannot write \(path): \(Self.describe(errno))", code: errno)
            }
        case .failed(let code):
            throw IdempotencyStoreError("cannot read \(path): \(Self.describe(code))", code: code)
        }
        try Self.makeDirectory(directory + "/records")
    }

    private func removeStaleTemporaryFiles(olderThan cutoff: Int64) {
        let records = directory + "/records"
        for first in Self.entries(of: records) {
            for second in Self.entries(of: records + "/" + first) {
                let leaf = records + "/" + first + "/" + second
                for name in Self.entries(of: leaf) where name.contains(".tmp-") {
                    var status = stat()
                    let path = leaf + "/" + name
                    guard stat(path, &status) == 0 else { continue }
                    #if canImport(Darwin)
                    let modified = Int64(status.st_mtimespec.tv_sec)
                    #else
                    let modified = Int64(status.st_mtim.tv_sec)
                    #endif
                    if modified * 1000 < cutoff { unlink(path) }
                }
            }
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
