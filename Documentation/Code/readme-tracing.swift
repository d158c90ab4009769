import BatchProcessing
import InMemoryTracing
import Tracing

let myTracer = InMemoryTracer()

// docs: begin
InstrumentationSystem.bootstrap(myTracer)  // from swift-distributed-tracing; e.g. swift-otel's tracer
let processor = BatchProcessor(middleware: [RetryMiddleware()])  // picks it up at each batch
// or, for one processor: Instrumentation(tracer: myTracer); in tests: withTracer(InMemoryTracer()) { … }
// docs: end
