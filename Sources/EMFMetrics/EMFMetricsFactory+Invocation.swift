import BatchProcessingJSONSupport
import Synchronization

extension EMFMetricsFactory {
    /// The metrics of one invocation while it runs, kept apart from those of other invocations running at the same
    /// time in the process (Lambda Managed Instances serve several at once): see
    /// ``EMFMetricsFactory/withInvocation(requestID:traceID:_:)``.
    final class InvocationMetrics: Sendable {
        let factory: EMFMetricsFactory
        /// Written in each of the invocation's documents beside the dimensions (not dimensions themselves).
        let properties: [(String, String)]
        private let state = Mutex<(metrics: [MetricKey: MetricState], order: [MetricKey])>(([:], []))

        init(factory: EMFMetricsFactory, properties: [(String, String)]) {
            self.factory = factory
            self.properties = properties
        }

        /// Changes the invocation's state of `key`, made on first use with the unit `unit` gives.
        func update(_ key: MetricKey, _ change: (inout MetricState) -> Void, unit: () -> EMFUnit) {
            let known = state.withLock { $0.metrics[key] != nil }
            // The unit is looked up outside this lock: the factory's lock is never taken inside it.
            let firstUnit = known ? nil : unit()
            state.withLock { state in
                if state.metrics[key] == nil {
                    state.metrics[key] = MetricState(unit: firstUnit ?? .none)
                    state.order.append(key)
                }
                guard let index = state.metrics.index(forKey: key) else { return }
                change(&state.metrics.values[index])
                state.metrics.values[index].touched = true
            }
        }

        /// Every metric of the invocation touched since its last flush, and resets them.
        func take() -> [(MetricKey, MetricState)] {
            state.withLock { state in
                let taken = state.order.compactMap { key in state.metrics[key].flatMap { $0.touched ? (key, $0) : nil }
                }
                state.metrics = [:]
                state.order = []
                return taken
            }
        }
    }

    /// The invocation whose metrics are being recorded in this task, if any.
    @TaskLocal static var invocation: InvocationMetrics?

    /// Runs `body` as one invocation: the metrics it records (in this task and the tasks it starts) are kept apart
    /// from other invocations' and from metrics recorded outside any invocation, and a ``flush()`` inside it
    /// writes them alone, each document carrying `function_request_id` and `xray_trace_id` (the `Root=` part of
    /// `traceID`) beside its dimensions. What `body` leaves unflushed is written when it returns. For a runtime
    /// that serves several invocations at once; one at a time needs none of this.
    ///
    /// A meter's value inside an invocation starts from nothing, not from the value outside it.
    public func withInvocation<Result>(
        requestID: String?,
        traceID: String?,
        _ body: () async throws -> Result
    ) async rethrows -> Result {
        var properties: [(String, String)] = []
        if let requestID { properties.append(("function_request_id", requestID)) }
        if let root = traceID.flatMap(XRay.traceRoot(of:)) { properties.append(("xray_trace_id", root)) }
        let invocation = InvocationMetrics(factory: self, properties: properties)
        return try await Self.$invocation.withValue(invocation) {
            do {
                let result = try await body()
                flush()
                return result
            } catch {
                flush()
                throw error
            }
        }
    }
}
