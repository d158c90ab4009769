import BatchProcessingTestProcessSupport
import Foundation
import JSONLogging
import Logging
import Testing

@Suite("JSON log handler")
struct JSONLogHandlerTests {
    struct Failure: Error, CustomStringConvertible {
        var description: String { "disk \"full\"" }
    }

    static func logger(
        _ collector: LineCollector,
        label: String = "orders",
        configuration: (inout JSONLogHandler.Configuration) -> Void = { _ in }
    ) -> Logger {
        var settings = JSONLogHandler.Configuration(service: "shop", logLevel: .trace, output: collector.writer)
        configuration(&settings)
        let frozen = settings
        return Logger(label: label) { JSONLogHandler(label: $0, configuration: frozen) }
    }

    @Test("A line has the core keys, RFC 3339 time with milliseconds, and Lambda's level names")
    func coreKeys() throws {
        let collector = LineCollector()
        let logger = Self.logger(collector)
        logger.trace("t")
        logger.debug("d")
        logger.info("i")
        logger.notice("n")
        logger.warning("w")
        logger.error("e")
        logger.critical("c")
        let lines = try collector.objects()
        #expect(
            lines.compactMap { $0["level"] as? String } == ["TRACE", "DEBUG", "INFO", "INFO", "WARN", "ERROR", "FATAL"]
        )
        let first = try #require(lines.first)
        #expect(first["message"] as? String == "t")
        #expect(first["service"] as? String == "shop")
        #expect(first["logger"] as? String == "orders")
        #expect((first["location"] as? String)?.hasPrefix("coreKeys():") == true)
        let timestamp = try #require(first["timestamp"] as? String)
        #expect(timestamp.wholeMatch(of: /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z/) != nil, "\(timestamp)")
        let parsed = try #require(ISO8601DateFormatter.withFractions.date(from: timestamp))
        #expect(abs(parsed.timeIntervalSinceNow) < 60)
    }

    @Test("Metadata stays structured: dictionaries, arrays, numbers and booleans")
    func structuredMetadata() throws {
        let collector = LineCollector()
        var logger = Self.logger(collector)
        logger[metadataKey: "handler_key"] = "from handler"
        logger.info(
            "order",
            metadata: [
                "order": ["id": .stringConvertible(42), "tags": ["a", "b"], "paid": .stringConvertible(true)],
                "amount": .stringConvertible(12.5),
                "message": "user key named like a core key",
            ]
        )
        let line = try #require(try collector.objects().first)
        let order = try #require(line["order"] as? [String: Any])
        #expect(order["id"] as? Int == 42)
        #expect(order["tags"] as? [String] == ["a", "b"])
        #expect(order["paid"] as? Bool == true)
        #expect(line["amount"] as? Double == 12.5)
        #expect(line["handler_key"] as? String == "from handler")
        #expect(line["message"] as? String == "order")
        #expect(line["meta_message"] as? String == "user key named like a core key")
    }

    @Test("Every string is escaped: quotes, backslashes, control characters, unicode")
    func escaping() throws {
        let collector = LineCollector()
        let logger = Self.logger(collector)
        let nasty = "quote\" backslash\\ newline\n tab\t bell\u{7} nul\u{0} del\u{7F} émoji 🚀 \u{2028}"
        logger.info("\(nasty)", metadata: ["k\"ey\n": "\(nasty)"])
        #expect(collector.all.count == 1)
        #expect(!collector.all[0].contains("\n"))
        let line = try #require(try collector.objects().first)
        #expect(line["message"] as? String == nasty)
        #expect(line["k\"ey\n"] as? String == nasty)
    }

    @Test("Invalid UTF-8 in a message becomes U+FFFD and the line stays valid JSON")
    func invalidUTF8() throws {
        let collector = LineCollector()
        let logger = Self.logger(collector)
        let broken = String(decoding: [0x61, 0xFF, 0xFE, 0x62], as: UTF8.self)
        logger.info("\(broken)")
        let line = try #require(try collector.objects().first)
        #expect(line["message"] as? String == "a\u{FFFD}\u{FFFD}b")
    }

    @Test("An error is written as exception_name and exception")
    func errors() throws {
        let collector = LineCollector()
        Self.logger(collector).error("failed", error: Failure())
        let line = try #require(try collector.objects().first)
        #expect((line["exception_name"] as? String)?.hasSuffix("Failure") == true)
        #expect(line["exception"] as? String == "disk \"full\"")
    }

    @Test("On Lambda, lines carry the function's keys, and the trace id of the current trace header")
    func lambdaKeys() throws {
        let collector = LineCollector()
        let environment = [
            "AWS_LAMBDA_FUNCTION_NAME": "orders-fn", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        ]
        let logger = Self.logger(collector) {
            $0.lambda = JSONLogHandler.LambdaFields(
                environment: environment,
                functionARN: "arn:aws:lambda:us-east-1:1:function:orders-fn",
                traceHeader: { "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1" }
            )
        }
        logger.info("hello", metadata: ["function_request_id": "req-1", "cold_start": .stringConvertible(true)])
        let line = try #require(try collector.objects().first)
        #expect(line["function_name"] as? String == "orders-fn")
        #expect(line["function_memory_size"] as? Int == 512)
        #expect(line["function_arn"] as? String == "arn:aws:lambda:us-east-1:1:function:orders-fn")
        #expect(line["function_request_id"] as? String == "req-1")
        #expect(line["cold_start"] as? Bool == true)
        #expect(line["xray_trace_id"] as? String == "1-5759e988-bd862e3fe1be46a994272793")
    }

    @Test("The level comes from AWS_LAMBDA_LOG_LEVEL, then code, then POWERTOOLS_LOG_LEVEL")
    func levelPrecedence() {
        typealias Configuration = JSONLogHandler.Configuration
        #expect(
            Configuration.fromEnvironment(
                ["AWS_LAMBDA_LOG_LEVEL": "WARN", "POWERTOOLS_LOG_LEVEL": "DEBUG"],
                logLevel: .error
            ).logLevel == .warning
        )
        #expect(Configuration.fromEnvironment(["POWERTOOLS_LOG_LEVEL": "DEBUG"], logLevel: .error).logLevel == .error)
        #expect(Configuration.fromEnvironment(["POWERTOOLS_LOG_LEVEL": "critical"]).logLevel == .critical)
        #expect(Configuration.fromEnvironment(["AWS_LAMBDA_LOG_LEVEL": "nonsense"]).logLevel == .info)
        #expect(Configuration.fromEnvironment(["POWERTOOLS_SERVICE_NAME": "billing"]).service == "billing")
        #expect(Configuration.fromEnvironment([:]).service == "service_undefined")
        #expect(Configuration.fromEnvironment(["AWS_LAMBDA_LOG_FORMAT": "Text"]).format == .text)
        #expect(Configuration.fromEnvironment([:]).lambda == nil)
        #expect(Configuration.fromEnvironment(["AWS_LAMBDA_FUNCTION_NAME": "f"]).lambda != nil)
    }

    @Test("Levels below the configured one are not written")
    func levelFilter() throws {
        let collector = LineCollector()
        let logger = Self.logger(collector) { $0.logLevel = .warning }
        logger.info("hidden")
        logger.warning("shown")
        #expect(try collector.objects().compactMap { $0["message"] as? String } == ["shown"])
    }

    @Test("Text mode writes readable lines")
    func textMode() {
        let collector = LineCollector()
        let logger = Self.logger(collector) { $0.format = .text }
        logger.warning("slow batch", metadata: ["records": "10", "source": "aws sqs"])
        let line = collector.all.first ?? ""
        #expect(line.contains("WARN  orders: slow batch"))
        #expect(line.contains("records=10"))
        #expect(line.contains("source=\"aws sqs\""))
    }

    @Test("Lines written from many concurrent tasks never interleave")
    func concurrency() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("lines-\(UUID().uuidString)").path
        let descriptor = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0o600)
        #expect(descriptor >= 0)
        defer {
            close(descriptor)
            unlink(path)
        }
        let writer = LineWriter(fileDescriptor: descriptor)
        let configuration = JSONLogHandler.Configuration(service: "s", output: writer)
        let big = String(repeating: "x", count: 20_000)
        // Threads of Dispatch's pool, not tasks: this loop never suspends and would hold the concurrency pool.
        DispatchQueue.concurrentPerform(iterations: 8) { task in
            let logger = Logger(label: "t\(task)") { JSONLogHandler(label: $0, configuration: configuration) }
            for index in 0..<200 {
                logger.info("\(task)-\(index)", metadata: ["padding": "\(index % 10 == 0 ? big : "p")"])
            }
        }
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let lines = text.split(separator: "\n")
        #expect(lines.count == 1600)
        for line in lines {
            _ = try JSONSerialization.jsonObject(with: Data(line.utf8))
        }
    }
}

extension ISO8601DateFormatter {
    nonisolated(unsafe) static let withFractions: ISO8601DateFormatter = {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }()
}
