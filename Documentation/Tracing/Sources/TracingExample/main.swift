// docs: begin
import BatchProcessing
import Foundation
import JSONLogging
import Logging
import OTel
import Observability
import ServiceLifecycle

let service = "orders-worker"  // one name for the spans' resource and the logs' and metrics' `service`

var otel = OTel.Configuration.default
otel.serviceName = service
otel.logs.enabled = false  // JSON or journald logs from ObservabilitySetup
otel.metrics.enabled = false  // EMF metrics from ObservabilitySetup
otel.traces.exporter = .otlp
otel.traces.otlpExporter.protocol = .httpProtobuf
// The endpoint stays unset: http://localhost:4318/v1/traces, or OTEL_EXPORTER_OTLP_ENDPOINT with /v1/traces added.
// An endpoint set here is used exactly as given, so it must name the path: "http://collector:4318/v1/traces".
let tracing = try OTel.bootstrap(configuration: otel)  // bootstraps InstrumentationSystem with its tracer

let observability = try ObservabilitySetup.bootstrap(
    // trace_id and span_id on the lines logged inside a span: your handler's (the record's span)
    .init(service: service, metadataProvider: OTel.makeLoggingMetadataProvider())
)
let processor = BatchProcessor(
    configuration: .init(instrumentation: Instrumentation(flushMetrics: observability.flushMetrics))
)

/// The work: here one batch from a file; a real worker keeps taking batches until it is asked to stop.
struct OneBatch: Service {
    var processor: BatchProcessor
    var path: String

    func run() async throws {
        let event = Array(try Data(contentsOf: URL(fileURLWithPath: path)))  // an error that names the file
        let answer = try await processor.processJSON(event) { record, context in
            guard case .sqs(let message) = record else { return }
            context.logger.info("charging", metadata: ["message_id": "\(message.messageId)"])
            if message.body.contains("refuse") { throw RefusedOrder() }
        }
        // Written with a call that reports a closed or full output instead of trapping.
        try LineWriter.standardOutput.writeLine(answer)
    }
}

struct RefusedOrder: Error {}

// The exporter works in the background beside the work. When the work returns, the group shuts down gracefully:
// the exporter sends the spans it still holds before it stops (cancelling it instead would lose them).
let group = ServiceGroup(
    configuration: .init(
        services: [
            .init(service: tracing),
            .init(
                service: OneBatch(processor: processor, path: CommandLine.arguments.dropFirst().first ?? "event.json"),
                successTerminationBehavior: .gracefullyShutdownGroup
            ),
        ],
        logger: Logger(label: "services")
    )
)
try await group.run()
// docs: end
