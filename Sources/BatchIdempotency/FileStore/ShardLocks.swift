import Synchronization

/// One asynchronous lock per shard, for the tasks of one process: a task waits for the shard without blocking a
/// thread, and tasks get it in the order they asked. Taking a free shard costs no suspension.
final class ShardLocks: Sendable {
    private struct State: ~Copyable {
        var held: [Bool]
        var waiters: [[CheckedContinuation<Void, Never>]]
    }

    private let state: Mutex<State>

    init(count: Int) {
        state = Mutex(State(held: Array(repeating: false, count: count), waiters: Array(repeating: [], count: count)))
    }

    func withLock<T>(_ shard: Int, _ body: () async throws -> T) async rethrows -> T {
        let free = state.withLock { state in
            if state.held[shard] { return false }
            state.held[shard] = true
            return true
        }
        if !free { await wait(for: shard) }
        defer { release(shard) }
        return try await body()
    }

    private func wait(for shard: Int) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let taken: Bool = state.withLock { state in
                if state.held[shard] {
                    state.waiters[shard].append(continuation)
                    return false
                }
                state.held[shard] = true
                return true
            }
            if taken { continuation.resume() }
        }
    }

    private func release(_ shard: Int) {
        let next: CheckedContinuation<Void, Never>? = state.withLock { state in
            if state.waiters[shard].isEmpty {
                state.held[shard] = false
                return nil
            }
            // The shard stays held: it passes to the first waiter.
            return state.waiters[shard].removeFirst()
        }
        next?.resume()
    }
}
