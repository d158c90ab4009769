import Synchronization

/// Mutual exclusion per key between the tasks of one process, without blocking a thread while waiting: the
/// file store takes it before the cross-process file lock, so that tasks never block the cooperative pool waiting
/// for each other's file locks.
final class KeyedAsyncLock: Sendable {
    private struct State {
        /// Keys that are held, with the tasks waiting for each, first come first served.
        var waiters: [String: [CheckedContinuation<Void, Never>]] = [:]
    }

    private let state = Mutex(State())

    /// Runs `body` while holding `key`.
    func withLock<T>(_ key: String, _ body: () async throws -> T) async rethrows -> T {
        await acquire(key)
        defer { release(key) }
        return try await body()
    }

    private func acquire(_ key: String) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let free: Bool = state.withLock { state in
                if state.waiters[key] == nil {
                    state.waiters[key] = []
                    return true
                }
                state.waiters[key]?.append(continuation)
                return false
            }
            if free { continuation.resume() }
        }
    }

    private func release(_ key: String) {
        let next: CheckedContinuation<Void, Never>? = state.withLock { state in
            guard var queue = state.waiters[key] else { return nil }
            if queue.isEmpty {
                state.waiters[key] = nil
                return nil
            }
            let first = queue.removeFirst()
            state.waiters[key] = queue
            return first
        }
        // Ownership passes to the next waiter; the key stays held.
        next?.resume()
    }
}
