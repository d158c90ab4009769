/// The error that ``FaultInjectionMiddleware`` throws for a chosen record.
public struct InjectedFault: Error, Sendable, Hashable, CustomStringConvertible {
    /// The record's index in the batch.
    public let index: Int
    /// The record's item identifier.
    public let itemIdentifier: ItemIdentifier
    /// The attempt that was failed.
    public let attempt: Int

    /// Creates the error for a record; users' own fault injectors may throw it too.
    public init(index: Int, itemIdentifier: ItemIdentifier, attempt: Int) {
        self.index = index
        self.itemIdentifier = itemIdentifier
        self.attempt = attempt
    }

    public var description: String {
        "injected fault for record \(index) (\(itemIdentifier)), attempt \(attempt)"
    }
}

/// Fails chosen records on purpose, without calling the handler: for chaos tests, and to rehearse what a
/// policy would report before real failures do.
///
/// A record is failed when its item identifier is listed, its index is listed, or a seeded draw picks it with
/// probability `fraction`. The draw depends only on the seed and the record's index, so it picks the same
/// records whatever the concurrency. With `failingAttempts`, only the first attempts fail (to exercise retry).
public struct FaultInjectionMiddleware: RecordMiddleware {
    /// Records with these item identifiers fail.
    public var identifiers: Set<ItemIdentifier>
    /// Records at these 0-based indices fail.
    public var indices: Set<Int>
    /// The probability (0…1) that any other record fails.
    public var fraction: Double
    /// The seed of the draw for `fraction`.
    public var seed: UInt64
    /// Fail only attempts up to this number (from 1); `nil` fails every attempt.
    public var failingAttempts: Int?

    /// Creates a fault injector.
    public init(
        identifiers: Set<ItemIdentifier> = [],
        indices: Set<Int> = [],
        fraction: Double = 0,
        seed: UInt64 = 0,
        failingAttempts: Int? = nil
    ) {
        self.identifiers = identifiers
        self.indices = indices
        self.fraction = fraction
        self.seed = seed
        self.failingAttempts = failingAttempts
    }

    /// True when this middleware fails the record at `index` with `identifier` (on the attempts it fails).
    public func selects(index: Int, identifier: ItemIdentifier) -> Bool {
        if identifiers.contains(identifier) || indices.contains(index) { return true }
        guard fraction > 0 else { return false }
        var generator = SplitMix64(seed: seed ^ (UInt64(truncatingIfNeeded: index) &* 0x9E37_79B9_7F4A_7C15))
        return Double(generator.next() >> 11) / Double(1 << 53) < fraction
    }

    public func handle<Record: BatchRecord>(
        _ record: Record,
        context: RecordContext,
        next: RecordNext<Record>
    ) async throws -> RecordResult {
        if selects(index: context.index, identifier: record.itemIdentifier),
            failingAttempts.map({ context.attempt <= $0 }) ?? true
        {
            let fault = InjectedFault(
                index: context.index,
                itemIdentifier: record.itemIdentifier,
                attempt: context.attempt
            )
            var result = RecordResult.failed(fault, context)
            result.annotations[Injected.self] = fault
            return result
        }
        return await next(record, context)
    }

    /// The annotation (``RecordResult/annotations``) of a record this middleware failed: the fault it injected.
    public enum Injected: RecordAnnotationKey {
        public typealias Value = InjectedFault
        public static let name = "injected_fault"
    }
}

/// A small, fast, seedable generator (SplitMix64), for draws that must repeat.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
