import Synchronization

/// Asks the processor, from outside, to start no further record: records already running finish, and the records
/// not yet started are skipped (``RecordOutcome/SkipReason/cancelled``) and reported, so that they are delivered
/// again. A host worker requests it when it is told to stop (SIGTERM), then answers the batch in flight and exits.
///
/// Unlike cancelling the processing task, which also cancels the handlers that are running, a shutdown lets them end
/// on their own. Give the signal to every batch through ``InvocationContext/shutdown``.
public final class ShutdownSignal: Sendable {
    private struct State {
        var requested = false
        var handlers: [Int: @Sendable () -> Void] = [:]
        var nextID = 0
    }

    private let state = Mutex(State())

    /// Creates a signal not yet requested.
    public init() {}

    /// Requests the shutdown; later calls do nothing more.
    public func request() {
        let handlers = state.withLock { state -> [@Sendable () -> Void] in
            guard !state.requested else { return [] }
            state.requested = true
            defer { state.handlers = [:] }
            return Array(state.handlers.values)
        }
        for handler in handlers { handler() }
    }

    /// Whether the shutdown was requested.
    public var isRequested: Bool { state.withLock { $0.requested } }

    /// Calls `handler` when the shutdown is requested (at once when it already was), until the returned
    /// registration is cancelled.
    func onRequest(_ handler: @escaping @Sendable () -> Void) -> Registration {
        let id = state.withLock { state -> Int? in
            guard !state.requested else { return nil }
            state.nextID += 1
            state.handlers[state.nextID] = handler
            return state.nextID
        }
        guard let id else {
            handler()
            return Registration(signal: nil, id: 0)
        }
        return Registration(signal: self, id: id)
    }

    /// A handler registered with ``onRequest(_:)``.
    struct Registration: Sendable {
        let signal: ShutdownSignal?
        let id: Int

        func cancel() {
            _ = signal?.state.withLock { $0.handlers.removeValue(forKey: id) }
        }
    }
}
