/// The test PostgreSQL server (scripts/with-postgres.sh) is shared by every test target of the suite, which runs in
/// one process: tests that stop or restart it take it exclusively, all others take it shared, so that no test's
/// connections are cut by another's restart.
public actor ServerAccess {
    /// The one gate of the test process.
    public static let shared = ServerAccess()

    private var readers = 0
    private var writing = false
    private var waiting: [(exclusive: Bool, continuation: CheckedContinuation<Void, Never>)] = []

    /// Waits until the server may be used: alone (`exclusive`) or beside other shared users.
    public func acquire(exclusive: Bool) async {
        if waiting.isEmpty, canEnter(exclusive: exclusive) {
            enter(exclusive: exclusive)
            return
        }
        await withCheckedContinuation { waiting.append((exclusive, $0)) }
    }

    /// Gives back what ``acquire(exclusive:)`` took.
    public func release(exclusive: Bool) {
        if exclusive { writing = false } else { readers -= 1 }
        while let next = waiting.first, canEnter(exclusive: next.exclusive) {
            waiting.removeFirst()
            enter(exclusive: next.exclusive)
            next.continuation.resume()
        }
    }

    /// Runs `body` with the server taken (shared unless `exclusive`), and gives it back however `body` ends.
    public static func with<Result: Sendable>(
        exclusive: Bool = false,
        _ body: () async throws -> Result
    ) async throws -> Result {
        await shared.acquire(exclusive: exclusive)
        do {
            let result = try await body()
            await shared.release(exclusive: exclusive)
            return result
        } catch {
            await shared.release(exclusive: exclusive)
            throw error
        }
    }

    private func canEnter(exclusive: Bool) -> Bool { exclusive ? !writing && readers == 0 : !writing }

    private func enter(exclusive: Bool) {
        if exclusive { writing = true } else { readers += 1 }
    }
}
