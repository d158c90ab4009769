import BatchProcessing
import Observability

// docs: begin
let observability = try ObservabilitySetup.bootstrap(.init(service: "orders", namespace: "Shop"))
let processor = BatchProcessor(
    configuration: .init(
        instrumentation: .init(metricsFactory: observability.metrics, flushMetrics: observability.flushMetrics)
    )
)
// docs: end
