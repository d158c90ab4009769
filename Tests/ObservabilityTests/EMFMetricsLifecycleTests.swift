import CoreMetrics
import EMFMetrics
import Foundation
import Testing

/// What a long-running process needs of the EMF backend: values that survive a flush when they should, kinds that
/// stay apart, units that stay put, documents CloudWatch Logs takes, and state that goes when it is destroyed.
@Suite("EMF metrics: across flushes and over time", .serialized)
struct EMFMetricsLifecycleTests {
    typealias Support = EMFMetricsTests

    static func values(_ document: [String: Any], _ name: String) -> [Double]? {
        if let array = document[name] as? [Double] { return array }
        return (document[name] as? Double).map { [$0] }
    }

    @Test("A meter keeps its value across a flush: a later increment starts from it")
    func meterSurvivesFlush() throws {
        let metrics = try Support.factory()
        let meter = Meter(label: "QueueDepth", factory: metrics)
        meter.set(5)
        #expect(Self.values(try #require(try Support.parse(metrics.takeDocuments()).first), "QueueDepth") == [5])
        meter.increment(by: 2)
        #expect(Self.values(try #require(try Support.parse(metrics.takeDocuments()).first), "QueueDepth") == [7])
        #expect(metrics.takeDocuments().isEmpty, "an untouched meter is not written again")
    }

    @Test("A timer and a recorder with the same label and dimensions stay apart, in separate documents")
    func timerAndRecorderApart() async throws {
        let warnings = Support.Warnings()
        let metrics = try Support.factory(warnings: warnings)
        let timer = CoreMetrics.Timer(label: "Latency", factory: metrics)
        let recorder = Recorder(label: "Latency", factory: metrics)
        timer.recordNanoseconds(2_000_000)
        recorder.record(7)
        let raw = metrics.takeDocuments()
        try await expectValidEMF(raw)
        let documents = try Support.parse(raw)
        #expect(documents.count == 2)
        let written = documents.compactMap { Self.values($0, "Latency") }.sorted { $0[0] < $1[0] }
        #expect(written == [[2], [7]], "the timer's 2 ms in milliseconds, the recorder's 7 as recorded")
        #expect(warnings.all.contains { $0.contains("both a timer and a recorder") })
    }

    @Test("preferDisplayUnit does not override a unit set in the configuration")
    func configuredUnitWins() throws {
        let metrics = try Support.factory(units: ["Latency": .seconds])
        let timer = CoreMetrics.Timer(
            label: "Latency",
            dimensions: [],
            preferredDisplayUnit: .microseconds,
            factory: metrics
        )
        timer.recordNanoseconds(1_500_000_000)
        let document = try #require(try Support.parse(metrics.takeDocuments()).first)
        let definition = try #require(try Support.metricDefinitions(document).first)
        #expect(definition["Unit"] as? String == "Seconds")
        #expect(Self.values(document, "Latency") == [1.5])
        // Without a configured unit, the preference applies.
        let preferring = try Support.factory()
        let other = CoreMetrics.Timer(
            label: "Latency",
            dimensions: [],
            preferredDisplayUnit: .microseconds,
            factory: preferring
        )
        other.recordNanoseconds(3000)
        let preferred = try #require(try Support.parse(preferring.takeDocuments()).first)
        #expect(try Support.metricDefinitions(preferred).first?["Unit"] as? String == "Microseconds")
        #expect(Self.values(preferred, "Latency") == [3])
    }

    @Test("No document is longer than a CloudWatch Logs event may be, and every value is written once")
    func documentSizeLimit() async throws {
        // 30 dimensions with 1,000-character values and 100 metrics with long names and 100 long values each
        // would make one document of about 300 KB.
        let dimensions = (0..<29).map { ("d\($0)", String(repeating: "v", count: 1000)) } + [("service", "orders")]
        let metrics = try Support.factory(dimensions: dimensions)
        var expected: [String: [Double]] = [:]
        for metricIndex in 0..<100 {
            let name = "metric-\(metricIndex)-" + String(repeating: "n", count: 240)
            let recorder = Recorder(label: name, factory: metrics)
            for valueIndex in 0..<100 {
                let value = (Double(metricIndex * 100 + valueIndex) + 0.5) / 7e9
                recorder.record(value)
                expected[name, default: []].append(value)
            }
        }
        let raw = metrics.takeDocuments()
        #expect(raw.count > 1, "\(raw.map(\.count)) bytes: the test should need a split")
        for document in raw {
            #expect(document.count <= 256 * 1024 - 26, "a document of \(document.count) bytes")
        }
        try await expectValidEMF(raw)
        var written: [String: [Double]] = [:]
        for document in try Support.parse(raw) {
            for definition in try Support.metricDefinitions(document) {
                let name = try #require(definition["Name"] as? String)
                written[name, default: []] += Self.values(document, name) ?? []
            }
        }
        // Every value once, in order (compared to 12 significant digits: the JSON reader may round the last one).
        #expect(written.keys.sorted() == expected.keys.sorted())
        let mismatched = expected.filter { name, values in
            guard let got = written[name], got.count == values.count else { return true }
            return zip(got, values).contains { abs($0 - $1) > abs($1) * 1e-12 }
        }
        #expect(mismatched.isEmpty, "\(mismatched.count) metrics lost, repeated or reordered values")
    }

    @Test("Destroying the last handler of a metric releases its state, after its pending values are written")
    func destroyReleasesState() throws {
        let metrics = try Support.factory()
        for request in 0..<50 {
            let counter = Counter(label: "Requests", dimensions: [("path", "/item/\(request)")], factory: metrics)
            counter.increment()
            counter.destroy()
        }
        #expect(metrics.metricCount == 50, "values not yet written keep their state until the flush")
        let documents = try Support.parse(metrics.takeDocuments())
        #expect(documents.count == 50)
        #expect(metrics.metricCount == 0)

        let untouched = Recorder(label: "Idle", factory: metrics)
        untouched.destroy()
        #expect(metrics.metricCount == 0)
    }

    @Test("A metric shared by two handlers lives until both are destroyed")
    func sharedMetric() throws {
        let metrics = try Support.factory()
        let first = Counter(label: "Shared", factory: metrics)
        let second = Counter(label: "Shared", factory: metrics)
        first.destroy()
        second.increment(by: 3)
        let document = try #require(try Support.parse(metrics.takeDocuments()).first)
        #expect(Self.values(document, "Shared") == [3])
        second.destroy()
        #expect(metrics.metricCount == 0)
    }

    @Test("Namespaces and the cold-start function name are checked against CloudWatch's rules")
    func names() throws {
        #expect(throws: EMFConfigurationError.self) { try Support.factory("AWS/Lambda") }
        #expect(throws: EMFConfigurationError.self) { try Support.factory("Orders\u{7}") }
        #expect(throws: EMFConfigurationError.self) { try Support.factory(coldStart: "fn\nname") }
        #expect(throws: EMFConfigurationError.self) { try Support.factory(coldStart: "   ") }
        _ = try Support.factory("My App/Orders #1:v2", coldStart: "orders-fn_1")
    }
}
