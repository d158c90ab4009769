import BatchProcessingSystemSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// A shard's lock across processes and hosts: an open-file-description lock on its byte of `locks`.

extension FileIdempotencyStore {
    /// Runs `body` holding the shard: first among this process's tasks, then among processes (its byte of
    /// `locks`).
    func withShard<T: Sendable>(
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
    static let openFileDescriptionSetLock: Int32 = 37
    #endif

    func setShardLock(_ shard: Int, _ type: Int32) -> Bool {
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
    func lockShard(_ shard: Int) async throws(IdempotencyStoreError) {
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

    func unlockShard(_ shard: Int) {
        _ = setShardLock(shard, F_UNLCK)
    }
}
