import BatchIdempotency
import BatchProcessing
import BatchProcessingTestProcessSupport
import Foundation
import Testing
import Yams

/// The dashboards and alarms under `Dashboards/` against what batchproc really emits: the contract is read from the
/// EMF documents of real runs (every outcome, retries, replays, whole-batch failures, a cold start), not from a list
/// kept by hand.
@Suite("Dashboards and alarms use only metrics the code emits")
struct DashboardContractTests {
    static let dashboards = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Dashboards")
    static let orders = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Examples/batchproc/events/sqs-orders.json").path

    /// A metric a dashboard or alarm reads: its name, the names of its dimensions, its unit when it says one.
    struct Reference: CustomStringConvertible {
        var name: String
        var dimensions: [String]
        var unit: String?
        var place: String
        var description: String { "\(name) \(dimensions) \(unit ?? "") in \(place)" }
    }

    /// A metric as emitted: its units and the dimension sets it came with (names sorted).
    struct Emitted {
        var units: Set<String> = []
        var dimensionSets: Set<[String]> = []
    }

    /// Runs batchproc through every situation a metric describes and collects what its EMF documents declare.
    static func emittedMetrics() async throws -> [String: Emitted] {
        let store = FileManager.default.temporaryDirectory.appendingPathComponent("dashboards-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: store) }
        let fifo = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/sqs-fifo.json").path
        let idempotent = ["--max-attempts", "2", "--idempotency-store", store.path]
        let runs: [([String], String?, [String: String])] = [
            // Successes, failures, reports, retries, durations; then the same event again: replays.
            (["process", orders, "--fail", "msg-03"] + idempotent, nil, [:]),
            (["process", orders, "--fail", "msg-03"] + idempotent, nil, [:]),
            // A FIFO batch stops at its first failure: skips.
            (["process", fifo, "--fail-index", "1"], nil, [:]),
            // Every record fails: the invocation fails as a whole.
            (["process", orders, "--fail-fraction", "1"], nil, [:]),
            // A record whose source cannot be told: a whole-batch failure without event_source.
            (["process", "-"], #"{"Records":[{"messageId":"a"}]}"#, [:]),
            // As on Lambda: the cold start.
            (["process", orders], nil, ["AWS_LAMBDA_FUNCTION_NAME": "orders-fn"]),
        ]
        var emitted: [String: Emitted] = [:]
        for (arguments, stdin, environment) in runs {
            let output = try await Batchproc.run(arguments, stdin: stdin, environment: environment)
            let lines = (output.stderr + "\n" + output.stdout).split(separator: "\n")
            for line in lines where line.contains("\"_aws\"") {
                let document = try ChildProcess.jsonObject(String(line))
                let aws = try #require(document["_aws"] as? [String: Any])
                for directive in try #require(aws["CloudWatchMetrics"] as? [[String: Any]]) {
                    let sets = try #require(directive["Dimensions"] as? [[String]])
                    for metric in try #require(directive["Metrics"] as? [[String: Any]]) {
                        let name = try #require(metric["Name"] as? String)
                        if let unit = metric["Unit"] as? String { emitted[name, default: Emitted()].units.insert(unit) }
                        for set in sets { emitted[name, default: Emitted()].dimensionSets.insert(set.sorted()) }
                    }
                }
            }
        }
        return emitted
    }

    // MARK: - Reading the dashboards

