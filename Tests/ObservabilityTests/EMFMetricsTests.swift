import BatchProcessingTestProcessSupport
import CoreMetrics
import EMFMetrics
import Foundation
import Synchronization
import Testing

/// Serialized: most tests start a Python validator, and ten at once would crowd the machine's two cores.
@Suite("EMF metrics", .serialized)
struct EMFMetricsTests {
    final class Warnings: Sendable {
        let messages = Mutex<[String]>([])
        var all: [String] { messages.withLock { $0 } }
    }

    static func factory(
        _ namespace: String = "Tests",
        dimensions: [(String, String)] = [("service", "orders")],
        units: [String: EMFUnit] = [:],
        highResolution: Set<String> = [],
        coldStart: String? = nil,
        warnings: Warnings = Warnings()
    ) throws -> EMFMetricsFactory {
        try EMFMetricsFactory(
            configuration: .init(
                namespace: namespace,
                defaultDimensions: dimensions,
                units: units,
                highResolutionMetrics: highResolution,
                coldStartFunctionName: coldStart,
                output: { _ in },
                warningHandler: { message in warnings.messages.withLock { $0.append(message) } }
            )
        )
    }

    static func parse(_ documents: [[UInt8]]) throws -> [[String: Any]] {
        try documents.map { try ChildProcess.jsonObject(String(decoding: $0, as: UTF8.self)) }
    }

    static func directive(_ document: [String: Any]) throws -> [String: Any] {
        let aws = try #require(document["_aws"] as? [String: Any])
        return try #require((aws["CloudWatchMetrics"] as? [[String: Any]])?.first)
    }

    static func metricDefinitions(_ document: [String: Any]) throws -> [[String: Any]] {
        try #require(try directive(document)["Metrics"] as? [[String: Any]])
    }

