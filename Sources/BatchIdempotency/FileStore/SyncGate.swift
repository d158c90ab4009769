import CSystemShims
import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Group commit for the durable file store: every writer that waits here is covered by one file-system flush
/// that starts after it arrived, and one flush covers every writer waiting at that moment. With many records
/// processed at once, a batch pays for a few flushes rather than one per state change.
///
/// On Linux the flush is `syncfs` on the store's directory, which writes back the whole file system the store is
/// on (data and directory entries); elsewhere `fsync` of the directory.
final class SyncGate: Sendable {
    private struct State {
        var waiting: [CheckedContinuation<Int32, Never>] = []
        var flushing = false
    }

    private static let flusher = DispatchQueue(label: "batch-idempotency.sync-gate")

    private let directoryDescriptor: Int32
    private let state = Mutex(State())

    /// - Parameter directoryDescriptor: an open descriptor of the store's directory, kept open by the caller.
    init(directoryDescriptor: Int32) {
        self.directoryDescriptor = directoryDescriptor
    }

    /// Returns once a flush that started after this call has finished; throws the flush's error.
    func flush() async throws(IdempotencyStoreError) {
        let result: Int32 = await withCheckedContinuation { continuation in
            let startFlusher: Bool = state.withLock { state in
                state.waiting.append(continuation)
                if state.flushing { return false }
                state.flushing = true
                return true
            }
            if startFlusher {
                // On a thread of its own, not the concurrency pool's: a flush blocks for hundreds of microseconds,
                // and the pool's few threads are what lets the other writers reach the gate meanwhile (the more
                // of them wait at once, the fewer flushes a batch pays for).
                Self.flusher.async { [self] in self.runFlushes() }
            }
        }
        if result != 0 {
            throw IdempotencyStoreError(
                "the file store could not flush its writes to disk: \(String(cString: strerror(result)))",
                code: .fileSystem,
                systemErrorNumber: result
            )
        }
    }

    /// Flushes for every waiter, again and again while more arrive.
    private func runFlushes() {
        while true {
            let batch: [CheckedContinuation<Int32, Never>] = state.withLock { state in
                let batch = state.waiting
                state.waiting = []
                if batch.isEmpty { state.flushing = false }
                return batch
            }
            if batch.isEmpty { return }
            let result = Self.syncFileSystem(directoryDescriptor)
            for waiter in batch { waiter.resume(returning: result) }
        }
    }

    private static func syncFileSystem(_ descriptor: Int32) -> Int32 {
        if flushesFileData {
            return batch_syncfs(descriptor) == 0 ? 0 : errno
        }
        return fsync(descriptor) == 0 ? 0 : errno
    }

    /// True when a flush covers file data too (`syncfs`, on Linux); otherwise writers must fsync their own files
    /// (and the directory is fsynced before a rename counts).
    static var flushesFileData: Bool {
        #if os(Linux)
        true
        #else
        false
        #endif
    }
}
