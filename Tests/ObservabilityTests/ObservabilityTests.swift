import BatchProcessingTestProcessSupport
import CoreMetrics
import EMFMetrics
import Foundation
import JSONLogging
import Logging
import Observability
import Testing

@Suite("Observability: environment detection and outputs")
struct ObservabilityTests {
    @Test("AWS_LAMBDA_FUNCTION_NAME means Lambda")
    func detectsLambda() {
        #expect(RuntimeEnvironment.detect(environment: ["AWS_LAMBDA_FUNCTION_NAME": "f"]) == .lambda)
    }

    @Test("JOURNAL_STREAM equal to stderr's device:inode means a systemd service; any other value does not")
    func detectsJournalStream() throws {
        var status = stat()
        #expect(fstat(2, &status) == 0)
        let matching = "\(status.st_dev):\(status.st_ino)"
        #expect(RuntimeEnvironment.isJournalStream(matching, fileDescriptor: 2))
        #expect(RuntimeEnvironment.detect(environment: ["JOURNAL_STREAM": matching]) == .systemdService)
        #expect(!RuntimeEnvironment.isJournalStream("\(status.st_dev):\(status.st_ino + 1)", fileDescriptor: 2))
        #expect(!RuntimeEnvironment.isJournalStream("garbage", fileDescriptor: 2))
        #expect(!RuntimeEnvironment.isJournalStream("1:2:3", fileDescriptor: 2))
        #expect(RuntimeEnvironment.detect(environment: ["JOURNAL_STREAM": "1:1"]) != .systemdService)
    }

    @Test(
        "On Lambda: JSON logs with Lambda keys and EMF with a cold start, namespace and service from Powertools' variables"
    )
    func lambdaOutputs() throws {
        let logs = LineCollector()
        let metrics = LineCollector()
        let observability = try ObservabilitySetup.make(
            .init(logOutput: logs.writer, metricsOutput: metrics.writer),
            variables: [
                "AWS_LAMBDA_FUNCTION_NAME": "orders-fn", "POWERTOOLS_SERVICE_NAME": "orders",
                "POWERTOOLS_METRICS_NAMESPACE": "Shop", "POWERTOOLS_LOG_LEVEL": "DEBUG",
            ]
        )
        #expect(observability.environment == .lambda)
        observability.logger(label: "l").debug("visible at debug")
        Counter(label: "Things", factory: observability.metrics).increment()
        observability.flushMetrics()
        let line = try #require(try logs.objects().first)
        #expect(line["service"] as? String == "orders")
        #expect(line["function_name"] as? String == "orders-fn")
        let documents = try metrics.objects()
        #expect(documents.contains { $0["ColdStart"] as? Int == 1 && $0["function_name"] as? String == "orders-fn" })
        let things = try #require(documents.first { $0["Things"] != nil })
        #expect(things["service"] as? String == "orders")
        let aws = things["_aws"] as? [String: Any]
        #expect((aws?["CloudWatchMetrics"] as? [[String: Any]])?.first?["Namespace"] as? String == "Shop")
    }

    @Test("A metadata provider (swift-otel's, for trace and span ids) adds its keys to every line")
    func metadataProvider() throws {
        enum Current {
            @TaskLocal static var traceID: String?
        }
        let logs = LineCollector()
        let observability = try ObservabilitySetup.make(
            .init(
                logOutput: logs.writer,
                metadataProvider: Logger.MetadataProvider {
                    Current.traceID.map { ["trace_id": .string($0)] } ?? [:]
                }
            ),
            variables: ["AWS_LAMBDA_FUNCTION_NAME": "orders-fn"]
        )
        let logger = observability.logger(label: "l")
        Current.$traceID.withValue("0af7651916cd43dd8448eb211c80319c") { logger.info("inside a span") }
        logger.info("outside")
        let lines = try logs.objects()
        #expect(lines.count == 2)
        #expect(lines.first?["trace_id"] as? String == "0af7651916cd43dd8448eb211c80319c")
        #expect(lines.last?["trace_id"] == nil)
    }

    @Test("In a terminal, logs are readable text; in a pipe, JSON; no Lambda keys off Lambda")
    func terminalAndPipe() throws {
        let terminalLogs = LineCollector()
        let terminal = try ObservabilitySetup.make(
            .init(environment: .terminal, logOutput: terminalLogs.writer),
            variables: [:]
        )
        terminal.logger(label: "cli").info("hello")
        #expect(terminalLogs.all.first?.contains("INFO  cli: hello") == true)

        let pipeLogs = LineCollector()
        let pipe = try ObservabilitySetup.make(
            .init(environment: .pipe, logOutput: pipeLogs.writer),
            variables: ["AWS_LAMBDA_LOG_FORMAT": "JSON"]
        )
        pipe.logger(label: "cli").info("hello")
        let line = try #require(try pipeLogs.objects().first)
        #expect(line["message"] as? String == "hello")
        #expect(line["function_name"] == nil)
        #expect(line["service"] as? String == "service_undefined")
    }

    @Test("Under systemd, the journal handler is used when given; without it, JSON lines")
    func systemd() throws {
        final class Marker: LogHandler, @unchecked Sendable {
            var metadata: Logger.Metadata = [:]
            var logLevel: Logger.Level = .info
            var metadataProvider: Logger.MetadataProvider?
            let collector: LineCollector
            init(collector: LineCollector) { self.collector = collector }
            subscript(metadataKey key: String) -> Logger.Metadata.Value? {
                get { metadata[key] }
                set { metadata[key] = newValue }
            }
            func log(event: LogEvent) { collector.writer.write(line: "journal: \(event.message)") }
        }
        let collector = LineCollector()
        let withJournal = try ObservabilitySetup.make(
            .init(environment: .systemdService, journalHandler: { _, _ in Marker(collector: collector) }),
            variables: [:]
        )
        withJournal.logger(label: "svc").info("to the journal")
        #expect(collector.all == ["journal: to the journal"])

        let fallbackLogs = LineCollector()
        let withoutJournal = try ObservabilitySetup.make(
            .init(environment: .systemdService, logOutput: fallbackLogs.writer),
            variables: [:]
        )
        withoutJournal.logger(label: "svc").info("json instead")
        #expect(try fallbackLogs.objects().first?["message"] as? String == "json instead")
    }

    @Test("An invalid namespace is refused with a clear error")
    func invalidNamespace() {
        #expect(throws: EMFConfigurationError.self) {
            try ObservabilitySetup.make(.init(namespace: ":bad"), variables: [:])
        }
    }
}
