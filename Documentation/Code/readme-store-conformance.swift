import BatchIdempotency
import BatchIdempotencyTesting
import Testing

// docs: begin
@Test("My store keeps the idempotency store's meaning", arguments: IdempotencyStoreConformance.Check.allCases)
func conforms(check: IdempotencyStoreConformance.Check) async throws {
    let store = try await MyStore.empty()  // each check needs an empty store of its own
    let failures = await IdempotencyStoreConformance.run(check, on: store)
    #expect(failures.isEmpty, "\(failures)")
}
// docs: end

// Not shown: the store under test (here the in-memory one stands in for yours).
enum MyStore {
    static func empty() async throws -> any IdempotencyStore { InMemoryIdempotencyStore() }
}
