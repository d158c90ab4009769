import Synchronization

/// A bounded, least-recently-used memory of keys this process saw completed, so that a redelivery inside one warm
/// Lambda environment or host process replays without asking the store. It never holds in-progress keys: those
/// must always be asked of the store, where another process may change them.
final class CompletedKeyCache: Sendable {
    struct Entry: Sendable {
        var expiresAt: Int64
        var payloadHash: String?
    }

    private struct State {
        var entries: [String: (entry: Entry, stamp: UInt64)] = [:]
        var clock: UInt64 = 0
    }

    let capacity: Int
    private let state = Mutex(State())

    init(capacity: Int) {
        self.capacity = max(capacity, 0)
    }

    /// The entry of `key` when it is there and not expired at `now`.
    func lookup(_ key: IdempotencyKey, now: Int64) -> Entry? {
        guard capacity > 0 else { return nil }
        return state.withLock { state in
            guard let found = state.entries[key.hex] else { return nil }
            guard found.entry.expiresAt > now else {
                state.entries[key.hex] = nil
                return nil
            }
            state.clock += 1
            state.entries[key.hex] = (found.entry, state.clock)
            return found.entry
        }
    }

    /// Remembers `key` as completed; the least recently used entry goes when the cache is full.
    func insert(_ key: IdempotencyKey, _ entry: Entry) {
        guard capacity > 0 else { return }
        state.withLock { state in
            state.clock += 1
            state.entries[key.hex] = (entry, state.clock)
            if state.entries.count > capacity,
                let oldest = state.entries.min(by: { $0.value.stamp < $1.value.stamp })?.key
            {
                state.entries[oldest] = nil
            }
        }
    }

    var count: Int { state.withLock { $0.entries.count } }
}
