import BatchProcessing
import Observability

let observability = try ObservabilitySetup.bootstrap()  // JSON logs + EMF on stdout on Lambda
let processor = BatchProcessor(
    configuration: .init(
        instrumentation: .init(metricsFactory: observability.metrics, flushMetrics: observability.flushMetrics)
    )
)
