/// A condition that did not come true in time: what was awaited, and for how long.
public struct WaitTimedOut: Error, CustomStringConvertible {
    /// What the test waited for, in its own words.
    public let awaited: String
    /// How long it waited.
    public let timeout: Duration

    public var description: String { "gave up after \(timeout) waiting for \(awaited)" }
}

/// Waits until `condition` holds, checking it every `interval`, for at most `timeout`.
///
/// A bounded wait for tests: a regression that never makes the condition true fails the test with
/// ``WaitTimedOut`` (naming `awaited`) instead of hanging it.
///
/// ```swift
/// try await waitUntil("three records started") { started.count >= 3 }
/// ```
///
/// - Throws: ``WaitTimedOut`` when the time runs out, `CancellationError` when the task is cancelled.
public func waitUntil(
    _ awaited: String,
    timeout: Duration = .seconds(20),
    checkingEvery interval: Duration = .milliseconds(5),
    _ condition: () async throws -> Bool
) async throws {
    let clock = ContinuousClock()
    let end = clock.now.advanced(by: timeout)
    while true {
        if try await condition() { return }
        guard clock.now < end else { throw WaitTimedOut(awaited: awaited, timeout: timeout) }
        try await Task.sleep(for: interval)
    }
}