    static func json(_ path: String) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(contentsOf: dashboards.appendingPathComponent(path)))
    }

    /// What a CloudWatch dashboard body reads: metric arrays `[namespace, name, key, value, …, {options}]` and
    /// `SEARCH('{namespace,key,…} MetricName="name" …')` expressions.
    static func cloudWatchReferences(_ body: Any, place: String) throws -> [Reference] {
        let widgets = try #require((body as? [String: Any])?["widgets"] as? [[String: Any]])
        var references: [Reference] = []
        for widget in widgets {
            guard let properties = widget["properties"] as? [String: Any],
                let metrics = properties["metrics"] as? [[Any]]
            else { continue }
            for line in metrics {
                if let name = line.count > 1 ? line[1] as? String : nil, line.first is String {
                    let pairs = line.dropFirst(2).compactMap { $0 as? String }
                    let keys = stride(from: 0, to: pairs.count - 1, by: 2).map { pairs[pairs.startIndex + $0] }
                    references.append(Reference(name: name, dimensions: keys.sorted(), unit: nil, place: place))
                } else if let options = line.first as? [String: Any], let expression = options["expression"] as? String,
                    let search = try searchReference(expression, place: place)
                {
                    references.append(search)
                }
            }
        }
        return references
    }

    static func searchReference(_ expression: String, place: String) throws -> Reference? {
        guard expression.hasPrefix("SEARCH(") else { return nil }
        let schema = try #require(
            expression.firstRange(of: "('{").flatMap { open in
                expression[open.upperBound...].firstRange(of: "} ").map { expression[open.upperBound..<$0.lowerBound] }
            },
            "no {namespace,dimensions} in \(expression)"
        )
        let name = try #require(
            expression.firstRange(of: "MetricName=\"").flatMap { start in
                expression[start.upperBound...].firstIndex(of: "\"").map { expression[start.upperBound..<$0] }
            },
            "no MetricName in \(expression)"
        )
        let dimensions = schema.split(separator: ",").dropFirst().map(String.init)
        return Reference(name: String(name), dimensions: dimensions.sorted(), unit: nil, place: place)
    }

    /// The CloudFormation template: its alarms' metrics, and the dashboard body it deploys.
    static func template() throws -> [String: Any] {
        let text = try String(
            contentsOf: dashboards.appendingPathComponent("cloudwatch/template.yaml"),
            encoding: .utf8
        )
        return try #require(try Yams.load(yaml: text) as? [String: Any])
    }

    static func alarmReferences(_ template: [String: Any]) throws -> [Reference] {
        let resources = try #require(template["Resources"] as? [String: Any])
        var references: [Reference] = []
        func dimensionNames(_ value: Any?) -> [String] {
            ((value as? [[String: Any]]) ?? []).compactMap { $0["Name"] as? String }.sorted()
        }
        for (name, resource) in resources {
            guard let resource = resource as? [String: Any], resource["Type"] as? String == "AWS::CloudWatch::Alarm",
                let properties = resource["Properties"] as? [String: Any]
            else { continue }
            if let metric = properties["MetricName"] as? String {
                references.append(
                    Reference(
                        name: metric,
                        dimensions: dimensionNames(properties["Dimensions"]),
                        unit: properties["Unit"] as? String,
                        place: "alarm \(name)"
                    )
                )
            }
            for query in (properties["Metrics"] as? [[String: Any]]) ?? [] {
                guard let stat = query["MetricStat"] as? [String: Any], let metric = stat["Metric"] as? [String: Any]
                else { continue }
                references.append(
                    Reference(
                        name: try #require(metric["MetricName"] as? String),
                        dimensions: dimensionNames(metric["Dimensions"]),
                        unit: stat["Unit"] as? String,
                        place: "alarm \(name)"
                    )
                )
            }
        }
        return references
    }

    /// What the Grafana dashboard's CloudWatch queries read.
    static func grafanaReferences() throws -> [Reference] {
        let dashboard = try #require(try json("grafana/batch-processing.json") as? [String: Any])
        var references: [Reference] = []
        for panel in try #require(dashboard["panels"] as? [[String: Any]]) {
            for target in (panel["targets"] as? [[String: Any]]) ?? [] {
                guard let metric = target["metricName"] as? String else { continue }
                let dimensions = (target["dimensions"] as? [String: Any]).map { Array($0.keys).sorted() } ?? []
                references.append(
                    Reference(
                        name: metric,
                        dimensions: dimensions,
                        unit: nil,
                        place: "Grafana: \(panel["title"] ?? "")"
                    )
                )
            }
        }
        return references
    }

    // MARK: - Tests

    @Test("Every metric, dimension set and unit the dashboards and alarms read is one batchproc emits")
    func everyReferenceIsEmitted() async throws {
        let emitted = try await Self.emittedMetrics()
        let template = try Self.template()
        let references =
            try Self.cloudWatchReferences(try Self.json("cloudwatch/dashboard.json"), place: "CloudWatch dashboard")
            + (try Self.alarmReferences(template)) + (try Self.grafanaReferences())
        #expect(references.count > 40)
        for reference in references {
            guard let metric = emitted[reference.name] else {
                Issue.record("\(reference) is not a metric batchproc emits (it emits \(emitted.keys.sorted()))")
                continue
            }
            #expect(
                metric.dimensionSets.contains(reference.dimensions),
                "\(reference): emitted with \(metric.dimensionSets.sorted { $0.joined() < $1.joined() })"
            )
            if let unit = reference.unit {
                #expect(metric.units.contains(unit), "\(reference): emitted in \(metric.units)")
            }
        }
        // Both alarms the issue asks for exist, on the failure rate and on skipped records.
        let alarmMetrics = Set(try Self.alarmReferences(template).map(\.name))
        #expect(alarmMetrics == ["RecordsFailed", "RecordsReceived", "RecordsSkipped"])
    }

    @Test("Both dashboards show every metric the processor and the idempotency middleware emit")
    func everyMetricIsShown() throws {
        let expected = Set(Instrumentation.MetricName.all + [IdempotencyMiddleware.replayMetricName])
        let cloudWatch = Set(
            try Self.cloudWatchReferences(try Self.json("cloudwatch/dashboard.json"), place: "CloudWatch").map(\.name)
        )
        let grafana = Set(try Self.grafanaReferences().map(\.name))
        #expect(expected.subtracting(cloudWatch).isEmpty, "missing on CloudWatch: \(expected.subtracting(cloudWatch))")
        #expect(expected.subtracting(grafana).isEmpty, "missing on Grafana: \(expected.subtracting(grafana))")
    }

    @Test("The template deploys exactly the dashboard body in dashboard.json")
    func templateEmbedsTheBody() throws {
        let resources = try #require(try Self.template()["Resources"] as? [String: Any])
        let dashboard = try #require(resources["Dashboard"] as? [String: Any])
        let properties = try #require(dashboard["Properties"] as? [String: Any])
        let body = try #require((properties["DashboardBody"] as? [String: Any])?["Fn::Sub"] as? String)
        let embedded = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? NSDictionary
        let file = try Self.json("cloudwatch/dashboard.json") as? NSDictionary
        #expect(embedded != nil && embedded == file, "run python3 Dashboards/generate.py")
        // Only the template's parameters and pseudo parameters are substituted.
        let placeholders = Set(body.matches(of: /\$\{([A-Za-z:]+)\}/).map { String($0.output.1) })
        #expect(placeholders == ["Namespace", "Service", "AWS::Region"])
    }
}
