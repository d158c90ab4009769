import BatchProcessing
import InMemoryTracing

let myTracer = InMemoryTracer()

// docs: begin
import Tracing

InstrumentationSystem.bootstrap(myTracer)  // e.g. swift-otel's, exporting over OTLP
let processor = BatchProcessor(middleware: [RetryMiddleware()])  // picks it up at each batch
// or, for one processor: Instrumentation(tracer: myTracer); in tests: withTracer(InMemoryTracer()) { … }
// docs: end
