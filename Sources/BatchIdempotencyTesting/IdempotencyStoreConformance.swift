public import BatchIdempotency
import Synchronization

/// The meaning of `IdempotencyStore`, as checks a store of your own can run: the same checks the file store, the
/// PostgreSQL store and ``InMemoryIdempotencyStore`` pass in this project's tests.
///
/// Each check needs an empty store of its own and leaves records behind. It reports what went wrong as values, so
/// that any test framework can assert on them: with Swift Testing, a test parameterized over ``Check/allCases``
/// that expects ``run(_:on:)`` to return no failures (the README's *Testing your own handlers* shows one).
///
/// The checks use wall-clock times between 0 and 40,000 ms (the store must not compare them with the real clock)
/// and keys that are spread like SHA-256 digests.
public enum IdempotencyStoreConformance {
    /// One check of the suite.
    public struct Check: Sendable, Hashable, CaseIterable, CustomStringConvertible {
        enum Kind: String, CaseIterable {
            case lifecycle
            case takeover
            case release
            case repeatedByHolder
            case purge
            case concurrentClaims
            case manyKeys
            case claimTable
            case fenceTable
        }

        let kind: Kind

        /// Claim, complete, replay, expire: each transition as the store records it.
        public static let lifecycle = Check(kind: .lifecycle)
        /// An in-progress record past its holder's time is taken over; the old holder is fenced out.
        public static let takeover = Check(kind: .takeover)
        /// A release removes the holder's record, and the key starts afresh.
        public static let release = Check(kind: .release)
        /// A change repeated by its holder (its answer lost) finds its own: claimed again, applied again.
        public static let repeatedByHolder = Check(kind: .repeatedByHolder)
        /// Purging removes expired records, in progress and completed, and keeps live ones.
        public static let purge = Check(kind: .purge)
        /// 32 tasks claiming one key at once: exactly one holds it.
        public static let concurrentClaims = Check(kind: .concurrentClaims)
        /// 200 keys at once, each through its whole life.
        public static let manyKeys = Check(kind: .manyKeys)
        /// Every row of the claim table (stored state × token × time): the store answers and ends as
        /// `IdempotencyRules` decides.
        public static let claimTable = Check(kind: .claimTable)
        /// Every row of the completion and release tables.
        public static let fenceTable = Check(kind: .fenceTable)

        public static let allCases: [Check] = Kind.allCases.map(Check.init(kind:))

        public var description: String { kind.rawValue }
    }

    /// A way the store did not behave as the protocol says.
    public struct Failure: Sendable, Hashable, CustomStringConvertible {
        /// The check that found it.
        public let check: Check
        /// What was expected and what the store did.
        public let message: String

        public var description: String { "\(check): \(message)" }
    }

    /// Runs `check` on `store`, which must be empty; the failures it found (none when the store conforms).
    public static func run(_ check: Check, on store: any IdempotencyStore) async -> [Failure] {
        let recorder = Recorder(check: check)
        do {
            switch check.kind {
            case .lifecycle: try await lifecycle(store, recorder)
            case .takeover: try await takeover(store, recorder)
            case .release: try await release(store, recorder)
            case .repeatedByHolder: try await repeatedByHolder(store, recorder)
            case .purge: try await purge(store, recorder)
            case .concurrentClaims: try await concurrentClaims(store, recorder)
            case .manyKeys: try await manyKeys(store, recorder)
            case .claimTable: try await claimTable(store, recorder)
            case .fenceTable: try await fenceTable(store, recorder)
            }
        } catch is Recorder.Stop {
            // The check could not go on; its failure is recorded.
        } catch {
            recorder.fail("the store threw: \(error)")
        }
        return recorder.failures
    }

    /// Runs every check, each on a new store from `makeStore`; the failures of all.
    public static func runAll(makeStore: () async throws -> any IdempotencyStore) async -> [Failure] {
        var failures: [Failure] = []
        for check in Check.allCases {
            do {
                failures += await run(check, on: try await makeStore())
            } catch {
                failures.append(Failure(check: check, message: "makeStore threw: \(error)"))
            }
        }
        return failures
    }

    // MARK: - Recording

    final class Recorder: Sendable {
        struct Stop: Error {}

        let check: Check
        private let found = Mutex<[Failure]>([])

        init(check: Check) { self.check = check }

        var failures: [Failure] { found.withLock { $0 } }

        func fail(_ message: String) {
            found.withLock { $0.append(Failure(check: check, message: message)) }
        }

        func expect(_ condition: Bool, _ message: @autoclosure () -> String) {
            if !condition { fail(message()) }
        }

        /// A failure and the end of the check unless `condition` holds.
        func require(_ condition: Bool, _ message: @autoclosure () -> String) throws {
            guard condition else {
                fail(message())
                throw Stop()
            }
        }

        /// `value`, or a failure and the end of the check when it is `nil`.
        func require<T>(_ value: T?, _ message: @autoclosure () -> String) throws -> T {
            guard let value else {
                fail(message())
                throw Stop()
            }
            return value
        }
    }
}
