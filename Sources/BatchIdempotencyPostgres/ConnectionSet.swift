import Logging
import PostgresNIO
import Synchronization

/// The store's connections: opened on demand up to a limit, reused while healthy, dropped when lost.
///
/// A connection that failed is never handed out again; a new one is opened for the next caller, so that a
/// terminated session or a failover costs one failed statement (which the store repeats), not a stall.
actor ConnectionSet {
    private let configuration: PostgresConnection.Configuration
    private let maximum: Int
    private let logger: Logger
    private var idle: [PostgresConnection] = []
    /// Connections open or being opened.
    private var count = 0
    private var waiting: [CheckedContinuation<Void, Never>] = []
    private var nextID = 0
    private var isShutDown = false

    private let connectTimeout: Duration

    init(configuration: PostgresConnection.Configuration, maximum: Int, connectTimeout: Duration, logger: Logger) {
        self.configuration = configuration
        self.connectTimeout = connectTimeout
        self.maximum = maximum
        self.logger = logger
    }

    struct ShutDown: Error, CustomStringConvertible {
        var description: String { "the store was shut down" }
    }

    /// No session within the connect timeout.
    struct ConnectTimedOut: Error, CustomStringConvertible {
        let limit: Duration
        var description: String { "no session with the server within \(limit)" }
    }

    /// A connection crossing the race's task boundary (it is used by one task at a time).
    private struct UncheckedConnection: @unchecked Sendable {
        let connection: PostgresConnection
    }

    /// Where one statement's lease got to, read by a caller that stopped waiting: a statement that timed out while
    /// every connection was busy says nothing about the server.
    final class LeaseProgress: Sendable {
        enum Stage {
            /// Waiting for one of the set's connections to be given back.
            case waiting
            /// Opening a new connection.
            case connecting
            /// Holding a connection since that instant.
            case leased(ContinuousClock.Instant)
        }

        private let state = Mutex(Stage.waiting)

        func connecting() { state.withLock { $0 = .connecting } }
        func leased() { state.withLock { $0 = .leased(.now) } }
        var stage: Stage { state.withLock { $0 } }
    }

    /// A connection for one statement: an idle one, a new one while under the limit, or the next one given back.
    func lease(progress: LeaseProgress) async throws -> PostgresConnection {
        while true {
            guard !isShutDown else { throw ShutDown() }
            if Task.isCancelled {
                // The caller left while waiting; pass the wake-up on, so that a connection given back is not missed.
                wakeOne()
                throw CancellationError()
            }
            while let connection = idle.popLast() {
                if !connection.isClosed {
                    progress.leased()
                    return connection
                }
                count -= 1
                Self.close(connection)
            }
            if count < maximum {
                count += 1
                nextID += 1
                progress.connecting()
                let (configuration, id, logger) = (self.configuration, nextID, self.logger)
                // The whole handshake within the connect timeout (the client's own covers the TCP connect only): a
                // server that ends the session during start-up must not hold the caller.
                let outcome = await Deadline.race(until: .now + connectTimeout) {
                    let connection = try await PostgresConnection.connect(
                        configuration: configuration,
                        id: id,
                        logger: logger
                    )
                    if Task.isCancelled {
                        // Too late: the caller stopped waiting.
                        try? await connection.close()
                        throw CancellationError()
                    }
                    return UncheckedConnection(connection: connection)
                }
                let failure: any Error
                switch outcome {
                case .success(let made):
                    progress.leased()
                    return made.connection
                case .failure(let error): failure = error
                case .timedOut: failure = ConnectTimedOut(limit: connectTimeout)
                case .cancelled: failure = CancellationError()
                }
                count -= 1
                wakeOne()
                throw failure
            }
            await withCheckedContinuation { waiting.append($0) }
        }
    }

    /// Takes a connection back: kept for the next statement when `healthy`, closed otherwise.
    func giveBack(_ connection: PostgresConnection, healthy: Bool) {
        if healthy, !connection.isClosed, !isShutDown {
            idle.append(connection)
        } else {
            count -= 1
            Self.close(connection)
        }
        wakeOne()
    }

    /// Closes every idle connection; connections in use close when given back. Later leases fail.
    func shutdown() async {
        isShutDown = true
        let closing = idle
        idle = []
        count -= closing.count
        for connection in closing { try? await connection.close() }
        let waiters = waiting
        waiting = []
        for waiter in waiters { waiter.resume() }
    }

    /// Closes a connection, holding it until the close is done (a connection must not go away open).
    private static func close(_ connection: PostgresConnection) {
        connection.close().whenComplete { _ in withExtendedLifetime(connection) {} }
    }

    private func wakeOne() {
        if !waiting.isEmpty { waiting.removeFirst().resume() }
    }
}