    @Test("Counters, recorders, timers and meters are written with their units, values at the root")
    func kinds() async throws {
        let metrics = try Self.factory(units: ["QueueDepth": .count, "PayloadSize": .bytes])
        let counter = Counter(label: "Processed", factory: metrics)
        counter.increment(by: 3)
        counter.increment(by: 4)
        let recorder = Recorder(label: "PayloadSize", factory: metrics)
        recorder.record(100)
        recorder.record(250.5)
        let timer = CoreMetrics.Timer(label: "Latency", factory: metrics)
        timer.recordMilliseconds(12)
        timer.recordNanoseconds(1_500_000)
        let meter = Meter(label: "QueueDepth", factory: metrics)
        meter.set(5)
        meter.set(9)

        let raw = metrics.takeDocuments(timestamp: 1_764_288_000_123)
        try await expectValidEMF(raw)
        let documents = try Self.parse(raw)
        #expect(documents.count == 1)
        let document = try #require(documents.first)
        #expect((document["_aws"] as? [String: Any])?["Timestamp"] as? Int == 1_764_288_000_123)
        #expect(try Self.directive(document)["Namespace"] as? String == "Tests")
        #expect(try Self.directive(document)["Dimensions"] as? [[String]] == [["service"]])
        #expect(document["service"] as? String == "orders")
        #expect(document["Processed"] as? Int == 7)
        #expect(document["PayloadSize"] as? [Double] == [100, 250.5])
        #expect(document["Latency"] as? [Double] == [12, 1.5])
        #expect(document["QueueDepth"] as? Int == 9)
        let units = Dictionary(
            uniqueKeysWithValues: try Self.metricDefinitions(document).map {
                ($0["Name"] as? String ?? "", $0["Unit"] as? String ?? "")
            }
        )
        #expect(
            units == ["Processed": "Count", "PayloadSize": "Bytes", "Latency": "Milliseconds", "QueueDepth": "Count"]
        )
    }

    @Test("Timers are in milliseconds unless configured, or preferred through swift-metrics, otherwise")
    func timerUnits() async throws {
        let metrics = try Self.factory(units: ["Slow": .seconds])
        let fast = CoreMetrics.Timer(label: "Fast", factory: metrics)
        fast.recordNanoseconds(2_500_000)
        CoreMetrics.Timer(label: "Slow", factory: metrics).recordSeconds(3)
        let preferred = CoreMetrics.Timer(label: "Micro", preferredDisplayUnit: .microseconds, factory: metrics)
        preferred.recordNanoseconds(7000)
        let raw = metrics.takeDocuments()
        try await expectValidEMF(raw)
        let document = try #require(try Self.parse(raw).first)
        #expect(document["Fast"] as? Double == 2.5)
        #expect(document["Slow"] as? Int == 3)
        #expect(document["Micro"] as? Int == 7)
        let units = Dictionary(
            uniqueKeysWithValues: try Self.metricDefinitions(document).map {
                ($0["Name"] as? String ?? "", $0["Unit"] as? String ?? "")
            }
        )
        #expect(units == ["Fast": "Milliseconds", "Slow": "Seconds", "Micro": "Microseconds"])
    }

    @Test("A flush with nothing new writes nothing, and counters start again from zero")
    func emptyFlush() throws {
        let metrics = try Self.factory()
        #expect(metrics.takeDocuments().isEmpty)
        let counter = Counter(label: "Processed", factory: metrics)
        counter.increment(by: 2)
        #expect(try Self.parse(metrics.takeDocuments()).first?["Processed"] as? Int == 2)
        #expect(metrics.takeDocuments().isEmpty)
        counter.increment(by: 0)
        #expect(try Self.parse(metrics.takeDocuments()).first?["Processed"] as? Int == 0)
    }

    @Test("flush() writes each document through the output, one line each")
    func flushWrites() throws {
        let lines = Mutex<[String]>([])
        let metrics = try EMFMetricsFactory(
            configuration: .init(
                namespace: "Tests",
                output: { bytes in lines.withLock { $0.append(String(decoding: bytes, as: UTF8.self)) } }
            )
        )
        Counter(label: "A", factory: metrics).increment()
        metrics.flush()
        metrics.flush()
        let written = lines.withLock { $0 }
        #expect(written.count == 1)
        #expect(written.first?.contains("\"A\":1") == true)
        #expect(written.first?.contains("\n") == false)
    }

    @Test("More than 100 metrics are split over documents, each metric written once")
    func splitMetrics() async throws {
        let metrics = try Self.factory()
        for index in 0..<250 {
            Counter(label: "Metric\(index)", factory: metrics).increment(by: Int64(index))
        }
        let raw = metrics.takeDocuments()
        try await expectValidEMF(raw)
        let documents = try Self.parse(raw)
        #expect(documents.count == 3)
        #expect(try documents.map { try Self.metricDefinitions($0).count } == [100, 100, 50])
        var seen: [String: Int] = [:]
        for document in documents {
            for definition in try Self.metricDefinitions(document) {
                let name = try #require(definition["Name"] as? String)
                #expect(seen[name] == nil, "\(name) written twice")
                seen[name] = document[name] as? Int
            }
        }
        #expect(seen.count == 250)
        #expect(seen["Metric249"] == 249)
    }

    @Test("More than 100 values of one metric are split over documents, every value written once, in order")
    func splitValues() async throws {
        let metrics = try Self.factory()
        let recorder = Recorder(label: "Size", factory: metrics)
        let other = Counter(label: "Count", factory: metrics)
        other.increment()
        for value in 0..<250 { recorder.record(value) }
        let raw = metrics.takeDocuments()
        try await expectValidEMF(raw)
        let documents = try Self.parse(raw)
        #expect(documents.count == 3)
        let values = documents.flatMap { ($0["Size"] as? [Double]) ?? ($0["Size"] as? Double).map { [$0] } ?? [] }
        #expect(values == (0..<250).map(Double.init))
        #expect(documents.compactMap { $0["Count"] as? Int } == [1], "the counter is written once")
    }

    @Test("Metrics with different dimensions go in separate documents with their own dimension sets")
    func dimensionSets() async throws {
        let metrics = try Self.factory()
        Counter(label: "Received", dimensions: [("event_source", "aws:sqs")], factory: metrics).increment(by: 5)
        Counter(label: "Received", dimensions: [("event_source", "aws:kinesis")], factory: metrics).increment(by: 2)
        Counter(label: "Plain", factory: metrics).increment()
        let raw = metrics.takeDocuments()
        try await expectValidEMF(raw)
        let documents = try Self.parse(raw)
        #expect(documents.count == 3)
        let sqs = try #require(documents.first { $0["event_source"] as? String == "aws:sqs" })
        #expect(sqs["Received"] as? Int == 5)
        #expect(try Self.directive(sqs)["Dimensions"] as? [[String]] == [["service", "event_source"]])
        let kinesis = try #require(documents.first { $0["event_source"] as? String == "aws:kinesis" })
        #expect(kinesis["Received"] as? Int == 2)
        let plain = try #require(documents.first { $0["Plain"] != nil })
        #expect(try Self.directive(plain)["Dimensions"] as? [[String]] == [["service"]])
    }

    @Test("At most 30 dimensions are kept, with a warning")
    func tooManyDimensions() async throws {
        let warnings = Warnings()
        let metrics = try Self.factory(warnings: warnings)
        let dimensions = (0..<40).map { ("d\($0)", "v\($0)") }
        Counter(label: "Wide", dimensions: dimensions, factory: metrics).increment()
        let raw = metrics.takeDocuments()
        try await expectValidEMF(raw)
        let document = try #require(try Self.parse(raw).first)
        #expect((try Self.directive(document)["Dimensions"] as? [[String]])?.first?.count == 30)
        #expect(warnings.all.contains { $0.contains("30") })
    }

    @Test("Non-finite values are dropped with a warning, never written")
    func nonFinite() async throws {
        let warnings = Warnings()
        let metrics = try Self.factory(warnings: warnings)
        let recorder = Recorder(label: "Ratio", factory: metrics)
        recorder.record(Double.nan)
        recorder.record(Double.infinity)
        recorder.record(0.5)
        FloatingPointCounter(label: "Amount", factory: metrics).increment(by: -Double.infinity)
        let raw = metrics.takeDocuments()
        try await expectValidEMF(raw)
        #expect(raw.count == 1)
        let document = try #require(try Self.parse(raw).first)
        // Only the finite value is written; the counter that only saw -inf was never touched, so it is absent.
        #expect(document["Ratio"] as? Double == 0.5)
        #expect(document["Amount"] == nil)
        let names = (try Self.directive(document)["Metrics"] as? [[String: Any]])?.compactMap { $0["Name"] as? String }
        #expect(names == ["Ratio"])
        #expect(warnings.all.contains { $0.contains("nan") && $0.contains("Ratio") })
        #expect(warnings.all.contains { $0.contains("inf") && $0.contains("Ratio") })
        #expect(warnings.all.contains { $0.contains("-inf") && $0.contains("Amount") })
    }

    @Test("Invalid names are refused: a bad namespace fails creation, a bad metric or dimension is dropped")
    func validation() async throws {
        #expect(#expect(throws: EMFConfigurationError.self) { try Self.factory("") }?.code == .invalidNamespace)
        #expect(
            #expect(throws: EMFConfigurationError.self) { try Self.factory(":starts-with-colon") }?.code
                == .invalidNamespace
        )
        #expect(throws: EMFConfigurationError.self) { try Self.factory(String(repeating: "n", count: 256)) }
        #expect(
            #expect(throws: EMFConfigurationError.self) { try Self.factory(dimensions: [("service", "")]) }?.code
                == .invalidDimension
        )
        let warnings = Warnings()
        let metrics = try Self.factory(warnings: warnings)
        Counter(label: "", factory: metrics).increment()
        Counter(label: "_aws", factory: metrics).increment()
        Counter(label: "Good", dimensions: [("bad\u{1}", "x"), ("ok", "y")], factory: metrics).increment()
        Counter(label: "service", factory: metrics).increment()
        let raw = metrics.takeDocuments()
        try await expectValidEMF(raw)
        let documents = try Self.parse(raw)
        #expect(documents.count == 1)
        #expect(try documents.first.map { try Self.directive($0)["Dimensions"] as? [[String]] } == [["service", "ok"]])
        #expect(warnings.all.count == 4)
    }

    @Test("High-resolution metrics carry StorageResolution 1; others none")
    func storageResolution() async throws {
        let metrics = try Self.factory(highResolution: ["Fast"])
        Counter(label: "Fast", factory: metrics).increment()
        Counter(label: "Slow", factory: metrics).increment()
        let raw = metrics.takeDocuments()
        try await expectValidEMF(raw)
        let definitions = try Self.metricDefinitions(try #require(try Self.parse(raw).first))
        #expect(definitions.first { $0["Name"] as? String == "Fast" }?["StorageResolution"] as? Int == 1)
        #expect(definitions.first { $0["Name"] as? String == "Slow" }?["StorageResolution"] == nil)
    }

    @Test("The cold-start metric is written once per process, on the first flush")
    func coldStart() async throws {
        let metrics = try Self.factory(coldStart: "orders-fn")
        let first = metrics.takeDocuments()
        try await expectValidEMF(first)
        let document = try #require(try Self.parse(first).first)
        #expect(document["ColdStart"] as? Int == 1)
        #expect(document["function_name"] as? String == "orders-fn")
        Counter(label: "After", factory: metrics).increment()
        #expect(try Self.parse(metrics.takeDocuments()).allSatisfy { $0["ColdStart"] == nil })
    }

    @Test("Concurrent updates from many tasks are all counted")
    func concurrentUpdates() throws {
        let metrics = try Self.factory()
        let counter = Counter(label: "Hits", factory: metrics)
        let recorder = Recorder(label: "Values", factory: metrics)
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            for value in 0..<1000 {
                counter.increment()
                if value < 10 { recorder.record(value) }
            }
        }
        let documents = try Self.parse(metrics.takeDocuments())
        #expect(documents.compactMap { $0["Hits"] as? Int }.reduce(0, +) == 8000)
        let values = documents.flatMap { $0["Values"] as? [Double] ?? [] }
        #expect(values.count == 80)
    }
}
